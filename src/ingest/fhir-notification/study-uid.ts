// The Study Instance UID of an ImagingStudy: its identifier with system urn:dicom:uid and value urn:oid:<uid>
// (FHIR R4 ImagingStudy.identifier, as DICOM PS3.18 F and the IHE profiles carry it).
import { isValidUid } from '../../dicom/uid.js';
import type { ImagingStudy } from './resources.js';
import { unprocessable } from './outcome.js';

export const DICOM_UID_SYSTEM = 'urn:dicom:uid';

export function studyUidOf(study: ImagingStudy, label: string): string {
  const values = (study.identifier ?? []).filter((i) => i.system === DICOM_UID_SYSTEM).map((i) => i.value ?? '');
  if (values.length === 0) {
    throw unprocessable(`${label} has no identifier with system ${DICOM_UID_SYSTEM} (value urn:oid:<Study Instance UID>): OphGate cannot tell which study to retrieve`, 'required');
  }
  const uids = new Set<string>();
  for (const v of values) {
    const uid = v.startsWith('urn:oid:') ? v.slice('urn:oid:'.length) : '';
    if (!isValidUid(uid)) throw unprocessable(`${label}: identifier ${DICOM_UID_SYSTEM} value ${JSON.stringify(v.slice(0, 80))} is not urn:oid: followed by a valid DICOM UID`, 'invalid');
    uids.add(uid);
  }
  if (uids.size > 1) throw unprocessable(`${label} has ${uids.size} different ${DICOM_UID_SYSTEM} identifiers; one study per ImagingStudy`, 'invalid');
  return [...uids][0]!;
}
