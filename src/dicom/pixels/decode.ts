// Orchestrates one file: parse, read the pixel attributes, then for each frame in turn locate its bytes, decode
// (trusting the codestream's own headers over the DICOM tags), and convert to 8-bit interleaved RGB. Frames are
// produced one at a time so a caller can stream a large multi-frame object without holding every frame.
import { readPixelAttributes, type PixelAttributes } from './attributes.js';
import { ensureCodecs, runCodec, type CodecName } from './codecs.js';
import { expand422, greyToRgb, planarToInterleaved, ybrFullToRgbInPlace, ybrPartialToRgbInPlace } from './colour.js';
import { EXPLICIT_BE, parseDataset } from './dataset.js';
import { PixelDecodeError, asPixelDecodeError } from './errors.js';
import { encapsulatedFrames, nativeAvailable, nativeFrame } from './frames.js';
import { colourLevels, greyLevels, indexValues, type SampleLayout } from './levels.js';
import { applyPalette, readPalette, type Palette } from './palette.js';
import { sniffCodestream, type CodestreamInfo, type CodestreamKind } from './sniff.js';
import { describeTransferSyntax, isCompressedTransferSyntax, RLE_LOSSLESS, unsupportedReason } from './syntaxes.js';

export interface DecodedFrame {
  rows: number;
  columns: number;
  /** rows * columns * 3 bytes, interleaved R,G,B, 8 bits each. */
  rgb: Buffer;
  /** Photometric Interpretation as the dataset states it (the decoder may have concluded otherwise, see warnings). */
  sourcePhotometric: string;
  sourceTransferSyntax: string;
  /** What the frame's bytes really were (decided from the codestream, not the transfer syntax). */
  codestream?: CodestreamKind | 'native';
  /** Tag/codestream disagreements the decoder resolved, e.g. a transfer syntax that names the wrong JPEG process. */
  warnings?: string[];
}

export interface DecodeOptions {
  /** Refuse frames larger than this before allocating anything (default 100 million pixels, ~300 MB of RGB). */
  maxPixelsPerFrame?: number;
}

const DEFAULT_MAX_PIXELS = 100_000_000;

/** The decoded samples of one frame before the RGB conversion. */
interface RawFrame {
  data: Uint8Array;
  /** True when `data` is a fresh buffer we may modify (not a view into the caller's file). */
  owned: boolean;
  rows: number;
  columns: number;
  samples: number;
  layout: SampleLayout;
  arrangement: 'interleaved' | 'planar' | '422';
  colour: 'RGB' | 'YBR_FULL' | 'YBR_PARTIAL' | 'GREY' | 'GREY_INVERTED' | 'PALETTE';
}

function toBuffer(u8: Uint8Array, owned: boolean): Buffer {
  return owned ? Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength) : Buffer.from(u8);
}

function toRgb(raw: RawFrame, attrs: PixelAttributes, frameIndex: number, palette: () => Palette): Buffer {
  const pixels = raw.rows * raw.columns;
  if (raw.samples === 1) {
    if (raw.colour === 'PALETTE') return toBuffer(applyPalette(indexValues(raw.data, pixels, raw.layout), palette()), true);
    const levels = greyLevels(raw.data, pixels, raw.layout, attrs.greyTransform(frameIndex));
    return toBuffer(greyToRgb(levels, raw.colour === 'GREY_INVERTED'), true);
  }
  const sampleCount = raw.arrangement === '422' ? pixels * 2 : pixels * 3;
  let px = colourLevels(raw.data, sampleCount, raw.layout);
  // A pass-through of 8-bit samples shares memory with the input; only modify copies.
  let owned = raw.owned || px.buffer !== raw.data.buffer;
  if (raw.arrangement === 'planar') {
    px = planarToInterleaved(px, pixels);
    owned = true;
  } else if (raw.arrangement === '422') {
    px = expand422(px, raw.rows, raw.columns);
    owned = true;
  }
  if (raw.colour === 'YBR_FULL' || raw.colour === 'YBR_PARTIAL') {
    if (!owned) {
      px = Uint8Array.from(px);
      owned = true;
    }
    if (raw.colour === 'YBR_FULL') ybrFullToRgbInPlace(px);
    else ybrPartialToRgbInPlace(px);
  }
  return toBuffer(px, owned);
}

function monoColour(photometric: string): RawFrame['colour'] {
  if (photometric === 'PALETTE COLOR') return 'PALETTE';
  return photometric === 'MONOCHROME1' ? 'GREY_INVERTED' : 'GREY';
}

function nativeRaw(attrs: PixelAttributes, littleEndian: boolean, vr: string | undefined, frameIndex: number, ds: Parameters<typeof nativeFrame>[0]): RawFrame {
  const { rows, columns, samplesPerPixel: spp, bitsAllocated: ba, photometric } = attrs;
  if (ba !== 8 && ba !== 16) throw new PixelDecodeError('unsupported', `Bits Allocated ${ba} not supported for uncompressed pixel data (8 or 16)`);
  const bytes = ba / 8;
  const is422 = spp === 3 && (photometric === 'YBR_FULL_422' || photometric === 'YBR_PARTIAL_422');
  if (is422 && attrs.planar) throw new PixelDecodeError('invalid-attributes', `${photometric} requires Planar Configuration 0`);
  const frameLength = rows * columns * (is422 ? 2 : spp) * bytes;
  let data = nativeFrame(ds, attrs.pixelData, frameIndex, frameLength);
  let owned = false;
  if (!littleEndian && ba === 8 && vr === 'OW') {
    // Big Endian OW holds 16-bit words, so 8-bit samples are stored pairwise swapped; the partner of the last
    // byte of an odd-length frame lies just past it (the element is padded to even length).
    const offset = attrs.pixelData.dataOffset;
    const available = nativeAvailable(ds, attrs.pixelData);
    const swapped = new Uint8Array(frameLength);
    for (let j = 0; j < frameLength; j++) {
      const rel = (frameIndex * frameLength + j) ^ 1;
      swapped[j] = rel < available ? (ds.byteArray[offset + rel] as number) : 0;
    }
    data = swapped;
    owned = true;
  }
  let colour: RawFrame['colour'];
  if (spp === 1) colour = monoColour(photometric);
  else if (photometric === 'RGB') colour = 'RGB';
  else if (photometric === 'YBR_FULL' || photometric === 'YBR_FULL_422') colour = 'YBR_FULL';
  else if (photometric === 'YBR_PARTIAL_422') colour = 'YBR_PARTIAL';
  else throw new PixelDecodeError('unsupported', `Photometric Interpretation ${photometric} not supported for uncompressed pixel data`);
  return {
    data,
    owned,
    rows,
    columns,
    samples: spp,
    layout: { bytesPerSample: bytes, littleEndian, bitsStored: attrs.bitsStored, signed: attrs.signed },
    arrangement: is422 ? '422' : spp === 3 && attrs.planar ? 'planar' : 'interleaved',
    colour,
  };
}

function codecFor(info: CodestreamInfo): CodecName {
  switch (info.kind) {
    case 'rle':
      return 'rle';
    case 'jpeg-ls':
      return 'jpeg-ls';
    case 'j2k':
    case 'jp2':
      return info.htj2k ? 'htj2k' : 'j2k';
    default:
      return 'jpeg';
  }
}

const CODEC_LABEL: Record<CodestreamKind, string> = {
  'jpeg-baseline': 'JPEG baseline',
  'jpeg-extended': 'JPEG extended',
  'jpeg-progressive': 'JPEG progressive',
  'jpeg-lossless': 'JPEG lossless',
  'jpeg-ls': 'JPEG-LS',
  j2k: 'JPEG 2000',
  jp2: 'JPEG 2000 (JP2)',
  rle: 'RLE',
};

/** Chooses how to read the codec's 3-component output, from codestream evidence first and the tag second. */
function compressedColour(info: CodestreamInfo, photometric: string, warnings: Set<string>): RawFrame['colour'] {
  // YBR_RCT/YBR_ICT only describe the JPEG 2000 component transforms; on other codestreams they mean nothing.
  const partial = photometric.startsWith('YBR_PARTIAL');
  const tagSaysYbr = partial || photometric.startsWith('YBR_FULL');
  if (!tagSaysYbr && photometric.startsWith('YBR') && info.kind !== 'j2k' && info.kind !== 'jp2') {
    warnings.add(`Photometric Interpretation ${photometric} applies only to JPEG 2000; ${CODEC_LABEL[info.kind]} samples read as RGB`);
  }
  switch (info.kind) {
    case 'j2k':
    case 'jp2':
      if (info.mct) {
        // OpenJPEG has already applied the inverse RCT/ICT: the samples are RGB whatever the tag says.
        if (photometric !== 'YBR_RCT' && photometric !== 'YBR_ICT') warnings.add(`Photometric Interpretation ${photometric} but the JPEG 2000 codestream uses the multiple component transform; decoded as RGB`);
        return 'RGB';
      }
      if (info.jp2EnumCs === 18) return 'YBR_FULL';
      if (photometric === 'YBR_FULL' || photometric === 'YBR_FULL_422') return 'YBR_FULL';
      if (photometric === 'YBR_RCT' || photometric === 'YBR_ICT') warnings.add(`Photometric Interpretation ${photometric} but the JPEG 2000 codestream has no multiple component transform; decoded as RGB`);
      return 'RGB';
    case 'rle':
    case 'jpeg-ls':
      return tagSaysYbr ? (partial ? 'YBR_PARTIAL' : 'YBR_FULL') : 'RGB';
    default: {
      if (info.jpegColour === 'ycbcr') {
        if (!tagSaysYbr) warnings.add(`Photometric Interpretation ${photometric} but the JPEG codestream is YCbCr (JFIF/Adobe marker); converted to RGB`);
        return 'YBR_FULL';
      }
      if (info.jpegColour === 'rgb') {
        if (tagSaysYbr) warnings.add(`Photometric Interpretation ${photometric} but the JPEG codestream is marked RGB (Adobe marker/component ids); not colour converted`);
        return 'RGB';
      }
      // No marker either way: the tag decides.
      return tagSaysYbr ? (partial ? 'YBR_PARTIAL' : 'YBR_FULL') : 'RGB';
    }
  }
}

const TS_PROCESS: Record<string, CodestreamKind[]> = {
  '1.2.840.10008.1.2.4.50': ['jpeg-baseline'],
  '1.2.840.10008.1.2.4.51': ['jpeg-baseline', 'jpeg-extended'],
  '1.2.840.10008.1.2.4.53': ['jpeg-baseline', 'jpeg-extended', 'jpeg-progressive'],
  '1.2.840.10008.1.2.4.55': ['jpeg-baseline', 'jpeg-extended', 'jpeg-progressive'],
  '1.2.840.10008.1.2.4.57': ['jpeg-lossless'],
  '1.2.840.10008.1.2.4.70': ['jpeg-lossless'],
  '1.2.840.10008.1.2.4.80': ['jpeg-ls'],
  '1.2.840.10008.1.2.4.81': ['jpeg-ls'],
  '1.2.840.10008.1.2.4.90': ['j2k', 'jp2'],
  '1.2.840.10008.1.2.4.91': ['j2k', 'jp2'],
  '1.2.840.10008.1.2.4.201': ['j2k', 'jp2'],
  '1.2.840.10008.1.2.4.202': ['j2k', 'jp2'],
  '1.2.840.10008.1.2.4.203': ['j2k', 'jp2'],
  [RLE_LOSSLESS]: ['rle'],
};

function compressedRaw(bytes: Uint8Array, info: CodestreamInfo, attrs: PixelAttributes, ts: string, frame: number, maxPixels: number, warnings: Set<string>): RawFrame {
  const expected = TS_PROCESS[ts];
  if (expected && !expected.includes(info.kind)) {
    warnings.add(`transfer syntax ${ts} (${describeTransferSyntax(ts)}) but the codestream is ${CODEC_LABEL[info.kind]}; decoded as ${CODEC_LABEL[info.kind]}`);
  }
  let width = info.width;
  let height = info.height;
  let samples = info.components;
  let precision = info.precision;
  let signed = attrs.signed || info.signed;
  let container = precision <= 8 ? 8 : 16;
  if (info.kind === 'rle') {
    width = attrs.columns;
    height = attrs.rows;
    const bytesPer = Math.ceil(attrs.bitsAllocated / 8);
    const segments = info.rleSegments ?? 0;
    if (bytesPer !== 1 && bytesPer !== 2) throw new PixelDecodeError('unsupported', `RLE with Bits Allocated ${attrs.bitsAllocated} not supported`, { frame });
    if (segments !== attrs.samplesPerPixel * bytesPer) {
      if (segments % bytesPer !== 0 || (segments / bytesPer !== 1 && segments / bytesPer !== 3)) {
        throw new PixelDecodeError('malformed', `RLE frame has ${segments} segments; Samples per Pixel ${attrs.samplesPerPixel} x ${bytesPer} bytes needs ${attrs.samplesPerPixel * bytesPer}`, { frame });
      }
      warnings.add(`RLE frame has ${segments} segments, not ${attrs.samplesPerPixel * bytesPer}; decoded as ${segments / bytesPer} samples per pixel`);
    }
    samples = segments / bytesPer;
    precision = attrs.bitsStored;
    signed = attrs.signed;
    container = bytesPer * 8; // RLE segments are bytes of the Bits Allocated container
  } else {
    if (samples !== 1 && samples !== 3) throw new PixelDecodeError('unsupported', `${CODEC_LABEL[info.kind]} with ${samples} components not supported`, { frame });
    if (width !== attrs.columns || height !== attrs.rows) {
      warnings.add(`Rows/Columns ${attrs.rows}x${attrs.columns} but the codestream is ${height}x${width}; using the codestream size`);
    }
    if (samples !== attrs.samplesPerPixel) warnings.add(`Samples per Pixel ${attrs.samplesPerPixel} but the codestream has ${samples} components; using the codestream`);
    if ((info.kind === 'j2k' || info.kind === 'jp2') && samples === 3 && precision > 8 && !info.htj2k) {
      throw new PixelDecodeError('unsupported', `JPEG 2000 colour with ${precision}-bit samples not supported`, { frame });
    }
    if (precision < 1 || precision > 16) throw new PixelDecodeError('unsupported', `${CODEC_LABEL[info.kind]} with ${precision}-bit samples not supported`, { frame });
  }
  if (width < 1 || height < 1) throw new PixelDecodeError('malformed', `codestream declares an empty ${height}x${width} image`, { frame });
  if (width * height > maxPixels) {
    throw new PixelDecodeError('too-large', `${height}x${width} frame exceeds the ${maxPixels}-pixel limit`, { frame });
  }
  // The codec is told the codestream's own signedness (OpenJPH clamps to it); the DICOM flag only affects how the
  // decoded bits are read afterwards.
  const codecInput = { encoded: bytes, width, height, bitsAllocated: container, bitsStored: precision, samplesPerPixel: samples, signed: info.signed };
  const out = runCodec(codecFor(info), codecInput, frame, CODEC_LABEL[info.kind]);
  const need = width * height * samples * (container / 8);
  if (out.data.length < need) {
    throw new PixelDecodeError('codec', `${CODEC_LABEL[info.kind]} decoder returned ${out.data.length} bytes, ${need} expected for ${height}x${width}x${samples}`, { frame });
  }
  const colour = samples === 1 ? monoColour(attrs.photometric) : compressedColour(info, attrs.photometric, warnings);
  return {
    data: out.data,
    owned: true,
    rows: height,
    columns: width,
    samples,
    layout: { bytesPerSample: container / 8, littleEndian: true, bitsStored: precision, signed },
    arrangement: info.kind === 'jpeg-ls' && samples === 3 && info.jlsInterleave === 0 ? 'planar' : 'interleaved',
    colour,
  };
}

/** Decodes the frames of a DICOM file one at a time. Throws PixelDecodeError (never anything else). */
export async function* decodeFrames(bytes: Uint8Array, options: DecodeOptions = {}): AsyncGenerator<DecodedFrame, void, undefined> {
  const maxPixels = options.maxPixelsPerFrame ?? DEFAULT_MAX_PIXELS;
  let parsed: ReturnType<typeof parseDataset>;
  let attrs: PixelAttributes;
  try {
    parsed = parseDataset(bytes);
    attrs = readPixelAttributes(parsed.dataSet);
  } catch (err) {
    throw asPixelDecodeError(err, 'parse', 'DICOM dataset could not be read');
  }
  const { dataSet: ds, transferSyntax: ts } = parsed;
  const unsupported = unsupportedReason(ts);
  if (unsupported) throw new PixelDecodeError('unsupported', unsupported);
  const littleEndian = ts !== EXPLICIT_BE;
  if (attrs.rows * attrs.columns > maxPixels) {
    throw new PixelDecodeError('too-large', `${attrs.rows}x${attrs.columns} frames exceed the ${maxPixels}-pixel limit`);
  }
  let paletteCache: Palette | undefined;
  const palette = () => (paletteCache ??= readPalette(ds, littleEndian));
  const base = { sourcePhotometric: attrs.photometric, sourceTransferSyntax: ts };
  const parseNote = parsed.parseWarning ? `dataset parsing stopped after Pixel Data: ${parsed.parseWarning}` : undefined;
  const el = attrs.pixelData;

  if (!el.encapsulatedPixelData) {
    if (isCompressedTransferSyntax(ts)) {
      throw new PixelDecodeError('malformed', `transfer syntax ${ts} (${describeTransferSyntax(ts)}) is compressed but Pixel Data is not encapsulated`);
    }
    for (let i = 0; i < attrs.numberOfFrames; i++) {
      let frame: DecodedFrame;
      try {
        const raw = nativeRaw(attrs, littleEndian, el.vr, i, ds);
        frame = { ...base, rows: raw.rows, columns: raw.columns, rgb: toRgb(raw, attrs, i, palette), codestream: 'native' };
        if (parseNote) frame.warnings = [parseNote];
      } catch (err) {
        throw asPixelDecodeError(err, 'malformed', 'uncompressed pixel data could not be converted', i + 1);
      }
      yield frame;
    }
    return;
  }

  const located = (() => {
    try {
      return encapsulatedFrames(ds, el, attrs.numberOfFrames, ts === RLE_LOSSLESS);
    } catch (err) {
      throw asPixelDecodeError(err, 'malformed', 'encapsulated pixel data could not be split into frames');
    }
  })();
  for (let i = 0; i < attrs.numberOfFrames; i++) {
    await ensureCodecs();
    const warnings = new Set<string>(parseNote ? [parseNote] : []);
    let frame: DecodedFrame;
    try {
      const bytesOfFrame = located.frame(i);
      const info = sniffCodestream(bytesOfFrame, ts === RLE_LOSSLESS, i + 1);
      const raw = compressedRaw(bytesOfFrame, info, attrs, ts, i + 1, maxPixels, warnings);
      frame = { ...base, rows: raw.rows, columns: raw.columns, rgb: toRgb(raw, attrs, i, palette), codestream: info.kind };
    } catch (err) {
      throw asPixelDecodeError(err, 'codec', 'frame could not be decoded', i + 1);
    }
    if (warnings.size > 0) frame.warnings = [...warnings];
    yield frame;
  }
}

/** Decodes every frame of a DICOM file (Part 10, or a bare dataset) to 8-bit interleaved RGB. */
export async function decodeFile(bytes: Uint8Array, options?: DecodeOptions): Promise<DecodedFrame[]> {
  const frames: DecodedFrame[] = [];
  for await (const f of decodeFrames(bytes, options)) frames.push(f);
  return frames;
}
