// Colour-space and layout conversions on 8-bit samples, producing interleaved RGB.
// YBR_FULL uses the JFIF/ITU-T T.871 equations (identical to DICOM PS3.3 C.7.6.3.1.2) in the same 16-bit fixed-point
// form libjpeg uses, so JPEG frames we convert ourselves match libjpeg-based viewers exactly.

const SCALE = 16;
const HALF = 1 << (SCALE - 1);
const fix = (x: number) => Math.round(x * (1 << SCALE));

// Per-chroma-value contributions, built once.
const crR = new Int32Array(256);
const cbB = new Int32Array(256);
const cbG = new Int32Array(256);
const crG = new Int32Array(256);
for (let i = 0; i < 256; i++) {
  const x = i - 128;
  crR[i] = (fix(1.402) * x + HALF) >> SCALE;
  cbB[i] = (fix(1.772) * x + HALF) >> SCALE;
  cbG[i] = -fix(0.34414) * x;
  crG[i] = -fix(0.71414) * x + HALF;
}

function clamp8(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** YBR_FULL (interleaved Y,Cb,Cr) -> RGB, in place. */
export function ybrFullToRgbInPlace(px: Uint8Array): void {
  for (let i = 0; i + 2 < px.length; i += 3) {
    const y = px[i] as number;
    const cb = px[i + 1] as number;
    const cr = px[i + 2] as number;
    px[i] = clamp8(y + (crR[cr] as number));
    px[i + 1] = clamp8(y + (((cbG[cb] as number) + (crG[cr] as number)) >> SCALE));
    px[i + 2] = clamp8(y + (cbB[cb] as number));
  }
}

/** YBR_PARTIAL (studio swing, Y 16..235, C 16..240) -> RGB, in place (PS3.3 C.7.6.3.1.2). */
export function ybrPartialToRgbInPlace(px: Uint8Array): void {
  for (let i = 0; i + 2 < px.length; i += 3) {
    const y = 1.1644 * ((px[i] as number) - 16);
    const cb = (px[i + 1] as number) - 128;
    const cr = (px[i + 2] as number) - 128;
    px[i] = clamp8(Math.round(y + 1.596 * cr));
    px[i + 1] = clamp8(Math.round(y - 0.3918 * cb - 0.813 * cr));
    px[i + 2] = clamp8(Math.round(y + 2.0172 * cb));
  }
}

/** Colour-by-plane (RRR..GGG..BBB) -> colour-by-pixel. */
export function planarToInterleaved(src: Uint8Array, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels * 3);
  for (let i = 0, o = 0; i < pixels; i++, o += 3) {
    out[o] = src[i] as number;
    out[o + 1] = src[i + pixels] as number;
    out[o + 2] = src[i + 2 * pixels] as number;
  }
  return out;
}

/**
 * Uncompressed YBR_FULL_422 / YBR_PARTIAL_422 (PS3.3 C.7.6.3.1.2: Y1 Y2 Cb Cr for each horizontal pair) -> full
 * Y,Cb,Cr per pixel; the pair shares its chroma (replication, as the standard's layout implies).
 */
export function expand422(src: Uint8Array, rows: number, columns: number): Uint8Array {
  const out = new Uint8Array(rows * columns * 3);
  let s = 0;
  let o = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c += 2) {
      const y1 = src[s] as number;
      const y2 = src[s + 1] as number;
      const cb = src[s + 2] as number;
      const cr = src[s + 3] as number;
      s += 4;
      out[o++] = y1;
      out[o++] = cb;
      out[o++] = cr;
      if (c + 1 < columns) {
        out[o++] = y2;
        out[o++] = cb;
        out[o++] = cr;
      }
    }
  }
  return out;
}

/** Greyscale levels -> RGB by replication; MONOCHROME1 (minimum = white) is inverted on the way. */
export function greyToRgb(levels: Uint8Array, invert: boolean): Uint8Array {
  const out = new Uint8Array(levels.length * 3);
  for (let i = 0, o = 0; i < levels.length; i++, o += 3) {
    const v = invert ? 255 - (levels[i] as number) : (levels[i] as number);
    out[o] = v;
    out[o + 1] = v;
    out[o + 2] = v;
  }
  return out;
}
