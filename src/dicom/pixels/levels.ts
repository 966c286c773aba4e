// Turns stored sample values (any Bits Stored, signed or not, 8- or 16-bit containers, either byte order) into
// 8-bit levels. Decisions (see README):
//  - 8-bit unsigned samples with Bits Stored 8 are used as they are (photographs: no window applied).
//  - Monochrome otherwise: Modality LUT (Rescale Slope/Intercept), then the VOI window if the object has one
//    (top level or Enhanced functional groups; LINEAR, LINEAR_EXACT, SIGMOID per PS3.3 C.11.2.1.2), else a linear
//    stretch of the frame's actual min..max to 0..255 (a flat frame maps to 0).
//  - Colour with more than 8 bits: linear over the Bits Stored range, v * 255 / (2^BitsStored - 1), so channels keep
//    their relative balance; signed colour is offset by 2^(BitsStored-1) first.
// Every mapping is a lookup table over the stored-value range, built once per frame.
import type { GreyTransform } from './attributes.js';

export interface SampleLayout {
  /** 1 or 2 bytes per sample in `data`. */
  bytesPerSample: number;
  littleEndian: boolean;
  bitsStored: number;
  signed: boolean;
}

/** Stored value of sample i: masked to Bits Stored and sign-extended when signed. */
function readerFor(data: Uint8Array, l: SampleLayout): (i: number) => number {
  const mask = l.bitsStored >= 32 ? 0xffffffff : 2 ** l.bitsStored - 1;
  const signBit = 2 ** (l.bitsStored - 1);
  const fix = (raw: number) => {
    const v = raw & mask;
    return l.signed && v >= signBit ? v - 2 * signBit : v;
  };
  if (l.bytesPerSample === 1) return (i) => fix(data[i] as number);
  if (l.littleEndian) return (i) => fix((data[2 * i] as number) | ((data[2 * i + 1] as number) << 8));
  return (i) => fix(((data[2 * i] as number) << 8) | (data[2 * i + 1] as number));
}

function isPlain8(l: SampleLayout): boolean {
  return l.bytesPerSample === 1 && l.bitsStored === 8 && !l.signed;
}

/** Maps stored values through a table indexed by (value - lowest possible value). */
function mapThrough(data: Uint8Array, count: number, l: SampleLayout, table: Uint8Array, lowest: number): Uint8Array {
  const out = new Uint8Array(count);
  const read = readerFor(data, l);
  for (let i = 0; i < count; i++) out[i] = table[read(i) - lowest] as number;
  return out;
}

function storedRange(l: SampleLayout): { lowest: number; size: number } {
  const size = 2 ** l.bitsStored;
  return { lowest: l.signed ? -size / 2 : 0, size };
}

/** Colour samples (or palette-free colour channels) -> 8-bit, linearly over the Bits Stored range. */
export function colourLevels(data: Uint8Array, count: number, l: SampleLayout): Uint8Array {
  if (isPlain8(l)) return data.length === count ? data : data.subarray(0, count);
  const { lowest, size } = storedRange(l);
  const table = new Uint8Array(size);
  for (let k = 0; k < size; k++) table[k] = Math.round((k * 255) / (size - 1));
  return mapThrough(data, count, l, table, lowest);
}

function windowLevel(x: number, w: NonNullable<GreyTransform['window']>): number {
  const { center: c, width } = w;
  if (w.fn === 'SIGMOID') return 255 / (1 + Math.exp((-4 * (x - c)) / width));
  if (w.fn === 'LINEAR_EXACT') {
    if (x <= c - width / 2) return 0;
    if (x > c + width / 2) return 255;
    return ((x - c) / width + 0.5) * 255;
  }
  if (x <= c - 0.5 - (width - 1) / 2) return 0;
  if (x > c - 0.5 + (width - 1) / 2) return 255;
  return ((x - (c - 0.5)) / (width - 1) + 0.5) * 255;
}

/** Monochrome samples -> 8-bit levels (MONOCHROME1 inversion is left to the caller). */
export function greyLevels(data: Uint8Array, count: number, l: SampleLayout, t: GreyTransform): Uint8Array {
  if (isPlain8(l)) return data.length === count ? data : data.subarray(0, count);
  const read = readerFor(data, l);
  let minS = Infinity;
  let maxS = -Infinity;
  for (let i = 0; i < count; i++) {
    const v = read(i);
    if (v < minS) minS = v;
    if (v > maxS) maxS = v;
  }
  if (count === 0) return new Uint8Array(0);
  // Table only over the values present: at most 65536 entries.
  const table = new Uint8Array(maxS - minS + 1);
  const modality = (v: number) => v * t.slope + t.intercept;
  if (t.window) {
    for (let v = minS; v <= maxS; v++) table[v - minS] = Math.round(windowLevel(modality(v), t.window));
  } else {
    const a = modality(minS);
    const b = modality(maxS);
    const lo = Math.min(a, b);
    const span = Math.max(a, b) - lo;
    for (let v = minS; v <= maxS; v++) table[v - minS] = span > 0 ? Math.round(((modality(v) - lo) * 255) / span) : 0;
  }
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) out[i] = table[read(i) - minS] as number;
  return out;
}

/** Unsigned stored values as indices (for PALETTE COLOR). */
export function indexValues(data: Uint8Array, count: number, l: SampleLayout): Uint32Array | Uint8Array {
  if (isPlain8(l)) return data.subarray(0, count);
  const read = readerFor(data, { ...l, signed: false });
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = read(i);
  return out;
}
