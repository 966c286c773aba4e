// Locates each frame's bytes without copying the whole Pixel Data: native frames are fixed-size slices; encapsulated
// frames are groups of fragments found, in order of trust, via the Extended Offset Table, the Basic Offset Table,
// one-fragment-per-frame, all fragments (single frame), or codestream start markers (multi-frame without a table).
import type { DataSet, Element, Fragment } from 'dicom-parser';
import { PixelDecodeError } from './errors.js';
import { startsCodestream } from './sniff.js';

/** Bytes of the Pixel Data value actually present in the buffer (a truncated file may hold fewer than declared). */
export function nativeAvailable(ds: DataSet, el: Element): number {
  return Math.max(0, Math.min(el.length, ds.byteArray.length - el.dataOffset));
}

export function nativeFrame(ds: DataSet, el: Element, index: number, frameLength: number): Uint8Array {
  const available = nativeAvailable(ds, el);
  const start = index * frameLength;
  if (start + frameLength > available) {
    const have = Math.max(0, available - start);
    throw new PixelDecodeError('short-data', `pixel data too short: ${have} of ${frameLength} bytes present (Rows x Columns x Samples x Bits Allocated / 8)`, {
      frame: index + 1,
    });
  }
  return ds.byteArray.subarray(el.dataOffset + start, el.dataOffset + start + frameLength);
}

function fragmentBytes(ds: DataSet, f: Fragment): Uint8Array {
  const end = Math.min(ds.byteArray.length, f.position + f.length);
  return ds.byteArray.subarray(f.position, Math.max(f.position, end));
}

/** Groups of fragment indices, one group per frame found. */
function groupFragments(ds: DataSet, el: Element, frames: number, isRle: boolean): number[][] {
  const fragments = el.fragments ?? [];
  const all = fragments.map((_, i) => i);
  if (frames === 1) return [all];

  // Extended Offset Table (7FE0,0001): 64-bit offsets relative to the first fragment item, like the BOT.
  const eot = ds.elements['x7fe00001'];
  const fromOffsets = (offsets: number[]): number[][] | undefined => {
    if (offsets.length !== frames) return undefined;
    const groups: number[][] = offsets.map(() => []);
    let g = -1;
    for (let i = 0; i < fragments.length; i++) {
      const off = (fragments[i] as Fragment).offset;
      while (g + 1 < offsets.length && off >= (offsets[g + 1] as number)) {
        g++;
        if (off !== offsets[g]) return undefined; // an offset that does not point at a fragment: table unusable
      }
      if (g < 0) return undefined;
      groups[g]?.push(i);
    }
    return groups.every((x) => x.length > 0) ? groups : undefined;
  };
  if (eot && eot.length >= frames * 8) {
    const view = new DataView(ds.byteArray.buffer, ds.byteArray.byteOffset + eot.dataOffset, frames * 8);
    const offsets = Array.from({ length: frames }, (_, i) => Number(view.getBigUint64(i * 8, true)));
    const groups = fromOffsets(offsets);
    if (groups) return groups;
  }
  const bot = el.basicOffsetTable ?? [];
  if (bot.length > 0) {
    const groups = fromOffsets(bot);
    if (groups) return groups;
  }
  if (fragments.length === frames) return all.map((i) => [i]);

  // No usable table: a fragment starting with a codestream signature starts a new frame.
  const groups: number[][] = [];
  for (let i = 0; i < fragments.length; i++) {
    const head = fragmentBytes(ds, fragments[i] as Fragment).subarray(0, 64);
    if (groups.length === 0 || startsCodestream(head, isRle)) groups.push([i]);
    else groups[groups.length - 1]?.push(i);
  }
  return groups;
}

export interface EncapsulatedFrames {
  /** Number of frames located (may be fewer than NumberOfFrames for a short file). */
  found: number;
  /** The frame's codestream; fragments are concatenated only when a frame spans several. */
  frame(index: number): Uint8Array;
}

export function encapsulatedFrames(ds: DataSet, el: Element, frames: number, isRle: boolean): EncapsulatedFrames {
  const fragments = el.fragments ?? [];
  if (fragments.length === 0) throw new PixelDecodeError('no-pixel-data', 'encapsulated Pixel Data (7FE0,0010) has no fragments');
  const groups = groupFragments(ds, el, frames, isRle);
  return {
    found: Math.min(groups.length, frames),
    frame(index: number): Uint8Array {
      const group = groups[index];
      if (!group || index >= frames) {
        throw new PixelDecodeError('short-data', `missing from the encapsulated Pixel Data (found ${Math.min(groups.length, frames)} of ${frames} frames)`, {
          frame: index + 1,
        });
      }
      const parts = group.map((i) => fragmentBytes(ds, fragments[i] as Fragment));
      if (parts.length === 1) return parts[0] as Uint8Array;
      return Buffer.concat(parts);
    },
  };
}
