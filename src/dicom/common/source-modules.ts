// The attributes a derived object (SEG, SR) inherits from the image it was made from, so that a PACS files it in
// the same patient and study: the Patient, Clinical Trial Subject, General Study, Patient Study and Clinical Trial
// Study modules (PS3.3 C.7.1.1, C.7.1.3, C.7.2.1, C.7.2.2, C.7.2.3), plus the Specific Character Set that their
// text values are in. Values are copied as stored (DICOM JSON Model, which dcmjs writes as is), never re-typed.
import type { DicomJson } from '../json-model.js';

/** Tags copied verbatim when the source has them (empty ones included: type 2 stays type 2). */
export const INHERITED_TAGS: readonly string[] = [
  '00080005', // Specific Character Set
  // Patient
  '00100010', '00100020', '00100021', '00100024', '00100030', '00100032', '00100040', '00101000', '00101001',
  '00101002', '00102160', '00104000', '00100200', '00102201', '00102203',
  // Clinical Trial Subject
  '00120010', '00120020', '00120021', '00120030', '00120031', '00120040', '00120042',
  // General Study
  '0020000D', '00080020', '00080030', '00080090', '00080096', '00200010', '00080050', '00080051', '00081030',
  '00081032', '00081048', '00081049', '00081060', '00081062', '00321034',
  // Patient Study
  '00101010', '00101020', '00101030', '001021B0', '00102180', '00380500',
  // Clinical Trial Study
  '00120050', '00120051',
];

/** Study-level type 2 attributes PS3.3 requires present (empty when the source lacks them). */
const REQUIRED_EMPTY: Record<string, string> = {
  '00100010': 'PN', '00100020': 'LO', '00100030': 'DA', '00100040': 'CS',
  '00080020': 'DA', '00080030': 'TM', '00080090': 'PN', '00200010': 'SH', '00080050': 'SH',
};

/** The inherited elements in dcmjs's denaturalized form (tag keys), for writePart10's `extra`. */
export function inheritedFromSource(source: DicomJson): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const tag of INHERITED_TAGS) {
    const el = source[tag];
    // Bulk data and inline binary never occur in these modules; skip rather than write a placeholder.
    if (!el || el.BulkDataURI !== undefined || el.InlineBinary !== undefined) continue;
    out[tag] = { vr: el.vr, Value: el.Value ? structuredClone(el.Value) : [] };
  }
  for (const [tag, vr] of Object.entries(REQUIRED_EMPTY)) if (!(tag in out)) out[tag] = { vr, Value: [] };
  return out;
}
