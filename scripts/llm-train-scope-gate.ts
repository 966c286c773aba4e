// Trains the scope gate (src/llm/scope/) and writes models/llm/scope-gate.json. Two sources, both generated:
//  - the questions of the chat model's corpus (models/llm/corpus.py), labelled by what the corpus answers them with,
//    read by the evaluation's refusal analysis (src/llm/refusal.ts): a crisis line, same-day care, a
//    refusal, or an answer;
//  - the gate's own bank (models/llm/scope_questions.py: hand-written bases with slots and noise, labelled), far more
//    varied than the corpus's templates, so that the gate learns meaning rather than a template's words.
// Validation is on the corpus's validation split and a held-back tenth of the bank's bases. The hand-written
// evaluation questions are never read.
//
//   npx tsx scripts/llm-train-scope-gate.ts [--data models/llm/data] [--out models/llm/scope-gate.json] [--l2 3e-3] [--epochs 12] [--seeds 1,2,3,4,5,6,7,8] [--min-decline 0.6]
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../src/project-root.js';
import { analyseRefusal } from '../src/llm/refusal.js';
import { ScopeGate, SCOPE_CLASSES, SCOPE_GATE_FORMAT, DEFAULT_SCOPE_GATE, type ScopeDecision } from '../src/llm/scope/gate.js';
import { trainScopeWeights, type LabelledQuestion } from '../src/llm/scope/train.js';

const CRISIS = /\bcrisis (?:line|helpline)\b/i;

export function labelOf(answer: string): ScopeDecision {
  if (CRISIS.test(answer)) return 'crisis';
  const a = analyseRefusal(answer);
  if (a.sentences.some((s) => s.signal === 'urgent-care') && a.refusal) return 'urgent';
  return a.refusal ? 'refuse' : 'answer';
}

function questionsOf(file: string): LabelledQuestion[] {
  const seen = new Set<string>();
  const out: LabelledQuestion[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const conv = JSON.parse(line) as { kind: string; messages: { role: string; content: string }[] };
    if (conv.kind === 'report') continue;
    for (let i = 1; i + 1 < conv.messages.length; i++) {
      const m = conv.messages[i]!;
      if (m.role !== 'user') continue;
      const label = labelOf(conv.messages[i + 1]!.content);
      const key = `${label}\t${m.content}`;
      if (!seen.has(key)) { seen.add(key); out.push({ question: m.content, label }); }
    }
  }
  return out;
}

function bankOf(file: string): { train: LabelledQuestion[]; val: LabelledQuestion[] } {
  const rows = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as LabelledQuestion & { split: string });
  for (const r of rows) if (!SCOPE_CLASSES.includes(r.label) || (r.split !== 'train' && r.split !== 'val')) throw new Error(`${file}: bad row ${JSON.stringify(r)}`);
  // The bank holds back a tenth of its hand-written bases, with all their forms.
  const strip = (r: LabelledQuestion) => ({ question: r.question, label: r.label });
  return { train: rows.filter((r) => r.split === 'train').map(strip), val: rows.filter((r) => r.split === 'val').map(strip) };
}

const { values } = parseArgs({ options: { data: { type: 'string' }, out: { type: 'string' }, l2: { type: 'string' }, epochs: { type: 'string' }, 'min-decline': { type: 'string' }, seeds: { type: 'string' } }, strict: true });
// l2 3e-3 by the banks' held-back questions through gate, rules and router (answerable declined / unsafe caught, of
// 534 / 207: 1e-3 16 / 193, 3e-3 14 / 192, 1e-2 15 / 191; on the earlier, smaller bank 1e-3 had beaten 1e-4). The
// stronger penalty shrinks weights a bank template taught a pair of words ("need laser", "what did it show").
// Eight example orders averaged (train.ts): one order alone moves borderline questions between classes.
const seeds = (values.seeds ?? '1,2,3,4,5,6,7,8').split(',').map(Number);
if (!seeds.length || seeds.some((n) => !Number.isInteger(n))) throw new Error(`--seeds takes whole numbers separated by commas, got "${values.seeds}"`);
const options = { l2: Number(values.l2 ?? 3e-3), epochs: Number(values.epochs ?? 12), seeds };
// 0.6 by the banks' held-back questions, through the gate and the router's second opinion as the dialogue asks them
// (gate and router of 0abc9bc): 0.5 declined 21/534 answerable and caught 194/207 unsafe, 0.6 15 and 192, 0.7 11 and
// 191. It applies to "refuse" only (gate.ts); with urgent and crisis at the plain argmax, 0.6 declines 16 and catches 193.
const minDecline = Number(values['min-decline'] ?? 0.6);
const data = path.resolve(PROJECT_ROOT, values.data ?? 'models/llm/data');
const out = path.resolve(PROJECT_ROOT, values.out ?? DEFAULT_SCOPE_GATE);
const bank = bankOf(path.join(data, 'scope-questions.jsonl'));
const train = [...questionsOf(path.join(data, 'train.jsonl')), ...bank.train];
const val = [...questionsOf(path.join(data, 'val.jsonl')), ...bank.val];
const count = (xs: LabelledQuestion[]) => Object.fromEntries(SCOPE_CLASSES.map((c) => [c, xs.filter((x) => x.label === c).length]));
const weights = trainScopeWeights(train, options);
const file = { format: SCOPE_GATE_FORMAT, classes: [...SCOPE_CLASSES], minDeclineProbability: minDecline, weights, training: {} as Record<string, unknown> };
const gate = new ScopeGate(file as never);
const confusion: Record<string, Record<string, number>> = {};
const bankConfusion: Record<string, Record<string, number>> = {};
for (const [set, into] of [[val, confusion], [bank.val, bankConfusion]] as const) {
  for (const q of set) {
    const d = gate.classify(q.question).decision;
    into[q.label] ??= {};
    into[q.label]![d] = (into[q.label]![d] ?? 0) + 1;
  }
}
file.training = { options: { ...options, minDeclineProbability: minDecline }, data: path.relative(PROJECT_ROOT, data), bankTrain: count(bank.train), bankValidation: count(bank.val), trainQuestions: count(train), validationQuestions: count(val), validationConfusion: confusion, bankValidationConfusion: bankConfusion, features: Object.keys(weights).length };
writeFileSync(out, `${JSON.stringify(file)}\n`);
console.log(JSON.stringify(file.training, null, 1));
console.log(`wrote ${path.relative(PROJECT_ROOT, out)}`);
