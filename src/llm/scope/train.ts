// Training of the scope gate: multinomial logistic regression over the sparse question features, by AdaGrad with a
// little L2, classes weighted to equal total weight (the corpus holds far more answerable questions than crises).
// Deterministic: examples are visited in an order drawn from a seeded generator.
import { rng } from '../seeded-random.js';
import { knowledgeLexicon, questionFeatures } from './features.js';
import { SCOPE_CLASSES, softmax, type ScopeDecision } from './gate.js';

export interface LabelledQuestion { question: string; label: ScopeDecision }

export interface TrainOptions {
  epochs?: number; learningRate?: number; l2?: number; minCount?: number; seed?: number;
  /** Train one model per seed and average their weights (trainLinearWeights); `seed` is then unused. */
  seeds?: readonly number[];
}

export function trainScopeWeights(examples: readonly LabelledQuestion[], options: TrainOptions = {}): Record<string, number[]> {
  return trainLinearWeights(examples, SCOPE_CLASSES, options);
}

/**
 * The same learner for any set of classes (the question router's intents use it too). With `seeds`, one model per
 * seed (each visits the examples in its own order) and their weights averaged: a single order's model moves a few
 * borderline questions from one class to another with the seed alone, and the average does not.
 */
export function trainLinearWeights<C extends string>(examples: readonly { question: string; label: C }[], classes: readonly C[], options: TrainOptions = {}): Record<string, number[]> {
  const { seeds, ...one } = options;
  // Features once for every seed: only the order of visits differs between the models.
  const lexicon = knowledgeLexicon();
  const feats = examples.map((e) => questionFeatures(e.question, lexicon));
  if (!seeds?.length) return trainOne(examples, feats, classes, one);
  const sum = new Map<string, number[]>();
  for (const seed of seeds) {
    for (const [f, w] of Object.entries(trainOne(examples, feats, classes, { ...one, seed }))) {
      const s = sum.get(f) ?? classes.map(() => 0);
      w.forEach((x, k) => { s[k]! += x / seeds.length; });
      sum.set(f, s);
    }
  }
  return rounded(sum);
}

// Rounded: the file is committed, and four decimals change no decision.
function rounded(weights: Map<string, number[]>): Record<string, number[]> {
  return Object.fromEntries([...weights].filter(([, w]) => w.some((x) => Math.abs(x) >= 1e-3)).sort(([a], [b]) => (a < b ? -1 : 1)).map(([f, w]) => [f, w.map((x) => Number(x.toFixed(4)))]));
}

function trainOne<C extends string>(examples: readonly { question: string; label: C }[], feats: readonly string[][], classes: readonly C[], options: TrainOptions): Record<string, number[]> {
  const { epochs = 12, learningRate = 0.5, l2 = 1e-4, minCount = 2, seed = 6 } = options;
  const counts = new Map<string, number>();
  for (const fs of feats) for (const f of fs) counts.set(f, (counts.get(f) ?? 0) + 1);
  const weights = new Map<string, number[]>();
  const sq = new Map<string, number[]>();
  for (const [f, c] of counts) if (c >= minCount) { weights.set(f, classes.map(() => 0)); sq.set(f, classes.map(() => 1e-8)); }
  const perClass = classes.map((c) => examples.filter((e) => e.label === c).length);
  const classWeight = perClass.map((n) => (n ? examples.length / (classes.length * n) : 0));
  const r = rng(seed);
  const order = examples.map((_, i) => i);
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (const i of order) {
      const fs = feats[i]!.filter((f) => weights.has(f));
      const scores = classes.map((_, k) => fs.reduce((s, f) => s + weights.get(f)![k]!, 0));
      const p = softmax(scores);
      const y = classes.indexOf(examples[i]!.label);
      const cw = classWeight[y]!;
      for (const f of fs) {
        const w = weights.get(f)!;
        const g2 = sq.get(f)!;
        for (let k = 0; k < w.length; k++) {
          const grad = cw * (p[k]! - (k === y ? 1 : 0)) + l2 * w[k]!;
          g2[k]! += grad * grad;
          w[k]! -= (learningRate * grad) / Math.sqrt(g2[k]!);
        }
      }
    }
  }
  return rounded(weights);
}
