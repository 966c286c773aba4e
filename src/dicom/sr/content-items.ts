// SR content items (PS3.3 C.17.3 SR Document Content Module, C.18 Content Item and Reference Macros) as a small
// tree that templates build and that is then written in dcmjs's naturalized form. Only the value types the
// Measurement Report needs are modelled: CONTAINER, CODE, NUM, TEXT, UIDREF and IMAGE.
import { codeItem, type CodedEntry } from '../common/coded-entry.js';

/** Relationship Type (0040,A010), PS3.3 C.17.3.2.4. */
export type RelationshipType =
  | 'CONTAINS' | 'HAS PROPERTIES' | 'HAS OBS CONTEXT' | 'HAS ACQ CONTEXT' | 'HAS CONCEPT MOD' | 'INFERRED FROM' | 'SELECTED FROM';

/** An image (or segmentation) reference, PS3.3 Table C.18.4-1 Image Reference Macro. */
export interface ImageRef {
  sopClassUid: string;
  sopInstanceUid: string;
  /** Referenced Frame Number: omitted when the reference applies to every frame. */
  frames?: number[];
  /** Referenced Segment Number, only for a Segmentation. */
  segments?: number[];
}

/** Which template a CONTAINER starts (Content Template Sequence, PS3.3 C.17.3 / C.18.8). */
export interface TemplateId { identifier: string }

interface Base {
  /** Absent only on the root CONTAINER. */
  relationship?: RelationshipType;
  /** Concept Name; optional only where PS3.3 allows it (e.g. an IMAGE of an Image Library entry). */
  name?: CodedEntry;
  children?: ContentItem[];
}
export interface ContainerItem extends Base { valueType: 'CONTAINER'; name: CodedEntry; template?: TemplateId }
export interface CodeItem extends Base { valueType: 'CODE'; name: CodedEntry; value: CodedEntry }
export interface TextItem extends Base { valueType: 'TEXT'; name: CodedEntry; value: string }
export interface UidRefItem extends Base { valueType: 'UIDREF'; name: CodedEntry; value: string }
export interface ImageItem extends Base { valueType: 'IMAGE'; ref: ImageRef }
export interface NumItem extends Base {
  valueType: 'NUM';
  name: CodedEntry;
  /** null: no value could be measured; `qualifier` says why (CID 42 Numeric Value Qualifier). */
  value: number | null;
  unit: CodedEntry;
  qualifier?: CodedEntry;
}
export type ContentItem = ContainerItem | CodeItem | TextItem | UidRefItem | ImageItem | NumItem;

// Builders keep the templates readable: relationship first, as the templates' "Rel with Parent" column.
export const container = (relationship: RelationshipType | undefined, name: CodedEntry, children: ContentItem[], template?: string): ContainerItem =>
  ({ valueType: 'CONTAINER', ...(relationship ? { relationship } : {}), name, children, ...(template ? { template: { identifier: template } } : {}) });
export const code = (relationship: RelationshipType, name: CodedEntry, value: CodedEntry, children?: ContentItem[]): CodeItem =>
  ({ valueType: 'CODE', relationship, name, value, ...(children?.length ? { children } : {}) });
export const text = (relationship: RelationshipType, name: CodedEntry, value: string, children?: ContentItem[]): TextItem =>
  ({ valueType: 'TEXT', relationship, name, value, ...(children?.length ? { children } : {}) });
export const uidref = (relationship: RelationshipType, name: CodedEntry, value: string): UidRefItem =>
  ({ valueType: 'UIDREF', relationship, name, value });
export const image = (relationship: RelationshipType, name: CodedEntry | undefined, ref: ImageRef, children?: ContentItem[]): ImageItem =>
  ({ valueType: 'IMAGE', relationship, ...(name ? { name } : {}), ref, ...(children?.length ? { children } : {}) });
export const num = (
  relationship: RelationshipType, name: CodedEntry, value: number | null, unit: CodedEntry,
  options: { qualifier?: CodedEntry; children?: ContentItem[] } = {},
): NumItem => {
  if (value !== null && !Number.isFinite(value)) throw new Error(`NUM "${name.meaning}": ${value} is not a finite number`);
  if (value === null && !options.qualifier) throw new Error(`NUM "${name.meaning}": a missing value needs a Numeric Value Qualifier`);
  return {
    valueType: 'NUM', relationship, name, value, unit,
    ...(options.qualifier ? { qualifier: options.qualifier } : {}),
    ...(options.children?.length ? { children: options.children } : {}),
  };
};

/**
 * A number as DS (PS3.5 6.2: at most 16 characters, fixed or exponent form). Returns the shortest text that reads
 * back as the same double when one fits; otherwise the closest that fits, and the caller adds Floating Point Value.
 */
export function decimalString(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`${value} cannot be written as DS`);
  const plain = String(value);
  if (plain.length <= 16) return plain;
  for (let digits = 15; digits >= 1; digits--) {
    const s = trimNumber(value.toPrecision(digits));
    if (s.length <= 16) return s;
  }
  throw new Error(`${value} does not fit DS`);
}

function trimNumber(s: string): string {
  const [mantissa, exponent] = s.split('e') as [string, string | undefined];
  const m = mantissa.includes('.') ? mantissa.replace(/0+$/, '').replace(/\.$/, '') : mantissa;
  return exponent === undefined ? m : `${m}e${exponent}`;
}

/** Every coded entry in the tree (concept names, values, units, qualifiers), for the Coding Scheme Identification. */
export function codesIn(items: ContentItem[]): CodedEntry[] {
  const out: CodedEntry[] = [];
  const visit = (item: ContentItem) => {
    if (item.name) out.push(item.name);
    if (item.valueType === 'CODE') out.push(item.value);
    if (item.valueType === 'NUM') { out.push(item.unit); if (item.qualifier) out.push(item.qualifier); }
    item.children?.forEach(visit);
  };
  items.forEach(visit);
  return out;
}

/** Every image reference in the tree. */
export function imageRefsIn(items: ContentItem[]): ImageRef[] {
  const out: ImageRef[] = [];
  const visit = (item: ContentItem) => {
    if (item.valueType === 'IMAGE') out.push(item.ref);
    item.children?.forEach(visit);
  };
  items.forEach(visit);
  return out;
}

/** DICOM Content Mapping Resource (PS3.16), the mapping resource of every DCMR template. */
export const DCMR_UID = '1.2.840.10008.8.1.1';

/**
 * The content item's attributes in dcmjs's naturalized form (keywords). The root CONTAINER's attributes go into
 * the top-level dataset (SR Document Content Module); every other item becomes a Content Sequence item.
 */
export function naturalizeItem(item: ContentItem): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (item.relationship) out.RelationshipType = item.relationship;
  out.ValueType = item.valueType;
  if (item.name) out.ConceptNameCodeSequence = [codeItem(item.name)];
  switch (item.valueType) {
    case 'CONTAINER':
      // PS3.3 C.18.8: SEPARATE, the items are independent statements, not one text to be read in sequence.
      out.ContinuityOfContent = 'SEPARATE';
      if (item.template) {
        out.ContentTemplateSequence = [{ MappingResource: 'DCMR', MappingResourceUID: DCMR_UID, TemplateIdentifier: item.template.identifier }];
      }
      break;
    case 'CODE':
      out.ConceptCodeSequence = [codeItem(item.value)];
      break;
    case 'TEXT':
      out.TextValue = item.value;
      break;
    case 'UIDREF':
      out.UID = item.value;
      break;
    case 'IMAGE':
      out.ReferencedSOPSequence = [imageRefItem(item.ref)];
      break;
    case 'NUM': {
      // PS3.3 C.18.1: Measured Value Sequence is type 2; empty (with a qualifier) when nothing was measured.
      if (item.value === null) {
        out.MeasuredValueSequence = [];
      } else {
        const ds = decimalString(item.value);
        const measured: Record<string, unknown> = { MeasurementUnitsCodeSequence: [codeItem(item.unit)], NumericValue: ds };
        // Floating Point Value (0040,A161) is required when DS cannot hold the value exactly (Table C.18.1-2).
        if (Number(ds) !== item.value) measured.FloatingPointValue = item.value;
        out.MeasuredValueSequence = [measured];
      }
      if (item.qualifier) out.NumericValueQualifierCodeSequence = [codeItem(item.qualifier)];
      break;
    }
  }
  if (item.children?.length) out.ContentSequence = item.children.map(naturalizeItem);
  return out;
}

/** A Referenced SOP Sequence item of the Image Reference Macro (PS3.3 Table C.18.4-1 / 10-3). */
export function imageRefItem(ref: ImageRef): Record<string, unknown> {
  const out: Record<string, unknown> = { ReferencedSOPClassUID: ref.sopClassUid, ReferencedSOPInstanceUID: ref.sopInstanceUid };
  if (ref.frames?.length) out.ReferencedFrameNumber = ref.frames.length === 1 ? String(ref.frames[0]) : ref.frames.map(String);
  if (ref.segments?.length) out.ReferencedSegmentNumber = ref.segments.length === 1 ? ref.segments[0] : ref.segments;
  return out;
}
