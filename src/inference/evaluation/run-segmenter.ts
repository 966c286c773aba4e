// The segmenter's test metrics, as models/train/evaluate.py evaluate_segmenter computes them, from the shipped ONNX
// model run through the gateway's path (ModelRegistry), at the source image's resolution: each channel's
// model-resolution probability map is brought back through the crop with probabilityToSource (the same bilinear
// map data.py model_to_source makes), compared with the reference mask at the source resolution (IDRiD quarter
// size with the data's max-pooled masks, Drishti-GS1 half size), and scored at the manifest's thresholds: pooled
// pixel AUPR (all images, and only images with the lesion), pooled Dice and IoU, mean per-image Dice, disc and cup
// Dice, vertical cup-to-disc ratio against the Drishti-GS1 experts' mean (MAE, Pearson r, glaucoma AUC).
import path from 'node:path';
import type { ImageInference, ModelRegistry } from '../model-registry.js';
import type { Manifest } from '../manifest.js';
import { probabilityToSource, type Geometry } from '../preprocess.js';
import { SEG_CHANNELS, loadSourceMask, type SegChannel, type SegRecord } from './records.js';
import {
  PIXEL_BINS, addPixelHistograms, auprFromHistograms, diceFromCounts, iouFromCounts, mean, meanDicePerImage, pearson,
  rocAuc, verticalCdr,
} from './metrics.js';

/** What one test image contributes: per channel (null where not annotated) histograms and counts at the threshold. */
export interface SegImageResult {
  record: SegRecord;
  channels: ({ pos: Float64Array; neg: Float64Array; tp: number; fp: number; fn: number; has: boolean } | null)[];
  cdr?: { image: string; diagnosis: string | undefined; expert_cdr_mean: number | null; predicted_vcdr: number; vcdr_of_reference_masks: number };
  /** Source pixels where the registry's own mask differs from this probability map thresholded (should be 0). */
  maskPixelsDifferingFromRegistry: number;
  runSeconds: number;
}

export function segmenterThresholds(m: Manifest): Record<SegChannel, number> {
  const masks = m.outputs.find((o) => o.kind === 'masks');
  if (!masks || masks.kind !== 'masks') throw new Error(`${m.name}: the manifest has no masks output`);
  const thr: Partial<Record<SegChannel, number>> = {};
  for (const ch of SEG_CHANNELS) {
    const c = masks.channels.find((x) => x.key === ch);
    if (!c) throw new Error(`${m.name}: the masks output has no channel "${ch}"`);
    thr[ch] = c.threshold;
  }
  return thr as Record<SegChannel, number>;
}

/**
 * Runs one test image through the registry and scores every annotated channel at the source resolution;
 * `onResult` gets the registry's answer too (the eval's DICOM check makes a SEG of it).
 */
export async function scoreSegmenterImage(
  registry: ModelRegistry, model: string, rec: SegRecord, dataDir: string, thr: Record<SegChannel, number>,
  onResult?: (result: ImageInference) => Promise<void>,
): Promise<SegImageResult> {
  const t0 = performance.now();
  const [result] = await registry.run(model, [path.join(dataDir, rec.image)]);
  const runSeconds = (performance.now() - t0) / 1000;
  await onResult?.(result!);
  const out = Object.values(result!.outputs).find((o) => o.kind === 'masks');
  if (!out || out.kind !== 'masks') throw new Error(`${model}: no masks output`);
  const plane = out.modelWidth * out.modelHeight;
  const maps = Object.fromEntries(out.channels.map((c) => [c.key, {
    probabilities: out.probabilities.subarray(c.index * plane, (c.index + 1) * plane), registryMask: c.mask,
  }]));
  return { ...await scoreProbabilities(rec, dataDir, maps, out.modelWidth, out.modelHeight, result!.geometry, thr), runSeconds };
}

/**
 * Scores one image's model-resolution probability maps (per channel key; with the registry's source mask when
 * there is one, to count differing pixels) against its reference masks, at the source resolution.
 */
export async function scoreProbabilities(
  rec: SegRecord, dataDir: string, maps: Record<string, { probabilities: Float32Array; registryMask?: Uint8Array }>,
  modelWidth: number, modelHeight: number, g: Geometry, thr: Record<SegChannel, number>,
): Promise<Omit<SegImageResult, 'runSeconds'>> {
  const w = g.sourceWidth;
  const h = g.sourceHeight;
  const channels: SegImageResult['channels'] = [];
  const pred: Partial<Record<SegChannel, Uint8Array>> = {};
  const truth: Partial<Record<SegChannel, Uint8Array>> = {};
  let differing = 0;
  for (const ch of SEG_CHANNELS) {
    const ref = await loadSourceMask(dataDir, rec, ch);
    if (!ref) {
      channels.push(null);
      continue;
    }
    if (ref.width !== w || ref.height !== h) {
      throw new Error(`${rec.image}: the ${ch} reference mask is ${ref.width}x${ref.height}, the image ${w}x${h}`);
    }
    const map = maps[ch];
    if (!map) throw new Error(`${rec.image}: the model has no channel "${ch}"`);
    const p = probabilityToSource(map.probabilities, modelWidth, modelHeight, g);
    const pos = new Float64Array(PIXEL_BINS);
    const neg = new Float64Array(PIXEL_BINS);
    addPixelHistograms(p, ref.data, pos, neg);
    // evaluate.py: pred = p >= thr, with p float32 and thr a Python float: NumPy compares in float32.
    const t = Math.fround(thr[ch]);
    const m = new Uint8Array(p.length);
    let tp = 0;
    let fp = 0;
    let fn = 0;
    let has = false;
    for (let k = 0; k < p.length; k++) {
      const a = p[k]! >= t ? 1 : 0;
      const b = ref.data[k]!;
      m[k] = a;
      if (b) has = true;
      if (a && b) tp++;
      else if (a) fp++;
      else if (b) fn++;
      if (map.registryMask && a !== map.registryMask[k]) differing++;
    }
    channels.push({ pos, neg, tp, fp, fn, has });
    pred[ch] = m;
    truth[ch] = ref.data;
  }
  let cdr: SegImageResult['cdr'];
  if (rec.source === 'drishti' && pred.OD && pred.cup) {
    cdr = {
      image: path.parse(rec.image).name, diagnosis: rec.diagnosis, expert_cdr_mean: rec.cdrExpert,
      predicted_vcdr: verticalCdr(pred.OD, pred.cup, w, h),
      vcdr_of_reference_masks: verticalCdr(truth.OD!, truth.cup!, w, h),
    };
  }
  return { record: rec, channels, cdr, maskPixelsDifferingFromRegistry: differing };
}

/** metrics.json's "thresholds" and "test" blocks of the segmenter, from the per-image results (in record order). */
export function segmenterMetrics(images: SegImageResult[], thr: Record<SegChannel, number>) {
  const sources = images.map((r) => r.record.source);
  const official = images.map((r) => r.record.officialSplit === 'test');

  const channelBlock = (c: number, sel: boolean[]) => {
    const ids = images.map((_, i) => i).filter((i) => sel[i] && images[i]!.channels[c]);
    if (ids.length === 0) return {};
    const cs = ids.map((i) => images[i]!.channels[c]!);
    const aupr = (only: boolean) => {
      const use = only ? cs.filter((x) => x.has) : cs;
      if (use.length === 0) return NaN;
      const pos = new Float64Array(PIXEL_BINS);
      const neg = new Float64Array(PIXEL_BINS);
      for (const x of use) for (let b = 0; b < PIXEL_BINS; b++) {
        pos[b]! += x.pos[b]!;
        neg[b]! += x.neg[b]!;
      }
      return pos.some((v) => v > 0) ? auprFromHistograms(pos, neg) : NaN;
    };
    const tp = cs.reduce((a, x) => a + x.tp, 0);
    const fp = cs.reduce((a, x) => a + x.fp, 0);
    const fn = cs.reduce((a, x) => a + x.fn, 0);
    return {
      images: ids.length, images_with_lesion: cs.filter((x) => x.has).length, threshold: thr[SEG_CHANNELS[c]!],
      aupr_all_images: aupr(false), aupr_images_with_lesion: aupr(true),
      dice_pooled: diceFromCounts(tp, fp, fn), iou_pooled: iouFromCounts(tp, fp, fn),
      dice_mean_per_image: meanDicePerImage(cs.map((x) => [x.tp, x.fp, x.fn] as const)),
    };
  };

  const tests: Record<string, unknown> = {};
  const idrid = sources.map((s) => s === 'idrid');
  const idridOfficial = idrid.map((v, i) => v && official[i]!);
  const count = (b: boolean[]) => b.filter(Boolean).length;
  for (const [tag, sel] of [['idrid', idrid], ['idrid_official_test_only', idridOfficial], ['drishti', sources.map((s) => s === 'drishti')]] as const) {
    if (!sel.some(Boolean) || (tag === 'idrid_official_test_only' && count(sel) === count(idrid))) continue;
    const block: Record<string, unknown> = {};
    SEG_CHANNELS.forEach((ch, c) => {
      if (images.some((r, i) => sel[i] && r.channels[c])) block[ch] = channelBlock(c, sel);
    });
    tests[tag] = block;
  }

  const rows = images.flatMap((r) => (r.cdr ? [r.cdr] : []));
  if (rows.length) {
    const pred = rows.map((r) => r.predicted_vcdr);
    const ref = rows.map((r) => r.expert_cdr_mean ?? NaN);
    const ok = pred.map((p, i) => Number.isFinite(p) && Number.isFinite(ref[i]!));
    const err = pred.map((p, i) => Math.abs(p - ref[i]!));
    const refMaskErr = rows.map((r, i) => Math.abs(r.vcdr_of_reference_masks - ref[i]!)).filter(Number.isFinite);
    const okPred = pred.filter((_, i) => ok[i]);
    const okRef = ref.filter((_, i) => ok[i]);
    tests.drishti_cdr = {
      images: rows.length, images_with_prediction: count(ok),
      mae_vs_expert_mean: count(ok) ? mean(err.filter((_, i) => ok[i])) : NaN,
      pearson_r: count(ok) > 2 ? pearson(okPred, okRef) : null,
      reference_masks_mae_vs_expert_mean: mean(refMaskErr),
      glaucoma_auc_from_predicted_vcdr: rocAuc(rows.filter((_, i) => ok[i]).map((r) => r.diagnosis === 'G'), okPred),
      per_image: rows,
    };
  }
  return { thresholds: { ...thr }, test: tests };
}
