// The structured narrative (src/llm/structured-narrative.ts), the bundled model's training target for reports: on
// synthetic studies of every kind its JSON is accepted by node-llama-cpp's grammar for the case's schema, exactly as
// serialised (compact, the schema's key order), and the prose rendered from it passes the grounding guard and
// mentions every positive finding. A target that failed either would teach the model to fail.
import { describe, it, expect, beforeAll } from 'vitest';
import { getLlama, type Llama } from 'node-llama-cpp';
import { sampleSummaries } from '../../scripts/llm-sample-cases.js';
import { structuredNarrativeOf } from '../../src/llm/structured-narrative.js';
import { narrativeSchemaFor, renderStructuredNarrative, type StructuredNarrative } from '../../src/llm/guard/schema.js';
import type { EyeSummary, StudySummary } from '../../src/report/eye-summary.js';
import { narrativeGuard } from '../../src/llm/answer-guard.js';

let llama: Llama;
beforeAll(async () => { llama = await getLlama({ gpu: false }); }, 60_000);

describe('structured narrative', () => {
  it('satisfies the case grammar and the guard on 150 sampled studies', async () => {
    const cases = sampleSummaries(150, 4242);
    const kinds = new Set<string>();
    for (const { id, summary } of cases) {
      // In the grammar's order (the last training stage's); the first stages' order holds the same values.
      const obj = structuredNarrativeOf(summary, { commentAfterGrades: true });
      const json = JSON.stringify(obj);
      const grammar = await llama.createGrammarForJsonSchema(narrativeSchemaFor(summary) as never);
      expect(grammar.parse(json), id).toEqual(obj);
      const firstStages = structuredNarrativeOf(summary);
      expect(firstStages, id).toEqual(obj);
      expect(Object.keys(Object.values(firstStages.findings)[0]!).at(-1)).toBe('comment');
      const verdict = narrativeGuard(renderStructuredNarrative(obj), summary);
      expect(verdict.violations, `${id}: ${JSON.stringify(verdict.violations)}`).toEqual([]);
      for (const e of Object.values(obj.findings)) {
        kinds.add(e!.status === 'ungradable' ? 'ungradable' : `grade ${e!.drGrade?.match(/grade (\d)/)?.[1]}`);
        // The free text names no eye and no number: the grammar holds those.
        expect(e!.comment).not.toMatch(/\b(right|left)\b|\d/i);
      }
      expect(obj.recommendation.urgency).toBe(summary.urgency);
    }
    // Every grade and the ungradable eye occur, so each comment wording was checked.
    expect([...kinds].sort()).toEqual(['grade 0', 'grade 1', 'grade 2', 'grade 3', 'grade 4', 'ungradable']);
  }, 120_000);

  it('photo-like studies (the adaptation stage\'s cases) also satisfy the grammar and the guard, and break the grade-lesion link', async () => {
    const cases = sampleSummaries(120, 4343, 0.5);
    let grade0WithLesions = 0;
    let referableAtLowGrade = 0;
    for (const { id, summary } of cases) {
      const obj = structuredNarrativeOf(summary, { commentAfterGrades: true });
      const grammar = await llama.createGrammarForJsonSchema(narrativeSchemaFor(summary) as never);
      expect(() => grammar.parse(JSON.stringify(obj)), id).not.toThrow();
      expect(narrativeGuard(renderStructuredNarrative(obj), summary).violations, id).toEqual([]);
      for (const e of Object.values(obj.findings)) {
        const grade = Number(e!.drGrade?.match(/grade (\d)/)?.[1] ?? -1);
        if (grade === 0 && Object.keys(e!.lesions ?? {}).length >= 2) grade0WithLesions++;
        if (grade >= 0 && grade <= 1 && e!.referable && e!.dmeRisk?.startsWith('DME risk 0')) referableAtLowGrade++;
      }
    }
    // What the fixtures' real photographs look like to the writer, and the default sampler almost never makes.
    expect(grade0WithLesions).toBeGreaterThan(5);
    expect(referableAtLowGrade).toBeGreaterThan(2);
    // A share of 0 is the default sampler, draw for draw (the stage 1 corpus does not change).
    expect(JSON.stringify(sampleSummaries(30, 6, 0))).toBe(JSON.stringify(sampleSummaries(30, 6)));
  }, 120_000);

  it('the guard reads the free text the model is trained to write: each wording put on the wrong case is caught', () => {
    const cases = sampleSummaries(300, 99).map((c) => c.summary);
    const find = (pred: (s: StudySummary) => boolean) => cases.find(pred)!;
    const gradable = (e: EyeSummary) => e.status === 'gradable' && e.drGrade !== null;
    const refers = (s: StudySummary, eye: 'R' | 'L') => s.reasons.some((r) => r.eye === eye && r.action === 'refer');
    const wrong: Array<[string, StudySummary, (o: StructuredNarrative) => void]> = [
      ['a grade-2 comment on a grade-1 eye', find((s) => gradable(s.eyes.R) && s.eyes.R.drGrade!.grade === 1),
        (o) => { o.findings.rightEye!.comment = 'Changes beyond the earliest stage, without the features of severe or proliferative disease.'; }],
      ['a grade-3 comment on a grade-0 eye', find((s) => gradable(s.eyes.L) && s.eyes.L.drGrade!.grade === 0),
        (o) => { o.findings.leftEye!.comment = 'Extensive changes, with a high risk of progressing to proliferative disease.'; }],
      ['"no diabetic changes" on a grade-4 eye', find((s) => gradable(s.eyes.R) && s.eyes.R.drGrade!.grade === 4),
        (o) => { o.findings.rightEye!.comment = 'No diabetic changes were graded on this photograph.'; }],
      ['the macular centre threatened on a DME-1 eye', find((s) => gradable(s.eyes.L) && s.eyes.L.dmeRisk?.grade === 1),
        (o) => { o.findings.leftEye!.comment = 'The centre of the macula is threatened, which puts central vision at risk.'; }],
      ['the referral criteria met by the eye that does not meet them', find((s) => refers(s, 'R') && s.eyes.L.status === 'gradable' && !refers(s, 'L')),
        (o) => { o.impression.summary = 'The left eye meets the referral criteria of diabetic eye screening.'; }],
      ['nothing meets the criteria in a referable study', find((s) => s.referableDisease),
        (o) => { o.impression.summary = 'Nothing here meets the referral criteria of diabetic eye screening.'; }],
      ['screening incomplete for a gradable eye', find((s) => s.eyes.R.status === 'gradable'),
        (o) => { o.impression.summary = 'Screening of the right eye is incomplete.'; }],
    ];
    for (const [what, summary, edit] of wrong) {
      const obj = structuredNarrativeOf(summary);
      expect(narrativeGuard(renderStructuredNarrative(obj), summary).ok, `${what}: the right text`).toBe(true);
      edit(obj);
      expect(narrativeGuard(renderStructuredNarrative(obj), summary).ok, what).toBe(false);
    }
  });
});
