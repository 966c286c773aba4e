// OphGate's findings for one study as a DICOM Comprehensive SR (PS3.3 A.35.3) whose content is TID 1500
// Measurement Report (PS3.16), as IHE AI Results asks of AI output:
//
//   CONTAINER Imaging Measurement Report (TID 1500 row 1, Content Template 1500)
//     HAS CONCEPT MOD  Language of Content Item and Descendants = en-US         (TID 1204)
//     HAS OBS CONTEXT  Observer Type = Device, Device Observer UID/Name/...      (TID 1001/1002/1004)
//     HAS CONCEPT MOD  Procedure reported = Ocular fundus photography
//     CONTAINS         Image Library: every photograph and SEG                  (TID 1600)
//     CONTAINS         Imaging Measurements: the measurement groups             (TID 1501 / TID 1410, fundus-groups.ts)
//     CONTAINS         Qualitative Evaluations: the narrative, with its own device observer (rows 12-14)
//
// and the modules around it: Patient and General Study copied from a source image (source-modules.ts), SR
// Document Series, General Equipment, SR Document General (completion, verification, predecessor, evidence) and
// SOP Common. The bytes are PS3.10, explicit VR little endian (part10-writer.ts).
import { codingSchemeIdentification } from '../common/coded-entry.js';
import { writePart10 } from '../common/part10-writer.js';
import { inheritedFromSource } from '../common/source-modules.js';
import { firstString, type DicomJson } from '../json-model.js';
import { isValidUid } from '../uid.js';
import { findingResultSchema, type FindingResult } from '../../inference/finding-result.js';
import {
  code, codesIn, container, naturalizeItem, text, type ContainerItem, type ContentItem,
} from './content-items.js';
import {
  IMAGING_MEASUREMENT_REPORT, IMAGING_MEASUREMENTS, IMPRESSION, MODALITY_CODES, PROCEDURE_REPORTED, QUALITATIVE_EVALUATIONS,
  mapped,
} from './codes.js';
import { groupsForFinding, MeasurementReportError, type ImageContext } from './fundus-groups.js';
import { deviceObserverContext, languageOfContent } from './tid1001.js';
import { imageLibrary, type LibraryEntry } from './tid1600.js';
import { deriveUid } from '../uid.js';

export { MeasurementReportError } from './fundus-groups.js';

/** Comprehensive SR Storage (PS3.4 B.5): TID 1500 needs IMAGE references with segment numbers, NUM and CODE. */
export const COMPREHENSIVE_SR_STORAGE = '1.2.840.10008.5.1.4.1.1.88.33';
const SEGMENTATION_STORAGE = '1.2.840.10008.5.1.4.1.1.66.4';
/** Ophthalmic Photography 8 Bit / 16 Bit Image Storage. */
const OP_SOP_CLASSES = new Set(['1.2.840.10008.5.1.4.1.1.77.1.5.1', '1.2.840.10008.5.1.4.1.1.77.1.5.2']);

export interface SrImageInput {
  source: {
    sopClassUid: string;
    sopInstanceUid: string;
    seriesUid: string;
    /** 1-based, only for multi-frame sources. */
    frame?: number;
    laterality: 'R' | 'L' | null;
    attributes?: DicomJson;
  };
  /** One per model that ran on this image frame. */
  findings: FindingResult[];
  /** Row and column spacing when the source has PixelSpacing/ImagerPixelSpacing; then areas also in mm2. */
  pixelSpacingMm?: [number, number] | null;
  /** The SEG written for this image; keys are lesion keys (e.g. 'HE', 'OD', 'cup') present in it. */
  seg?: {
    sopClassUid: string;
    sopInstanceUid: string;
    seriesUid: string;
    segmentNumberOfKey: Record<string, number>;
  };
}

export interface MeasurementReportInput {
  /** Top-level attributes of one source instance (patient/study modules are copied from it). */
  source: DicomJson;
  images: SrImageInput[];
  seriesInstanceUid: string;
  sopInstanceUid: string;
  seriesNumber: number;
  instanceNumber: number;
  contentDateTime: Date;
  equipment: { manufacturer: string; modelName: string; softwareVersions: string; deviceSerialNumber: string; institutionName?: string };
  /** Device observer name, e.g. 'OphGate fundus pipeline'. */
  algorithmName?: string;
  /** A narrative of the findings and what produced it (e.g. a language model's name and version). */
  narrative?: { text: string; producedBy: string };
  predecessor?: { studyUid: string; seriesUid: string; sopClassUid: string; sopInstanceUid: string };
  verification?: { observerName: string; organization: string; dateTime: Date };
  completion?: 'COMPLETE' | 'PARTIAL';
}

const fail = (message: string): never => { throw new MeasurementReportError(message); };

function checkUid(uid: string, what: string): void {
  if (typeof uid !== 'string' || !isValidUid(uid)) fail(`${what} "${uid}" is not a valid UID`);
}

function checkCount(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 1) fail(`${what} must be a positive integer, not ${n}`);
}

/** Checks the input and returns each image's context; every error names the image and what is wrong. */
function imageContexts(input: MeasurementReportInput, studyUid: string): ImageContext[] {
  if (!Array.isArray(input.images) || input.images.length === 0) fail('a measurement report needs at least one image');
  const seen = new Set<string>();
  return input.images.map((img, i): ImageContext => {
    const s = img.source;
    const label = `image ${i + 1} (${s.sopInstanceUid}${s.frame !== undefined ? `, frame ${s.frame}` : ''})`;
    checkUid(s.sopClassUid, `${label}: SOP Class UID`);
    checkUid(s.sopInstanceUid, `${label}: SOP Instance UID`);
    checkUid(s.seriesUid, `${label}: Series Instance UID`);
    if (s.frame !== undefined) checkCount(s.frame, `${label}: frame`);
    if (s.laterality !== null && s.laterality !== 'R' && s.laterality !== 'L') fail(`${label}: laterality is 'R', 'L' or null, not ${JSON.stringify(s.laterality)}`);
    const key = `${s.sopInstanceUid}#${s.frame ?? 0}`;
    if (seen.has(key)) fail(`${label} is listed twice`);
    seen.add(key);
    const study = s.attributes ? firstString(s.attributes, '0020000D') : undefined;
    if (study !== undefined && study !== studyUid) fail(`${label} belongs to study ${study}, not to the report's study ${studyUid}`);
    if (!Array.isArray(img.findings) || img.findings.length === 0) fail(`${label} has no findings`);
    const models = new Set<string>();
    img.findings.forEach((f, j) => {
      const parsed = findingResultSchema.safeParse(f);
      if (!parsed.success) fail(`${label}, finding ${j + 1}: not a FindingResult: ${parsed.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')}`);
      if (models.has(f.model.name)) fail(`${label}: model ${f.model.name} has two findings for the same image`);
      models.add(f.model.name);
      if (f.laterality !== null && s.laterality !== null && f.laterality.toUpperCase() !== s.laterality) {
        fail(`${label}: model ${f.model.name} saw laterality ${f.laterality}, the image says ${s.laterality}`);
      }
    });
    const spacing = img.pixelSpacingMm ?? null;
    if (spacing !== null && !(Array.isArray(spacing) && spacing.length === 2 && spacing.every((v) => Number.isFinite(v) && v > 0))) {
      fail(`${label}: pixelSpacingMm is [row, column] in mm, both positive, not ${JSON.stringify(spacing)}`);
    }
    let seg: ImageContext['seg'];
    if (img.seg) {
      checkUid(img.seg.sopClassUid, `${label}: SEG SOP Class UID`);
      checkUid(img.seg.sopInstanceUid, `${label}: SEG SOP Instance UID`);
      checkUid(img.seg.seriesUid, `${label}: SEG Series Instance UID`);
      checkSegments(img, label);
      seg = {
        ref: { sopClassUid: img.seg.sopClassUid, sopInstanceUid: img.seg.sopInstanceUid },
        segmentNumberOfKey: img.seg.segmentNumberOfKey,
      };
    }
    return {
      label,
      number: i + 1,
      source: { sopClassUid: s.sopClassUid, sopInstanceUid: s.sopInstanceUid, ...(s.frame !== undefined ? { frames: [s.frame] } : {}) },
      laterality: s.laterality,
      pixelSpacingMm: spacing,
      ...(seg ? { seg } : {}),
    };
  });
}

/**
 * Every SEG segment must be a mask channel with pixels: a segment for an empty or unknown channel means SEG and
 * findings disagree. A channel with pixels may lack a segment (the results stage leaves out a channel whose mask
 * file is missing); its group then has no ROI (TID 1501).
 */
function checkSegments(img: SrImageInput, label: string): void {
  const seg = img.seg!;
  const lesions = img.findings.flatMap((f) => f.lesions);
  const keys = lesions.map((l) => l.key);
  if (new Set(keys).size !== keys.length) fail(`${label}: two models report mask channel keys in common (${keys.join(', ')}); a SEG segment could not be told apart`);
  const withPixels = new Set(lesions.filter((l) => l.areaPx > 0).map((l) => l.key));
  const numbers = new Set<number>();
  for (const [key, n] of Object.entries(seg.segmentNumberOfKey)) {
    checkCount(n, `${label}: SEG segment number of ${key}`);
    if (numbers.has(n)) fail(`${label}: SEG segment number ${n} is given to two keys`);
    numbers.add(n);
    if (!withPixels.has(key)) fail(`${label}: the SEG has a segment for "${key}", which is not a mask channel with pixels in the findings`);
  }
}

// PS3.5 6.2: DA YYYYMMDD, TM HHMMSS.FFFFFF, DT with the offset; OphGate writes UTC and says so (+0000).
const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const da = (d: Date) => `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}`;
const tm = (d: Date) => `${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`;
const dt = (d: Date) => `${da(d)}${tm(d)}+0000`;

function checkDate(d: Date, what: string): void {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) fail(`${what} is not a valid date`);
}

/** Hierarchical SOP Instance Reference Macro (PS3.3 Table C.17-3): study, then series, then instances. */
function hierarchicalReference(studyUid: string, refs: Array<{ seriesUid: string; sopClassUid: string; sopInstanceUid: string }>): Record<string, unknown> {
  const bySeries = new Map<string, Map<string, string>>();
  for (const r of refs) {
    const series = bySeries.get(r.seriesUid) ?? new Map<string, string>();
    series.set(r.sopInstanceUid, r.sopClassUid);
    bySeries.set(r.seriesUid, series);
  }
  return {
    StudyInstanceUID: studyUid,
    ReferencedSeriesSequence: [...bySeries].map(([seriesUid, instances]) => ({
      SeriesInstanceUID: seriesUid,
      ReferencedSOPSequence: [...instances].map(([sopInstanceUid, sopClassUid]) => ({ ReferencedSOPClassUID: sopClassUid, ReferencedSOPInstanceUID: sopInstanceUid })),
    })),
  };
}

function libraryEntries(input: MeasurementReportInput, contexts: ImageContext[]): LibraryEntry[] {
  const entries: LibraryEntry[] = [];
  const seenSeg = new Set<string>();
  input.images.forEach((img, i) => {
    const ctx = contexts[i]!;
    const modalityValue = img.source.attributes ? firstString(img.source.attributes, '00080060') : undefined;
    const modality = (modalityValue && Object.hasOwn(MODALITY_CODES, modalityValue) ? MODALITY_CODES[modalityValue] : undefined)
      ?? (OP_SOP_CLASSES.has(img.source.sopClassUid) ? MODALITY_CODES.OP : undefined);
    const laterality = img.source.laterality === 'R' ? mapped.right() : img.source.laterality === 'L' ? mapped.left() : undefined;
    entries.push({ ref: ctx.source, ...(modality ? { modality } : {}), ...(laterality ? { laterality } : {}) });
    if (img.seg && !seenSeg.has(img.seg.sopInstanceUid)) {
      seenSeg.add(img.seg.sopInstanceUid);
      entries.push({ ref: { sopClassUid: img.seg.sopClassUid, sopInstanceUid: img.seg.sopInstanceUid }, modality: MODALITY_CODES.SEG!, ...(laterality ? { laterality } : {}) });
    }
  });
  return entries;
}

/** The content tree (root CONTAINER) of the report; exported for tests and for readers of this module. */
export function measurementReportContent(input: MeasurementReportInput): ContainerItem {
  const studyUid = firstString(input.source ?? {}, '0020000D') ?? fail('the source attributes have no Study Instance UID (0020,000D)');
  const contexts = imageContexts(input, studyUid);
  const groups = input.images.flatMap((img, i) => img.findings.flatMap((f) => groupsForFinding(contexts[i]!, f)));
  const { manufacturer, modelName, deviceSerialNumber } = input.equipment;
  const device = {
    // The same device (manufacturer, model, serial number) keeps its Device Observer UID from report to report.
    uid: deriveUid('2.25', ...['ophgate-sr-device', manufacturer, modelName, deviceSerialNumber].map(String)),
    name: input.algorithmName ?? modelName,
    manufacturer,
    modelName,
    serialNumber: deviceSerialNumber,
  };
  const content: ContentItem[] = [
    languageOfContent(),
    ...deviceObserverContext(device),
    code('HAS CONCEPT MOD', PROCEDURE_REPORTED, mapped.procedure()),
    imageLibrary(libraryEntries(input, contexts)),
    container('CONTAINS', IMAGING_MEASUREMENTS, groups),
  ];
  if (input.narrative) {
    const { text: narrative, producedBy } = input.narrative;
    if (!narrative?.trim()) fail('the narrative is empty');
    if (!producedBy?.trim()) fail('the narrative does not say what produced it');
    // Another device wrote the narrative: its own observer context replaces the report's for this container
    // (PS3.3 C.17.3.2.5, observation context inheritance).
    content.push(container('CONTAINS', QUALITATIVE_EVALUATIONS, [
      ...deviceObserverContext({ uid: deriveUid('2.25', ...['ophgate-sr-narrative', producedBy].map(String)), name: producedBy }),
      text('CONTAINS', IMPRESSION, narrative),
    ]));
  }
  return container(undefined, IMAGING_MEASUREMENT_REPORT, content, '1500');
}

/** Builds the report and returns its PS3.10 bytes. Throws MeasurementReportError (or CodeRefError) on bad input. */
export function buildMeasurementReport(input: MeasurementReportInput): Buffer {
  const root = measurementReportContent(input);
  const studyUid = firstString(input.source, '0020000D')!;
  checkUid(studyUid, 'Study Instance UID');
  checkUid(input.seriesInstanceUid, 'the SR Series Instance UID');
  checkUid(input.sopInstanceUid, 'the SR SOP Instance UID');
  checkCount(input.seriesNumber, 'seriesNumber');
  checkCount(input.instanceNumber, 'instanceNumber');
  checkDate(input.contentDateTime, 'contentDateTime');
  const when = input.contentDateTime;

  const evidence = input.images.flatMap((img) => [
    { seriesUid: img.source.seriesUid, sopClassUid: img.source.sopClassUid, sopInstanceUid: img.source.sopInstanceUid },
    ...(img.seg ? [{ seriesUid: img.seg.seriesUid, sopClassUid: img.seg.sopClassUid, sopInstanceUid: img.seg.sopInstanceUid }] : []),
  ]);
  const e = input.equipment;
  const dataset: Record<string, unknown> = {
    // SOP Common (PS3.3 C.12.1)
    SOPClassUID: COMPREHENSIVE_SR_STORAGE,
    SOPInstanceUID: input.sopInstanceUid,
    InstanceCreationDate: da(when),
    InstanceCreationTime: tm(when),
    TimezoneOffsetFromUTC: '+0000',
    // SR Document Series (C.17.1)
    Modality: 'SR',
    SeriesInstanceUID: input.seriesInstanceUid,
    SeriesNumber: input.seriesNumber,
    SeriesDate: da(when),
    SeriesTime: tm(when),
    ReferencedPerformedProcedureStepSequence: [],
    // General Equipment (C.7.5.1)
    Manufacturer: e.manufacturer,
    ManufacturerModelName: e.modelName,
    DeviceSerialNumber: e.deviceSerialNumber,
    SoftwareVersions: e.softwareVersions,
    ...(e.institutionName ? { InstitutionName: e.institutionName } : {}),
    // SR Document General (C.17.2)
    InstanceNumber: input.instanceNumber,
    CompletionFlag: input.completion ?? 'COMPLETE',
    VerificationFlag: input.verification ? 'VERIFIED' : 'UNVERIFIED',
    ContentDate: da(when),
    ContentTime: tm(when),
    PerformedProcedureCodeSequence: [],
    CurrentRequestedProcedureEvidenceSequence: [hierarchicalReference(studyUid, evidence)],
    // SR Document Content (C.17.3): the root content item's attributes are top-level.
    ...naturalizeItem(root),
  };
  if (input.completion !== undefined && input.completion !== 'COMPLETE' && input.completion !== 'PARTIAL') fail(`completion is COMPLETE or PARTIAL, not ${input.completion}`);
  // PS3.3 C.17.2.1: only a complete document may be VERIFIED.
  if (input.verification && input.completion === 'PARTIAL') fail('a PARTIAL report cannot be verified (PS3.3 C.17.2: VERIFIED needs CompletionFlag COMPLETE)');
  if (input.verification) {
    const v = input.verification;
    if (!v.observerName?.trim() || !v.organization?.trim()) fail('verification needs the observer name and organization');
    checkDate(v.dateTime, 'verification dateTime');
    dataset.VerifyingObserverSequence = [{
      VerifyingObserverName: v.observerName,
      VerifyingObserverIdentificationCodeSequence: [],
      VerifyingOrganization: v.organization,
      VerificationDateTime: dt(v.dateTime),
    }];
  }
  if (input.predecessor) {
    const p = input.predecessor;
    for (const [k, v] of Object.entries(p)) checkUid(v, `predecessor ${k}`);
    dataset.PredecessorDocumentsSequence = [hierarchicalReference(p.studyUid, [{ seriesUid: p.seriesUid, sopClassUid: p.sopClassUid, sopInstanceUid: p.sopInstanceUid }])];
  }
  const schemes = codingSchemeIdentification(codesIn([root]));
  if (schemes.length > 0) dataset.CodingSchemeIdentificationSequence = schemes;

  // Specific Character Set: the source's, or ISO_IR 192 when a value is not ASCII (writePart10).
  return writePart10(dataset, inheritedFromSource(input.source));
}

