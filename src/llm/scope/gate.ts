// The scope gate: before a question reaches the chat model, a linear classifier over its words decides whether it
// is one OphGate answers (about the case or eye conditions), one it declines (doses, changing the report, a
// definitive diagnosis, other patients, anything outside eye care, attempts to override the rules), a red-flag
// symptom that must go to same-day care, or a crisis. Only "answer" reaches the model; the rest get the gateway's
// fixed replies (replies.ts). A small model cannot be trusted to refuse; a refusal it does give still counts. A few
// explicit requests (requests.ts: alter the report, stop a treatment, settle a diagnosis) are declined, and red-flag
// symptoms (red-flags.ts) sent to same-day care, whatever the classifier says.
//
// Weights come from scripts/llm-train-scope-gate.ts (trained on the corpus's questions, never on the evaluation
// questions) and live in models/llm/scope-gate.json, validated here once when loaded.
import path from 'node:path';
import { z } from 'zod';
import { PROJECT_ROOT } from '../../project-root.js';
import { knowledgeLexicon, linearScores, questionFeatures, readWeightsFile } from './features.js';
import { explicitRequest, type ExplicitRequest } from './requests.js';
import { redFlag } from './red-flags.js';

export const SCOPE_GATE_FORMAT = 'ophgate-scope-gate/1';
export const DEFAULT_SCOPE_GATE = path.join(PROJECT_ROOT, 'models', 'llm', 'scope-gate.json');
export const SCOPE_CLASSES = ['answer', 'refuse', 'urgent', 'crisis'] as const;
export type ScopeDecision = (typeof SCOPE_CLASSES)[number];

const gateFileSchema = z.object({
  format: z.literal(SCOPE_GATE_FORMAT),
  classes: z.tuple([z.literal('answer'), z.literal('refuse'), z.literal('urgent'), z.literal('crisis')]),
  /**
   * Below this probability of "refuse" a question is answered (fewer false refusals); urgent and crisis need only be
   * more probable than "answer".
   */
  minDeclineProbability: z.number().min(0).max(1),
  weights: z.record(z.string(), z.array(z.number()).length(SCOPE_CLASSES.length)),
  training: z.record(z.string(), z.unknown()),
}).strict();
export type ScopeGateFile = z.infer<typeof gateFileSchema>;

export interface ScopeVerdict {
  decision: ScopeDecision;
  probabilities: Record<ScopeDecision, number>;
  /** Set when the classifier would answer but the question makes a request the assistant declines (requests.ts). */
  request?: ExplicitRequest;
  /** Set when the classifier would answer or refuse but the question describes a red-flag symptom (red-flags.ts). */
  redFlag?: true;
}

export function softmax(scores: number[]): number[] {
  const m = Math.max(...scores);
  const e = scores.map((s) => Math.exp(s - m));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / sum);
}

export class ScopeGate {
  private readonly lexicon = knowledgeLexicon();

  constructor(readonly file: ScopeGateFile) {}

  static load(file = DEFAULT_SCOPE_GATE): ScopeGate {
    return new ScopeGate(readWeightsFile(file, gateFileSchema, 'a scope gate'));
  }

  scores(question: string): number[] {
    return linearScores(questionFeatures(question, this.lexicon), this.file.weights, SCOPE_CLASSES.length);
  }

  classify(question: string): ScopeVerdict {
    const p = softmax(this.scores(question));
    const probabilities = Object.fromEntries(SCOPE_CLASSES.map((c, i) => [c, p[i]!])) as Record<ScopeDecision, number>;
    let best = 1;
    for (let k = 2; k < p.length; k++) if (p[k]! > p[best]!) best = k;
    // Urgent symptoms and crises need only to outweigh "answer": missing one costs more than a needless safety reply.
    const threshold = SCOPE_CLASSES[best] === 'refuse' ? this.file.minDeclineProbability : 0;
    const decision = p[best]! > p[0]! && p[best]! >= threshold ? SCOPE_CLASSES[best]! : 'answer';
    // A red flag outranks everything but a crisis; an explicit request turns an answer into a refusal.
    if (decision !== 'crisis' && decision !== 'urgent' && redFlag(question)) return { decision: 'urgent', probabilities, redFlag: true };
    const request = decision === 'answer' ? explicitRequest(question) : undefined;
    return request ? { decision: 'refuse', probabilities, request } : { decision, probabilities };
  }
}
