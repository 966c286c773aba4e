// One model's findings on one image frame, as OphGate stores them (findings table) and serves them
// (GET /api/studies/{study}/findings): plain JSON, no typed arrays, everything a report needs and nothing
// patient-identifying. Later stages (SEG, SR, FHIR, the narrative) read this shape, so it is validated when read.
import { z } from 'zod';
import type { ImageInference } from './model-registry.js';

const score = z.object({ key: z.string(), name: z.string(), code: z.string(), probability: z.number() });
const box = z.object({ x0: z.number(), y0: z.number(), x1: z.number(), y1: z.number() });

export const findingResultSchema = z.object({
  model: z.object({ name: z.string(), version: z.string() }),
  provider: z.string(),
  laterality: z.string().nullable(),
  image: z.object({ width: z.number().int(), height: z.number().int(), fieldOfView: box }),
  /** Multi-label and binary outputs: each label's probability, the manifest's threshold and the decision. */
  labels: z.array(score.extend({ output: z.string(), threshold: z.number().optional(), positive: z.boolean().optional() })),
  /** Grade and class outputs: the argmax and every class's probability. */
  grades: z.array(z.object({ output: z.string(), predicted: score, probabilities: z.array(score) })),
  /** Scores derived from outputs (e.g. referable DR = P(grade >= 2)). */
  derived: z.array(z.object({ name: z.string(), meaning: z.string(), code: z.string(), probability: z.number(), threshold: z.number().optional(), positive: z.boolean().optional() })),
  /** Every label and derived score at or above its threshold, and every lesion channel with pixels. */
  positive: z.array(z.object({ kind: z.enum(['label', 'derived', 'lesion']), output: z.string(), key: z.string(), name: z.string(), code: z.string() })),
  /** Mask channels: area in source pixels and 8-connected components (largest first, at most 100 listed). */
  lesions: z.array(z.object({
    output: z.string(), key: z.string(), name: z.string(), code: z.string(), threshold: z.number(),
    areaPx: z.number().int(), components: z.number().int().nullable(),
    largest: z.array(box.extend({ area: z.number(), cx: z.number(), cy: z.number() })),
    mask: z.string().nullable(),
  })),
  measurements: z.array(z.object({ name: z.string(), kind: z.string(), code: z.string().optional(), value: z.number().nullable(), detail: z.record(z.string(), z.unknown()) })),
});
export type FindingResult = z.infer<typeof findingResultSchema>;

const round = (x: number, digits = 6) => Number(x.toFixed(digits));

/** From the registry's answer for one image; `masks` are the written PNGs by "output/channel". */
export function toFindingResult(r: ImageInference, masks: Record<string, string>, laterality: string | null): FindingResult {
  const out: FindingResult = {
    model: r.model, provider: r.provider, laterality,
    image: { width: r.geometry.sourceWidth, height: r.geometry.sourceHeight, fieldOfView: r.geometry.box },
    labels: [], grades: [], derived: [], positive: [], lesions: [], measurements: [],
  };
  for (const o of Object.values(r.outputs)) {
    if (o.kind === 'multilabel' || o.kind === 'binary') {
      for (const l of o.labels) {
        out.labels.push({ output: o.name, key: l.key, name: l.name, code: l.code, probability: round(l.probability), ...(l.threshold !== undefined ? { threshold: l.threshold, positive: l.positive } : {}) });
        if (l.positive) out.positive.push({ kind: 'label', output: o.name, key: l.key, name: l.name, code: l.code });
      }
    } else if (o.kind === 'grade' || o.kind === 'class') {
      const s = (l: typeof o.predicted) => ({ key: l.key, name: l.name, code: l.code, probability: round(l.probability) });
      out.grades.push({ output: o.name, predicted: s(o.predicted), probabilities: o.labels.map(s) });
    } else if (o.kind === 'masks') {
      for (const c of o.channels) {
        out.lesions.push({
          output: o.name, key: c.key, name: c.name, code: c.code, threshold: c.threshold, areaPx: c.area,
          components: c.regions?.count ?? null,
          largest: (c.regions?.components ?? []).map((k) => ({ ...k, cx: round(k.cx, 2), cy: round(k.cy, 2) })),
          mask: masks[`${o.name}/${c.key}`] ?? null,
        });
        if (c.area > 0) out.positive.push({ kind: 'lesion', output: o.name, key: c.key, name: c.name, code: c.code });
      }
    }
  }
  for (const d of r.derived) {
    out.derived.push({ name: d.name, meaning: d.meaning, code: d.code, probability: round(d.probability), ...(d.threshold !== undefined ? { threshold: d.threshold, positive: d.positive } : {}) });
    if (d.positive) out.positive.push({ kind: 'derived', output: d.formula, key: d.name, name: d.meaning, code: d.code });
  }
  for (const m of r.measurements) {
    out.measurements.push({ name: m.name, kind: m.kind, ...(m.code ? { code: m.code } : {}), value: m.value === null ? null : round(m.value, 4), detail: { ...m.detail } });
  }
  return out;
}
