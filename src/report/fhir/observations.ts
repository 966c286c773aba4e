// Observations from one model's findings on one photograph (FindingResult), one Observation per reported output:
//   - a label or derived score (e.g. diabetic retinopathy, referable DR): code = the finding, value = Present/Absent
//     (the model's decision at its threshold), components = probability and threshold (0..1, UCUM "1");
//   - a grade (DR grade, DME risk): value = the predicted grade's code; for DR with a known eye the code is the LOINC
//     DR severity term of that eye (71491-5 right, 71490-7 left); components = each grade's probability;
//   - a measurement (vertical cup-to-disc ratio): valueQuantity (UCUM "1"), or dataAbsentReason when not measurable;
//   - a mask channel (lesion or structure): value = Present/Absent, components = area in pixels ("{pixels}") and,
//     for lesions, the number of separate lesions ("{count}").
// Probabilities are fractions with UCUM "1" (as in OphGate's SR), never percentages: no rescaling anywhere.
import type { CodeableConcept, Identifier, Observation, ObservationComponent, Quantity } from '@medplum/fhirtypes';
import type { FindingResult } from '../../inference/finding-result.js';
import { resolveCodeRef } from '../codes.js';
import { FhirBuildError, OBSERVATION_CATEGORY, OPHGATE_ID, UCUM, codingOf, conceptOf, eyeOf, keyOf, mappingRef, ref, type Eye } from './common.js';
import { eyeCodings } from './imaging-study.js';

/** One analysed photograph (a frame of an instance) and every model's findings on it. */
export interface ImageFindings {
  seriesUid: string;
  sopInstanceUid: string;
  /** 1-based frame number. */
  frame: number;
  findings: FindingResult[];
}

export interface ObservationRefs {
  patient: string;
  imagingStudy: string;
  /** fullUrl of the Device of each model, by "name@version". */
  devices: Record<string, string>;
}

export interface ObservationContext {
  studyUid: string;
  /** The study's date and time (FHIR dateTime), when known. */
  effective?: string;
  /** When OphGate produced the results (FHIR instant). */
  issued: string;
  refs: ObservationRefs;
}

const ANATOMY = new Set(['optic-disc', 'optic-cup']);
const DATA_ABSENT = 'http://terminology.hl7.org/CodeSystem/data-absent-reason';

const fraction = (value: number): Quantity => ({ value, unit: '1', system: UCUM, code: '1' });
const pixels = (value: number): Quantity => ({ value, unit: 'pixels', system: UCUM, code: '{pixels}' });
const count = (value: number): Quantity => ({ value, unit: 'count', system: UCUM, code: '{count}' });
const mapped = (key: string, text?: string): CodeableConcept => conceptOf(mappingRef(key), text);

/**
 * The stable identifier of one output of one model on one frame: not the model version, so the Observation of an
 * upgraded model's re-read replaces the earlier one (the Device reference says which version produced it).
 */
export function observationIdentifier(studyUid: string, img: ImageFindings, model: string, kind: string, id: string): Identifier {
  return { system: OPHGATE_ID.observation, value: `${studyUid}/${img.sopInstanceUid}/${img.frame}/${model}/${kind}/${id}` };
}

function concept(codeRef: string, where: string, text?: string): CodeableConcept {
  try {
    return conceptOf(codeRef, text);
  } catch (err) {
    throw new FhirBuildError(`${where}: ${(err as Error).message}`);
  }
}

/** Observation.code of a grade output: the DR severity LOINC term of the eye, else the grade's name. */
function gradeCode(output: string, gradeRef: string, eye: Eye | undefined): CodeableConcept {
  if (keyOf(gradeRef).startsWith('dr-grade-')) {
    if (eye === 'R') return mapped('dr-severity-right-eye');
    if (eye === 'L') return mapped('dr-severity-left-eye');
  }
  // No standard code for DME risk, nor for DR severity of an unknown eye: the SNOMED "Severity" concept, named.
  return { coding: [codingOf(resolveCodeRef(mappingRef('severity')))], text: output.replace(/_/g, ' ') };
}

export function buildObservations(img: ImageFindings, ctx: ObservationContext): Observation[] {
  const out: Observation[] = [];
  for (const f of img.findings) {
    const where = `image ${img.sopInstanceUid} frame ${img.frame}, model ${f.model.name} ${f.model.version}`;
    const eye = eyeOf(f.laterality);
    const device = ctx.refs.devices[`${f.model.name}@${f.model.version}`];
    if (!device) throw new FhirBuildError(`${where}: no Device entry for the model`);
    const base = (kind: string, id: string, code: CodeableConcept): Observation => ({
      resourceType: 'Observation',
      identifier: [observationIdentifier(ctx.studyUid, img, f.model.name, kind, id)],
      status: 'preliminary',
      category: [{ coding: [{ system: OBSERVATION_CATEGORY, code: 'imaging', display: 'Imaging' }] }],
      code,
      subject: ref(ctx.refs.patient),
      ...(ctx.effective ? { effectiveDateTime: ctx.effective } : {}),
      issued: ctx.issued,
      bodySite: { coding: [eyeCodings(eye).bodySite] },
      method: { text: `${f.model.name} ${f.model.version}` },
      device: ref(device, `${f.model.name} ${f.model.version}`),
      derivedFrom: [ref(ctx.refs.imagingStudy)],
    });
    const decision = (o: Observation, p: number, threshold: number | undefined, positive: boolean | undefined): Observation => {
      const comps: ObservationComponent[] = [{ code: mapped('probability'), valueQuantity: fraction(p) }];
      if (threshold !== undefined) comps.push({ code: mapped('threshold-value'), valueQuantity: fraction(threshold) });
      const isPositive = positive ?? (threshold !== undefined ? p >= threshold : undefined);
      if (isPositive === undefined) o.valueQuantity = fraction(p);
      else o.valueCodeableConcept = mapped(isPositive ? 'present' : 'absent');
      o.component = comps;
      return o;
    };

    for (const l of f.labels) {
      const o = base('label', `${l.output}/${l.key}`, concept(l.code, `${where}, label ${l.key}`));
      out.push(decision(o, l.probability, l.threshold, l.positive));
    }
    for (const d of f.derived) {
      const o = base('derived', d.name, concept(d.code, `${where}, derived ${d.name}`));
      out.push(decision(o, d.probability, d.threshold, d.positive));
    }
    for (const g of f.grades) {
      const o = base('grade', g.output, gradeCode(g.output, g.predicted.code, eye));
      o.valueCodeableConcept = concept(g.predicted.code, `${where}, grade ${g.output}`);
      // Each component's code is the grade it gives the probability of (e.g. LA18645-4 moderate NPDR).
      o.component = g.probabilities.map((p) => ({
        code: concept(p.code, `${where}, grade ${g.output} class ${p.key}`, `Probability of: ${resolveCodeRef(p.code).display}`),
        valueQuantity: fraction(p.probability),
      }));
      out.push(o);
    }
    for (const m of f.measurements) {
      if (!m.code) throw new FhirBuildError(`${where}: measurement "${m.name}" has no code reference`);
      if (m.name !== 'cup_to_disc_ratio') throw new FhirBuildError(`${where}: measurement "${m.name}" has no known unit`);
      const o = base('measurement', `${m.name}/${m.kind}`, concept(m.code, `${where}, measurement ${m.name}`));
      if (m.value === null) o.dataAbsentReason = { coding: [{ system: DATA_ABSENT, code: 'unknown', display: 'Unknown' }], text: 'the optic disc or cup was not found in the photograph' };
      else o.valueQuantity = fraction(m.value);
      out.push(o);
    }
    for (const les of f.lesions) {
      const c = concept(les.code, `${where}, lesion ${les.key}`);
      const o = base('lesion', `${les.output}/${les.key}`, c);
      o.valueCodeableConcept = mapped(les.areaPx > 0 ? 'present' : 'absent');
      const comps: ObservationComponent[] = [{ code: mapped('area', 'Area in image pixels'), valueQuantity: pixels(les.areaPx) }];
      if (!ANATOMY.has(keyOf(les.code)) && les.components !== null) {
        comps.push({ code: mapped('lesion-count'), valueQuantity: count(les.components) });
      }
      o.component = comps;
      out.push(o);
    }
  }
  return out;
}
