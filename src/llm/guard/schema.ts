// Structured output for the report narrative: a JSON schema built from one case, for node-llama-cpp's
// `llama.createGrammarForJsonSchema`, so that a model generating under the grammar cannot name an eye, grade,
// lesion or label the case does not have, nor an urgency other than the case's; and the renderer that turns an object
// of that schema into the report's prose, which then goes through the grounding guard like any other text (free
// text fields can still say anything, within maxLength).
//
// node-llama-cpp's JSON-schema grammar makes every listed property required and forbids others (additionalProperties
// defaults to false), so a property per lesion type and per label also makes the model mention each of them.
import type { GbnfJsonObjectSchema, GbnfJsonSchema } from 'node-llama-cpp';
import type { EyeSide, EyeSummary, StudySummary, Urgency } from '../../report/eye-summary.js';
import { percent } from '../../report/narrative.js';

/** Free text lengths: a sentence or two each. */
export const MAX_COMMENT = 200;
export const MAX_NOTE = 400;

export const EYE_KEYS = { R: 'rightEye', L: 'leftEye', unknown: 'eyeNotStated' } as const;
type EyeKey = (typeof EYE_KEYS)[EyeSide];

export const DR_GRADE: Record<number, string> = {
  0: 'no apparent diabetic retinopathy (DR grade 0)',
  1: 'mild non-proliferative diabetic retinopathy (DR grade 1)',
  2: 'moderate non-proliferative diabetic retinopathy (DR grade 2)',
  3: 'severe non-proliferative diabetic retinopathy (DR grade 3)',
  4: 'proliferative diabetic retinopathy (DR grade 4)',
};
export const DME_RISK: Record<number, string> = {
  0: 'DME risk 0: no hard exudates',
  1: 'DME risk 1: hard exudates more than one disc diameter from the centre of the macula',
  2: 'DME risk 2: hard exudates within one disc diameter of the centre of the macula',
};

export interface StructuredEye {
  status: 'gradable' | 'ungradable';
  drGrade?: string;
  dmeRisk?: string;
  /** Lesion name -> regions on one photograph, or 'present' when not counted. */
  lesions?: Record<string, number | 'present'>;
  /** Label name -> probability as the narrative prints it ("63%"). */
  labels?: Record<string, string>;
  cupToDisc?: number;
  referable?: boolean;
  comment: string;
}

export interface StructuredNarrative {
  findings: Partial<Record<EyeKey, StructuredEye>>;
  impression: { referable: boolean; summary: string };
  recommendation: { urgency: Urgency; note: string };
}

const one = (value: string | number | boolean): GbnfJsonSchema<{}> => ({ enum: [value] });
const text = (maxLength: number): GbnfJsonSchema<{}> => ({ type: 'string', maxLength });
/** The eye has a referral reason (action refer, not re-image). */
export const refers = (s: StudySummary, e: EyeSummary) => s.reasons.some((r) => r.eye === e.eye && r.action === 'refer');

/** The eyes with a photograph, right, left, then the one of unknown side. */
export const imagedEyes = (s: StudySummary): EyeSummary[] => [s.eyes.R, s.eyes.L, ...(s.eyes.unknown ? [s.eyes.unknown] : [])].filter((e) => e.status !== 'not-imaged');
const theEye = (e: EyeSummary) => `the ${NAME[EYE_KEYS[e.eye]]}`;

/**
 * The impression's summary sentence: which eyes meet the referral criteria and which are incomplete. The grammar
 * fixes it like a grade (see narrativeSchemaFor); the bundled model was trained on exactly this sentence.
 */
export function impressionSummaryOf(s: StudySummary): string {
  const eyes = imagedEyes(s);
  const referred = eyes.filter((e) => refers(s, e));
  const ungradable = eyes.filter((e) => e.status === 'ungradable');
  const parts: string[] = [];
  // "Both eyes" only for a right and a left eye: the guard reads it so, and an eye of unknown side is not one of them.
  if (referred.length === 2 && eyes.length === 2 && referred.every((e) => e.eye !== 'unknown')) parts.push('Both eyes meet the referral criteria of diabetic eye screening');
  else if (referred.length) parts.push(`${list(referred.map(theEye))} meets the referral criteria of diabetic eye screening`);
  if (ungradable.length) parts.push(`screening of ${list(ungradable.map(theEye))} is incomplete`);
  if (!parts.length) return 'Nothing here meets the referral criteria of diabetic eye screening.';
  const text = parts.join(', and ');
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
}

function eyeSchema(s: StudySummary, e: EyeSummary): GbnfJsonSchema<{}> {
  const properties: Record<string, GbnfJsonSchema<{}>> = { status: one(e.status) };
  if (e.drGrade) properties.drGrade = one(DR_GRADE[e.drGrade.grade] ?? `DR grade ${e.drGrade.grade}`);
  if (e.dmeRisk) properties.dmeRisk = one(DME_RISK[e.dmeRisk.grade] ?? `DME risk ${e.dmeRisk.grade}`);
  // The comment right after the grades it explains, not after the lesions and labels: the bundled model, trained
  // with it last, read the grade off a long lesion list on real photographs (wrong comment on 2 of 6 fixture
  // studies) and wrote every fixture's comment right in this order (6 of 6), unretrained.
  properties.comment = text(MAX_COMMENT);
  if (e.lesions.length) {
    properties.lesions = {
      type: 'object',
      properties: Object.fromEntries(e.lesions.map((l) => [l.name, one(l.maxComponents ?? 'present')])),
    };
  }
  if (e.labels.length) {
    properties.labels = { type: 'object', properties: Object.fromEntries(e.labels.map((l) => [l.name, one(percent(l.probability))])) };
  }
  if (e.cupToDisc !== null && e.cupToDisc > 0) properties.cupToDisc = one(Number(e.cupToDisc.toFixed(2)));
  if (e.status === 'gradable') properties.referable = one(refers(s, e));
  return { type: 'object', properties };
}

/** The JSON schema the narrative must follow for this case: only its photographed eyes, their values, the case's urgency. */
export function narrativeSchemaFor(summary: StudySummary): GbnfJsonObjectSchema {
  const eyes = imagedEyes(summary);
  return {
    type: 'object',
    properties: {
      findings: { type: 'object', properties: Object.fromEntries(eyes.map((e) => [EYE_KEYS[e.eye], eyeSchema(summary, e)])) },
      // The summary sentence names the eyes that meet the referral criteria and those not assessed: fixed, because the
      // bundled model put the wrong eye there on real photographs' findings (2 of 6 fixture studies) far more often
      // than anywhere else. What the model still writes: each eye's comment and the recommendation's note.
      impression: { type: 'object', properties: { referable: one(summary.referableDisease), summary: one(impressionSummaryOf(summary)) } },
      // The case's urgency exactly: a higher one is an over-referral the findings do not support.
      recommendation: { type: 'object', properties: { urgency: one(summary.urgency), note: text(MAX_NOTE) } },
    },
  };
}

const HEAD: Record<EyeKey, string> = { rightEye: 'Right eye', leftEye: 'Left eye', eyeNotStated: 'Eye not stated' };
export const NAME: Record<EyeKey, string> = { rightEye: 'right eye', leftEye: 'left eye', eyeNotStated: 'eye whose side is not stated' };

export function list(items: string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

const sentence = (s: string) => {
  const t = s.trim();
  return !t ? '' : /[.!?]$/.test(t) ? t : `${t}.`;
};

function eyeProse(key: EyeKey, e: StructuredEye): string {
  const out: string[] = [];
  const lesions = Object.entries(e.lesions ?? {}).map(([n, v]) => (v === 'present' ? n : `${n} (${v} ${v === 1 ? 'region' : 'regions'})`));
  const labels = Object.entries(e.labels ?? {}).map(([n, p]) => `${n} (${p})`);
  if (e.status === 'ungradable') {
    out.push(`${HEAD[key]}: UNGRADABLE; not assessed for diabetic retinopathy.`);
    if (lesions.length) out.push(`On photographs of limited quality the segmenter outlined ${list(lesions)}.`);
    if (labels.length) out.push(`Of limited reliability, classifier labels above threshold: ${list(labels)}.`);
    if (e.cupToDisc !== undefined) out.push(`Of limited reliability, vertical cup-to-disc ratio ${e.cupToDisc.toFixed(2)}.`);
  } else {
    out.push(`${HEAD[key]} (gradable):${e.drGrade ? ` ${e.drGrade.charAt(0).toUpperCase()}${e.drGrade.slice(1)}.` : ' DR grade not available.'}`);
    if (e.dmeRisk) out.push(`${e.dmeRisk}.`);
    if (lesions.length) out.push(`Lesions segmented: ${list(lesions)}.`);
    if (labels.length) out.push(`Classifier labels above threshold: ${list(labels)}.`);
    if (e.cupToDisc !== undefined) out.push(`Vertical cup-to-disc ratio ${e.cupToDisc.toFixed(2)}.`);
    if (e.referable !== undefined) out.push(e.referable ? 'Referable.' : 'Not referable.');
  }
  out.push(sentence(e.comment));
  return out.filter(Boolean).join(' ');
}

const URGENCY_TEXT: Record<Urgency, string> = {
  urgent: 'Urgent referral to the hospital eye service.',
  soon: 'Referral to the hospital eye service, to be seen soon.',
  routine: 'Routine referral to the hospital eye service.',
  none: 'No referral needed on these findings.',
};

/** The prose of a schema-valid object (validate it first with the grammar's `parse`), in the report's section layout. */
export function renderStructuredNarrative(obj: StructuredNarrative): string {
  const keys = (Object.keys(obj.findings) as EyeKey[]).filter((k) => k in HEAD);
  if (keys.length !== Object.keys(obj.findings).length) {
    throw new Error(`renderStructuredNarrative: unknown eye key in findings (${Object.keys(obj.findings).join(', ')})`);
  }
  const eyes = keys.map((k) => [k, obj.findings[k]!] as const);
  const gradable = eyes.some(([, e]) => e.status === 'gradable');
  const ungradable = eyes.filter(([, e]) => e.status === 'ungradable').map(([k]) => NAME[k]);
  const impression = obj.impression.referable
    ? 'Referable diabetic eye disease.'
    : gradable ? 'No referable diabetic eye disease on the gradable photographs.' : 'No photograph was gradable: the screening is incomplete.';
  const recommendation = [URGENCY_TEXT[obj.recommendation.urgency], sentence(obj.recommendation.note)];
  // Last, so that the note above is not read as being about these eyes.
  if (ungradable.length) recommendation.push(`Re-image the ${list(ungradable)}.`);
  return [
    `Findings\n${eyes.map(([k, e]) => eyeProse(k, e)).join('\n')}`,
    `Impression\n${[impression, sentence(obj.impression.summary)].filter(Boolean).join(' ')}`,
    `Recommendation\n${recommendation.filter(Boolean).join(' ')}`,
  ].join('\n\n');
}
