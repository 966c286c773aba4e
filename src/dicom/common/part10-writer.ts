// Writes a dataset OphGate created (SEG, SR) as a PS3.10 file: File Meta Information (group 0002) with OphGate's
// implementation identity, then the dataset in explicit VR little endian, the transfer syntax every peer accepts
// for these IODs (PS3.5 A.2; a destination that wants implicit VR gets it by negotiation at send time).
// dcmjs writes every string as UTF-8, so the declared Specific Character Set becomes ISO_IR 192 as soon as one
// value is not ASCII; otherwise the one given (copied from the source) stays, or none.
import dcmjs from 'dcmjs';
import { OPHGATE_IMPLEMENTATION_CLASS_UID, OPHGATE_IMPLEMENTATION_VERSION_NAME } from '../dimse/implementation.js';
import { EXPLICIT_VR_LE } from '../dimse/uids.js';

const { DicomDict, DicomMetaDictionary } = dcmjs.data;

/**
 * `naturalized`: the dataset in dcmjs's naturalized form (keywords); `extra`: elements already in the
 * denaturalized form (tag keys, DICOM JSON Model values, e.g. copied from a source instance), which win.
 */
export function writePart10(naturalized: Record<string, unknown>, extra: Record<string, unknown> = {}): Buffer {
  const sopClassUid = naturalized.SOPClassUID as string | undefined;
  const sopInstanceUid = naturalized.SOPInstanceUID as string | undefined;
  if (!sopClassUid || !sopInstanceUid) throw new Error('a dataset to write needs SOPClassUID and SOPInstanceUID');
  const meta = DicomMetaDictionary.denaturalizeDataset({
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: sopClassUid,
    MediaStorageSOPInstanceUID: sopInstanceUid,
    TransferSyntaxUID: EXPLICIT_VR_LE,
    ImplementationClassUID: OPHGATE_IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: OPHGATE_IMPLEMENTATION_VERSION_NAME,
  });
  const dict = new DicomDict(meta);
  dict.dict = { ...DicomMetaDictionary.denaturalizeDataset(naturalized), ...extra };
  if (hasNonAscii(naturalized) || hasNonAscii(extra)) dict.dict['00080005'] = { vr: 'CS', Value: ['ISO_IR 192'] };
  return Buffer.from(dict.write({ fragmentMultiframe: false }));
}

function hasNonAscii(value: unknown): boolean {
  if (typeof value === 'string') return /[^\u0000-\u007f]/.test(value);
  if (Array.isArray(value)) return value.some(hasNonAscii);
  if (value && typeof value === 'object' && !(value instanceof ArrayBuffer) && !ArrayBuffer.isView(value)) return Object.values(value).some(hasNonAscii);
  return false;
}
