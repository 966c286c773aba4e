// Attribute keys as DICOMweb clients write them (PS3.18 8.3.4.1: a keyword such as PatientID, or a tag such as
// 00100020) resolved against the PS3.6 data dictionary that dcmjs ships, with each attribute's VR.
import dcmjs from 'dcmjs';

interface DictEntry { tag: string; vr: string; name: string }

const dictionary = (dcmjs.data.DicomMetaDictionary as unknown as { nameMap: Record<string, DictEntry>; dictionary: Record<string, DictEntry> });

// dcmjs writes ambiguous VRs in lower case: ox = OB or OW, xs = US or SS, lt = US or OW (LUT data), up = UL, na = none.
const DICTIONARY_PSEUDO_VRS: Record<string, string> = { ox: 'OW', xs: 'US', lt: 'OW', up: 'UL', na: 'UN' };

const byKeyword = new Map<string, { tag: string; vr: string }>();
const byTag = new Map<string, { keyword: string; vr: string }>();
for (const [keyword, e] of Object.entries(dictionary.nameMap)) {
  const m = /^\(([0-9A-F]{4}),([0-9A-F]{4})\)$/i.exec(e.tag);
  if (!m) continue; // repeating groups such as (60xx,3000) cannot be named by one tag
  const tag = (m[1]! + m[2]!).toUpperCase();
  const vr = DICTIONARY_PSEUDO_VRS[e.vr] ?? e.vr;
  byKeyword.set(keyword, { tag, vr });
  if (!byTag.has(tag)) byTag.set(tag, { keyword, vr });
}

export interface ResolvedKey { tag: string; keyword: string | undefined; vr: string }

/** Resolves a keyword or an 8-hex-digit tag; undefined when it is neither. */
export function resolveKey(key: string): ResolvedKey | undefined {
  const k = key.trim();
  if (/^[0-9A-Fa-f]{8}$/.test(k)) {
    const tag = k.toUpperCase();
    const e = byTag.get(tag);
    return { tag, keyword: e?.keyword, vr: e?.vr ?? 'UN' };
  }
  const e = byKeyword.get(k);
  return e ? { tag: e.tag, keyword: k, vr: e.vr } : undefined;
}

export function vrOf(tag: string): string {
  return byTag.get(tag)?.vr ?? 'UN';
}

export function keywordOf(tag: string): string {
  return byTag.get(tag)?.keyword ?? tag;
}

/** Tags the services name directly. */
export const T = {
  SpecificCharacterSet: '00080005',
  StudyDate: '00080020', StudyTime: '00080030', AccessionNumber: '00080050', InstanceAvailability: '00080056',
  ModalitiesInStudy: '00080061', ReferringPhysicianName: '00080090', StudyDescription: '00081030',
  TimezoneOffsetFromUTC: '00080201', RetrieveURL: '00081190', AvailableTransferSyntaxUID: '00083002',
  SOPClassUID: '00080016', SOPInstanceUID: '00080018', Modality: '00080060', SeriesDescription: '0008103E',
  PatientName: '00100010', PatientID: '00100020', PatientBirthDate: '00100030', PatientSex: '00100040',
  StudyInstanceUID: '0020000D', SeriesInstanceUID: '0020000E', StudyID: '00200010', SeriesNumber: '00200011',
  InstanceNumber: '00200013', Laterality: '00200060', ImageLaterality: '00200062', BodyPartExamined: '00180015',
  NumberOfStudyRelatedSeries: '00201206', NumberOfStudyRelatedInstances: '00201208', NumberOfSeriesRelatedInstances: '00201209',
  PerformedProcedureStepStartDate: '00400244', PerformedProcedureStepStartTime: '00400245', RequestAttributesSequence: '00400275',
  Rows: '00280010', Columns: '00280011', BitsAllocated: '00280100', NumberOfFrames: '00280008',
  SamplesPerPixel: '00280002', PixelRepresentation: '00280103', PlanarConfiguration: '00280006',
} as const;
