// The evaluation metrics of models/train/metrics.py, in TypeScript, with the same definitions (the tests run both
// on the same inputs): ROC AUC as the Mann-Whitney probability with ties counted half; AUPR as average precision
// (step sum of (R_k - R_{k-1}) * P_k over descending distinct thresholds, no interpolation, not a trapezoid);
// pixel AUPR from 1000-bin probability histograms pooled over images; quadratic-weighted kappa; sensitivity and
// specificity at a threshold (positive when score >= threshold); Dice / IoU; Pearson r; the vertical cup-to-disc
// ratio of the largest 4-connected components. Undefined values are NaN, as in metrics.py.

import { verticalCupToDisc } from '../postprocess/cup-to-disc.js';

export const PIXEL_BINS = 1000;

type Labels = ArrayLike<boolean | number>;
type Scores = ArrayLike<number>;

const truthy = (v: boolean | number) => v === true || (typeof v === 'number' && v !== 0);

/** Mann-Whitney AUC: P(random positive scores above random negative), ties count half (average ranks). */
export function rocAuc(y: Labels, s: Scores): number {
  const n = s.length;
  let npos = 0;
  for (let i = 0; i < n; i++) if (truthy(y[i]!)) npos++;
  const nneg = n - npos;
  if (npos === 0 || nneg === 0) return NaN;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => s[a]! - s[b]! || a - b);
  let rankSumPos = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && s[order[j + 1]!] === s[order[i]!]) j++;
    const rank = (i + j) / 2 + 1; // average of ranks i+1 .. j+1
    for (let k = i; k <= j; k++) if (truthy(y[order[k]!]!)) rankSumPos += rank;
    i = j + 1;
  }
  return (rankSumPos - (npos * (npos + 1)) / 2) / (npos * nneg);
}

/** Cumulative true and false positives at each distinct threshold, thresholds descending (metrics.py _desc_counts). */
export function descendingCounts(y: Labels, s: Scores): { tp: number[]; fp: number[]; thresholds: number[] } {
  const n = s.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => s[b]! - s[a]! || a - b);
  const tp: number[] = [];
  const fp: number[] = [];
  const thresholds: number[] = [];
  let t = 0;
  let f = 0;
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    if (truthy(y[i]!)) t++;
    else f++;
    if (k === n - 1 || s[order[k + 1]!] !== s[i]) {
      tp.push(t);
      fp.push(f);
      thresholds.push(s[i]!);
    }
  }
  return { tp, fp, thresholds };
}

/** Average precision from cumulative counts at descending thresholds (metrics.py pr_from_counts); NaN without positives. */
export function apFromCounts(tp: ArrayLike<number>, fp: ArrayLike<number>): number {
  const P = tp.length ? tp[tp.length - 1]! : 0;
  if (P === 0) return NaN;
  let ap = 0;
  let prevRecall = 0;
  for (let k = 0; k < tp.length; k++) {
    const precision = tp[k]! / Math.max(tp[k]! + fp[k]!, 1e-12);
    const recall = tp[k]! / P;
    ap += (recall - prevRecall) * precision;
    prevRecall = recall;
  }
  return ap;
}

/** AUPR as average precision (metrics.py average_precision / pr_curve). */
export function averagePrecision(y: Labels, s: Scores): number {
  const { tp, fp } = descendingCounts(y, s);
  return apFromCounts(tp, fp);
}

/**
 * Adds one image's pixels to positive and negative histograms of PIXEL_BINS bins (metrics.py pixel_histograms):
 * bin = floor(float32(p * 1000)), 1.0 in the last bin. `prob` is float32, as in evaluate.py, whose
 * `prob * PIXEL_BINS` is a float32 product.
 */
export function addPixelHistograms(prob: Float32Array, truth: ArrayLike<number>, pos: Float64Array, neg: Float64Array): void {
  if (truth.length !== prob.length) throw new Error(`probability map has ${prob.length} pixels, truth ${truth.length}`);
  for (let k = 0; k < prob.length; k++) {
    const b = Math.min(Math.trunc(Math.fround(prob[k]! * PIXEL_BINS)), PIXEL_BINS - 1);
    if (truth[k]) pos[b]!++;
    else neg[b]!++;
  }
}

/** Pooled pixel AUPR from summed histograms (metrics.py aupr_from_histograms). */
export function auprFromHistograms(pos: ArrayLike<number>, neg: ArrayLike<number>): number {
  const tp: number[] = [];
  const fp: number[] = [];
  let t = 0;
  let f = 0;
  for (let b = pos.length - 1; b >= 0; b--) {
    t += pos[b]!;
    f += neg[b]!;
    if (pos[b]! + neg[b]! > 0) {
      tp.push(t);
      fp.push(f);
    }
  }
  return apFromCounts(tp, fp);
}

/** Rows true class, columns predicted class. */
export function confusion(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, k: number): number[][] {
  const m = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < yTrue.length; i++) m[yTrue[i]!]![yPred[i]!]!++;
  return m;
}

/** Quadratic-weighted Cohen's kappa over k ordered classes (metrics.py quadratic_kappa). */
export function quadraticKappa(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, k: number): number {
  if (yTrue.length === 0) return NaN;
  const o = confusion(yTrue, yPred, k);
  const rows = o.map((r) => r.reduce((a, b) => a + b, 0));
  const cols = o[0]!.map((_, j) => o.reduce((a, r) => a + r[j]!, 0));
  const total = rows.reduce((a, b) => a + b, 0);
  let num = 0;
  let den = 0;
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const w = (i - j) ** 2 / (k - 1) ** 2;
      num += w * o[i]![j]!;
      den += (w * rows[i]! * cols[j]!) / total;
    }
  }
  return den === 0 ? NaN : 1 - num / den;
}

/** Sensitivity and specificity, positive when score >= threshold (metrics.py sens_spec). */
export function sensSpec(y: Labels, s: Scores, threshold: number): [number, number] {
  let tp = 0;
  let p = 0;
  let tn = 0;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const pred = s[i]! >= threshold;
    if (truthy(y[i]!)) {
      p++;
      if (pred) tp++;
    } else {
      n++;
      if (!pred) tn++;
    }
  }
  return [p ? tp / p : NaN, n ? tn / n : NaN];
}

/** Dice and IoU of two binary masks; NaN for both empty (metrics.py dice_iou). */
export function diceIou(pred: ArrayLike<number | boolean>, truth: ArrayLike<number | boolean>): [number, number] {
  let inter = 0;
  let ps = 0;
  let ts = 0;
  for (let i = 0; i < pred.length; i++) {
    const a = truthy(pred[i]!);
    const b = truthy(truth[i]!);
    if (a) ps++;
    if (b) ts++;
    if (a && b) inter++;
  }
  if (ps + ts === 0) return [NaN, NaN];
  return [(2 * inter) / (ps + ts), inter / (ps + ts - inter)];
}

/** Pooled Dice from summed true positive, false positive and false negative pixels (evaluate.py channel_block). */
export function diceFromCounts(tp: number, fp: number, fn: number): number {
  return tp + fp + fn ? (2 * tp) / (2 * tp + fp + fn) : NaN;
}

export function iouFromCounts(tp: number, fp: number, fn: number): number {
  return tp + fp + fn ? tp / (tp + fp + fn) : NaN;
}

/** Mean of the per-image Dice over images where prediction or truth is non-empty (evaluate.py mean_dice). */
export function meanDicePerImage(counts: ReadonlyArray<readonly [number, number, number]>): number {
  const v = counts.filter(([a, b, d]) => 2 * a + b + d > 0).map(([a, b, d]) => (2 * a) / (2 * a + b + d));
  return v.length ? mean(v) : NaN;
}

/** Arithmetic mean; NaN when empty. */
export function mean(v: ArrayLike<number>): number {
  if (v.length === 0) return NaN;
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]!;
  return s / v.length;
}

/** Pearson correlation (numpy corrcoef(x, y)[0, 1]); NaN when either side is constant. */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  if (n !== y.length || n < 2) return NaN;
  const mx = mean(x);
  const my = mean(y);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const a = x[i]! - mx;
    const b = y[i]! - my;
    sxy += a * b;
    sxx += a * a;
    syy += b * b;
  }
  const r = sxy / Math.sqrt(sxx * syy);
  return Number.isFinite(r) ? Math.max(-1, Math.min(1, r)) : NaN;
}

/**
 * Vertical cup-to-disc ratio (metrics.py vertical_cdr), NaN without a disc and 0 without a cup: the gateway's own
 * measurement (src/inference/postprocess/cup-to-disc.ts), so evaluation scores exactly what the findings report.
 */
export function verticalCdr(disc: ArrayLike<number | boolean>, cup: ArrayLike<number | boolean>, width: number, height: number): number {
  const bits = (m: ArrayLike<number | boolean>) => Uint8Array.from({ length: width * height }, (_, p) => (truthy(m[p]!) ? 1 : 0));
  return verticalCupToDisc(bits(disc), bits(cup), width, height).ratio ?? NaN;
}
