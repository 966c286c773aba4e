// Reads parts of a stored instance for WADO-RS: the value of an element named by a BulkDataURI tag path
// (PS3.18 10.4.1.1.5; paths as src/dicom/json-model.ts writes them: "ggggeeee" or "ggggeeee/<item>/ggggeeee/...")
// and the frames of Pixel Data (PS3.18 10.4.1.1.4). Bytes are served as stored: no transcoding, no byte swapping.
import { readFile } from 'node:fs/promises';
import zlib from 'node:zlib';
import dicomParser from 'dicom-parser';
import { HttpError } from './common.js';

const DEFLATED = '1.2.840.10008.1.2.1.99';
const BIG_ENDIAN = '1.2.840.10008.1.2.2';
const NATIVE = new Set(['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', DEFLATED, BIG_ENDIAN]);

export function isNativeTransferSyntax(ts: string): boolean {
  return NATIVE.has(ts);
}

function inflater(arr: Uint8Array, position: number): Uint8Array {
  const inflated = zlib.inflateRawSync(arr.subarray(position), { maxOutputLength: 2 ** 31 - 1 });
  const out = new Uint8Array(position + inflated.length);
  out.set(arr.subarray(0, position), 0);
  out.set(inflated, position);
  return out;
}

/** Parses a stored (PS3.10) file whole. */
export async function parseStored(file: string, transferSyntax: string): Promise<dicomParser.DataSet> {
  const bytes = new Uint8Array(await readFile(file));
  const options: Record<string, unknown> = {};
  if (transferSyntax === DEFLATED) options.inflater = inflater;
  try {
    return dicomParser.parseDicom(bytes, options as dicomParser.ParseDicomOptions);
  } catch (err) {
    const e = err as { exception?: unknown; dataSet?: dicomParser.DataSet };
    if (e?.dataSet) return e.dataSet; // what was read before the problem is still addressable
    throw err;
  }
}

const TAG_RE = /^[0-9A-Fa-f]{8}$/;

/** Checks a bulk tag path's shape: tag, then (item index, tag) pairs. */
export function checkBulkPath(segments: readonly string[]): void {
  if (segments.length % 2 !== 1) throw new HttpError(404, `bulk data path ${segments.join('/')} does not name an element`);
  segments.forEach((s, i) => {
    if (i % 2 === 0 ? !TAG_RE.test(s) : !/^\d{1,6}$/.test(s)) throw new HttpError(404, `bulk data path ${segments.join('/').slice(0, 120)} is malformed at "${s.slice(0, 20)}"`);
  });
}

/** The value bytes of the element at the path (a view into the parsed file). */
export function elementValue(ds: dicomParser.DataSet, segments: readonly string[]): Uint8Array {
  checkBulkPath(segments);
  let current = ds;
  for (let i = 0; i < segments.length; i += 2) {
    const tag = `x${segments[i]!.toLowerCase()}`;
    const el = current.elements[tag];
    if (!el) throw new HttpError(404, `element ${segments.slice(0, i + 1).join('/')} is not in the instance`);
    if (i + 1 < segments.length) {
      const item = el.items?.[Number(segments[i + 1])];
      if (!item?.dataSet) throw new HttpError(404, `item ${segments.slice(0, i + 2).join('/')} is not in the instance`);
      current = item.dataSet;
      continue;
    }
    if (el.items) throw new HttpError(404, `element ${segments.join('/')} is a sequence, not bulk data`);
    if (el.encapsulatedPixelData) throw new HttpError(406, `element ${segments.join('/')} is encapsulated (compressed) pixel data; retrieve its frames instead`);
    if (el.length === 0xffffffff || el.dataOffset + el.length > current.byteArray.length) {
      throw new HttpError(500, `element ${segments.join('/')} has no readable value in the stored file`);
    }
    return current.byteArray.subarray(el.dataOffset, el.dataOffset + el.length);
  }
  throw new HttpError(404, 'empty bulk data path');
}

export interface Frame { bytes: Uint8Array; compressed: boolean }

/** Parses "1,3,5" (1-based frame numbers, PS3.18 8.3.2.1). */
export function parseFrameList(raw: string): number[] {
  const list = raw.split(',').map((s) => s.trim());
  if (list.length === 0 || list.some((s) => !/^\d{1,7}$/.test(s) || Number(s) < 1)) {
    throw new HttpError(400, `frame list "${raw.slice(0, 60)}" is not a comma-separated list of frame numbers starting at 1`);
  }
  return list.map(Number);
}

/**
 * The requested frames' bytes. Native Pixel Data: each frame's slice (bit-packed 1-bit data is refused). Encapsulated:
 * the frame's fragments (all of them for a single frame, one per frame when they match the frame count, else
 * the Basic Offset Table).
 */
export function pixelFrames(ds: dicomParser.DataSet, transferSyntax: string, frames: readonly number[], sopInstanceUid: string): Frame[] {
  const el = ds.elements.x7fe00010;
  if (!el) throw new HttpError(404, `instance ${sopInstanceUid} has no Pixel Data (7FE0,0010)`);
  const numberOfFrames = Math.max(1, Number.parseInt(ds.string('x00280008') ?? '1', 10) || 1);
  for (const f of frames) {
    if (f > numberOfFrames) throw new HttpError(404, `instance ${sopInstanceUid} has ${numberOfFrames} frame(s); there is no frame ${f}`);
  }
  if (el.encapsulatedPixelData) {
    const fragments = el.fragments ?? [];
    return frames.map((f) => {
      let bytes: Uint8Array;
      if (numberOfFrames === 1) bytes = dicomParser.readEncapsulatedPixelDataFromFragments(ds, el, 0, fragments.length);
      else if (fragments.length === numberOfFrames) bytes = dicomParser.readEncapsulatedPixelDataFromFragments(ds, el, f - 1, 1);
      else if ((el.basicOffsetTable?.length ?? 0) === numberOfFrames) bytes = dicomParser.readEncapsulatedImageFrame(ds, el, f - 1);
      else throw new HttpError(406, `instance ${sopInstanceUid}: its ${fragments.length} fragments cannot be split into ${numberOfFrames} frames without a Basic Offset Table`);
      return { bytes, compressed: true };
    });
  }
  if (transferSyntax === BIG_ENDIAN) {
    throw new HttpError(406, `instance ${sopInstanceUid} is stored big endian; its frames are not offered (retrieve the instance)`);
  }
  const rows = ds.uint16('x00280010') ?? 0;
  const columns = ds.uint16('x00280011') ?? 0;
  const samples = ds.uint16('x00280002') ?? 1;
  const bitsAllocated = ds.uint16('x00280100') ?? 0;
  if (bitsAllocated % 8 !== 0 || bitsAllocated === 0 || rows === 0 || columns === 0) {
    throw new HttpError(406, `instance ${sopInstanceUid}: frames of ${bitsAllocated}-bit allocated pixel data are not offered (retrieve the instance)`);
  }
  const frameSize = rows * columns * samples * (bitsAllocated / 8);
  return frames.map((f) => {
    const start = el.dataOffset + (f - 1) * frameSize;
    if (start + frameSize > el.dataOffset + el.length || start + frameSize > ds.byteArray.length) {
      throw new HttpError(404, `instance ${sopInstanceUid}: frame ${f} lies beyond the stored Pixel Data`);
    }
    return { bytes: ds.byteArray.subarray(start, start + frameSize), compressed: false };
  });
}
