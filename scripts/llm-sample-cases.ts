// Sampled screening cases for the LLM corpus (models/llm/corpus.py): each case is a study of 1-4 photographs whose
// findings are made the way the pipeline makes them (a model answer built from the real manifests in models/,
// turned into a FindingResult by the findings stage's toFindingResult), summarised by summariseStudy and written up
// by the deterministic writeNarrative. So the corpus's findings JSON and target narrative are the project's own.
//
//   npx tsx scripts/llm-sample-cases.ts --n 4000 --seed 6 --out models/llm/data/cases.jsonl
//
// One JSON object a line: { id, findingsJson (caseFindingsJson: what the LLM is shown), findings (the same, parsed),
// narrative (the full text), sections, structured (the JSON narrative the model learns to write) }. Seeded (mulberry32), so the same arguments give the same file.
// The sampler is also imported (sampleSummaries, studyOfEyes) by the LLM evaluation (src/llm/evaluation/).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { toFindingResult, type FindingResult } from '../src/inference/finding-result.js';
import { loadManifest } from '../src/inference/manifest.js';
import type { ImageInference, LabelScore, MaskChannel, OutputResult } from '../src/inference/model-registry.js';
import { PROJECT_ROOT } from '../src/project-root.js';
import { summariseStudy, type StudyImage, type StudySummary } from '../src/report/eye-summary.js';
import { writeNarrative } from '../src/report/narrative.js';
import { caseFindings, caseFindingsJson } from '../src/llm/case-findings.js';
import { rng } from '../src/llm/seeded-random.js';
import { structuredNarrativeOf } from '../src/llm/structured-narrative.js';
import { derivedScores } from '../src/inference/derived-scores.js';

const CLASSIFIER = loadManifest(path.join(PROJECT_ROOT, 'models/fundus-classifier/manifest.json'));
const SEGMENTER = loadManifest(path.join(PROJECT_ROOT, 'models/fundus-segmenter/manifest.json'));
const geometry = { sourceWidth: 1072, sourceHeight: 712, box: { x0: 10, y0: 5, x1: 1060, y1: 700 }, region: { left: 10, top: -170, width: 1050, height: 1050 } };

export { rng };

export type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const weighted = <T>(r: Rand, xs: readonly [T, number][]): T => {
  const total = xs.reduce((s, [, w]) => s + w, 0);
  let u = r() * total;
  for (const [x, w] of xs) if ((u -= w) < 0) return x;
  return xs[xs.length - 1]![0];
};
const between = (r: Rand, lo: number, hi: number) => lo + (hi - lo) * r();

/** What an eye "has": the pipeline's outputs are drawn around it, so grades, lesions and labels hang together. */
export interface EyeTruth {
  gradable: boolean;
  dr: number;
  dme: number;
  labels: Set<string>;
  cdr: number;
  /** Set by studyOfEyes: exactly these lesion channels (MA, HE, EX, SE), disc and cup seen, the CDR unjittered. */
  fixed?: { lesions: ReadonlySet<string> };
  /**
   * Like the pipeline's output on a real photograph: lesions, labels and a large cup whatever the grade, with
   * counts in the hundreds. The fundus models disagree with each other this way on the fixtures (a grade 0 eye with
   * 109 hard exudates), and a writer that reads the grade off the lesions instead of the grade field goes wrong.
   */
  photoLike?: boolean;
}

function eyeTruth(r: Rand, photoLikeShare: number): EyeTruth {
  // Drawn first and only when asked for, so that a share of 0 leaves the default stream (and corpus) as it was.
  const photoLike = photoLikeShare > 0 && r() < photoLikeShare;
  const dr = weighted(r, [[0, 40], [1, 15], [2, 18], [3, 12], [4, 15]]);
  const dme = dr === 0 ? 0 : weighted(r, [[0, 50], [1, 30], [2, 20]]);
  const labels = new Set<string>();
  for (const [k, p] of [['G', 0.12], ['C', 0.12], ['A', 0.08], ['H', 0.07], ['M', 0.06], ['O', 0.06]] as const) if (r() < (photoLike ? 0.45 : p)) labels.add(k);
  if (dr >= 1 || (photoLike && r() < 0.7)) labels.add('D');
  const cdr = labels.has('G') || photoLike ? between(r, 0.6, 0.9) : between(r, 0.15, 0.6);
  return { gradable: r() < 0.82, dr, dme, labels, cdr, ...(photoLike ? { photoLike } : {}) };
}

/** Probabilities over n classes peaked at `at` (sometimes barely: the model is not always sure). */
function peaked(r: Rand, n: number, at: number, unsure = false): number[] {
  // Unsure (photo-like eyes): the other grades can outweigh the top one together, so referable DR may be flagged at grade 0-1.
  const top = unsure ? between(r, 0.3, 0.6) : between(r, 0.45, 0.97);
  const rest = Array.from({ length: n }, () => r() + 0.01);
  rest[at] = 0;
  const s = rest.reduce((a, b) => a + b, 0);
  return rest.map((x, i) => (i === at ? top : ((1 - top) * x) / s));
}

function scores(labels: readonly { key: string; name: string; code: string; threshold?: number }[], probs: number[]): LabelScore[] {
  return labels.map((l, index) => ({
    index, key: l.key, name: l.name, code: l.code, probability: probs[index]!,
    ...(l.threshold !== undefined ? { threshold: l.threshold, positive: probs[index]! >= l.threshold } : {}),
  }));
}

function classifier(r: Rand, t: EyeTruth, gradableImage: boolean): ImageInference {
  const outputs: Record<string, OutputResult> = {};
  for (const o of CLASSIFIER.outputs) {
    if (o.kind === 'masks') continue;
    const labels = o.labels as { key: string; name: string; code: string; threshold?: number }[];
    let probs: number[];
    if (o.name === 'dr_grade') probs = peaked(r, labels.length, t.dr, t.photoLike);
    else if (o.name === 'dme_risk') probs = peaked(r, labels.length, t.dme);
    else if (o.name === 'quality') {
      const th = labels[0]!.threshold!;
      probs = [gradableImage ? between(r, 0, th * 0.95) : between(r, th, r() < 0.5 ? 0.05 : 0.9)];
    } else {
      const normal = t.labels.size === 0 && t.dr === 0;
      probs = labels.map((l) => {
        const th = l.threshold!;
        const on = l.key === 'N' ? normal : t.labels.has(l.key);
        return on ? between(r, th, Math.min(1, th + 0.5)) : between(r, 0, th * 0.98);
      });
    }
    const ls = scores(labels, probs);
    if (o.kind === 'grade' || o.kind === 'class') {
      outputs[o.name] = { name: o.name, kind: o.kind, labels: ls, predicted: ls.reduce((b, l) => (l.probability > b.probability ? l : b)) };
    } else outputs[o.name] = { name: o.name, kind: o.kind, labels: ls };
  }
  const derived = derivedScores(CLASSIFIER, outputs);
  return { model: { name: CLASSIFIER.name, version: CLASSIFIER.version }, provider: 'cpu', geometry, outputs, derived, measurements: [] };
}

function segmenter(r: Rand, t: EyeTruth): ImageInference {
  const o = SEGMENTER.outputs.find((x) => x.kind === 'masks');
  if (!o || o.kind !== 'masks') throw new Error('the segmenter manifest has no masks output');
  const present: Record<string, boolean> = t.fixed ? {
    MA: t.fixed.lesions.has('MA'), HE: t.fixed.lesions.has('HE'), EX: t.fixed.lesions.has('EX'), SE: t.fixed.lesions.has('SE'), OD: true, cup: true,
  } : t.photoLike ? {
    MA: r() < 0.85, HE: r() < 0.85, EX: r() < 0.85, SE: r() < 0.3, OD: r() < 0.95, cup: r() < 0.9,
  } : {
    MA: t.dr >= 1 ? r() < 0.9 : r() < 0.05,
    HE: t.dr >= 2 ? r() < 0.85 : r() < 0.05,
    EX: t.dme >= 1 ? r() < 0.9 : r() < 0.05,
    SE: t.dr >= 3 ? r() < 0.6 : r() < 0.03,
    OD: r() < 0.95,
    cup: r() < 0.9,
  };
  const channels: MaskChannel[] = o.channels.map((c, index) => {
    const on = present[c.key] ?? false;
    const area = on ? Math.round(c.key === 'OD' ? between(r, 8000, 20000) : between(r, 20, 40000)) : 0;
    const count = on ? (c.key === 'OD' || c.key === 'cup' ? 1 : 1 + Math.floor(r() * (t.photoLike ? 320 : 40))) : 0;
    const components = on ? [{ x0: 100, y0: 100, x1: 140, y1: 130, area: Math.max(1, Math.floor(area / count)), cx: 120.25, cy: 115.5 }] : [];
    return { index, key: c.key, name: c.name, code: c.code, threshold: c.threshold, mask: new Uint8Array(0), area, regions: { count, components } };
  });
  const disc = present.OD!;
  const cup = present.cup! && disc;
  if (!cup) channels.find((c) => c.key === 'cup')!.area = 0;
  const step = SEGMENTER.postprocessing.find((p) => p.op === 'cup_to_disc_ratio');
  const ratio = disc ? (cup ? (t.fixed ? t.cdr : Math.min(1, Math.max(0, t.cdr + between(r, -0.05, 0.05)))) : 0) : null;
  const measurements = step && step.op === 'cup_to_disc_ratio'
    ? [{ name: 'cup_to_disc_ratio' as const, kind: 'vertical' as const, ...(step.code ? { code: step.code } : {}), value: ratio, detail: { ratio, discHeight: disc ? 120 : 0, cupHeight: ratio === null ? 0 : Math.round(ratio * 120) } }]
    : [];
  const outputs: Record<string, OutputResult> = {
    [o.name]: { name: o.name, kind: 'masks', width: geometry.sourceWidth, height: geometry.sourceHeight, channels, probabilities: new Float32Array(0), modelWidth: 0, modelHeight: 0 },
  };
  return { model: { name: SEGMENTER.name, version: SEGMENTER.version }, provider: 'cpu', geometry, outputs, derived: [], measurements };
}

export function sampleStudy(r: Rand, k: number, photoLikeShare = 0): StudyImage[] {
  // Usual screening: one photograph per eye; sometimes two per eye, one eye only, or a side not recorded.
  const layout = weighted<(('R' | 'L' | null)[])>(r, [
    [['R', 'L'], 55], [['R', 'R', 'L', 'L'], 12], [['R'], 7], [['L'], 7], [['R', 'L', null], 5], [[null], 4], [['R', 'R', 'L'], 5], [['L', 'R'], 5],
  ]);
  const truths = new Map<string, EyeTruth>();
  const models = weighted(r, [['both', 85], ['classifier', 8], ['segmenter', 7]]);
  const date = `20${String(20 + Math.floor(r() * 6))}${String(1 + Math.floor(r() * 12)).padStart(2, '0')}${String(1 + Math.floor(r() * 28)).padStart(2, '0')}`;
  return layout.map((eye, i) => {
    const side = eye ?? '?';
    if (!truths.has(side)) truths.set(side, eyeTruth(r, photoLikeShare));
    const t = truths.get(side)!;
    // A second photograph of an eye may come out differently readable.
    const gradableImage = t.gradable ? r() < 0.9 : r() < 0.1;
    const findings: FindingResult[] = [];
    if (models !== 'segmenter') findings.push(toFindingResult(classifier(r, t, gradableImage), {}, eye));
    if (models !== 'classifier') findings.push(toFindingResult(segmenter(r, t), {}, eye));
    return { sopInstanceUid: `2.25.${k}.${i}`, laterality: eye, findings, studyDate: date };
  });
}

/**
 * A study of one photograph per given eye with exactly the given truths (every photograph as gradable as its
 * eye, classifier and segmenter both run): for cases described by their findings, e.g. evaluation questions.
 */
export function studyOfEyes(r: Rand, eyes: readonly { eye: 'R' | 'L'; truth: EyeTruth }[], k: number, studyDate = '20250115'): StudyImage[] {
  return eyes.map(({ eye, truth }, i) => ({
    sopInstanceUid: `2.25.${k}.${i}`, laterality: eye, studyDate,
    findings: [toFindingResult(classifier(r, truth, truth.gradable), {}, eye), toFindingResult(segmenter(r, truth), {}, eye)],
  }));
}

/** The n sampled studies of a seed, summarised, with the ids the JSONL gives them; photoLikeShare: see EyeTruth. */
export function sampleSummaries(n: number, seed: number, photoLikeShare = 0): { id: string; summary: StudySummary }[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, k) => ({ id: `case-${seed}-${k}`, summary: summariseStudy(sampleStudy(r, k, photoLikeShare)) }));
}

function main(): void {
  const args = process.argv.slice(2);
  const opt = (name: string, dflt: string) => {
    const at = args.indexOf(`--${name}`);
    return at >= 0 && args[at + 1] !== undefined ? args[at + 1]! : dflt;
  };
  const n = Number(opt('n', '100'));
  const seed = Number(opt('seed', '6'));
  const out = opt('out', '');
  const photoLike = Number(opt('photo-like', '0'));
  // The structured target in the gateway grammar's order (each eye's comment right after its grades).
  const commentAfterGrades = args.includes('--comment-after-grades');
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(seed) || !out || !(photoLike >= 0 && photoLike <= 1)) {
    console.error('usage: tsx scripts/llm-sample-cases.ts --n N --seed S --out FILE.jsonl [--photo-like SHARE 0..1] [--comment-after-grades]');
    process.exit(2);
  }
  const lines: string[] = [];
  for (const { id, summary } of sampleSummaries(n, seed, photoLike)) {
    const narrative = writeNarrative(summary);
    lines.push(JSON.stringify({ id, findingsJson: caseFindingsJson(summary), findings: caseFindings(summary), narrative: narrative.text, sections: narrative.sections, structured: JSON.stringify(structuredNarrativeOf(summary, { commentAfterGrades })) }));
  }
  mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  writeFileSync(out, `${lines.join('\n')}\n`);
  console.log(`wrote ${n} cases to ${out} (seed ${seed}${photoLike ? `, photo-like share ${photoLike}` : ''})`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
