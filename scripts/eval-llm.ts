// `npm run eval:llm`: the chat model's evaluation (issue 6). Narratives on held-out synthetic cases (guard on the
// first try, after the retry, contradictions after the guard, coverage) and the hand-written questions of
// src/llm/knowledge/eval-questions.json (accuracy, refusals, false refusals), with time to first token and tokens/s.
//
//   npm run eval:llm                                   # the bundled model, 50 cases, every question
//   npm run eval:llm -- --model site.gguf --threads 4 --cases 100 --json out.json
//   npm run eval:llm -- --limit 5 --cases 5            # a quick run: 5 questions of each kind
//   npm run eval:llm -- --json docs/llm-eval.json --summary-json models/llm/eval-summary.json --write-docs
//                       # the recorded run: the `## LLM evaluation` section of docs/benchmarks.md is rewritten, and
//                       # the summary is what models/llm/model_card.py --eval lists in the model card
//
// Exits 0 when the evaluation ran (targets met or not; the table says which), 2 on bad arguments, 1 on errors.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_LLM_MODEL } from '../src/config/schema.js';
import { PROJECT_ROOT } from '../src/project-root.js';
import { formatReport, runLlmEvaluation } from '../src/llm/evaluation/run.js';
import { EVAL_QUESTION_SETS } from '../src/llm/knowledge/schema.js';
import { benchmarksSection, DOCS_HEADING } from '../src/llm/evaluation/docs.js';
import { writeDocSection } from '../bench/docs-section.js';

const USAGE = 'usage: npm run eval:llm -- [--model FILE.gguf] [--threads N] [--cases N] [--limit N] [--seed N] [--json OUT.json] [--summary-json OUT.json] [--context N] [--max-tokens N] [--gpu auto|off] [--narrative-format json-schema|prose] [--no-fixtures] [--no-router] [--no-knowledge-answers] [--scope-gate FILE.json] [--router FILE.json] [--sets 1,2,3,4,5] [--write-docs [--docs FILE.md]] [--quiet]';

function wholeNumber(name: string, value: string | undefined, dflt: number | undefined, min = 0): number | undefined {
  if (value === undefined) return dflt;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} must be a whole number >= ${min}, got "${value}"\n${USAGE}`);
    process.exit(2);
  }
  return n;
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        model: { type: 'string' }, threads: { type: 'string' }, cases: { type: 'string' }, limit: { type: 'string' },
        seed: { type: 'string' }, json: { type: 'string' }, 'summary-json': { type: 'string' }, context: { type: 'string' },
        gpu: { type: 'string' }, 'narrative-format': { type: 'string' }, 'no-fixtures': { type: 'boolean' }, 'no-router': { type: 'boolean' }, 'no-knowledge-answers': { type: 'boolean' }, 'scope-gate': { type: 'string' }, router: { type: 'string' }, sets: { type: 'string' }, 'max-tokens': { type: 'string' }, quiet: { type: 'boolean' }, 'write-docs': { type: 'boolean' }, docs: { type: 'string' }, help: { type: 'boolean' },
      },
      strict: true,
    }));
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (values.gpu !== undefined && values.gpu !== 'auto' && values.gpu !== 'off') {
    console.error(`--gpu must be auto or off, got "${values.gpu}"\n${USAGE}`);
    process.exit(2);
  }
  const narrativeFormat = values['narrative-format'] ?? 'json-schema';
  if (narrativeFormat !== 'json-schema' && narrativeFormat !== 'prose') {
    console.error(`--narrative-format must be json-schema or prose, got "${narrativeFormat}"\n${USAGE}`);
    process.exit(2);
  }
  // Which question sets (1 to 5: eval-questions.json, -2 ... -5); all by default. Development runs leave out the
  // held-out set (the last) so that its figures are not seen while the dialogue is being changed.
  const sets = values.sets?.split(',').map((x) => Number(x.trim()));
  if (sets && (!sets.length || sets.some((n) => !Number.isInteger(n) || n < 1 || n > EVAL_QUESTION_SETS.length))) {
    console.error(`--sets must list set numbers from 1 to ${EVAL_QUESTION_SETS.length}, got "${values.sets}"\n${USAGE}`);
    process.exit(2);
  }
  const limit = wholeNumber('limit', values.limit, undefined);
  const seed = wholeNumber('seed', values.seed, undefined);
  const contextSize = wholeNumber('context', values.context, undefined, 256);
  // One cap for narratives and answers (defaults 512 and 256): for quick runs with a random test model.
  const maxTokens = wholeNumber('max-tokens', values['max-tokens'], undefined, 1);
  const report = await runLlmEvaluation({
    modelPath: path.resolve(PROJECT_ROOT, values.model ?? DEFAULT_LLM_MODEL),
    // 1 thread: the gateway's measured default on the 2-core build machine (src/config/schema.ts llm.threads).
    threads: wholeNumber('threads', values.threads, 1, 1)!,
    cases: wholeNumber('cases', values.cases, 50)!,
    ...(limit !== undefined ? { limit } : {}),
    ...(seed !== undefined ? { heldOutSeed: seed } : {}),
    ...(contextSize !== undefined ? { contextSize } : {}),
    ...(maxTokens !== undefined ? { narrativeMaxTokens: maxTokens, answerMaxTokens: maxTokens } : {}),
    narrativeFormat,
    fixtures: !values['no-fixtures'],
    // The gateway's dialogue as configured by default: the scope gate, then the question router.
    ...(values['no-router'] ? { questionRouter: null } : values.router ? { questionRouter: path.resolve(values.router) } : {}),
    ...(values['scope-gate'] ? { scopeGate: path.resolve(values['scope-gate']) } : {}),
    ...(sets ? { questionsFiles: sets.map((n) => EVAL_QUESTION_SETS[n - 1]!) } : {}),
    ...(values['no-knowledge-answers'] ? { knowledgeAnswers: false } : {}),
    ...(values.gpu ? { gpu: values.gpu as 'auto' | 'off' } : {}),
    onProgress: values.quiet ? undefined : (stage, done, total) => {
      if (done === total || done % 10 === 0) process.stderr.write(`${stage}: ${done}/${total}\n`);
    },
  });
  console.log(formatReport(report));
  const write = (file: string, data: unknown) => {
    mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
    console.log(`wrote ${file}`);
  };
  if (values.json) write(values.json, report);
  if (values['summary-json']) write(values['summary-json'], report.summary);
  if (values['write-docs']) {
    const docs = values.docs ?? path.join(PROJECT_ROOT, 'docs', 'benchmarks.md');
    const command = `npm run eval:llm${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
    writeDocSection(docs, DOCS_HEADING, benchmarksSection(report, command));
    console.log(`wrote the "${DOCS_HEADING}" section of ${docs}`);
  }
}

main().catch((err: unknown) => {
  console.error(`eval:llm failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
