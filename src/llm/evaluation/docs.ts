// The `## LLM evaluation` section of docs/benchmarks.md, written from an evaluation report
// (`npm run eval:llm -- --write-docs`; bench/docs-section.ts replaces only this section).
import type { LlmEvalReport } from './run.js';

export const DOCS_HEADING = 'LLM evaluation';

const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(1)} %`);
const ms = (x: number | null) => (x === null ? 'n/a' : x.toFixed(0));

export function benchmarksSection(r: LlmEvalReport, command: string): string {
  const n = r.narratives;
  const d = r.dialogue;
  const row = (what: string, value: string, target = '') => `| ${what} | ${value} | ${target} |`;
  const met = (name: string) => {
    const t = r.targets.find((x) => x.name === name);
    return t ? `${t.target}${t.met === null ? '' : t.met ? ' (met)' : ' (missed)'}` : '';
  };
  return [
    `## ${DOCS_HEADING}`,
    '',
    `\`${command}\` (src/llm/evaluation/, scripts/eval-llm.ts): the chat model on held-out synthetic cases (seed ${r.heldOut.seed}; the training cases are seed ${r.heldOut.trainingSeed}, and any held-out case whose findings JSON occurs among them is dropped: ${r.heldOut.droppedAsInTraining}) through the gateway's narrative writer (guard, one sampled retry, deterministic fallback), and on the hand-written questions of src/llm/knowledge/eval-questions.json at temperature 0 (case questions with the dialogue prompt and a case the report code builds from the question's findings; general ones with the general prompt). The fixtures are not used: they carry no stored findings, and making them means running the ONNX models on every image. Refusals are recognised by \`isRefusalAnswer\` (src/llm/evaluation/refusal.ts).`,
    '',
    `### Results (${r.createdAt.slice(0, 10)})`,
    '',
    `Model ${r.model.name}, ${(r.model.bytes / 1e6).toFixed(1)} MB, sha256 ${r.model.sha256.slice(0, 12)}; ${r.settings.threads} thread(s), GPU ${r.settings.gpu === false ? 'off' : r.settings.gpu}; ${r.seconds.toFixed(0)} s in all${r.settings.limit !== null ? `; limited to ${r.settings.limit} questions of each kind` : ''}.`,
    '',
    '| measure | value | target |',
    '| --- | ---: | --- |',
    row('narratives passing the guard on the first try', `${pct(n.firstTryPass.share)} (${n.firstTryPass.count}/${n.cases})`, met('narratives passing the guard on the first try')),
    row('model narrative shown after the retry', `${pct(n.afterRetryPass.share)} (${n.afterRetryPass.count}/${n.cases})`),
    row('contradictions in the shown narratives', String(n.contradictionsAfterGuard), met('contradictions after the guard')),
    row('shown narratives mentioning every positive finding', pct(n.coverage.shownComplete.share), met('shown narratives mentioning every positive finding')),
    row('first model narratives mentioning every positive finding', pct(n.coverage.firstTryComplete.share)),
    row('answer accuracy (in scope, borderline included)', `${pct(d.inScopeAccuracy.share)} (${d.inScopeAccuracy.count}/${d.inScopeAccuracy.of})`),
    row('refusals of unsafe / out-of-scope questions', `${pct(d.refusalRate.share)} (${d.refusalRate.count}/${d.refusalRate.of})`, met('refusal rate on unsafe / out-of-scope questions')),
    row('urgent symptoms sent to emergency care', `${pct(d.urgentAdvice.share)} (${d.urgentAdvice.count}/${d.urgentAdvice.of})`, met('urgent-symptom questions sent to emergency care')),
    row('false refusals of in-scope questions', `${pct(d.falseRefusals.share)} (${d.falseRefusals.count}/${d.falseRefusals.of})`, met('false refusals of in-scope questions')),
    row('false refusals of borderline questions', `${pct(d.borderlineFalseRefusals.share)} (${d.borderlineFalseRefusals.count}/${d.borderlineFalseRefusals.of})`),
    row('case answers passing the answer guard', `${pct(d.caseAnswersPassingGuard.share)} (${d.caseAnswersPassingGuard.count}/${d.caseAnswersPassingGuard.of})`),
    row('time to first token, narrative, median / p90 (ms)', `${ms(n.speed.timeToFirstTokenMs.median)} / ${ms(n.speed.timeToFirstTokenMs.p90)}`),
    row('time to first token, dialogue, median / p90 (ms)', `${ms(d.speed.timeToFirstTokenMs.median)} / ${ms(d.speed.timeToFirstTokenMs.p90)}`),
    row('tokens/s, narrative, median / p90', `${ms(n.speed.tokensPerSecond.median)} / ${ms(n.speed.tokensPerSecond.p90)}`),
    row('tokens/s, dialogue, median / p90', `${ms(d.speed.tokensPerSecond.median)} / ${ms(d.speed.tokensPerSecond.p90)}`),
    '',
  ].join('\n');
}
