// A model's derived scores (manifest `derived`, e.g. referable DR = P(grade 2) + P(grade 3) + P(grade 4)) from its
// interpreted outputs: the one computation the registry runs after each inference and that the synthetic cases of
// the tests and the LLM corpus reuse, so they can never drift from it.
import { parseFormula, type Manifest } from './manifest.js';
import type { DerivedScore, OutputResult } from './model-registry.js';

export function derivedScores(manifest: Pick<Manifest, 'outputs'>, outputs: Record<string, OutputResult>): DerivedScore[] {
  return manifest.outputs.flatMap((o) => o.derived.map((d): DerivedScore => {
    const probability = parseFormula(d.formula)!.reduce((s, t) => {
      const out = outputs[t.output];
      return s + (out && out.kind !== 'masks' ? out.labels[t.index]?.probability ?? 0 : 0);
    }, 0);
    return {
      name: d.name, meaning: d.meaning, code: d.code, formula: d.formula, probability,
      ...(d.threshold !== undefined ? { threshold: d.threshold, positive: probability >= d.threshold } : {}),
    };
  }));
}
