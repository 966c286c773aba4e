// ImagingStudy (and the Endpoint it points to) from the stored study: what the EHR shows as "the images", with
// every series and instance so a viewer can fetch them from OphGate by WADO-RS.
import type { Coding, Endpoint, Identifier, ImagingStudy, ImagingStudySeries } from '@medplum/fhirtypes';
import type { DicomJson } from '../../dicom/json-model.js';
import { DICOM_DCM, resolveCodeRef } from '../codes.js';
import { FhirBuildError, DICOM_UID_SYSTEM, OPHGATE_ID, RFC3986, codingOf, eyeOf, fhirDateTime, int, mappingRef, ref, str, type Eye, type FhirContext } from './common.js';

export const TAG = {
  studyUid: '0020000D', studyDate: '00080020', studyTime: '00080030', tz: '00080201', accession: '00080050',
  studyDescription: '00081030', seriesUid: '0020000E', modality: '00080060', seriesNumber: '00200011',
  seriesDescription: '0008103E', laterality: '00200060', seriesDate: '00080021', seriesTime: '00080031',
  sopInstanceUid: '00080018', sopClassUid: '00080016', instanceNumber: '00200013', imageLaterality: '00200062',
} as const;

export interface SeriesInput {
  /** Series-level attributes (SERIES_LEVEL_TAGS). */
  attributes: DicomJson;
  /** Each instance's attributes (SOP Instance/Class UID, Instance Number, Image Laterality). */
  instances: DicomJson[];
}

export interface StudyInput {
  /** Study- and patient-level attributes (STUDY_LEVEL_TAGS). */
  study: DicomJson;
  series: SeriesInput[];
}

export const CONNECTION_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type';
const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';

/** OphGate's DICOMweb root: publicBaseUrl + "/dicomweb", where WADO-RS is served. */
export function dicomwebAddress(ctx: FhirContext): string {
  return `${ctx.publicBaseUrl.replace(/\/+$/, '')}/dicomweb`;
}

export function studyUidOf(study: DicomJson): string {
  const uid = str(study, TAG.studyUid);
  if (!uid) throw new FhirBuildError('the study has no StudyInstanceUID (0020,000D)');
  return uid;
}

/** urn:dicom:uid | urn:oid:<StudyInstanceUID>: how FHIR names a DICOM study (R4 ImagingStudy notes). */
export function studyIdentifier(studyUid: string): Identifier {
  return { system: DICOM_UID_SYSTEM, value: `urn:oid:${studyUid}` };
}

export function buildEndpoint(ctx: FhirContext): Endpoint {
  const address = dicomwebAddress(ctx);
  return {
    resourceType: 'Endpoint',
    identifier: [{ system: OPHGATE_ID.endpoint, value: address }],
    status: 'active',
    connectionType: { system: CONNECTION_TYPE_SYSTEM, code: 'dicom-wado-rs', display: 'DICOM WADO-RS' },
    name: 'OphGate DICOMweb (WADO-RS)',
    // endpoint-payload-type has no DICOM code in R4; the MIME type says what comes back.
    payloadType: [{ text: 'DICOM' }],
    payloadMimeType: ['application/dicom'],
    address,
  };
}

/** The SNOMED CT eye structure and laterality qualifier of an eye, from the mapping. */
export function eyeCodings(eye: Eye | undefined): { bodySite: Coding; laterality?: Coding } {
  if (eye === 'R') return { bodySite: codingOf(resolveCodeRef(mappingRef('right-eye'))), laterality: codingOf(resolveCodeRef(mappingRef('laterality-right'))) };
  if (eye === 'L') return { bodySite: codingOf(resolveCodeRef(mappingRef('left-eye'))), laterality: codingOf(resolveCodeRef(mappingRef('laterality-left'))) };
  if (eye === 'B') return { bodySite: codingOf(resolveCodeRef(mappingRef('both-eyes'))) };
  return { bodySite: codingOf(resolveCodeRef(mappingRef('eye'))) };
}

/**
 * The series' eye: its Laterality (0020,0060), else the ImageLaterality its instances agree on. A series mixing
 * both eyes has none at series level (each Observation still carries its image's eye).
 */
export function seriesEye(s: SeriesInput): Eye | undefined {
  const own = eyeOf(str(s.attributes, TAG.laterality));
  if (own) return own;
  const eyes = new Set(s.instances.map((i) => eyeOf(str(i, TAG.imageLaterality) ?? str(i, TAG.laterality))));
  if (eyes.size !== 1) return undefined;
  return [...eyes][0];
}

export interface ImagingStudyRefs {
  /** fullUrl of the Patient entry. */
  patient: string;
  /** fullUrl of the Endpoint entry. */
  endpoint: string;
}

export function buildImagingStudy(input: StudyInput, refs: ImagingStudyRefs): ImagingStudy {
  const { study } = input;
  const uid = studyUidOf(study);
  const identifier: Identifier[] = [studyIdentifier(uid)];
  const accession = str(study, TAG.accession);
  // Accession number without its issuer: typed ACSN so the EHR can match its order; no system is invented.
  if (accession) identifier.push({ type: { coding: [{ system: V2_0203, code: 'ACSN' }] }, value: accession });

  const series: ImagingStudySeries[] = input.series.map((s) => {
    const seriesUid = str(s.attributes, TAG.seriesUid);
    if (!seriesUid) throw new FhirBuildError(`study ${uid}: a series has no SeriesInstanceUID (0020,000E)`);
    const modality = str(s.attributes, TAG.modality) ?? str(s.instances[0], TAG.modality);
    if (!modality) throw new FhirBuildError(`series ${seriesUid}: no Modality (0008,0060)`);
    const out: ImagingStudySeries = { uid: seriesUid, modality: { system: DICOM_DCM, code: modality } };
    const number = int(s.attributes, TAG.seriesNumber);
    if (number !== undefined && number >= 0) out.number = number;
    const description = str(s.attributes, TAG.seriesDescription);
    if (description) out.description = description;
    out.numberOfInstances = s.instances.length;
    const eye = seriesEye(s);
    const codes = eyeCodings(eye);
    if (eye) out.bodySite = codes.bodySite;
    if (codes.laterality) out.laterality = codes.laterality;
    const started = fhirDateTime(str(s.attributes, TAG.seriesDate), str(s.attributes, TAG.seriesTime), str(study, TAG.tz));
    if (started) out.started = started;
    out.instance = s.instances.map((i) => {
      const sop = str(i, TAG.sopInstanceUid);
      const cls = str(i, TAG.sopClassUid);
      if (!sop || !cls) throw new FhirBuildError(`series ${seriesUid}: an instance lacks its SOP Instance or Class UID`);
      const inst: NonNullable<ImagingStudySeries['instance']>[number] = { uid: sop, sopClass: { system: RFC3986, code: `urn:oid:${cls}` } };
      const n = int(i, TAG.instanceNumber);
      if (n !== undefined && n >= 0) inst.number = n;
      return inst;
    });
    return out;
  });

  const modalities = [...new Map(series.map((s) => [s.modality.code, s.modality])).values()];
  const result: ImagingStudy = {
    resourceType: 'ImagingStudy',
    identifier,
    status: 'available',
    ...(modalities.length ? { modality: modalities } : {}),
    subject: ref(refs.patient),
    endpoint: [ref(refs.endpoint)],
    numberOfSeries: series.length,
    numberOfInstances: series.reduce((n, s) => n + (s.instance?.length ?? 0), 0),
  };
  const started = fhirDateTime(str(study, TAG.studyDate), str(study, TAG.studyTime), str(study, TAG.tz));
  if (started) result.started = started;
  const description = str(study, TAG.studyDescription);
  if (description) result.description = description;
  if (series.length) result.series = series;
  return result;
}
