// Shared pieces of the FHIR R4 builders: reading DICOM JSON attributes, DICOM dates and times as FHIR
// date/dateTime, codings from mapping entries, the OphGate identifier systems and stable ids.
import { createHash } from 'node:crypto';
import type { CodeableConcept, Coding, Reference, Resource } from '@medplum/fhirtypes';
import type { DicomJson } from '../../dicom/json-model.js';
import { resolveCodeRef, type ResolvedCode } from '../codes.js';

/** Input a resource cannot be built from (no PatientID, a finding whose code does not resolve, ...). */
export class FhirBuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FhirBuildError';
  }
}

/** Identifier systems OphGate defines for what it creates; values are derived from DICOM UIDs and model outputs. */
export const OPHGATE_ID = {
  observation: 'urn:ophgate:fhir:observation',
  diagnosticReport: 'urn:ophgate:fhir:diagnostic-report',
  device: 'urn:ophgate:fhir:device',
  endpoint: 'urn:ophgate:fhir:endpoint',
  provenance: 'urn:ophgate:fhir:provenance',
} as const;

export const DICOM_UID_SYSTEM = 'urn:dicom:uid';
export const RFC3986 = 'urn:ietf:rfc:3986';
export const UCUM = 'http://unitsofmeasure.org';
export const OBSERVATION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';

/** What every builder may need from OphGate's configuration. */
export interface FhirContext {
  /** OphGate's public base URL (http.publicBaseUrl), without a trailing slash needed. */
  publicBaseUrl: string;
  /** Patient.identifier system when the study has no usable IssuerOfPatientID. */
  defaultPatientIdentifierSystem: string;
  /**
   * IssuerOfPatientID values that are local names (not URIs, not OIDs) become `<namespace><issuer>`; the default
   * is `urn:ophgate:issuer:`. A site that knows its issuers' real systems maps them in `issuerSystems`.
   */
  issuerNamespace?: string;
  /** Exact IssuerOfPatientID value -> identifier system URI (wins over every other rule). */
  issuerSystems?: Record<string, string>;
}

/** The string values of an attribute (PN values give their Alphabetic group). */
export function strings(json: DicomJson | undefined, tag: string): string[] {
  const vals = json?.[tag]?.Value ?? [];
  const out: string[] = [];
  for (const v of vals) {
    if (typeof v === 'string') out.push(v);
    else if (typeof v === 'number') out.push(String(v));
    else if (v && typeof v === 'object' && typeof (v as Record<string, unknown>).Alphabetic === 'string') {
      out.push((v as Record<string, string>).Alphabetic!);
    }
  }
  return out;
}

/** First non-blank string value, trimmed (DICOM pads with spaces), or undefined. */
export function str(json: DicomJson | undefined, tag: string): string | undefined {
  const s = strings(json, tag)[0]?.trim();
  return s ? s : undefined;
}

export function int(json: DicomJson | undefined, tag: string): number | undefined {
  const s = str(json, tag);
  if (s === undefined) return undefined;
  const n = Number(s);
  return Number.isInteger(n) ? n : undefined;
}

/** DICOM DA "YYYYMMDD" (or the ACR-NEMA "YYYY.MM.DD") -> FHIR date, or undefined when it is not a real date. */
export function fhirDate(da: string | undefined): string | undefined {
  const m = /^(\d{4})\.?(\d{2})\.?(\d{2})$/.exec(da?.trim() ?? '');
  if (!m) return undefined;
  const [, y, mo, d] = m as unknown as [string, string, string, string];
  const date = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  // Rejects 20230231 and the like, which FHIR validators (and EHRs) refuse.
  if (date.getUTCFullYear() !== Number(y) || date.getUTCMonth() !== Number(mo) - 1 || date.getUTCDate() !== Number(d)) return undefined;
  return `${y}-${mo}-${d}`;
}

/**
 * DICOM DA + TM (+ TimezoneOffsetFromUTC "+HHMM") -> FHIR dateTime. FHIR requires a zone once hours are given;
 * without an offset in the study the date alone is reported, rather than inventing a zone.
 */
export function fhirDateTime(da: string | undefined, tm: string | undefined, tz: string | undefined): string | undefined {
  const date = fhirDate(da);
  if (!date) return undefined;
  const t = /^(\d{2})(?::?(\d{2}))?(?::?(\d{2}))?(?:\.(\d{1,6}))?$/.exec(tm?.trim() ?? '');
  const z = /^([+-])(\d{2})(\d{2})$/.exec(tz?.trim() ?? '');
  if (!t || !z) return date;
  const [, hh, mm = '00', ss = '00', frac] = t as unknown as [string, string, string?, string?, string?];
  if (Number(hh) > 23 || Number(mm) > 59 || Number(ss) > 59) return date;
  return `${date}T${hh}:${mm}:${ss}${frac ? `.${frac}` : ''}${z[1]}${z[2]}:${z[3]}`;
}

/** A mapping entry as a FHIR Coding (system, code, display as the code system says it). */
export function codingOf(r: ResolvedCode): Coding {
  return { system: r.system, code: r.code, display: r.display };
}

/** A code reference ("mappings/fundus-findings.json#key") as a CodeableConcept; `text` defaults to the display. */
export function conceptOf(ref: string, text?: string): CodeableConcept {
  const r = resolveCodeRef(ref);
  return { coding: [codingOf(r)], text: text ?? r.display };
}

export const mappingRef = (key: string) => `mappings/fundus-findings.json#${key}`;

/** The key of a code reference ("...#dr-grade-2" -> "dr-grade-2"). */
export function keyOf(ref: string): string {
  return ref.slice(ref.lastIndexOf('#') + 1);
}

/**
 * A stable urn:uuid from its parts (SHA-256 of the parts, shaped as a version-8 "custom" UUID, RFC 9562): the same
 * study gives the same bundle, so a re-sent bundle is byte-for-byte comparable.
 */
export function stableUuid(...parts: string[]): string {
  const h = createHash('sha256').update(JSON.stringify(parts)).digest();
  h[6] = (h[6]! & 0x0f) | 0x80;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `urn:uuid:${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/** A reference to a bundle entry by its fullUrl. */
export function ref<T extends Resource = Resource>(fullUrl: string, display?: string): Reference<T> {
  return display ? { reference: fullUrl, display } : { reference: fullUrl };
}

/** FHIR search token value: "|", ",", "$" and "\" are escaped with "\" (R4 3.1.1.5.6), then URL-encoded. */
export function tokenParam(system: string, value: string): string {
  const esc = (s: string) => s.replace(/[\\|,$]/g, (c) => `\\${c}`);
  return `${encodeURIComponent(esc(system))}|${encodeURIComponent(esc(value))}`;
}

/** R4 laterality for ImageLaterality / Laterality values. */
export type Eye = 'R' | 'L' | 'B';
export function eyeOf(v: string | null | undefined): Eye | undefined {
  const s = v?.trim().toUpperCase();
  return s === 'R' || s === 'L' || s === 'B' ? s : undefined;
}
