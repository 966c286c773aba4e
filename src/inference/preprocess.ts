// Image in, model input out, and the way back. Applies the manifest's preprocessing (decode, fundus border crop,
// pad to a square, resize, scale, normalise into NCHW float32) with sharp, except the lanczos3 resize, which is
// PIL's (pil-resample.ts), and records where the model input sits in the source image (Geometry) so that a
// segmentation output can be put back at the source image's resolution and position (maskToSource). The steps are
// the ones models/train/data.py uses to make the training inputs; any difference here would be a silent
// train/serve skew, so the crop rule is the manifest's, not a different one, and the resize is PIL's to the byte.
import sharp from 'sharp';
import type { Manifest } from './manifest.js';
import { pilResize } from './pil-resample.js';

/** 8-bit RGB, 3 interleaved channels, rows top to bottom (what the decode stage's PNGs hold). */
export interface RgbImage { data: Uint8Array; width: number; height: number }

/** A path to an image file (the decode stage's PNG), the bytes of an encoded image, or raw RGB. */
export type ImageSource = string | Buffer | RgbImage;

/** End-exclusive pixel rectangle in source coordinates. */
export interface Box { x0: number; y0: number; x1: number; y1: number }

export interface Geometry {
  sourceWidth: number;
  sourceHeight: number;
  /** The part of the source the model sees: the field of view (or the whole image). */
  box: Box;
  /**
   * The source-coordinate rectangle stretched onto the model input: the box padded to a square (it may reach past
   * the image: that is the padding) or, without pad_square, the box itself.
   */
  region: { left: number; top: number; width: number; height: number };
}

export interface CropRule { threshold: number; minFraction: number; minSide: number }

export interface PreprocessSpec {
  width: number;
  height: number;
  crop: CropRule | null;
  /** Padding colour when the box is padded to a square; null: the box is resized as it is. */
  pad: [number, number, number] | null;
  kernel: 'nearest' | 'linear' | 'cubic' | 'mitchell' | 'lanczos2' | 'lanczos3';
  scale: number;
  /** Per input channel, in the model's channel order. */
  mean: [number, number, number];
  std: [number, number, number];
  channelOrder: 'RGB' | 'BGR';
}

/** The manifest's preprocessing as one flat description (the manifest schema has checked order and sizes). */
export function preprocessSpec(m: Manifest): PreprocessSpec {
  const spec: PreprocessSpec = {
    width: m.input.shape[3], height: m.input.shape[2], crop: null, pad: null, kernel: 'lanczos3', scale: 1,
    mean: m.input.normalization.mean, std: m.input.normalization.std, channelOrder: m.input.channel_order,
  };
  for (const step of m.preprocessing) {
    if (step.op === 'fundus_crop') spec.crop = { threshold: step.threshold, minFraction: step.min_fraction, minSide: step.min_side };
    else if (step.op === 'pad_square') spec.pad = step.fill;
    else if (step.op === 'resize') spec.kernel = step.kernel;
    else if (step.op === 'to_float') spec.scale = step.scale;
  }
  return spec;
}

/** Decodes any source to 8-bit RGB: alpha dropped, greyscale expanded, 16-bit reduced. */
export async function readRgb(src: ImageSource): Promise<RgbImage> {
  if (typeof src === 'object' && !Buffer.isBuffer(src)) {
    if (src.data.length !== src.width * src.height * 3) {
      throw new Error(`raw RGB image: ${src.data.length} bytes for ${src.width}x${src.height}x3`);
    }
    return src;
  }
  const { data, info } = await sharp(src).removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`decoded image has ${info.channels} channels, expected 3`);
  return { data, width: info.width, height: info.height };
}

/**
 * The fundus border crop (models/train/data.py fundus_box, same rule and parameters, taken from the manifest):
 * a pixel is inside the camera's field of view when max(R, G, B) > threshold; a row (column) is kept when more
 * than minFraction of its pixels are inside; the box runs from the first to the last kept row and column. The
 * black surround and stray dark pixels fall outside; a few bright pixels in a dark row (text, a timestamp) do not
 * keep the row unless they exceed the fraction. When nothing is kept, or the box is narrower or lower than
 * minSide of the image, the whole image is used: the image is probably not a bordered fundus photograph.
 * Computed on every pixel (one pass, ~50 ms for 12 megapixels), not on a downscaled copy, so it agrees with the
 * training crop to the pixel.
 */
export function fundusBox(img: RgbImage, rule: CropRule): Box {
  const { data, width: w, height: h } = img;
  const rowCount = new Uint32Array(h);
  const colCount = new Uint32Array(w);
  let i = 0;
  for (let y = 0; y < h; y++) {
    let n = 0;
    for (let x = 0; x < w; x++, i += 3) {
      const m = Math.max(data[i]!, data[i + 1]!, data[i + 2]!);
      if (m > rule.threshold) {
        n++;
        colCount[x]!++;
      }
    }
    rowCount[y] = n;
  }
  const rows = kept(rowCount, rule.minFraction * w);
  const cols = kept(colCount, rule.minFraction * h);
  const whole = { x0: 0, y0: 0, x1: w, y1: h };
  if (!rows || !cols) return whole;
  const box = { x0: cols[0], y0: rows[0], x1: cols[1] + 1, y1: rows[1] + 1 };
  if (box.x1 - box.x0 < rule.minSide * w || box.y1 - box.y0 < rule.minSide * h) return whole;
  return box;
}

function kept(counts: Uint32Array, min: number): [number, number] | null {
  let first = -1;
  let last = -1;
  for (let k = 0; k < counts.length; k++) {
    if (counts[k]! > min) {
      if (first < 0) first = k;
      last = k;
    }
  }
  return first < 0 ? null : [first, last];
}

/** Where the model input sits in the source: the box, padded (centred) to a square when pad is true. */
export function geometryOf(sourceWidth: number, sourceHeight: number, box: Box, pad: boolean): Geometry {
  const w = box.x1 - box.x0;
  const h = box.y1 - box.y0;
  if (!pad) return { sourceWidth, sourceHeight, box, region: { left: box.x0, top: box.y0, width: w, height: h } };
  const side = Math.max(w, h);
  // Same rounding as data.py: left = x0 - (side - w) // 2, top = y0 - (side - h) // 2.
  return {
    sourceWidth, sourceHeight, box,
    region: { left: box.x0 - Math.floor((side - w) / 2), top: box.y0 - Math.floor((side - h) / 2), width: side, height: side },
  };
}

/**
 * Preprocesses one image into `target` (NCHW float32) at image slot `slot` of a batch, and returns its geometry.
 */
export async function toModelInput(src: ImageSource, spec: PreprocessSpec, target: Float32Array, slot = 0): Promise<Geometry> {
  const img = await readRgb(src);
  const box = spec.crop ? fundusBox(img, spec.crop) : { x0: 0, y0: 0, x1: img.width, y1: img.height };
  const g = geometryOf(img.width, img.height, box, spec.pad !== null);
  const region = cutRegion(img, g, spec.pad ?? [0, 0, 0]);
  const { width, height } = spec;
  const pixels = await resizeRgb(region, width, height, spec.kernel);
  const plane = width * height;
  const base = slot * 3 * plane;
  if (target.length < base + 3 * plane) throw new Error(`input tensor too small for image slot ${slot}`);
  for (let c = 0; c < 3; c++) {
    const from = spec.channelOrder === 'RGB' ? c : 2 - c; // model channel c reads this RGB channel
    const mean = spec.mean[c]!;
    const std = spec.std[c]!;
    const out = base + c * plane;
    for (let p = 0; p < plane; p++) target[out + p] = (pixels[p * 3 + from]! * spec.scale - mean) / std;
  }
  return g;
}

/**
 * The region resized to the model's input size. lanczos3 is PIL's LANCZOS reproduced byte for byte (pil-resample.ts):
 * what models/train/data.py trained on (sharp's lanczos3 differs by a level here and there, enough to move images
 * across a decision threshold). The other kernels are sharp's.
 */
async function resizeRgb(region: RgbImage, width: number, height: number, kernel: PreprocessSpec['kernel']): Promise<Uint8Array> {
  if (region.width === width && region.height === height) return region.data; // resampling would be the identity
  if (kernel === 'lanczos3') return pilResize(region, width, height, 'lanczos').data;
  return sharp(region.data, { raw: { width: region.width, height: region.height, channels: 3 } })
    .resize(width, height, { kernel, fit: 'fill' }).raw().toBuffer();
}

/** The geometry's region as an RGB image: the box's pixels, the rest (padding) filled. */
function cutRegion(img: RgbImage, g: Geometry, fill: [number, number, number]): RgbImage {
  const { left, top, width, height } = g.region;
  const { box } = g;
  if (left === 0 && top === 0 && width === img.width && height === img.height) return img;
  const out = new Uint8Array(width * height * 3);
  if (fill[0] !== 0 || fill[1] !== 0 || fill[2] !== 0) {
    for (let p = 0; p < width * height; p++) out.set(fill, p * 3);
  }
  const rowBytes = (box.x1 - box.x0) * 3;
  for (let y = box.y0; y < box.y1; y++) {
    const from = (y * img.width + box.x0) * 3;
    out.set(img.data.subarray(from, from + rowBytes), ((y - top) * width + (box.x0 - left)) * 3);
  }
  return { data: out, width, height };
}

/**
 * Brings one channel of a model-resolution probability map back to the source image and thresholds it, as
 * models/train/data.py model_to_source does: resize the map to the region (bilinear, PIL's definition: a
 * triangle filter, widened when shrinking), keep the part inside the box, zero elsewhere; a pixel is in the mask
 * when its probability is at or above the threshold. Only the box is computed.
 * Returns a source-sized mask (1 inside, 0 outside; row-major, width = sourceWidth) and its pixel count.
 */
export function maskToSource(
  prob: Float32Array, modelWidth: number, modelHeight: number, g: Geometry, threshold: number,
): { mask: Uint8Array; area: number } {
  const source = probabilityToSource(prob, modelWidth, modelHeight, g);
  const mask = new Uint8Array(g.sourceWidth * g.sourceHeight);
  // NumPy compares a float32 map with a Python float in float32: so does this, to the pixel.
  const t = Math.fround(threshold);
  let area = 0;
  const { box } = g;
  for (let y = box.y0; y < box.y1; y++) {
    for (let i = y * g.sourceWidth + box.x0, end = y * g.sourceWidth + box.x1; i < end; i++) {
      if (source[i]! >= t) { mask[i] = 1; area++; }
    }
  }
  return { mask, area };
}

/**
 * The probability map itself at the source resolution (what maskToSource thresholds), for evaluation: the same
 * bilinear resize to the region, the part inside the box placed in a zero map of the source size. Values are
 * float32 after each pass, as PIL's "F" images hold them (models/train/data.py model_to_source returns exactly this
 * map), so thresholds and histogram bins fall on the same pixels as in evaluate.py.
 * Returns sourceWidth x sourceHeight, row-major.
 */
export function probabilityToSource(prob: Float32Array, modelWidth: number, modelHeight: number, g: Geometry): Float32Array {
  const { box, region } = g;
  const bw = box.x1 - box.x0;
  const bh = box.y1 - box.y0;
  const out = new Float32Array(g.sourceWidth * g.sourceHeight);
  if (prob.length < modelWidth * modelHeight) throw new Error('probability map smaller than its declared size');
  if (bw <= 0 || bh <= 0) return out;
  const cx = triangleCoefficients(modelWidth, region.width, box.x0 - region.left, bw);
  const cy = triangleCoefficients(modelHeight, region.height, box.y0 - region.top, bh);
  const tmp = new Float32Array(modelHeight * bw);
  for (let y = 0; y < modelHeight; y++) {
    const row = y * modelWidth;
    for (let x = 0; x < bw; x++) {
      let s = 0;
      const start = cx.start[x]!;
      const wOff = x * cx.stride;
      for (let k = 0; k < cx.count[x]!; k++) s += prob[row + start + k]! * cx.weights[wOff + k]!;
      tmp[y * bw + x] = s;
    }
  }
  for (let y = 0; y < bh; y++) {
    const start = cy.start[y]!;
    const wOff = y * cy.stride;
    const n = cy.count[y]!;
    const outRow = (box.y0 + y) * g.sourceWidth + box.x0;
    for (let x = 0; x < bw; x++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += tmp[(start + k) * bw + x]! * cy.weights[wOff + k]!;
      out[outRow + x] = s;
    }
  }
  return out;
}

interface Coefficients { start: Int32Array; count: Int32Array; weights: Float64Array; stride: number }

/**
 * PIL's resampling coefficients (Imaging precompute_coeffs) for the bilinear (triangle) filter, resizing
 * inSize samples to outSize, for the outputs first .. first + n - 1 only.
 */
function triangleCoefficients(inSize: number, outSize: number, first: number, n: number): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale; // the triangle's support is 1, widened by the scale when shrinking
  const stride = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(n);
  const count = new Int32Array(n);
  const weights = new Float64Array(n * stride);
  for (let i = 0; i < n; i++) {
    const center = (first + i + 0.5) * scale;
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const hi = Math.min(Math.trunc(center + support + 0.5), inSize);
    let total = 0;
    for (let j = lo; j < hi; j++) {
      const w = Math.max(0, 1 - Math.abs((j - center + 0.5) / filterScale));
      weights[i * stride + j - lo] = w;
      total += w;
    }
    if (total > 0) for (let j = 0; j < hi - lo; j++) weights[i * stride + j]! /= total;
    start[i] = lo;
    count[i] = Math.min(hi - lo, stride);
  }
  return { start, count, weights, stride };
}
