// Provenance of the report: which AI models (Devices, with their versions) produced the DiagnosticReport and its
// Observations, from which ImagingStudy. R4 Provenance has no identifier; the bundle makes re-sends idempotent by a
// client-assigned id derived from the study (see bundle.ts).
import type { Provenance, ProvenanceAgent } from '@medplum/fhirtypes';
import type { ModelInfo } from './device.js';
import { ref } from './common.js';

export const PARTICIPANT_TYPE = 'http://terminology.hl7.org/CodeSystem/provenance-participant-type';
export const DATA_OPERATION = 'http://terminology.hl7.org/CodeSystem/v3-DataOperation';

export interface ProvenanceRefs {
  /** DiagnosticReport first, then the Observations. */
  targets: string[];
  imagingStudy: string;
  /** Each model with the fullUrl of its Device. */
  devices: Array<{ model: ModelInfo; fullUrl: string }>;
}

export function buildProvenance(recorded: string, refs: ProvenanceRefs): Provenance {
  const agent: ProvenanceAgent[] = refs.devices.map(({ model, fullUrl }) => ({
    type: { coding: [{ system: PARTICIPANT_TYPE, code: 'performer', display: 'Performer' }], text: 'AI model' },
    who: ref(fullUrl, `${model.name} ${model.version}`),
  }));
  return {
    resourceType: 'Provenance',
    target: refs.targets.map((t) => ref(t)),
    recorded,
    activity: { coding: [{ system: DATA_OPERATION, code: 'CREATE', display: 'create' }], text: 'AI analysis of fundus photographs' },
    agent,
    entity: [{ role: 'source', what: ref(refs.imagingStudy) }],
  };
}
