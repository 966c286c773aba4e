// The prior comparison as Observations: one per eye photographed in both studies, saying in words what the
// narrative's Comparison section says for that eye (grade changes, lesion types new or no longer seen,
// cup-to-disc ratio change) and naming the prior study. The DiagnosticReport lists them with the findings.
import type { Observation } from '@medplum/fhirtypes';
import type { PriorComparison } from '../eye-summary.js';
import { eyeComparisonText, priorStudyText } from '../narrative.js';
import { OBSERVATION_CATEGORY, OPHGATE_ID, conceptOf, mappingRef, ref } from './common.js';
import { eyeCodings } from './imaging-study.js';

export interface ComparisonInput {
  comparison: PriorComparison;
  priorStudyUid: string;
}

export interface ComparisonContext {
  studyUid: string;
  effective?: string;
  issued: string;
  refs: { patient: string; imagingStudy: string };
}

export function buildComparisonObservations(input: ComparisonInput, ctx: ComparisonContext): Observation[] {
  return input.comparison.eyes.map((e) => ({
    resourceType: 'Observation',
    identifier: [{ system: OPHGATE_ID.observation, value: `${ctx.studyUid}/comparison/${e.eye}` }],
    status: 'preliminary',
    category: [{ coding: [{ system: OBSERVATION_CATEGORY, code: 'imaging', display: 'Imaging' }] }],
    code: conceptOf(mappingRef('comparison-with-prior')),
    subject: ref(ctx.refs.patient),
    ...(ctx.effective ? { effectiveDateTime: ctx.effective } : {}),
    issued: ctx.issued,
    bodySite: { coding: [eyeCodings(e.eye).bodySite] },
    valueString: eyeComparisonText(e),
    // The prior study is named, not referenced: the EHR's id for it is not known to OphGate.
    note: [{ text: `Compared with ${priorStudyText(input.comparison)}, Study Instance UID ${input.priorStudyUid}.` }],
    derivedFrom: [ref(ctx.refs.imagingStudy)],
  }));
}
