// PALETTE COLOR: reads the red/green/blue Palette Color LUTs (PS3.3 C.7.6.3.1.5-6) and maps indices to RGB.
// 16-bit entries become 8-bit by rounding v * 255 / 65535; a LUT declared 16-bit whose entries never exceed 255
// (a known writer mistake) is taken as already 8-bit. Segmented LUTs are not supported.
import type { DataSet } from 'dicom-parser';
import { PixelDecodeError } from './errors.js';

export interface Palette {
  firstMapped: number;
  red: Uint8Array;
  green: Uint8Array;
  blue: Uint8Array;
}

const CHANNELS = [
  ['red', 'x00281101', 'x00281201', 'x00281221'],
  ['green', 'x00281102', 'x00281202', 'x00281222'],
  ['blue', 'x00281103', 'x00281203', 'x00281223'],
] as const;

export function readPalette(ds: DataSet, littleEndian: boolean): Palette {
  const raw: { entries: number; first: number; values: Uint16Array }[] = [];
  for (const [name, descTag, dataTag, segTag] of CHANNELS) {
    const desc = ds.elements[descTag];
    const data = ds.elements[dataTag];
    if (!desc || desc.length < 6) {
      if (ds.elements[segTag]) throw new PixelDecodeError('unsupported', `segmented ${name} palette LUT not supported`);
      throw new PixelDecodeError('invalid-attributes', `PALETTE COLOR without ${name} Palette Color LUT Descriptor`);
    }
    if (!data || data.length === 0) {
      if (ds.elements[segTag]) throw new PixelDecodeError('unsupported', `segmented ${name} palette LUT not supported`);
      throw new PixelDecodeError('invalid-attributes', `PALETTE COLOR without ${name} Palette Color LUT Data`);
    }
    const entries = ds.uint16(descTag, 0) || 65536;
    // First mapped value is US or SS depending on Pixel Representation; indices here are unsigned.
    const first = ds.uint16(descTag, 1) ?? 0;
    const bits = ds.uint16(descTag, 2) ?? 16;
    const bytes = ds.byteArray;
    const end = Math.min(bytes.length, data.dataOffset + data.length);
    const values = new Uint16Array(entries);
    if (bits === 8) {
      // 8-bit entries are stored one per byte (PS3.3 C.7.6.3.1.6).
      for (let i = 0; i < entries && data.dataOffset + i < end; i++) values[i] = bytes[data.dataOffset + i] as number;
    } else {
      for (let i = 0; i < entries && data.dataOffset + 2 * i + 1 < end; i++) {
        const a = bytes[data.dataOffset + 2 * i] as number;
        const b = bytes[data.dataOffset + 2 * i + 1] as number;
        values[i] = littleEndian ? a | (b << 8) : (a << 8) | b;
      }
    }
    raw.push({ entries, first, values: bits === 8 ? values.map((v) => v * 257) : values });
  }
  const max = Math.max(...raw.map((c) => c.values.reduce((m, v) => (v > m ? v : m), 0)));
  const to8 = (v: number) => (max <= 255 ? v : Math.round((v * 255) / 65535));
  const [r, g, b] = raw.map((c) => Uint8Array.from(c.values, to8)) as [Uint8Array, Uint8Array, Uint8Array];
  return { firstMapped: raw[0]?.first ?? 0, red: r, green: g, blue: b };
}

/** Indices -> interleaved RGB; values outside the table clamp to its ends (PS3.3 C.7.6.3.1.5). */
export function applyPalette(indices: ArrayLike<number>, p: Palette): Uint8Array {
  const n = indices.length;
  const last = p.red.length - 1;
  const out = new Uint8Array(n * 3);
  for (let i = 0, o = 0; i < n; i++, o += 3) {
    let k = (indices[i] as number) - p.firstMapped;
    if (k < 0) k = 0;
    else if (k > last) k = last;
    out[o] = p.red[k] as number;
    out[o + 1] = p.green[k] as number;
    out[o + 2] = p.blue[k] as number;
  }
  return out;
}
