// The STOW-RS response payload: a Store Instances Response Module (PS3.18 Annex I, Table I.1-1) as one dataset in
// the DICOM JSON Model (PS3.18 Annex F). Standard attributes carry the outcome; the human-readable reason that
// PS3.18 has no standard attribute for lives in an OphGate private block:
//   (0009,0010) LO  Private Creator "OPHGATE"
//   (0009,1001) LT  reason text: per Failed SOP Sequence item (why it failed), per Referenced SOP Sequence item
//                   when there is something to say (identical duplicate), and at the top level for a request-level
//                   error (malformed multipart, body too large, wrong media type)
//   (0009,1002) UL  1-based number of the part in the request (per item), to find a failed part with no UIDs
import type { DicomJson, DicomJsonElement } from '../../dicom/json-model.js';

export const PRIVATE_CREATOR = 'OPHGATE';
export const TAG = {
  RetrieveURL: '00081190',
  ReferencedSOPClassUID: '00081150',
  ReferencedSOPInstanceUID: '00081155',
  WarningReason: '00081196',
  FailureReason: '00081197',
  FailedSOPSequence: '00081198',
  ReferencedSOPSequence: '00081199',
  PrivateCreator: '00090010',
  ReasonText: '00091001',
  PartNumber: '00091002',
} as const;

export interface StoredItem {
  part: number;
  sopClassUid: string;
  sopInstanceUid: string;
  retrieveUrl: string;
  /** Set for outcomes worth telling the client about even though the instance counts as stored. */
  note?: string;
}

export interface FailedItem {
  part: number;
  sopClassUid?: string;
  sopInstanceUid?: string;
  failureReason: number;
  reason: string;
}

const LT_MAX = 10240;

function text(vr: 'LO' | 'LT', value: string): DicomJsonElement {
  return { vr, Value: [vr === 'LT' ? value.slice(0, LT_MAX) : value.slice(0, 64)] };
}

function privateBlock(reason: string | undefined, part: number | undefined): DicomJson {
  if (reason === undefined && part === undefined) return {};
  const out: DicomJson = { [TAG.PrivateCreator]: text('LO', PRIVATE_CREATOR) };
  if (reason !== undefined) out[TAG.ReasonText] = text('LT', reason);
  if (part !== undefined) out[TAG.PartNumber] = { vr: 'UL', Value: [part] };
  return out;
}

export function storeInstancesResponse(opts: {
  studyRetrieveUrl: string | undefined;
  stored: StoredItem[];
  failed: FailedItem[];
  /** Request-level problem (the request as a whole was refused or cut short). */
  error?: string;
}): DicomJson {
  const ds: DicomJson = {};
  ds[TAG.RetrieveURL] = opts.studyRetrieveUrl ? { vr: 'UR', Value: [opts.studyRetrieveUrl] } : { vr: 'UR' };
  if (opts.failed.length > 0) {
    ds[TAG.FailedSOPSequence] = {
      vr: 'SQ',
      Value: opts.failed.map((f) => {
        const item: DicomJson = {};
        if (f.sopClassUid) item[TAG.ReferencedSOPClassUID] = { vr: 'UI', Value: [f.sopClassUid] };
        if (f.sopInstanceUid) item[TAG.ReferencedSOPInstanceUID] = { vr: 'UI', Value: [f.sopInstanceUid] };
        item[TAG.FailureReason] = { vr: 'US', Value: [f.failureReason] };
        return { ...item, ...privateBlock(f.reason, f.part) };
      }),
    };
  }
  if (opts.stored.length > 0) {
    ds[TAG.ReferencedSOPSequence] = {
      vr: 'SQ',
      Value: opts.stored.map((s) => ({
        [TAG.ReferencedSOPClassUID]: { vr: 'UI', Value: [s.sopClassUid] },
        [TAG.ReferencedSOPInstanceUID]: { vr: 'UI', Value: [s.sopInstanceUid] },
        [TAG.RetrieveURL]: { vr: 'UR', Value: [s.retrieveUrl] },
        ...privateBlock(s.note, s.part),
      })),
    };
  }
  Object.assign(ds, privateBlock(opts.error, undefined));
  return ds;
}
