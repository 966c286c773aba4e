// Reads a Segmentation instance (PS3.3 A.51; BINARY, FRACTIONAL or LABELMAP, Segmentation or Label Map
// Segmentation Storage) into its segments and its frames, each frame with the segment(s) it belongs to, the source
// image frames it was derived from, and its pixels unpacked. OphGate's own SEGs and those of other writers
// (highdicom, dcmqi, dcmjs) alike.
//
// Encodings: native pixel data in implicit or explicit VR little endian, explicit VR big endian and deflated
// explicit VR little endian (dcmjs parses all four), and RLE Lossless for 8- and 16-bit frames. Everything else
// raises SegReadError naming what was found.
import dcmjs from 'dcmjs';
import { describeTransferSyntax } from '../transfer-syntaxes.js';
import type { CodedEntry } from '../common/coded-entry.js';
import { unpackBits } from './bit-packing.js';
import { SEGMENTATION_SOP_CLASSES, SEGMENTATION_TYPES, type SegmentationType } from './defined-terms.js';
import { decodeRleFrame, RleDecodeError } from './rle.js';

const { DicomMessage, DicomMetaDictionary } = dcmjs.data;

const EXPLICIT_BE = '1.2.840.10008.1.2.2';
const RLE_LOSSLESS = '1.2.840.10008.1.2.5';
const NATIVE = new Set(['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.1.99', EXPLICIT_BE]);

/** The input is not a Segmentation OphGate can read; the message names the problem. */
export class SegReadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SegReadError';
  }
}

export interface ReadSegment {
  /** Segment Number (0062,0004). */
  number: number;
  label: string;
  description?: string;
  /** Segment Algorithm Type (0062,0008): AUTOMATIC, SEMIAUTOMATIC or MANUAL. */
  algorithmType: string;
  algorithmName?: string;
  category?: CodedEntry;
  type?: CodedEntry;
}

export interface ReadSourceReference {
  sopClassUid?: string;
  sopInstanceUid: string;
  /** Referenced Frame Number values; empty when the reference is to the whole (or single-frame) instance. */
  frameNumbers: number[];
}

export interface ReadSegFrame {
  /** 1-based frame number in the SEG. */
  frameNumber: number;
  /**
   * Referenced Segment Number(s) from the frame's Segment Identification Sequence (per-frame, else shared
   * functional groups); empty when there is none (Label Map Segmentation, whose pixel values are the segments).
   */
  segmentNumbers: number[];
  /** Source images from the frame's Derivation Image Sequence (per-frame, else shared); empty when absent. */
  sources: ReadSourceReference[];
  /**
   * Rows*Columns pixels, row-major: 0/1 for Bits Allocated 1, the stored values otherwise (fractional value or
   * label); a Uint16Array when Bits Allocated is 16.
   */
  pixels: Uint8Array | Uint16Array;
}

export interface ReadSegmentation {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  rows: number;
  columns: number;
  numberOfFrames: number;
  segmentationType: SegmentationType;
  bitsAllocated: 1 | 8 | 16;
  segments: ReadSegment[];
  frames: ReadSegFrame[];
}

type Item = Record<string, unknown>;

// dcmjs logs parse oddities (e.g. the "ox" VR of Pixel Data in implicit VR) on its own loggers; they are not errors.
for (const name of ['dcmjs', 'validation.dcmjs']) {
  (dcmjs.log as unknown as { getLogger?: (n: string) => { setLevel(l: string): void } }).getLogger?.(name)?.setLevel('silent');
}
dcmjs.log.setLevel?.('silent');

function items(value: unknown): Item[] {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]).filter((v): v is Item => !!v && typeof v === 'object');
}

function numbers(value: unknown): number[] {
  const list = Array.isArray(value) ? value : value === undefined || value === null || value === '' ? [] : [value];
  return list.map(Number).filter(Number.isFinite);
}

function text(value: unknown): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return v === undefined || v === null ? undefined : String(v);
}

function code(seq: unknown): CodedEntry | undefined {
  const c = items(seq)[0];
  if (!c) return undefined;
  const value = text(c.CodeValue) ?? text(c.LongCodeValue) ?? text(c.URNCodeValue);
  const scheme = text(c.CodingSchemeDesignator) ?? '';
  return value === undefined ? undefined : { value, scheme, meaning: text(c.CodeMeaning) ?? '' };
}

function toArrayBuffer(bytes: Buffer | Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

function asBytes(v: unknown): Uint8Array {
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (Array.isArray(v)) {
    // dcmjs hands a frame split over several fragments as a list of them.
    const parts = v.map(asBytes);
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) { out.set(p, o); o += p.length; }
    return out;
  }
  throw new SegReadError('Pixel Data (7FE0,0010) has no readable value');
}

function parse(bytes: Buffer | Uint8Array): { dict: Record<string, { vr?: string; Value?: unknown[] }>; transferSyntaxUid: string } {
  if (!(bytes instanceof Uint8Array)) throw new SegReadError('expected the bytes of a DICOM file (Buffer or Uint8Array)');
  if (bytes.length < 132 || Buffer.from(bytes.buffer, bytes.byteOffset + 128, 4).toString('latin1') !== 'DICM') {
    throw new SegReadError(`not a DICOM PS3.10 file: no "DICM" prefix at byte 128 (${bytes.length} bytes)`);
  }
  let parsed: { dict: Record<string, unknown>; meta: Record<string, unknown> };
  try {
    parsed = DicomMessage.readFile(toArrayBuffer(bytes));
  } catch (err) {
    throw new SegReadError(`not a readable DICOM file: ${err instanceof Error ? err.message : String(err)}`);
  }
  const meta = parsed.meta as Record<string, { Value?: unknown[] }>;
  const transferSyntaxUid = text(meta['00020010']?.Value);
  if (!transferSyntaxUid) throw new SegReadError('the File Meta Information has no Transfer Syntax UID (0002,0010)');
  return { dict: parsed.dict as Record<string, { vr?: string; Value?: unknown[] }>, transferSyntaxUid };
}

/** Reads a Segmentation instance; throws SegReadError for anything else or for an encoding it cannot decode. */
export function readSegmentation(bytes: Buffer | Uint8Array): ReadSegmentation {
  const { dict, transferSyntaxUid } = parse(bytes);
  const sopClassUid = text(dict['00080016']?.Value);
  if (!sopClassUid || !SEGMENTATION_SOP_CLASSES.has(sopClassUid)) {
    const modality = text(dict['00080060']?.Value);
    throw new SegReadError(`not a Segmentation: SOP Class UID is ${sopClassUid ?? '(absent)'}${modality ? `, Modality ${modality}` : ''}`);
  }
  const pixelElement = dict['7FE00010'];
  const ds = DicomMetaDictionary.naturalizeDataset(dict) as Item;

  const segmentationType = text(ds.SegmentationType) as SegmentationType | undefined;
  if (!segmentationType || !SEGMENTATION_TYPES.includes(segmentationType)) {
    throw new SegReadError(`Segmentation Type (0062,0001) is ${segmentationType ?? '(absent)'}, not one of ${SEGMENTATION_TYPES.join(', ')}`);
  }
  const rows = Number(text(ds.Rows)), columns = Number(text(ds.Columns));
  if (!(rows > 0 && columns > 0)) throw new SegReadError(`Rows (0028,0010) and Columns (0028,0011) are ${text(ds.Rows)} and ${text(ds.Columns)}`);
  const numberOfFrames = ds.NumberOfFrames === undefined ? 1 : Number(text(ds.NumberOfFrames));
  if (!Number.isInteger(numberOfFrames) || numberOfFrames < 1) throw new SegReadError(`Number of Frames (0028,0008) is ${text(ds.NumberOfFrames)}`);
  const bitsAllocated = Number(text(ds.BitsAllocated));
  if (bitsAllocated !== 1 && bitsAllocated !== 8 && bitsAllocated !== 16) {
    throw new SegReadError(`Bits Allocated (0028,0100) ${text(ds.BitsAllocated)} is not supported (1, 8 or 16)`);
  }
  const samples = ds.SamplesPerPixel === undefined ? 1 : Number(text(ds.SamplesPerPixel));
  if (samples !== 1) throw new SegReadError(`Samples per Pixel (0028,0002) is ${samples}; a Segmentation has 1`);

  const segments: ReadSegment[] = items(ds.SegmentSequence).map((s) => ({
    number: Number(text(s.SegmentNumber)),
    label: text(s.SegmentLabel) ?? '',
    ...(text(s.SegmentDescription) ? { description: text(s.SegmentDescription) } : {}),
    algorithmType: text(s.SegmentAlgorithmType) ?? '',
    ...(text(s.SegmentAlgorithmName) ? { algorithmName: text(s.SegmentAlgorithmName) } : {}),
    ...(code(s.SegmentedPropertyCategoryCodeSequence) ? { category: code(s.SegmentedPropertyCategoryCodeSequence) } : {}),
    ...(code(s.SegmentedPropertyTypeCodeSequence) ? { type: code(s.SegmentedPropertyTypeCodeSequence) } : {}),
  }));

  const pixels = framePixels(pixelElement, transferSyntaxUid, rows * columns, numberOfFrames, bitsAllocated);
  const shared = items(ds.SharedFunctionalGroupsSequence)[0] ?? {};
  const perFrame = items(ds.PerFrameFunctionalGroupsSequence);
  const frames: ReadSegFrame[] = pixels.map((px, i) => {
    const groups = perFrame[i] ?? {};
    const ident = items(groups.SegmentIdentificationSequence)[0] ?? items(shared.SegmentIdentificationSequence)[0];
    const derivation = groups.DerivationImageSequence !== undefined ? groups.DerivationImageSequence : shared.DerivationImageSequence;
    const sources = items(derivation).flatMap((d) => items(d.SourceImageSequence)).map((r) => ({
      ...(text(r.ReferencedSOPClassUID) ? { sopClassUid: text(r.ReferencedSOPClassUID) } : {}),
      sopInstanceUid: text(r.ReferencedSOPInstanceUID) ?? '',
      frameNumbers: numbers(r.ReferencedFrameNumber),
    }));
    return { frameNumber: i + 1, segmentNumbers: numbers(ident?.ReferencedSegmentNumber), sources, pixels: px };
  });

  return {
    sopClassUid,
    sopInstanceUid: text(ds.SOPInstanceUID) ?? '',
    transferSyntaxUid,
    rows,
    columns,
    numberOfFrames,
    segmentationType,
    bitsAllocated,
    segments,
    frames,
  };
}

function swapPairs(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i + 1 < bytes.length; i += 2) { out[i] = bytes[i + 1]!; out[i + 1] = bytes[i]!; }
  if (bytes.length % 2) out[bytes.length - 1] = bytes[bytes.length - 1]!;
  return out;
}

function uint16Le(bytes: Uint8Array): Uint16Array {
  const out = new Uint16Array(bytes.length >>> 1);
  for (let p = 0; p < out.length; p++) out[p] = bytes[2 * p]! | (bytes[2 * p + 1]! << 8);
  return out;
}

function framePixels(element: { vr?: string; Value?: unknown[] } | undefined, ts: string, pixels: number, frames: number, bitsAllocated: 1 | 8 | 16): Array<Uint8Array | Uint16Array> {
  if (!element || !element.Value || element.Value.length === 0) throw new SegReadError('the Segmentation has no Pixel Data (7FE0,0010)');
  if (ts === RLE_LOSSLESS) {
    if (bitsAllocated === 1) throw new SegReadError('RLE Lossless with Bits Allocated 1 is not supported');
    const fragments = element.Value;
    if (fragments.length !== frames) {
      throw new SegReadError(`RLE Lossless Pixel Data has ${fragments.length} fragments for ${frames} frames (one fragment per frame expected)`);
    }
    return fragments.map((f, i) => {
      try {
        const le = decodeRleFrame(asBytes(f), pixels, bitsAllocated === 16 ? 2 : 1);
        return bitsAllocated === 16 ? uint16Le(le) : le;
      } catch (err) {
        if (err instanceof RleDecodeError) throw new SegReadError(`frame ${i + 1}: ${err.message}`);
        throw err;
      }
    });
  }
  if (!NATIVE.has(ts)) throw new SegReadError(`transfer syntax ${ts} (${describeTransferSyntax(ts)}) is not supported for Segmentations (native little/big endian, deflated or RLE Lossless)`);

  let data = asBytes(element.Value.length === 1 ? element.Value[0] : element.Value);
  // Explicit VR big endian stores OW as 16-bit words with the high byte first (PS3.5 7.3); OB is a byte stream.
  if (ts === EXPLICIT_BE && element.vr === 'OW') data = swapPairs(data);
  const needed = bitsAllocated === 1 ? Math.ceil((pixels * frames) / 8) : pixels * frames * (bitsAllocated / 8);
  if (data.length < needed) throw new SegReadError(`Pixel Data has ${data.length} bytes; ${frames} frames of ${pixels} pixels at ${bitsAllocated} bits need ${needed}`);
  const out: Array<Uint8Array | Uint16Array> = [];
  for (let f = 0; f < frames; f++) {
    if (bitsAllocated === 1) out.push(unpackBits(data, f * pixels, pixels));
    else if (bitsAllocated === 8) out.push(data.slice(f * pixels, (f + 1) * pixels));
    else out.push(uint16Le(data.subarray(2 * f * pixels, 2 * (f + 1) * pixels)));
  }
  return out;
}
