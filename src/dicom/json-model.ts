// Converts dcmjs's parsed dictionary to the DICOM JSON Model (PS3.18 Annex F). Binary values up to
// INLINE_BINARY_MAX bytes are kept inline (F.2.7); larger ones become BulkDataURI placeholders "bulk:" + tag path,
// which WADO-RS metadata rewrites into retrievable URLs.
export type DicomJsonValue = string | number | Record<string, unknown> | DicomJson;
export interface DicomJsonElement {
  vr: string;
  Value?: DicomJsonValue[];
  InlineBinary?: string;
  BulkDataURI?: string;
}
export type DicomJson = Record<string, DicomJsonElement>;

const BINARY_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);
export const INLINE_BINARY_MAX = 1024;
export const BULK_PREFIX = 'bulk:';

interface DcmjsElement { vr?: string; Value?: unknown[] }

function binaryBytes(values: unknown[]): Buffer {
  return Buffer.concat(values.map((v) =>
    v instanceof ArrayBuffer ? Buffer.from(v) : ArrayBuffer.isView(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : Buffer.alloc(0)));
}

export function toDicomJson(dict: Record<string, DcmjsElement>, tagPath = ''): DicomJson {
  const out: DicomJson = {};
  for (const [rawTag, element] of Object.entries(dict)) {
    const tag = rawTag.toUpperCase();
    if (tag === '7FE00010' || tag.startsWith('0002')) continue;
    const vr = element.vr ?? 'UN';
    const values = element.Value ?? [];
    const path = tagPath ? `${tagPath}/${tag}` : tag;
    if (vr === 'SQ') {
      out[tag] = { vr, Value: values.map((item, i) => toDicomJson((item ?? {}) as Record<string, DcmjsElement>, `${path}/${i}`)) };
    } else if (BINARY_VRS.has(vr)) {
      const bytes = binaryBytes(values);
      if (bytes.length === 0) out[tag] = { vr };
      else if (bytes.length <= INLINE_BINARY_MAX) out[tag] = { vr, InlineBinary: bytes.toString('base64') };
      else out[tag] = { vr, BulkDataURI: BULK_PREFIX + path };
    } else {
      const clean = values.filter((v) => v !== undefined && v !== null && !(typeof v === 'string' && v === ''));
      out[tag] = clean.length > 0 ? { vr, Value: clean as DicomJsonValue[] } : { vr };
    }
  }
  return out;
}

/** First value of an attribute as a string, or undefined. PN values give their Alphabetic group. */
export function firstString(json: DicomJson, tag: string): string | undefined {
  const v = json[tag]?.Value?.[0];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'object') {
    const alpha = (v as Record<string, unknown>).Alphabetic;
    return typeof alpha === 'string' ? alpha : undefined;
  }
  return String(v);
}

export function firstNumber(json: DicomJson, tag: string): number | undefined {
  const v = json[tag]?.Value?.[0];
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** Keep only the listed tags (used to split study-, series- and instance-level attributes). */
export function pick(json: DicomJson, tags: readonly string[]): DicomJson {
  const out: DicomJson = {};
  for (const t of tags) if (json[t]) out[t] = json[t]!;
  return out;
}
