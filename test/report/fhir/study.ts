// A hand-made two-eye fundus study in the DICOM JSON model (as OphGate stores study, series and instance
// attributes), and the findings of both models on each image, for the FHIR builder tests.
import type { DicomJson } from '../../../src/dicom/json-model.js';
import type { FhirContext } from '../../../src/report/fhir/common.js';
import type { ReportBundleInput } from '../../../src/report/fhir/bundle.js';
import { classifierFinding, segmenterFinding } from '../../sr/samples.js';

export const STUDY_UID = '1.2.826.0.1.3680043.8.498.1001';
export const SERIES_UID = '1.2.826.0.1.3680043.8.498.1001.1';
export const RIGHT_UID = '1.2.826.0.1.3680043.8.498.1001.1.1';
export const LEFT_UID = '1.2.826.0.1.3680043.8.498.1001.1.2';
export const OP_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.77.1.5.1';

export const ctx: FhirContext = {
  publicBaseUrl: 'https://ophgate.example.org/',
  defaultPatientIdentifierSystem: 'urn:oid:1.2.3.4.5.6',
};

const s = (vr: string, ...v: string[]) => ({ vr, Value: v });
const n = (v: number) => ({ vr: 'IS', Value: [v] });

export function studyJson(over: DicomJson = {}): DicomJson {
  return {
    '00080005': s('CS', 'ISO_IR 192'),
    '00080020': s('DA', '20240315'), '00080030': s('TM', '142530.25'), '00080201': s('SH', '+0100'),
    '00080050': s('SH', 'ACC-77'), '00081030': s('LO', 'Fundus screening'),
    '00100010': { vr: 'PN', Value: [{ Alphabetic: 'Müller^Jürgen^Karl^Dr.^MD' }] },
    '00100020': s('LO', 'PAT-0042'), '00100021': s('LO', '1.2.276.0.7230010.3'),
    '00100030': s('DA', '19580228'), '00100040': s('CS', 'M'),
    '0020000D': s('UI', STUDY_UID),
    ...over,
  };
}

function instance(uid: string, eye: 'R' | 'L', number: number): DicomJson {
  return { '00080018': s('UI', uid), '00080016': s('UI', OP_SOP_CLASS), '00200013': n(number), '00200062': s('CS', eye) };
}

export function bundleInput(over: Partial<ReportBundleInput> = {}): ReportBundleInput {
  return {
    study: {
      study: studyJson(),
      series: [{
        attributes: { '0020000E': s('UI', SERIES_UID), '00080060': s('CS', 'OP'), '00200011': n(1), '0008103E': s('LO', 'Colour fundus') },
        instances: [instance(RIGHT_UID, 'R', 1), instance(LEFT_UID, 'L', 2)],
      }],
    },
    images: [
      { seriesUid: SERIES_UID, sopInstanceUid: RIGHT_UID, frame: 1, findings: [classifierFinding('R', 1, 2), segmenterFinding('R', { MA: 120, HE: 40, EX: 0, OD: 9000, cup: 2500 }, 0.41)] },
      { seriesUid: SERIES_UID, sopInstanceUid: LEFT_UID, frame: 1, findings: [classifierFinding('L', 2, 0), segmenterFinding('L', { OD: 8800 }, null)] },
    ],
    narrative: 'Findings: right eye: moderate non-proliferative diabetic retinopathy with microaneurysms & haemorrhages.\n\nImpression: referable <DR> in the right eye.',
    narrativeSource: 'deterministic',
    issued: '2024-03-15T14:40:00.000Z',
    ...over,
  };
}
