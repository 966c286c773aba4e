// The classifier's test metrics, as models/train/evaluate.py evaluate_classifier computes them, from the shipped
// ONNX model run through the gateway's own path (ModelRegistry: sharp preprocessing, onnxruntime-node) on the
// held-out test records, at the thresholds the manifest carries (evaluate.py chose them on validation and
// export_onnx.py copied them into the manifest). The result has the shape of metrics.json's "thresholds", "data"
// and "test" blocks, with plain numbers where metrics.json has {value, ci95} (no bootstrap here).
import path from 'node:path';
import type { ImageInference, ModelRegistry } from '../model-registry.js';
import type { Manifest } from '../manifest.js';
import { ODIR_LABELS, type ClsRecord } from './records.js';
import { averagePrecision, confusion, mean, quadraticKappa, rocAuc, sensSpec } from './metrics.js';

export interface ClassifierScores {
  /** [n][8] sigmoid outputs, float32 values. */
  multilabel: number[][];
  drGrade: number[][];
  dmeRisk: number[][];
  quality: number[];
}

export interface ClassifierThresholds { multilabel: Record<string, number>; referableDr: number; quality: number }

export interface EvalTiming { images: number; runSeconds: number; totalSeconds: number }

/** The thresholds the manifest carries (label thresholds, the referable_dr derived score's threshold). */
export function classifierThresholds(m: Manifest): ClassifierThresholds {
  const ml = m.outputs.find((o) => o.name === 'multilabel');
  const grade = m.outputs.find((o) => o.name === 'dr_grade');
  const q = m.outputs.find((o) => o.name === 'quality');
  if (!ml || ml.kind !== 'multilabel' || !grade || !q || q.kind !== 'binary') {
    throw new Error(`${m.name}: the manifest has no multilabel "multilabel", grade "dr_grade" or binary "quality" output`);
  }
  const ref = grade.derived.find((d) => d.name === 'referable_dr');
  if (ref?.threshold === undefined) throw new Error(`${m.name}: the manifest has no referable_dr derived score with a threshold`);
  return {
    multilabel: Object.fromEntries(ml.labels.map((l) => [l.key, l.threshold])),
    referableDr: ref.threshold,
    quality: q.labels[0]!.threshold,
  };
}

/**
 * Runs the registry's classifier over the records' images (paths under dataDir), chunk by chunk; `onResult` gets
 * each record's answer from the registry (the eval's DICOM check makes an SR of it).
 */
export async function scoreClassifier(
  registry: ModelRegistry, model: string, records: ClsRecord[], dataDir: string,
  onProgress?: (done: number, total: number) => void,
  onResult?: (record: ClsRecord, result: ImageInference) => Promise<void>,
): Promise<{ scores: ClassifierScores; runSeconds: number }> {
  const scores: ClassifierScores = { multilabel: [], drGrade: [], dmeRisk: [], quality: [] };
  const chunk = 32;
  let runSeconds = 0;
  for (let i = 0; i < records.length; i += chunk) {
    const files = records.slice(i, i + chunk).map((r) => path.join(dataDir, r.image));
    const t0 = performance.now();
    const results = await registry.run(model, files);
    runSeconds += (performance.now() - t0) / 1000;
    for (const [k, r] of results.entries()) {
      await onResult?.(records[i + k]!, r);
      const probs = (name: string) => {
        const o = r.outputs[name];
        if (!o || o.kind === 'masks') throw new Error(`${model}: no scores output "${name}"`);
        return o.labels.map((l) => l.probability);
      };
      scores.multilabel.push(probs('multilabel'));
      scores.drGrade.push(probs('dr_grade'));
      scores.dmeRisk.push(probs('dme_risk'));
      scores.quality.push(probs('quality')[0]!);
    }
    onProgress?.(Math.min(i + chunk, records.length), records.length);
  }
  return { scores, runSeconds };
}

const argmax = (p: number[]) => p.reduce((best, v, k) => (v > p[best]! ? k : best), 0);
const round4 = (v: number) => Math.round(v * 1e4) / 1e4;
/** P(grade >= 2) = p2 + p3 + p4, summed in float32 as NumPy sums evaluate.py's float32 probabilities. */
const referable = (p: number[]) => p.slice(2).reduce((a, b) => Math.fround(a + b), 0);
/**
 * NumPy compares evaluate.py's float32 scores with a Python float threshold in float32 (value-based casting), so
 * the threshold is rounded to float32 before `>=`.
 */
const f32 = Math.fround;

function pick<T>(v: T[], sel: boolean[]): T[] {
  return v.filter((_, i) => sel[i]);
}

function binaryBlock(y: boolean[], s: number[], thr: number) {
  const [sensitivity, specificity] = sensSpec(y, s, f32(thr));
  const positives = y.filter(Boolean).length;
  return {
    positives, negatives: y.length - positives, threshold: round4(thr),
    auc: rocAuc(y, s), sensitivity, specificity,
  };
}

/** evaluate.py adds the AUPR to the ODIR labels' and referable DR's blocks (not the quality flag's) when both classes occur. */
function withAupr<T extends { positives: number; negatives: number }>(block: T, y: boolean[], s: number[]): T & { aupr?: number } {
  return block.positives > 0 && block.negatives > 0 ? { ...block, aupr: averagePrecision(y, s) } : block;
}

function gradeBlock(y: number[], p: number[][], k: number) {
  const pred = p.map(argmax);
  return {
    n: y.length,
    kappa: quadraticKappa(y, pred, k),
    accuracy: y.length ? round4(pred.filter((v, i) => v === y[i]).length / y.length) : null,
    confusion_rows_true_cols_pred: confusion(y, pred, k),
  };
}

/** metrics.json's "thresholds", "data" and "test" blocks of the classifier, from the TypeScript path's scores. */
export function classifierMetrics(test: ClsRecord[], val: ClsRecord[], sc: ClassifierScores, thr: ClassifierThresholds) {
  const ot = test.map((r) => r.source === 'odir');
  const it = test.map((r) => r.source === 'idrid');
  const official = test.map((r) => r.officialSplit === 'test');
  const itOfficial = it.map((v, i) => v && official[i]!);
  const count = (b: boolean[]) => b.filter(Boolean).length;

  const odirBlock = (sel: boolean[], perLabel: boolean) => {
    const y = pick(test, sel).map((r) => r.multilabel);
    const s = pick(sc.multilabel, sel);
    const aucs = ODIR_LABELS.map((_, j) => rocAuc(y.map((r) => r[j]!), s.map((r) => r[j]!))).filter(Number.isFinite);
    const block: Record<string, unknown> = { mean_auc: aucs.length ? mean(aucs) : NaN, eyes: count(sel) };
    if (perLabel) {
      block.labels = Object.fromEntries(ODIR_LABELS.map((lab, j) => {
        const yj = y.map((r) => r[j] === 1);
        const sj = s.map((r) => r[j]!);
        return [lab, withAupr(binaryBlock(yj, sj, thr.multilabel[lab] ?? 0.5), yj, sj)];
      }));
    }
    return block;
  };

  const odir = odirBlock(ot, true);
  const qf = test.map((r) => r.quality === 1);
  const odirWithoutQ = odirBlock(ot.map((v, i) => v && !qf[i]), false);
  odir.quality_flag = binaryBlock(pick(test, ot).map((r) => r.quality === 1), pick(sc.quality, ot), thr.quality);
  const og = ot.map((v, i) => v && test[i]!.drGrade >= 0);
  odir.dr_grade_keywords = gradeBlock(pick(test, og).map((r) => r.drGrade), pick(sc.drGrade, og), 5);

  const idridBlock = (sel: boolean[]) => {
    const recs = pick(test, sel);
    const y = recs.map((r) => r.drGrade);
    const p = pick(sc.drGrade, sel);
    const dPresent = pick(sc.multilabel, sel).map((r) => r[1]!);
    const yRef = y.map((g) => g >= 2);
    const sRef = p.map(referable);
    return {
      images: count(sel),
      referable_dr: withAupr(binaryBlock(yRef, sRef, thr.referableDr), yRef, sRef),
      dr_grade: gradeBlock(y, p, 5),
      dme_risk: gradeBlock(recs.map((r) => r.dmeRisk), pick(sc.dmeRisk, sel), 3),
      dr_present_auc_from_D_output: rocAuc(y.map((g) => g >= 1), dPresent),
    };
  };
  const tests: Record<string, unknown> = { odir, odir_without_quality_flag: odirWithoutQ, idrid: idridBlock(it) };
  if (count(itOfficial) && count(itOfficial) !== count(it)) tests.idrid_official_test_only = idridBlock(itOfficial);

  return {
    thresholds: {
      multilabel: Object.fromEntries(Object.entries(thr.multilabel).map(([k, v]) => [k, round4(v)])),
      referable_dr: round4(thr.referableDr), quality: round4(thr.quality),
    },
    data: {
      test: {
        odir_eyes: count(ot), odir_patient_groups: new Set(pick(test, ot).map((r) => r.group)).size,
        idrid_images: count(it), idrid_official_test_images: count(itOfficial),
      },
      val: { odir_eyes: val.filter((r) => r.source === 'odir').length, idrid_images: val.filter((r) => r.source === 'idrid').length },
    },
    test: tests,
  };
}
