// Code Sequence Macro items (PS3.3 Table 8.8-1) built from the reviewed code mappings in mappings/*.json, so that
// SEG, SR and FHIR say the same thing with the same code. FHIR names a code system by URI; DICOM by a Coding
// Scheme Designator (PS3.16 Table 8-1), which the mapping file's "systems" table gives: SCT, LN, DCM, and the
// private 99OPHGATE for OphGate's local codes, which each object that uses it declares in its Coding Scheme
// Identification Sequence.
import { resolveCodeRef, type ResolvedCode } from '../../report/codes.js';

export interface CodedEntry {
  /** Code Value (up to 16 characters; longer ones go to Long Code Value). */
  value: string;
  /** Coding Scheme Designator. */
  scheme: string;
  meaning: string;
}

export const OPHGATE_SCHEME = '99OPHGATE';

/** From a resolved mapping entry. */
export function codedEntryOf(entry: Pick<ResolvedCode, 'dicomScheme' | 'code' | 'display'>): CodedEntry {
  return { value: entry.code, scheme: entry.dicomScheme, meaning: entry.display };
}

/** From a reference such as "mappings/fundus-findings.json#haemorrhage". */
export function codedEntryOfRef(ref: string): CodedEntry {
  return codedEntryOf(resolveCodeRef(ref));
}

/** A code sequence item in dcmjs's naturalized form. CodeMeaning is LO: at most 64 characters. */
export function codeItem(c: CodedEntry): Record<string, string> {
  const meaning = c.meaning.length > 64 ? c.meaning.slice(0, 64) : c.meaning;
  return c.value.length > 16
    ? { LongCodeValue: c.value, CodingSchemeDesignator: c.scheme, CodeMeaning: meaning }
    : { CodeValue: c.value, CodingSchemeDesignator: c.scheme, CodeMeaning: meaning };
}

/** A DCM code (PS3.16 Annex D) by value and meaning. */
export const dcm = (value: string, meaning: string): CodedEntry => ({ value, scheme: 'DCM', meaning });
export const sct = (value: string, meaning: string): CodedEntry => ({ value, scheme: 'SCT', meaning });

/** Coding Scheme Identification Sequence (PS3.3 C.12.1.1.6) items for the private schemes among `codes`. */
export function codingSchemeIdentification(codes: Iterable<CodedEntry>): Array<Record<string, string>> {
  const schemes = new Set<string>();
  for (const c of codes) if (c.scheme.startsWith('99')) schemes.add(c.scheme);
  return [...schemes].sort().map((s): Record<string, string> => s === OPHGATE_SCHEME
    ? { CodingSchemeDesignator: s, CodingSchemeName: 'OphGate local codes', CodingSchemeResponsibleOrganization: 'OphGate project (mappings/fundus-findings.json)' }
    : { CodingSchemeDesignator: s });
}
