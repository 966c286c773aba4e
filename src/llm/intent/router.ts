// The question router: after the scope gate has let a question through, a linear classifier over its words (the
// gate's features) names its intent, and the model is asked the intent's canonical question (intents.ts) instead
// of the question as typed. The conversation keeps what the person typed; only the model's view changes. Below
// llm's minProbability, or for a knowledge question that names no condition in a case that suggests none, the
// question goes to the model as asked.
//
// This is for the bundled model, which answers its corpus's phrasings and little else; a site's instruct model
// reads free questions itself, so llm.questionRouter: null turns the router off.
//
// Weights come from scripts/llm-train-question-router.ts (the corpus's template questions and a hand-written bank,
// models/llm/intent_questions.py; never the evaluation questions) and live in models/llm/question-router.json,
// validated here once when loaded.
import path from 'node:path';
import { z } from 'zod';
import { PROJECT_ROOT } from '../../project-root.js';
import type { StudySummary } from '../../report/eye-summary.js';
import { knowledgeLexicon, linearScores, questionFeatures, readWeightsFile } from '../scope/features.js';
import { softmax } from '../scope/gate.js';
import { canonicalQuestion, INTENTS, type Intent } from './intents.js';

export const QUESTION_ROUTER_FORMAT = 'ophgate-question-router/1';
/**
 * The router's classes: the intents, and "none" for a question that is none of them (learnt from the scope gate's
 * refusal, urgent and crisis questions): a second opinion after the gate, so that an unsafe question the gate let
 * through reaches the model as asked, where its own refusal training can still catch it, rather than rewritten
 * into a harmless canonical question that it would answer.
 */
export const ROUTER_CLASSES = [...INTENTS, 'none'] as const;
export type RouterClass = (typeof ROUTER_CLASSES)[number];
export const DEFAULT_QUESTION_ROUTER = path.join(PROJECT_ROOT, 'models', 'llm', 'question-router.json');

const routerFileSchema = z.object({
  format: z.literal(QUESTION_ROUTER_FORMAT),
  classes: z.array(z.string()).refine((xs) => xs.length === ROUTER_CLASSES.length && xs.every((x, i) => x === ROUTER_CLASSES[i]), `must be exactly ${ROUTER_CLASSES.join(', ')}`),
  /** Below this probability of its best intent a question goes to the model as asked. */
  minProbability: z.number().min(0).max(1),
  weights: z.record(z.string(), z.array(z.number()).length(ROUTER_CLASSES.length)),
  training: z.record(z.string(), z.unknown()),
}).strict();
export type QuestionRouterFile = z.infer<typeof routerFileSchema>;

/**
 * The router's second opinion declines only at this probability of "none" or more. Chosen on the banks' held-back
 * questions that the scope gate lets through without conviction (p(answer) < GATE_SURE; scope and intent banks, seed
 * 6, gate and router of 0abc9bc: 93 answerable, 13 unsafe): at 0.5 it declined 9 answerable and 2 unsafe questions,
 * at 0.8 6 and 1, at 0.9 4 and 1, at 0.95 3 and 1. The explicit-request rules (../scope/requests.ts: now also prompt
 * injection) catch some of what only the second opinion used to.
 */
export const MIN_DECLINE_PROBABILITY = 0.9;

export interface IntentVerdict { intent: RouterClass; probability: number }

/** What the model is asked instead of the typed question. */
export interface Route {
  intent: Intent;
  probability: number;
  /** The canonical question the model is given. */
  question: string;
  /** The classifier's intent when the route falls back to another (a case question without its slot: "overall"). */
  classified?: Intent;
  /** Knowledge intents: the knowledge-base entry asked about. */
  entry?: string;
}

export class QuestionRouter {
  private readonly lexicon = knowledgeLexicon();

  constructor(readonly file: QuestionRouterFile) {}

  static load(file = DEFAULT_QUESTION_ROUTER): QuestionRouter {
    return new QuestionRouter(readWeightsFile(file, routerFileSchema, 'a question router'));
  }

  classify(question: string): IntentVerdict {
    const p = softmax(linearScores(questionFeatures(question, this.lexicon), this.file.weights, ROUTER_CLASSES.length));
    let best = 0;
    for (let k = 1; k < p.length; k++) if (p[k]! > p[best]!) best = k;
    return { intent: ROUTER_CLASSES[best]!, probability: p[best]! };
  }

  /**
   * The router takes the question for an unsafe one (class "none", at least minProbability) although the gate let it
   * through: a second opinion, and the gateway declines it (with the gate's refusal) rather than ask the model.
   */
  declines(question: string): boolean {
    const v = this.classify(question);
    return v.intent === 'none' && v.probability >= Math.max(this.file.minProbability, MIN_DECLINE_PROBABILITY);
  }

  /** The canonical question to give the model, or undefined to give it the question as asked. */
  route(question: string, summary?: StudySummary): Route | undefined {
    const v = this.classify(question);
    if (v.intent === 'none' || v.probability < this.file.minProbability) return undefined;
    const c = canonicalQuestion(v.intent, question, summary);
    if (!c) return undefined;
    return { intent: c.intent, probability: v.probability, question: c.question, ...(c.intent !== v.intent ? { classified: v.intent as Intent } : {}), ...(c.entry ? { entry: c.entry } : {}) };
  }
}
