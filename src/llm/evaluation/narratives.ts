// The narrative half of `npm run eval:llm`: each held-out case goes through the gateway's own narrative writer
// (writeNarrativeWithLlm: model text, grounding guard, one sampled retry, deterministic fallback) and the shown
// text is checked again, so the figures are those of what a report would carry.
import type { StudySummary } from '../../report/eye-summary.js';
import { writeNarrative } from '../../report/narrative.js';
import { narrativeGuard } from '../answer-guard.js';
import type { GuardVerdict } from '../dialogue.js';
import { writeNarrativeWithLlm, type NarrativeFormat } from '../narrative-writer.js';
import type { LlmService } from '../service.js';
import { share, speedOf, type Speed } from './stats.js';

export interface NarrativeCaseResult {
  id: string;
  firstTryOk: boolean;
  /** 'model' when the shown text is the model's (first try or retry), else 'deterministic'. */
  shown: 'model' | 'deterministic';
  attempts: { ok: boolean; violations: string[]; completionTokens: number }[];
  /** Violations of the shown text other than missing findings: must be none. */
  contradictions: string[];
  /** Positive findings the shown text does not mention. */
  missingFindings: string[];
}

export interface NarrativeEvaluation {
  cases: number;
  /** Narratives whose first model text passed the guard (target >= 0.8). */
  firstTryPass: { count: number; share: number | null };
  /** Passed on the first try or on the retry: the model's text is shown. */
  afterRetryPass: { count: number; share: number | null };
  deterministicFallback: { count: number; share: number | null };
  /** Guard violations, other than missing findings, in the text that is shown (target 0). */
  contradictionsAfterGuard: number;
  coverage: {
    /** Shown texts that mention every positive finding. */
    shownComplete: { count: number; share: number | null };
    /** First model texts that mention every positive finding (the model's own coverage, before the guard). */
    firstTryComplete: { count: number; share: number | null };
    /** Positive findings missing from shown texts, all cases together. */
    missingInShown: number;
  };
  /** How often each violation kind occurred in first model texts. */
  firstTryViolationKinds: Record<string, number>;
  speed: Speed;
  perCase: NarrativeCaseResult[];
  /** A few first-try texts, for reading. */
  examples: { id: string; text: string; ok: boolean }[];
}

const kinds = (v: GuardVerdict) => v.violations.map((x) => x.kind);
const missing = (v: GuardVerdict) => v.violations.filter((x) => x.kind === 'missing-finding');

export async function evaluateNarratives(
  llm: LlmService, cases: readonly { id: string; summary: StudySummary }[],
  options: { format?: NarrativeFormat; examples?: number; onCase?: (done: number, total: number) => void } = {},
): Promise<NarrativeEvaluation> {
  const perCase: NarrativeCaseResult[] = [];
  const gens: { timeToFirstTokenMs: number | null; tokensPerSecond: number }[] = [];
  const examples: NarrativeEvaluation['examples'] = [];
  const violationKinds: Record<string, number> = {};
  let firstTryComplete = 0;
  for (const c of cases) {
    const deterministic = writeNarrative(c.summary);
    // The first attempt's text is only seen through its verdict; ask the writer for it by capturing generations.
    const texts: string[] = [];
    const spy = new Proxy(llm, {
      get(target, prop, receiver) {
        if (prop === 'generate') {
          return async (req: Parameters<LlmService['generate']>[0]) => {
            const g = await target.generate(req);
            texts.push(g.text);
            return g;
          };
        }
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const written = await writeNarrativeWithLlm(spy, c.summary, deterministic, options.format ?? 'prose');
    const first = written.attempts[0];
    for (const a of written.attempts) gens.push(a);
    if (first) {
      for (const k of kinds(first.guard)) violationKinds[k] = (violationKinds[k] ?? 0) + 1;
      if (missing(first.guard).length === 0 && first.guard.violations.every((v) => v.kind !== 'unparsable')) firstTryComplete++;
    }
    if (examples.length < (options.examples ?? 3) && texts[0] !== undefined) examples.push({ id: c.id, text: texts[0], ok: first?.guard.ok ?? false });
    const after = narrativeGuard(written.text, c.summary);
    perCase.push({
      id: c.id,
      firstTryOk: first?.guard.ok ?? false,
      shown: written.producedBy === 'deterministic' ? 'deterministic' : 'model',
      attempts: written.attempts.map((a) => ({ ok: a.guard.ok, violations: kinds(a.guard), completionTokens: a.completionTokens })),
      contradictions: after.violations.filter((v) => v.kind !== 'missing-finding').map((v) => `${v.kind}: ${v.detail}`),
      missingFindings: missing(after).map((v) => v.detail),
    });
    options.onCase?.(perCase.length, cases.length);
  }
  const n = perCase.length;
  const count = (f: (r: NarrativeCaseResult) => boolean) => perCase.filter(f).length;
  const firstTry = count((r) => r.firstTryOk);
  const model = count((r) => r.shown === 'model');
  const complete = count((r) => r.missingFindings.length === 0);
  return {
    cases: n,
    firstTryPass: { count: firstTry, share: share(firstTry, n) },
    afterRetryPass: { count: model, share: share(model, n) },
    deterministicFallback: { count: n - model, share: share(n - model, n) },
    contradictionsAfterGuard: perCase.reduce((s, r) => s + r.contradictions.length, 0),
    coverage: {
      shownComplete: { count: complete, share: share(complete, n) },
      firstTryComplete: { count: firstTryComplete, share: share(firstTryComplete, n) },
      missingInShown: perCase.reduce((s, r) => s + r.missingFindings.length, 0),
    },
    firstTryViolationKinds: violationKinds,
    speed: speedOf(gens),
    perCase,
    examples,
  };
}
