// Generated studies for the grounding guard's tests: 1-4 photographs, each of the right, left or an unstated eye,
// with the classifier's and/or the segmenter's findings made the way the pipeline makes them (a model answer
// shaped by the real manifests in models/, turned into a FindingResult by the findings stage's toFindingResult),
// so the summaries cover gradable, ungradable and missing eyes, every grade, label and lesion type.
import path from 'node:path';
import fc from 'fast-check';
import { toFindingResult, type FindingResult } from '../../src/inference/finding-result.js';
import { loadManifest } from '../../src/inference/manifest.js';
import type { ImageInference, LabelScore, MaskChannel, OutputResult } from '../../src/inference/model-registry.js';
import { PROJECT_ROOT } from '../../src/project-root.js';
import { summariseStudy, type StudyImage, type StudySummary } from '../../src/report/eye-summary.js';
import { derivedScores } from '../../src/inference/derived-scores.js';

const CLASSIFIER = loadManifest(path.join(PROJECT_ROOT, 'models/fundus-classifier/manifest.json'));
const SEGMENTER = loadManifest(path.join(PROJECT_ROOT, 'models/fundus-segmenter/manifest.json'));
const W = 1072;
const H = 712;
const geometry = { sourceWidth: W, sourceHeight: H, box: { x0: 10, y0: 5, x1: 1060, y1: 700 }, region: { left: 10, top: -170, width: 1050, height: 1050 } };

/** A softmax-like distribution over n classes with a chosen winner, so every grade occurs. */
const distribution = (n: number) => fc.tuple(fc.integer({ min: 0, max: n - 1 }), fc.array(fc.double({ min: 0.01, max: 1, noNaN: true }), { minLength: n, maxLength: n }))
  .map(([win, v]) => {
    const raw = v.map((x, k) => (k === win ? x + 1.5 : x));
    const s = raw.reduce((a, b) => a + b, 0);
    return raw.map((x) => x / s);
  });

const classifierArb: fc.Arbitrary<ImageInference> = fc.tuple(...CLASSIFIER.outputs.map((o) => {
  if (o.kind === 'grade' || o.kind === 'class') return distribution(o.labels.length);
  if (o.kind === 'masks') throw new Error('classifier without masks expected');
  if (o.name === 'quality') return fc.tuple(fc.double({ min: 0, max: 0.015, noNaN: true }));
  // Labels mostly below threshold, so that a photograph has a few positive labels, not all of them.
  return fc.tuple(...o.labels.map((l) => fc.oneof({ weight: 3, arbitrary: fc.double({ min: 0, max: l.threshold! * 0.99, noNaN: true }) }, { weight: 1, arbitrary: fc.double({ min: l.threshold!, max: 1, noNaN: true }) })));
})).map((values) => {
  const outputs: Record<string, OutputResult> = {};
  CLASSIFIER.outputs.forEach((o, k) => {
    if (o.kind === 'masks') return;
    const probs = values[k] as number[];
    const labels: LabelScore[] = o.labels.map((l, index) => {
      const threshold = 'threshold' in l ? (l.threshold as number | undefined) : undefined;
      return { index, key: l.key, name: l.name, code: l.code, probability: probs[index]!, ...(threshold !== undefined ? { threshold, positive: probs[index]! >= threshold } : {}) };
    });
    if (o.kind === 'grade' || o.kind === 'class') {
      outputs[o.name] = { name: o.name, kind: o.kind, labels, predicted: labels.reduce((a, b) => (b.probability > a.probability ? b : a)) };
    } else outputs[o.name] = { name: o.name, kind: o.kind, labels };
  });
  const derived = derivedScores(CLASSIFIER, outputs);
  return { model: { name: CLASSIFIER.name, version: CLASSIFIER.version }, provider: 'cpu', geometry, outputs, derived, measurements: [] };
});

const segmenterArb = (() => {
  const o = SEGMENTER.outputs.find((x) => x.kind === 'masks');
  if (!o || o.kind !== 'masks') throw new Error('segmenter masks output expected');
  const channel = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 200_000 }))
    .chain((area) => fc.record({ area: fc.constant(area), count: area === 0 ? fc.constant(0) : fc.integer({ min: 1, max: Math.min(area, 300) }) }));
  return fc.record({ channels: fc.tuple(...o.channels.map(() => channel)), cdr: fc.double({ min: 0.05, max: 0.95, noNaN: true }) }).map(({ channels, cdr }) => {
    const mc: MaskChannel[] = o.channels.map((c, index) => {
      const { area, count } = channels[index]!;
      const components = area === 0 ? [] : [{ x0: 100, y0: 100, x1: 140, y1: 130, area: Math.max(1, Math.floor(area / count)), cx: 120.25, cy: 115.5 }];
      return { index, key: c.key, name: c.name, code: c.code, threshold: c.threshold, mask: new Uint8Array(0), area, regions: { count, components } };
    });
    const masks = Object.fromEntries(mc.filter((c) => c.area > 0).map((c) => [`${o.name}/${c.key}`, `derived/masks/${c.key}.png`]));
    const disc = mc.find((c) => c.key === 'OD')!.area > 0;
    const cup = mc.find((c) => c.key === 'cup')!.area > 0;
    const step = SEGMENTER.postprocessing.find((p) => p.op === 'cup_to_disc_ratio');
    const ratio = disc ? (cup ? cdr : 0) : null;
    const measurements = step && step.op === 'cup_to_disc_ratio'
      ? [{ name: 'cup_to_disc_ratio' as const, kind: 'vertical' as const, ...(step.code ? { code: step.code } : {}), value: ratio, detail: { ratio, discHeight: disc ? 120 : 0, cupHeight: ratio === null ? 0 : Math.round(ratio * 120) } }]
      : [];
    const outputs: Record<string, OutputResult> = { [o.name]: { name: o.name, kind: 'masks', width: W, height: H, channels: mc, probabilities: new Float32Array(0), modelWidth: 0, modelHeight: 0 } };
    return { inference: { model: { name: SEGMENTER.name, version: SEGMENTER.version }, provider: 'cpu' as const, geometry, outputs, derived: [], measurements }, masks };
  });
})();

type Eye = 'R' | 'L' | null;
const imageArb: fc.Arbitrary<{ eye: Eye; findings: FindingResult[] }> = fc.record({
  eye: fc.constantFrom<Eye>('R', 'L', 'R', 'L', null),
  models: fc.constantFrom('both', 'both', 'both', 'classifier', 'segmenter'),
  classifier: classifierArb,
  segmenter: segmenterArb,
}).map(({ eye, models, classifier, segmenter }) => ({
  eye,
  findings: [
    ...(models !== 'segmenter' ? [toFindingResult(classifier, {}, eye)] : []),
    ...(models !== 'classifier' ? [toFindingResult(segmenter.inference, segmenter.masks, eye)] : []),
  ],
}));

export const studyImagesArb: fc.Arbitrary<StudyImage[]> = fc.array(imageArb, { minLength: 1, maxLength: 4 })
  .map((imgs) => imgs.map((img, k) => ({ sopInstanceUid: `2.25.${1000 + k}`, laterality: img.eye, findings: img.findings })));

export const summaryArb: fc.Arbitrary<StudySummary> = studyImagesArb.map((images) => summariseStudy(images));

/** n generated summaries, the same on every run. */
export function sampleSummaries(n: number, seed: number): StudySummary[] {
  return fc.sample(summaryArb, { numRuns: n, seed });
}
