// The narrative object a faithful writer gives for one case, in the JSON schema of src/llm/guard/schema.ts: the
// values the schema fixes (eyes, grades, lesions, labels, ratio, referable, urgency) and short plain-language free
// text. It is the training target of the bundled chat model's report conversations (models/llm/corpus.py, through
// scripts/llm-sample-cases.ts) and the yardstick of the schema: it must satisfy the grammar and pass the guard.
//
// The free text names no eye and no number: the model writes it right after the values it speaks of, so what it
// has to get right is the meaning of a grade, not a copy of a figure from far up the context.
import type { EyeSummary, StudySummary } from '../report/eye-summary.js';
import { percent } from '../report/narrative.js';
import { DR_GRADE, DME_RISK, EYE_KEYS, imagedEyes, impressionSummaryOf, refers, type StructuredEye, type StructuredNarrative } from './guard/schema.js';

const DR_MEANING: Record<number, string> = {
  0: 'No diabetic changes were graded on this photograph',
  1: 'Early background changes only',
  2: 'Changes beyond the earliest stage, without the features of severe or proliferative disease',
  3: 'Extensive changes, with a high risk of progressing to proliferative disease',
  4: 'Proliferative disease, which threatens sight without treatment',
};
const DME_MEANING: Record<number, string> = {
  1: 'The centre of the macula is not threatened on this grade',
  2: 'The centre of the macula is threatened, which puts central vision at risk',
};

function eyeComment(e: EyeSummary): string {
  if (e.status === 'ungradable') return 'The photographs were not good enough to grade, so this eye is not assessed and must not be read as normal';
  const parts: string[] = [];
  if (e.drGrade) parts.push(DR_MEANING[e.drGrade.grade] ?? 'The grade is outside the usual scale');
  else parts.push('No retinopathy grade was given');
  const dme = e.dmeRisk ? DME_MEANING[e.dmeRisk.grade] : undefined;
  if (dme) parts.push(dme);
  return `${parts.join('. ')}.`;
}

function structuredEye(s: StudySummary, e: EyeSummary, commentAfterGrades: boolean): StructuredEye {
  // Key order is the schema's (node-llama-cpp's grammar writes properties in the order they are listed).
  const out: StructuredEye = { status: e.status === 'gradable' ? 'gradable' : 'ungradable' } as StructuredEye;
  if (e.drGrade) out.drGrade = DR_GRADE[e.drGrade.grade] ?? `DR grade ${e.drGrade.grade}`;
  if (e.dmeRisk) out.dmeRisk = DME_RISK[e.dmeRisk.grade] ?? `DME risk ${e.dmeRisk.grade}`;
  if (commentAfterGrades) out.comment = eyeComment(e);
  if (e.lesions.length) out.lesions = Object.fromEntries(e.lesions.map((l) => [l.name, l.maxComponents ?? 'present']));
  if (e.labels.length) out.labels = Object.fromEntries(e.labels.map((l) => [l.name, percent(l.probability)]));
  if (e.cupToDisc !== null && e.cupToDisc > 0) out.cupToDisc = Number(e.cupToDisc.toFixed(2));
  if (e.status === 'gradable') out.referable = refers(s, e);
  if (!commentAfterGrades) out.comment = eyeComment(e);
  return out;
}


const URGENCY_NOTE = {
  urgent: 'The hospital eye service should see the patient within about two weeks.',
  soon: 'The hospital eye service should see the patient within a few weeks.',
  routine: 'The hospital eye service arranges a routine appointment.',
  none: 'Continue diabetic eye screening at the usual recall interval.',
} as const;

/**
 * The narrative object for this case. commentAfterGrades: each eye's comment right after its grades, the order of
 * the gateway's grammar (src/llm/guard/schema.ts) and of the bundled model's last training stage; without it, the
 * comment last, the order of the first two stages' corpus (kept so that they rebuild as they were trained).
 */
export function structuredNarrativeOf(summary: StudySummary, options: { commentAfterGrades?: boolean } = {}): StructuredNarrative {
  const eyes = imagedEyes(summary);
  return {
    findings: Object.fromEntries(eyes.map((e) => [EYE_KEYS[e.eye], structuredEye(summary, e, options.commentAfterGrades ?? false)])),
    impression: { referable: summary.referableDisease, summary: impressionSummaryOf(summary) },
    recommendation: { urgency: summary.urgency, note: URGENCY_NOTE[summary.urgency] },
  };
}
