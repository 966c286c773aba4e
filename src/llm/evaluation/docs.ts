// The `## LLM evaluation` section of docs/benchmarks.md, written from an evaluation report
// (`npm run eval:llm -- --write-docs`; bench/docs-section.ts replaces only this section).
import type { LlmEvalReport } from './run.js';

export const DOCS_HEADING = 'LLM evaluation';

const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(1)} %`);
const ms = (x: number | null) => (x === null ? 'n/a' : x.toFixed(0));

export function benchmarksSection(r: LlmEvalReport, command: string): string {
  const n = r.narratives;
  const d = r.dialogues[0]!;
  const row = (what: string, value: string, target = '') => `| ${what} | ${value} | ${target} |`;
  const met = (name: string) => {
    const t = r.targets.find((x) => x.name === name);
    return t ? `${t.target}${t.met === null ? '' : t.met ? ' (met)' : ' (missed)'}` : '';
  };
  return [
    `## ${DOCS_HEADING}`,
    '',
    `\`${command}\` (src/llm/evaluation/, scripts/eval-llm.ts): the chat model on held-out synthetic cases (seed ${r.heldOut.seed}; the training cases are seed ${r.heldOut.trainingSeed}, and any held-out case whose findings JSON occurs among them is dropped: ${r.heldOut.droppedAsInTraining}) through the gateway's narrative writer (guard, one sampled retry, deterministic fallback), and on the hand-written questions at temperature 0: src/llm/knowledge/eval-questions.json (written before the first model; seen while the scope gate was built, so a development set for the gate) and eval-questions-2.json (written before the scope gate by someone who saw neither the gate nor the corpus templates; since used with the first set to develop the router and the knowledge retrieval) and eval-questions-3.json (written blind after both had been used, by someone who saw only the knowledge base and the schema; held out for one session, then a development set too) and eval-questions-4.json (written blind the same way before any change of the session that added it, scored once as its held-out set, then a development set) and eval-questions-5.json (written blind the same way right after: the held-out set for the changes made after that, scored once at their end). Each question is scored twice: the model's own answer to the question as typed, and the gateway's: for a case question exactly what the dialogue endpoint answers (src/llm/dialogue.ts: the scope gate's reply where it keeps the question from the model, the router's refusal where it takes the question for unsafe, the knowledge base's cited passage for a recognised general question about a named entry or, for a question the router cannot place, the passage found by content among the entries it mentions (the knowledge base's and the care knowledge's examinations, treatments and screening service) or the case found (after the report's line for the eye asked about), the gateway's own reply for a question about an eye the study has no photograph of, else the model's answer to the question router's canonical question where it has one, src/llm/intent/, held to the answer guard with one sampled retry and replaced, when both attempts fail, by the deterministic report's section for the case question (with a retrieved passage after it when one is found), else by "I cannot answer that reliably…"); for a general question the same without the guard; the targets apply to the gateway's (case questions with the dialogue prompt and a case the report code builds from the question's findings; general ones with the general prompt). The fixtures' photographs (IDRiD, real) go through a gateway of their own with OphGate's fundus models, and each ophthalmic study's summary is a narrative case too (src/llm/evaluation/fixtures.ts). Refusals are recognised by \`isRefusalAnswer\` (src/llm/refusal.ts).`,
    '',
    `### Results (${r.createdAt.slice(0, 10)})`,
    '',
    `Model ${r.model.name}, ${(r.model.bytes / 1e6).toFixed(1)} MB, sha256 ${r.model.sha256.slice(0, 12)}; ${r.settings.threads} thread(s), GPU ${r.settings.gpu === false ? 'off' : r.settings.gpu}; ${r.seconds.toFixed(0)} s in all${r.settings.limit !== null ? `; limited to ${r.settings.limit} questions of each kind` : ''}.`,
    '',
    '| measure | value | target |',
    '| --- | ---: | --- |',
    row('narratives passing the guard on the first try', `${pct(n.firstTryPass.share)} (${n.firstTryPass.count}/${n.cases})`, met('narratives passing the guard on the first try')),
    ...(r.fixtures.evaluated ? [
      row(`fixtures (${r.fixtures.studies} studies): narratives passing the guard on the first try`, `${pct(r.fixtures.narratives.firstTryPass.share)} (${r.fixtures.narratives.firstTryPass.count}/${r.fixtures.studies})`, met('narratives passing the guard on the first try (fixtures)')),
      row('fixtures: contradictions in the shown narratives', String(r.fixtures.narratives.contradictionsAfterGuard), met('contradictions after the guard (fixtures)')),
    ] : []),
    row('model narrative shown after the retry', `${pct(n.afterRetryPass.share)} (${n.afterRetryPass.count}/${n.cases})`),
    row('contradictions in the shown narratives', String(n.contradictionsAfterGuard), met('contradictions after the guard')),
    row('shown narratives mentioning every positive finding', pct(n.coverage.shownComplete.share), met('shown narratives mentioning every positive finding')),
    row('first model narratives mentioning every positive finding', pct(n.coverage.firstTryComplete.share)),
    row('eval-questions.json, model alone: urgent symptoms sent to emergency care', `${pct(d.urgentAdvice.share)} (${d.urgentAdvice.count}/${d.urgentAdvice.of})`),
    row('eval-questions.json, model alone: false refusals of borderline questions', `${pct(d.borderlineFalseRefusals.share)} (${d.borderlineFalseRefusals.count}/${d.borderlineFalseRefusals.of})`),
    row('eval-questions.json: case answers passing the answer guard', `${pct(d.caseAnswersPassingGuard.share)} (${d.caseAnswersPassingGuard.count}/${d.caseAnswersPassingGuard.of})`),
    ...r.dialogues.flatMap((x) => {
      const name = x.file.split('/').pop() ?? x.file;
      const rate = (v: { share: number | null; count: number; of: number }) => `${pct(v.share)} (${v.count}/${v.of})`;
      const target = (what: string) => met(`${what} (${name}${x.gateway ? ', gateway' : ', model alone'})`);
      const rows = [
        row(`${name}, model alone: answer accuracy / refusals / false refusals`, `${rate(x.inScopeAccuracy)} / ${rate(x.refusalRate)} / ${rate(x.falseRefusals)}`),
      ];
      if (x.gateway) {
        const g = x.gateway;
        rows.push(
          row(`${name}, gateway: answer accuracy`, rate(g.inScopeAccuracy)),
          row(`${name}, gateway: refusals of unsafe / out-of-scope questions`, rate(g.refusalRate), target('refusal rate on unsafe / out-of-scope questions')),
          row(`${name}, gateway: urgent symptoms sent to emergency care`, rate(g.urgentAdvice), target('urgent-symptom questions sent to emergency care')),
          row(`${name}, gateway: false refusals of in-scope questions`, rate(g.falseRefusals), target('false refusals of in-scope questions')),
          row(`${name}, gateway: false refusals of borderline questions`, rate(g.borderlineFalseRefusals)),
          row(`${name}, gateway: answerable questions the router rewrote`, rate(g.routed)),
          row(`${name}, gateway: answerable questions answered from the knowledge base`, rate(g.knowledgeAnswers)),
          row(`${name}, gateway: answerable questions answered with the report's section (model's answers failed the guard)`, rate(g.reportAnswers)),
          row(`${name}, gateway: case answers passing the answer guard`, rate(g.caseAnswersPassingGuard)),
        );
      }
      return rows;
    }),
    row('time to first token, narrative, median / p90 (ms)', `${ms(n.speed.timeToFirstTokenMs.median)} / ${ms(n.speed.timeToFirstTokenMs.p90)}`),
    row('time to first token, dialogue, median / p90 (ms)', `${ms(d.speed.timeToFirstTokenMs.median)} / ${ms(d.speed.timeToFirstTokenMs.p90)}`),
    row('tokens/s, narrative, median / p90', `${ms(n.speed.tokensPerSecond.median)} / ${ms(n.speed.tokensPerSecond.p90)}`),
    row('tokens/s, dialogue, median / p90', `${ms(d.speed.tokensPerSecond.median)} / ${ms(d.speed.tokensPerSecond.p90)}`),
    '',
  ].join('\n');
}
