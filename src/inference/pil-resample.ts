// PIL's Image.resize for 8-bit RGB, reproduced to the byte: the models were trained on images resized by Pillow
// (models/train/data.py: `.resize((size, size), Image.LANCZOS)`), and sharp's Lanczos differs from it by a few
// levels here and there, enough to flip images near a decision threshold. Written from the algorithm of Pillow's
// ImagingResample (8 bits per channel, no box, reducing_gap None), not from its code:
//
// - separable: a horizontal pass into an 8-bit intermediate (rows the vertical pass reads only), then a vertical
//   pass; a pass is skipped when that dimension does not change;
// - per output sample, over the input: scale = in / out, filterscale = max(scale, 1), support = filter support *
//   filterscale, center = (i + 0.5) * scale, taps from trunc(center - support + 0.5) (at least 0) to
//   trunc(center + support + 0.5) (at most the input size), weight filter((j - center + 0.5) / filterscale)
//   (computed as PIL does: times 1 / filterscale), weights divided by their sum;
// - weights to fixed point with 22 fractional bits, rounded half away from zero; a sum starts at 2^21 (rounding),
//   is shifted right by 22 and clamped to 0..255.
//
// Each horizontal row depends on its own source row only, so resampling just the rows the vertical pass reads (for
// LANCZOS all of them) changes nothing. Integer arithmetic from the coefficients on (no sum can overflow 32 bits),
// so only the coefficients are floating point, computed in PIL's order. JavaScript's Math.sin may differ from C's
// sin in the last bit; that could move a fixed-point weight only if weight * 2^22 fell within ~1e-9 of a half
// (test/inference/pil-resample.test.ts compares with Pillow on random images and a fundus photograph: no byte differs).
//
// Cost, one core: about 25 ms (to 256) and 45 ms (to 768) for a 1072x712 image, 250-370 ms for a 12-megapixel one
// at either size; sharp's lanczos3 (libvips, vectorised) takes 3-30 ms.

/** 8-bit RGB, 3 interleaved channels, rows top to bottom. */
export interface Rgb8 { data: Uint8Array; width: number; height: number }

export type PilFilter = 'lanczos' | 'bilinear' | 'box';

const PRECISION_BITS = 22;
const ONE = 1 << PRECISION_BITS;
const HALF = 1 << (PRECISION_BITS - 1);

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = x * Math.PI;
  return Math.sin(px) / px;
}

const FILTERS: Record<PilFilter, { support: number; f: (x: number) => number }> = {
  lanczos: { support: 3, f: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) },
  bilinear: { support: 1, f: (x) => { const a = Math.abs(x); return a < 1 ? 1 - a : 0; } },
  box: { support: 0.5, f: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
};

/** Fixed-point coefficients of one pass: output i reads count[i] inputs from start[i], weights at i * stride. */
export interface PassCoefficients { start: Int32Array; count: Int32Array; weights: Int32Array; stride: number }

/** PIL's coefficients for resampling inSize samples to outSize, in 22-bit fixed point. */
export function pilCoefficients(inSize: number, outSize: number, filter: PilFilter = 'lanczos'): PassCoefficients {
  const { support: baseSupport, f } = FILTERS[filter];
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = baseSupport * filterScale;
  const stride = Math.ceil(support) * 2 + 1;
  const inv = 1 / filterScale;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * stride);
  const w = new Float64Array(stride);
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const n = Math.min(Math.trunc(center + support + 0.5), inSize) - lo;
    let total = 0;
    for (let k = 0; k < n; k++) {
      w[k] = f((k + lo - center + 0.5) * inv);
      total += w[k]!;
    }
    for (let k = 0; k < n; k++) {
      const v = total !== 0 ? w[k]! / total : w[k]!;
      weights[i * stride + k] = v < 0 ? Math.trunc(v * ONE - 0.5) : Math.trunc(v * ONE + 0.5);
    }
    start[i] = lo;
    count[i] = Math.max(n, 0);
  }
  return { start, count, weights, stride };
}

/** A fixed-point sum to 8 bits: shift out the fraction, clamp to 0..255. */
function clip8(s: number): number {
  const v = s >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * PIL's `Image.resize((width, height), filter)` of an 8-bit RGB image (default LANCZOS), byte for byte.
 * Returns a new image; the input is not modified. Same size in and out: a copy, as PIL does.
 */
export function pilResize(img: Rgb8, width: number, height: number, filter: PilFilter = 'lanczos'): Rgb8 {
  const { data, width: inW, height: inH } = img;
  if (data.length !== inW * inH * 3) throw new Error(`RGB image: ${data.length} bytes for ${inW}x${inH}x3`);
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new Error(`resize to ${width}x${height}: the size must be positive integers`);
  }
  if (inW <= 0 || inH <= 0) throw new Error(`resize of an empty ${inW}x${inH} image`);
  const needH = width !== inW;
  const needV = height !== inH;
  if (!needH && !needV) return { data: data.slice(), width, height };

  const cv = pilCoefficients(inH, height, filter);
  if (!needH) return { data: vertical(data, inW, cv, height, 0), width, height };

  // Only the rows the vertical pass reads are resampled horizontally (each row on its own, so this changes nothing).
  const firstRow = needV ? cv.start[0]! : 0;
  const lastRow = needV ? cv.start[height - 1]! + cv.count[height - 1]! : inH;
  const ch = pilCoefficients(inW, width, filter);
  const tmp = horizontal(data, inW, ch, width, firstRow, lastRow);
  if (!needV) return { data: tmp, width, height };
  return { data: vertical(tmp, width, cv, height, firstRow), width, height };
}

/**
 * Rows firstRow .. lastRow - 1 of src (inW wide) resampled to outW columns: (lastRow - firstRow) rows. A row of one
 * colour (the padding above and below a field of view) is not convolved: each output is that colour times the sum
 * of the output's weights, which is the same integer the convolution adds up.
 */
function horizontal(src: Uint8Array, inW: number, c: PassCoefficients, outW: number, firstRow: number, lastRow: number): Uint8Array {
  const out = new Uint8Array((lastRow - firstRow) * outW * 3);
  const { start, count, weights, stride } = c;
  const sums = new Int32Array(outW);
  for (let x = 0; x < outW; x++) {
    for (let k = 0; k < count[x]!; k++) sums[x] = (sums[x]! + weights[x * stride + k]!) | 0;
  }
  const rowBytes = inW * 3;
  let o = 0;
  for (let y = firstRow; y < lastRow; y++) {
    const row = y * rowBytes;
    const r0 = src[row]!;
    const g0 = src[row + 1]!;
    const b0 = src[row + 2]!;
    let q = row + 3;
    const end = row + rowBytes;
    while (q < end && src[q] === r0 && src[q + 1] === g0 && src[q + 2] === b0) q += 3;
    if (q === end) {
      for (let x = 0; x < outW; x++) {
        const w = sums[x]!;
        out[o++] = clip8((HALF + r0 * w) | 0);
        out[o++] = clip8((HALF + g0 * w) | 0);
        out[o++] = clip8((HALF + b0 * w) | 0);
      }
      continue;
    }
    for (let x = 0; x < outW; x++) {
      const n = count[x]!;
      const wk = x * stride;
      let p = row + start[x]! * 3;
      let r = HALF;
      let g = HALF;
      let b = HALF;
      for (let k = 0; k < n; k++, p += 3) {
        const w = weights[wk + k]!;
        r = (r + src[p]! * w) | 0;
        g = (g + src[p + 1]! * w) | 0;
        b = (b + src[p + 2]! * w) | 0;
      }
      out[o++] = clip8(r);
      out[o++] = clip8(g);
      out[o++] = clip8(b);
    }
  }
  return out;
}

/** src (w wide, its first row being source row rowOffset) resampled vertically to outH rows. */
function vertical(src: Uint8Array, w: number, c: PassCoefficients, outH: number, rowOffset: number): Uint8Array {
  const rowBytes = w * 3;
  const out = new Uint8Array(outH * rowBytes);
  const { start, count, weights, stride } = c;
  let o = 0;
  for (let y = 0; y < outH; y++) {
    const n = count[y]!;
    const wk = y * stride;
    const first = (start[y]! - rowOffset) * rowBytes;
    for (let i = 0; i < rowBytes; i++) {
      let s = HALF;
      for (let k = 0, p = first + i; k < n; k++, p += rowBytes) s = (s + src[p]! * weights[wk + k]!) | 0;
      out[o++] = clip8(s);
    }
  }
  return out;
}
