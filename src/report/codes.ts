// Codes for what OphGate reports. The coded meaning of a label is data in mappings/*.json, each entry with its
// meaning, the source it was checked against and whether that check succeeded; a model manifest only points at an
// entry ("mappings/fundus-findings.json#hard-exudate"). This module loads and validates such a file once and
// resolves those references, so SEG, SR and FHIR results take their codes from one reviewed place.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { formatPath } from '../inference/manifest.js';
import { PROJECT_ROOT } from '../project-root.js';

export const CODE_MAPPING_FORMAT = 'ophgate-code-mapping/1';
export const SNOMED_CT = 'http://snomed.info/sct';
export const LOINC = 'http://loinc.org';
export const DICOM_DCM = 'http://dicom.nema.org/resources/ontology/DCM';
export const OPHGATE_LOCAL = 'urn:ophgate:codes';
/** The folder, under the project root, that code references may point into. */
export const MAPPINGS_DIR = 'mappings';

export class CodeMappingError extends Error {
  constructor(readonly file: string, readonly problems: string[]) {
    super(`${file}: invalid code mapping:\n  ${problems.join('\n  ')}`);
    this.name = 'CodeMappingError';
  }
}

export class CodeRefError extends Error {
  constructor(readonly ref: string, reason: string) {
    super(`code reference "${ref}": ${reason}`);
    this.name = 'CodeRefError';
  }
}

// Verhoeff dihedral-group tables (the SNOMED CT check digit; SNOMED CT Technical Implementation Guide, SCTID).
const VERHOEFF_D = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5], [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
  [3, 4, 0, 1, 2, 8, 9, 5, 6, 7], [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
  [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3], [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
  [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];
const VERHOEFF_P = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4], [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
  [8, 9, 1, 6, 0, 4, 3, 5, 2, 7], [9, 4, 5, 3, 1, 2, 6, 8, 7, 0], [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
  [2, 7, 9, 3, 8, 0, 6, 4, 1, 5], [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];

/** True when the digit string (check digit last) passes the Verhoeff check. */
export function verhoeffValid(digits: string): boolean {
  if (!/^\d+$/.test(digits)) return false;
  let c = 0;
  const rev = [...digits].reverse();
  rev.forEach((ch, i) => { c = VERHOEFF_D[c]![VERHOEFF_P[i % 8]![Number(ch)]!]!; });
  return c === 0;
}

/**
 * Why a string is not a SNOMED CT concept id, or null when it is one: 6 to 18 digits, no leading zero, a concept
 * partition ("00" for the international short form, "10" for an extension's long form) and a valid Verhoeff check
 * digit. A typo in a copied code almost always fails here; a wrong but valid code (a real concept meaning something
 * else) does not, which is what `source` and `verified` are for.
 */
export function snomedConceptIdProblem(id: string): string | null {
  if (!/^[1-9]\d{5,17}$/.test(id)) return 'a SNOMED CT id is 6 to 18 digits without a leading zero';
  const partition = id.slice(-3, -1);
  if (partition !== '00' && partition !== '10') {
    return `partition identifier "${partition}" is not a concept's ("00" or "10"; "01"/"11" are descriptions, "02"/"12" relationships)`;
  }
  if (!verhoeffValid(id)) return 'the Verhoeff check digit is wrong';
  return null;
}

/** True when a LOINC term code "NNNNN-C" has the right mod-10 (Luhn) check digit. */
export function loincCheckDigitValid(code: string): boolean {
  const m = /^(\d+)-(\d)$/.exec(code);
  if (!m) return false;
  let sum = 0;
  [...(m[1]! + m[2]!)].reverse().forEach((ch, i) => {
    let v = Number(ch);
    if (i % 2 === 1) { v *= 2; if (v > 9) v -= 9; }
    sum += v;
  });
  return sum % 10 === 0;
}

const text = z.string().trim().min(1);
// Keys are what manifests write after "#": lower case, so a reference cannot differ from its key by case only.
const KEY = /^[a-z0-9][a-z0-9-]*$/;

const entrySchema = z.object({
  system: z.enum([SNOMED_CT, LOINC, DICOM_DCM, OPHGATE_LOCAL]),
  code: text,
  /** The code system's own term for the code, as it was found in `source`. */
  display: text,
  /** What OphGate means by the label, in its own words. */
  meaning: text,
  /** Where the code and display were checked (a page, a standard's table), or why a local code was defined. */
  source: text,
  /** True only when the code was found with this display in `source`. */
  verified: z.boolean(),
  note: text.optional(),
}).strict().superRefine((e, ctx) => {
  const problem = (p: string, message: string) => ctx.addIssue({ code: 'custom', path: [p], message });
  if (!e.verified && !e.note) problem('note', 'an entry that is not verified says why in a note');
  switch (e.system) {
    case SNOMED_CT: {
      const why = snomedConceptIdProblem(e.code);
      if (why) problem('code', why);
      break;
    }
    case LOINC:
      // Term codes carry a mod-10 check digit; answer (LA) and list (LL) codes use another scheme, so only their form is checked.
      if (/^L[AL]\d+-\d$/.test(e.code)) break;
      if (!loincCheckDigitValid(e.code)) problem('code', 'not a LOINC code "NNNNN-C" with a valid check digit, nor an LA/LL code');
      break;
    case DICOM_DCM:
      if (!/^\d{1,16}$/.test(e.code)) problem('code', 'a DCM code value is 1 to 16 digits');
      break;
    case OPHGATE_LOCAL:
      // DICOM Code Value is SH: at most 16 characters.
      if (!/^[A-Z0-9-]{1,16}$/.test(e.code)) problem('code', 'a local code is 1 to 16 of A-Z, 0-9 and "-" (DICOM SH)');
      if (e.verified) problem('verified', 'a local code has no outside source to be verified against; verified is false');
      break;
  }
});

const systemSchema = z.object({
  name: text,
  /** Coding Scheme Designator for DICOM (SCT, LN, DCM, 99xxx for a private scheme). */
  dicomScheme: z.string().regex(/^[0-9A-Z_]{1,16}$/, 'a DICOM Coding Scheme Designator (up to 16 of A-Z, 0-9, _)'),
}).strict();

export const codeMappingSchema = z.object({
  format: z.literal(CODE_MAPPING_FORMAT),
  description: text,
  systems: z.record(z.string(), systemSchema),
  codes: z.record(z.string().regex(KEY, 'a key is lower-case letters, digits and "-"'), entrySchema),
}).strict().superRefine((m, ctx) => {
  const seen = new Map<string, string>();
  for (const [key, e] of Object.entries(m.codes)) {
    if (!m.systems[e.system]) {
      ctx.addIssue({ code: 'custom', path: ['codes', key, 'system'], message: `"${e.system}" is not described under "systems"` });
    }
    // Two keys with one code would make two labels claim the same meaning: almost always a copy-paste error.
    const id = `${e.system}|${e.code}`;
    const other = seen.get(id);
    if (other) ctx.addIssue({ code: 'custom', path: ['codes', key, 'code'], message: `${e.code} is also the code of "${other}"` });
    else seen.set(id, key);
  }
});

export type CodeMapping = z.infer<typeof codeMappingSchema>;
export type CodeEntry = CodeMapping['codes'][string];

export interface ResolvedCode {
  key: string;
  system: string;
  code: string;
  display: string;
  meaning: string;
  source: string;
  verified: boolean;
  note?: string;
  /** DICOM Coding Scheme Designator of `system`. */
  dicomScheme: string;
}

/** Validates a parsed mapping; `file` only names the source in errors. */
export function parseCodeMapping(raw: unknown, file: string): CodeMapping {
  const result = codeMappingSchema.safeParse(raw);
  if (!result.success) {
    throw new CodeMappingError(file, result.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`));
  }
  return result.data;
}

// One parse per file for the life of the process: mappings are read-only data, and reports resolve codes per finding.
const cache = new Map<string, CodeMapping>();

/** Loads and validates a mapping file (absolute path), once; later calls return the same object. */
export function loadCodeMapping(file: string): CodeMapping {
  const abs = path.resolve(file);
  const hit = cache.get(abs);
  if (hit) return hit;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(abs, 'utf8'));
  } catch (err) {
    throw new CodeMappingError(abs, [`cannot read as JSON: ${(err as Error).message}`]);
  }
  const mapping = parseCodeMapping(raw, abs);
  cache.set(abs, mapping);
  return mapping;
}

/** Forgets loaded mappings (tests; a process that edits mappings on disk). */
export function clearCodeMappingCache(): void {
  cache.clear();
}

const REF = /^([^#\s]+\.json)#([^#\s]+)$/;

/**
 * Resolves "mappings/<file>.json#<key>" (relative to `root`, the project root by default) to its code. Throws a
 * CodeRefError naming the reference and what is missing: the form, the file, or the key.
 */
export function resolveCodeRef(ref: string, root: string = PROJECT_ROOT): ResolvedCode {
  const m = REF.exec(ref);
  if (!m) throw new CodeRefError(ref, 'not of the form "mappings/<file>.json#<key>"');
  const [, rel, key] = m as unknown as [string, string, string];
  // A manifest may come from a site; its references must not read files outside mappings/.
  const dir = path.resolve(root, MAPPINGS_DIR);
  const file = path.resolve(root, rel);
  if (path.isAbsolute(rel) || path.dirname(file) !== dir) {
    throw new CodeRefError(ref, `the file must be directly in ${MAPPINGS_DIR}/ (relative to the project root)`);
  }
  if (!existsSync(file)) throw new CodeRefError(ref, `the mapping file ${rel} does not exist`);
  const mapping = loadCodeMapping(file);
  const entry = Object.hasOwn(mapping.codes, key) ? mapping.codes[key] : undefined;
  if (!entry) throw new CodeRefError(ref, `${rel} has no code with the key "${key}"`);
  return {
    key,
    system: entry.system,
    code: entry.code,
    display: entry.display,
    meaning: entry.meaning,
    source: entry.source,
    verified: entry.verified,
    ...(entry.note ? { note: entry.note } : {}),
    dicomScheme: mapping.systems[entry.system]!.dicomScheme,
  };
}
