// The cases the evaluation shows the model, all made by the project's own report code (summariseStudy,
// writeNarrative) from findings sampled by scripts/llm-sample-cases.ts:
//  - held-out synthetic studies: a seed other than the training seed, with any study whose findings JSON also occurs
//    in the training cases dropped (so the model is never scored on a case it was trained on);
//  - the case of an evaluation question: a study with exactly the question's per-eye findings.
import { caseFindingsJson } from '../case-findings.js';
import type { CaseContext } from '../dialogue.js';
import type { EyeFindings } from '../knowledge/schema.js';
import type { StudySummary } from '../../report/eye-summary.js';
import { summariseStudy } from '../../report/eye-summary.js';
import { writeNarrative } from '../../report/narrative.js';
import { rng, sampleSummaries, studyOfEyes, type EyeTruth } from '../../../scripts/llm-sample-cases.js';

/** What models/llm/build.sh samples for the corpus by default (SEED, CASES). */
export const TRAINING_CASES = { seed: 6, n: 4000 } as const;
export const DEFAULT_HELD_OUT_SEED = 20261128;

export interface HeldOutCase { id: string; summary: StudySummary }

export interface HeldOutSet {
  seed: number;
  cases: HeldOutCase[];
  /** Sampled studies dropped because the training cases hold the same findings JSON. */
  droppedAsInTraining: number;
}

/** n held-out synthetic studies (seed must differ from the training seed). */
export function heldOutCases(n: number, seed: number = DEFAULT_HELD_OUT_SEED, training: { seed: number; n: number } = TRAINING_CASES): HeldOutSet {
  if (seed === training.seed) throw new RangeError(`the held-out seed must differ from the training seed ${training.seed}`);
  const seen = new Set(sampleSummaries(training.n, training.seed).map((c) => caseFindingsJson(c.summary)));
  const cases: HeldOutCase[] = [];
  let dropped = 0;
  // Sample a little more than asked so that dropped duplicates (expected: none) do not shorten the set.
  for (let want = n; cases.length < n; want += Math.max(8, n - cases.length)) {
    cases.length = 0;
    dropped = 0;
    for (const c of sampleSummaries(want, seed)) {
      if (seen.has(caseFindingsJson(c.summary))) dropped++;
      else if (cases.length < n) cases.push(c);
    }
    if (want > 4 * n + 100) throw new Error(`seed ${seed} keeps repeating training cases`);
  }
  return { seed, cases, droppedAsInTraining: dropped };
}

const FINDINGS = 'mappings/fundus-findings.json';
/** Question lesion keys (mapping keys) to the segmenter's channel keys. */
const LESION_CHANNEL: Record<string, string> = { microaneurysm: 'MA', haemorrhage: 'HE', 'hard-exudate': 'EX', 'soft-exudate': 'SE' };
/** Question label keys (mapping keys) to the classifier's label keys. */
const LABEL_KEY: Record<string, string> = {
  glaucoma: 'G', cataract: 'C', 'age-related-macular-degeneration': 'A', 'hypertensive-retinopathy': 'H', 'pathological-myopia': 'M', 'other-abnormality': 'O',
};
const NORMAL_CDR = 0.3;

function truthOf(f: EyeFindings): EyeTruth {
  const dr = f.drGrade ?? 0;
  const labels = new Set((f.labels ?? []).map((l) => LABEL_KEY[l]!));
  if (dr >= 1) labels.add('D');
  return {
    gradable: f.gradable, dr, dme: f.dmeRisk ?? 0, labels, cdr: f.cdr ?? NORMAL_CDR,
    fixed: { lesions: new Set((f.lesions ?? []).map((l) => LESION_CHANNEL[l]!)) },
  };
}

/** Why a summary does not say what the question's findings say; empty when it does. */
export function summaryMismatches(summary: StudySummary, findings: readonly EyeFindings[]): string[] {
  const out: string[] = [];
  for (const side of ['R', 'L'] as const) {
    const e = summary.eyes[side];
    const f = findings.find((x) => x.eye === side);
    if (!f) {
      if (e.status !== 'not-imaged') out.push(`${side}: should not be imaged`);
      continue;
    }
    if (e.status !== (f.gradable ? 'gradable' : 'ungradable')) out.push(`${side}: status ${e.status}`);
    if (f.gradable) {
      if ((e.drGrade?.grade ?? -1) !== (f.drGrade ?? 0)) out.push(`${side}: DR grade ${e.drGrade?.grade}`);
      if ((e.dmeRisk?.grade ?? -1) !== (f.dmeRisk ?? 0)) out.push(`${side}: DME risk ${e.dmeRisk?.grade}`);
      // A referable-DR probability over threshold at grade 0-1 would add a referral the question does not assume.
      if (e.referableDr.positive !== (f.drGrade ?? 0) >= 2) out.push(`${side}: referable DR ${e.referableDr.positive}`);
    }
    const lesions = new Set(e.lesions.map((l) => l.code));
    const want = new Set((f.lesions ?? []).map((l) => `${FINDINGS}#${l}`));
    if (lesions.size !== want.size || [...want].some((c) => !lesions.has(c))) out.push(`${side}: lesions ${[...lesions].join(',')}`);
    const labels = new Set(e.labels.map((l) => l.code).filter((c) => c !== `${FINDINGS}#normal` && c !== `${FINDINGS}#diabetic-retinopathy`));
    const wantLabels = new Set((f.labels ?? []).map((l) => `${FINDINGS}#${l}`));
    if (labels.size !== wantLabels.size || [...wantLabels].some((c) => !labels.has(c))) out.push(`${side}: labels ${[...labels].join(',')}`);
    if (f.cdr !== undefined && (e.cupToDisc === null || Math.abs(e.cupToDisc - f.cdr) > 1e-9)) out.push(`${side}: CDR ${e.cupToDisc}`);
  }
  return out;
}

/**
 * The case an evaluation question is about, as the dialogue would hold it: a study of one photograph per eye the
 * question lists, with exactly its findings, summarised and written up by the report code. Sampled probabilities
 * can add what the question does not assume (a referable-DR probability over threshold at grade 1), so seeds are
 * tried in turn until the summary says exactly what the question says.
 */
export function caseContextForFindings(findings: readonly EyeFindings[], id: string): CaseContext {
  const eyes = findings.map((f) => ({ eye: f.eye, truth: truthOf(f) }));
  const base = [...id].reduce((h, ch) => (Math.imul(h, 31) + ch.charCodeAt(0)) >>> 0, 7);
  let last: string[] = [];
  for (let attempt = 0; attempt < 200; attempt++) {
    const summary = summariseStudy(studyOfEyes(rng(base + attempt), eyes, attempt));
    last = summaryMismatches(summary, findings);
    if (last.length === 0) {
      const n = writeNarrative(summary);
      return { studyUid: `2.25.${base}`, summary, findings: n.sections.findings, impression: n.sections.impression, recommendation: n.sections.recommendation };
    }
  }
  throw new Error(`${id}: no sampled study matches the question's findings (${last.join('; ')})`);
}
