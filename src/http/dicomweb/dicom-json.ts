// DICOM JSON Model (PS3.18 Annex F) helpers the read services share: building elements, ordering them by tag, and
// turning the store's BulkDataURI placeholders ("bulk:<tag path>", see src/dicom/json-model.ts) into absolute URLs
// of the WADO-RS bulkdata resource (PS3.18 10.4.1.1.5, F.2.6).
import { BULK_PREFIX, type DicomJson, type DicomJsonElement } from '../../dicom/json-model.js';

export function element(vr: string, values?: ReadonlyArray<string | number | Record<string, unknown>>): DicomJsonElement {
  return values && values.length > 0 ? { vr, Value: [...values] } : { vr };
}

/** The same attributes with their keys in ascending tag order (Annex F orders them; some clients rely on it). */
export function sortByTag(json: DicomJson): DicomJson {
  const out: DicomJson = {};
  for (const k of Object.keys(json).sort()) out[k] = json[k]!;
  return out;
}

/**
 * Rewrites "bulk:<path>" placeholders, at any depth, to `${instanceUrl}/bulk/<path>`. Mutates and returns `json`.
 * The WADO-RS bulk route resolves the same path in the stored file.
 */
export function rewriteBulkDataUris(json: DicomJson, instanceUrl: string): DicomJson {
  for (const el of Object.values(json)) {
    if (!el || typeof el !== 'object') continue;
    if (typeof el.BulkDataURI === 'string' && el.BulkDataURI.startsWith(BULK_PREFIX)) {
      el.BulkDataURI = `${instanceUrl}/bulk/${el.BulkDataURI.slice(BULK_PREFIX.length)}`;
    } else if (el.vr === 'SQ' && Array.isArray(el.Value)) {
      for (const item of el.Value) if (item && typeof item === 'object') rewriteBulkDataUris(item as DicomJson, instanceUrl);
    }
  }
  return json;
}

/** Parses stored DICOM JSON text, dropping null entries that json_object writes for absent tags. */
export function parseAttributes(text: string | null | undefined): DicomJson {
  if (!text) return {};
  const parsed = JSON.parse(text) as Record<string, DicomJsonElement | null>;
  const out: DicomJson = {};
  for (const [k, v] of Object.entries(parsed)) if (v && typeof v === 'object') out[k] = v;
  return out;
}
