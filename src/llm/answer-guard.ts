// The grounding guard (src/llm/guard/) as the narrative writer and the case dialogue apply it.
import type { StudySummary } from '../report/eye-summary.js';
import { checkGrounding } from './guard/check.js';
import type { GuardVerdict } from './dialogue.js';

const verdictOf = (r: ReturnType<typeof checkGrounding>): GuardVerdict => ({
  ok: r.ok, violations: r.violations.map((v) => ({ kind: v.kind, sentence: v.sentence, detail: v.detail })),
});

/** A dialogue answer need not mention every finding; sentences that neither name an eye nor point at the case are general knowledge. */
export function answerGuard(text: string, summary: StudySummary): GuardVerdict {
  return verdictOf(checkGrounding(text, summary, { coverage: false, unscoped: 'general' }));
}

/** A narrative must say nothing the findings contradict and mention every positive finding with its eye. */
export function narrativeGuard(text: string, summary: StudySummary): GuardVerdict {
  return verdictOf(checkGrounding(text, summary, { coverage: true }));
}
