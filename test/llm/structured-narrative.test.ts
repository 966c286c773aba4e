// The structured narrative (src/llm/structured-narrative.ts), the bundled model's training target for reports: on
// synthetic studies of every kind its JSON is accepted by node-llama-cpp's grammar for the case's schema, exactly as
// serialised (compact, the schema's key order), and the prose rendered from it passes the grounding guard and
// mentions every positive finding. A target that failed either would teach the model to fail.
import { describe, it, expect, beforeAll } from 'vitest';
import { getLlama, type Llama } from 'node-llama-cpp';
import { sampleSummaries } from '../../scripts/llm-sample-cases.js';
import { structuredNarrativeOf } from '../../src/llm/structured-narrative.js';
import { narrativeSchemaFor, renderStructuredNarrative } from '../../src/llm/guard/schema.js';
import { narrativeGuard } from '../../src/llm/answer-guard.js';

let llama: Llama;
beforeAll(async () => { llama = await getLlama({ gpu: false }); }, 60_000);

describe('structured narrative', () => {
  it('satisfies the case grammar and the guard on 150 sampled studies', async () => {
    const cases = sampleSummaries(150, 4242);
    const kinds = new Set<string>();
    for (const { id, summary } of cases) {
      const obj = structuredNarrativeOf(summary);
      const json = JSON.stringify(obj);
      const grammar = await llama.createGrammarForJsonSchema(narrativeSchemaFor(summary) as never);
      expect(() => grammar.parse(json), id).not.toThrow();
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

  it('a wrong comment is caught: the guard still reads the free text', () => {
    const { summary } = sampleSummaries(40, 99).find(({ summary: s }) => s.eyes.R.status === 'gradable' && (s.eyes.R.drGrade?.grade ?? 0) < 4)!;
    const obj = structuredNarrativeOf(summary);
    obj.findings.rightEye!.comment = 'Proliferative disease with new vessels.';
    expect(narrativeGuard(renderStructuredNarrative(obj), summary).ok).toBe(false);
  });
});
