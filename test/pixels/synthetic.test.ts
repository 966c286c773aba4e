// Synthetic objects with known pixels: an RGB test image is encoded losslessly with the installed WASM codecs
// (JPEG 2000 with and without MCT, HTJ2K, JPEG-LS, JPEG lossless, RLE), written with dcmjs under deliberately
// wrong Photometric Interpretations, and must come back exactly. Also native layouts (planar, YBR_FULL_422,
// big endian, 16-bit, MONOCHROME1, palette), frame location without offset tables, and the error paths.
import codecsPackage from 'dcmjs-codecs';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeFile, decodeFrames, PixelDecodeError } from '../../src/dicom/pixels/index.js';
import { diff, writeDicom } from './helpers.js';

const { NativeCodecs, Context } = codecsPackage;

const TS = {
  explicitLE: '1.2.840.10008.1.2.1',
  explicitBE: '1.2.840.10008.1.2.2',
  j2kLossless: '1.2.840.10008.1.2.4.90',
  htj2kLossless: '1.2.840.10008.1.2.4.201',
  jlsLossless: '1.2.840.10008.1.2.4.80',
  jpegLossless: '1.2.840.10008.1.2.4.70',
  jpegBaseline: '1.2.840.10008.1.2.4.50',
  rle: '1.2.840.10008.1.2.5',
  mpeg2: '1.2.840.10008.1.2.4.100',
};

// Odd sizes on purpose (no multiple of 8 or 2) to catch stride and padding mistakes.
const W = 45;
const H = 29;

/** A test image with gradients, hard edges and noise-like detail. */
function testImage(w = W, h = H, seed = 1): Uint8Array {
  const px = new Uint8Array(w * h * 3);
  let s = seed;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      s = (s * 1103515245 + 12345) >>> 0;
      const i = (y * w + x) * 3;
      px[i] = (x * 255) / (w - 1);
      px[i + 1] = x > w / 2 ? 200 : (y * 255) / (h - 1);
      px[i + 2] = (s >>> 16) & 0xff;
    }
  }
  return px;
}

function ctx(rgb: Uint8Array, w = W, h = H) {
  return new Context({ width: w, height: h, bitsAllocated: 8, bitsStored: 8, samplesPerPixel: 3, pixelRepresentation: 0, planarConfiguration: 0, photometricInterpretation: 'RGB', decodedBuffer: rgb });
}

function imageAttrs(photometric: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    Rows: H,
    Columns: W,
    SamplesPerPixel: 3,
    PhotometricInterpretation: photometric,
    BitsAllocated: 8,
    BitsStored: 8,
    HighBit: 7,
    PixelRepresentation: 0,
    PlanarConfiguration: 0,
    ...extra,
  };
}

function encapsulated(ts: string, photometric: string, frames: Uint8Array[], extra: Record<string, unknown> = {}): Buffer {
  return writeDicom(ts, {
    ...imageAttrs(photometric, extra),
    NumberOfFrames: String(frames.length),
    PixelData: frames.map((f) => f.buffer.slice(f.byteOffset, f.byteOffset + f.byteLength)),
    _vrMap: { PixelData: 'OB' },
  });
}

function native(ts: string, attrs: Record<string, unknown>, pixels: Uint8Array, vr = 'OB'): Buffer {
  return writeDicom(ts, { ...attrs, PixelData: [pixels.buffer.slice(pixels.byteOffset, pixels.byteOffset + pixels.byteLength)], _vrMap: { PixelData: vr } });
}

/** Explicit VR LE file whose Pixel Data is encapsulated by hand: `bot` empty means no Basic Offset Table. */
function handEncapsulated(ts: string, photometric: string, frames: number, fragments: Uint8Array[], bot: number[] = []): Buffer {
  const head = writeDicom(ts, { ...imageAttrs(photometric), NumberOfFrames: String(frames) });
  const parts: Buffer[] = [head, Buffer.from([0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x42, 0, 0, 0xff, 0xff, 0xff, 0xff])];
  const item = (len: number) => {
    const b = Buffer.alloc(8);
    b.writeUInt16LE(0xfffe, 0);
    b.writeUInt16LE(0xe000, 2);
    b.writeUInt32LE(len, 4);
    return b;
  };
  const table = Buffer.alloc(bot.length * 4);
  bot.forEach((v, i) => table.writeUInt32LE(v, i * 4));
  parts.push(item(table.length), table);
  for (const f of fragments) {
    const padded = f.length % 2 ? Buffer.concat([f, Buffer.from([0])]) : Buffer.from(f);
    parts.push(item(padded.length), padded);
  }
  parts.push(Buffer.from([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]));
  return Buffer.concat(parts);
}

async function expectError(bytes: Uint8Array, pattern: RegExp): Promise<PixelDecodeError> {
  const err = await decodeFile(bytes).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PixelDecodeError);
  expect((err as Error).message).toMatch(pattern);
  return err as PixelDecodeError;
}

/** Float YBR_FULL -> RGB (PS3.3 C.7.6.3.1.2), written independently of the decoder's fixed-point tables. */
function ybrToRgbFloat(y: number, cb: number, cr: number): [number, number, number] {
  const c = (v: number) => Math.min(255, Math.max(0, Math.round(v)));
  return [c(y + 1.402 * (cr - 128)), c(y - 0.344136 * (cb - 128) - 0.714136 * (cr - 128)), c(y + 1.772 * (cb - 128))];
}

describe('pixel decoder on synthetic objects', () => {
  const rgb = testImage();
  let j2kMct: Uint8Array;
  let j2kPlain: Uint8Array;

  beforeAll(async () => {
    await NativeCodecs.initializeAsync();
    j2kMct = NativeCodecs.encodeJpeg2000(ctx(rgb), { lossy: false, allowMct: true } as never).getEncodedBuffer() as Uint8Array;
    j2kPlain = NativeCodecs.encodeJpeg2000(ctx(rgb), { lossy: false, allowMct: false } as never).getEncodedBuffer() as Uint8Array;
  });

  describe('lossless codestreams come back exactly, whatever the Photometric Interpretation claims', () => {
    it('JPEG 2000 with MCT labelled RGB (should say YBR_RCT): no second colour conversion', async () => {
      const [f] = await decodeFile(encapsulated(TS.j2kLossless, 'RGB', [j2kMct]));
      expect(f?.codestream).toBe('j2k');
      expect(diff(f?.rgb ?? Buffer.alloc(0), rgb).max).toBe(0);
      expect(f?.warnings?.join(' ')).toMatch(/RGB but the JPEG 2000 codestream uses the multiple component transform/);
    });
    it('JPEG 2000 with MCT labelled YBR_RCT (correct)', async () => {
      const [f] = await decodeFile(encapsulated(TS.j2kLossless, 'YBR_RCT', [j2kMct]));
      expect(diff(f?.rgb ?? Buffer.alloc(0), rgb).max).toBe(0);
      expect(f?.warnings).toBeUndefined();
    });
    it('JPEG 2000 without MCT labelled YBR_RCT (should say RGB)', async () => {
      const [f] = await decodeFile(encapsulated(TS.j2kLossless, 'YBR_RCT', [j2kPlain]));
      expect(diff(f?.rgb ?? Buffer.alloc(0), rgb).max).toBe(0);
      expect(f?.warnings?.join(' ')).toMatch(/no multiple component transform/);
    });
    it('JPEG 2000 without MCT labelled YBR_ICT and MONOCHROME2 (3 components win over the tag)', async () => {
      for (const pi of ['YBR_ICT', 'MONOCHROME2']) {
        const [f] = await decodeFile(encapsulated(TS.j2kLossless, pi, [j2kPlain], { SamplesPerPixel: pi === 'MONOCHROME2' ? 1 : 3 }));
        expect(diff(f?.rgb ?? Buffer.alloc(0), rgb).max).toBe(0);
      }
    });
    it('HTJ2K lossless', async () => {
      const ht = NativeCodecs.encodeHtJpeg2000(ctx(rgb), { lossy: false }).getEncodedBuffer() as Uint8Array;
      const [f] = await decodeFile(encapsulated(TS.htj2kLossless, 'RGB', [ht]));
      expect(f?.codestream).toBe('j2k');
      expect(diff(f?.rgb ?? Buffer.alloc(0), rgb).max).toBe(0);
    });
    it('JPEG-LS lossless labelled RGB, and labelled YBR_RCT (a JPEG 2000-only term)', async () => {
      const jls = NativeCodecs.encodeJpegLs(ctx(rgb), { lossy: false }).getEncodedBuffer() as Uint8Array;
      for (const pi of ['RGB', 'YBR_RCT']) {
        const [f] = await decodeFile(encapsulated(TS.jlsLossless, pi, [jls]));
        expect(f?.codestream).toBe('jpeg-ls');
        expect(diff(f?.rgb ?? Buffer.alloc(0), rgb).max).toBe(0);
      }
    });
    it('JPEG lossless (process 14) labelled JPEG baseline', async () => {
      const jl = NativeCodecs.encodeJpeg(ctx(rgb), { lossy: false, predictor: 1, pointTransform: 0 }).getEncodedBuffer() as Uint8Array;
      const [f] = await decodeFile(encapsulated(TS.jpegBaseline, 'RGB', [jl]));
      expect(f?.codestream).toBe('jpeg-lossless');
      expect(f?.warnings?.join(' ')).toMatch(/JPEG Baseline.*codestream is JPEG lossless/);
      expect(diff(f?.rgb ?? Buffer.alloc(0), rgb).max).toBe(0);
    });
    it('RLE, two frames, PlanarConfiguration 1 (irrelevant for RLE)', async () => {
      const second = testImage(W, H, 7);
      const r1 = NativeCodecs.encodeRle(ctx(rgb), {}).getEncodedBuffer() as Uint8Array;
      const r2 = NativeCodecs.encodeRle(ctx(second), {}).getEncodedBuffer() as Uint8Array;
      const frames = await decodeFile(encapsulated(TS.rle, 'RGB', [r1, r2], { PlanarConfiguration: 1 }));
      expect(frames.map((f) => f.codestream)).toEqual(['rle', 'rle']);
      expect(diff(frames[0]?.rgb ?? Buffer.alloc(0), rgb).max).toBe(0);
      expect(diff(frames[1]?.rgb ?? Buffer.alloc(0), second).max).toBe(0);
    });
  });

  it('JPEG baseline: matches sharp (libjpeg-turbo) decoding the same codestream', async () => {
    const jpeg = NativeCodecs.encodeJpeg(ctx(rgb), { lossy: true, quality: 90 }).getEncodedBuffer() as Uint8Array;
    const [f] = await decodeFile(encapsulated(TS.jpegBaseline, 'YBR_FULL_422', [jpeg]));
    expect(f?.codestream).toBe('jpeg-baseline');
    const ref = await sharp(Buffer.from(jpeg)).raw().toBuffer();
    expect(diff(f?.rgb ?? Buffer.alloc(0), ref).max).toBeLessThanOrEqual(1);
  });

  describe('frames located without an offset table', () => {
    const a = testImage(W, H, 3);
    const b = testImage(W, H, 4);
    // Encoders cut fragments at even offsets (each fragment has even length); only a frame's last may be padded.
    const split = (x: Uint8Array) => [x.subarray(0, 100), x.subarray(100, 334), x.subarray(334)];
    it('J2K: two frames in three fragments each, no Basic Offset Table (split at FF4F FF51)', async () => {
      const ea = NativeCodecs.encodeJpeg2000(ctx(a), { lossy: false } as never).getEncodedBuffer() as Uint8Array;
      const eb = NativeCodecs.encodeJpeg2000(ctx(b), { lossy: false } as never).getEncodedBuffer() as Uint8Array;
      const frames = await decodeFile(handEncapsulated(TS.j2kLossless, 'YBR_RCT', 2, [...split(ea), ...split(eb)]));
      expect(frames).toHaveLength(2);
      expect(diff(frames[0]?.rgb ?? Buffer.alloc(0), a).max).toBe(0);
      expect(diff(frames[1]?.rgb ?? Buffer.alloc(0), b).max).toBe(0);
    });
    it('JPEG-LS: same, but with a Basic Offset Table', async () => {
      const ea = NativeCodecs.encodeJpegLs(ctx(a), { lossy: false }).getEncodedBuffer() as Uint8Array;
      const eb = NativeCodecs.encodeJpegLs(ctx(b), { lossy: false }).getEncodedBuffer() as Uint8Array;
      const fa = split(ea);
      const itemBytes = fa.reduce((n, f) => n + 8 + f.length + (f.length % 2), 0);
      const frames = await decodeFile(handEncapsulated(TS.jlsLossless, 'RGB', 2, [...fa, ...split(eb)], [0, itemBytes]));
      expect(diff(frames[0]?.rgb ?? Buffer.alloc(0), a).max).toBe(0);
      expect(diff(frames[1]?.rgb ?? Buffer.alloc(0), b).max).toBe(0);
    });
    it('single frame split over fragments is concatenated', async () => {
      const frames = await decodeFile(handEncapsulated(TS.j2kLossless, 'RGB', 1, split(j2kMct)));
      expect(diff(frames[0]?.rgb ?? Buffer.alloc(0), rgb).max).toBe(0);
    });
  });

  describe('uncompressed layouts', () => {
    it('RGB with PlanarConfiguration 1', async () => {
      const planes = new Uint8Array(rgb.length);
      const n = W * H;
      for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) planes[c * n + i] = rgb[i * 3 + c] as number;
      const [f] = await decodeFile(native(TS.explicitLE, imageAttrs('RGB', { PlanarConfiguration: 1 }), planes));
      expect(diff(f?.rgb ?? Buffer.alloc(0), rgb).max).toBe(0);
    });
    it('YBR_FULL and YBR_FULL_422 (Y1 Y2 Cb Cr) within 1 of the float equations', async () => {
      const w = 46; // 422 needs an even width
      const ybr = testImage(w, H, 9);
      const expected = new Uint8Array(w * H * 3);
      for (let i = 0; i < w * H; i++) expected.set(ybrToRgbFloat(ybr[i * 3] as number, ybr[i * 3 + 1] as number, ybr[i * 3 + 2] as number), i * 3);
      const [full] = await decodeFile(native(TS.explicitLE, imageAttrs('YBR_FULL', { Columns: w }), ybr));
      expect(diff(full?.rgb ?? Buffer.alloc(0), expected).max).toBeLessThanOrEqual(1);

      const packed = new Uint8Array(w * H * 2);
      const expected422 = new Uint8Array(w * H * 3);
      for (let p = 0, o = 0; p < w * H; p += 2, o += 4) {
        const [y1, y2, cb, cr] = [ybr[p * 3] as number, ybr[p * 3 + 3] as number, ybr[p * 3 + 1] as number, ybr[p * 3 + 2] as number];
        packed.set([y1, y2, cb, cr], o);
        expected422.set(ybrToRgbFloat(y1, cb, cr), p * 3);
        expected422.set(ybrToRgbFloat(y2, cb, cr), p * 3 + 3);
      }
      const [f422] = await decodeFile(native(TS.explicitLE, imageAttrs('YBR_FULL_422', { Columns: w }), packed));
      expect(f422?.rgb.length).toBe(w * H * 3);
      expect(diff(f422?.rgb ?? Buffer.alloc(0), expected422).max).toBeLessThanOrEqual(1);
    });
    it('MONOCHROME1 8-bit is inverted and replicated', async () => {
      const grey = rgb.filter((_, i) => i % 3 === 0);
      const [f] = await decodeFile(native(TS.explicitLE, imageAttrs('MONOCHROME1', { SamplesPerPixel: 1 }), grey));
      for (let i = 0; i < grey.length; i++) {
        expect([f?.rgb[i * 3], f?.rgb[i * 3 + 1], f?.rgb[i * 3 + 2]]).toEqual(Array(3).fill(255 - (grey[i] as number)));
      }
    });
    it('16-bit signed MONOCHROME2, big endian: window when present, else min..max', async () => {
      const values = Int16Array.from({ length: W * H }, (_, i) => (i % 97) * 40 - 1500); // -1500..2340
      const be = new Uint8Array(values.length * 2);
      values.forEach((v, i) => {
        be[i * 2] = (v >> 8) & 0xff;
        be[i * 2 + 1] = v & 0xff;
      });
      const attrs = imageAttrs('MONOCHROME2', { SamplesPerPixel: 1, BitsAllocated: 16, BitsStored: 16, HighBit: 15, PixelRepresentation: 1 });
      const [stretched] = await decodeFile(native(TS.explicitBE, attrs, be, 'OW'));
      const lo = -1500;
      const hi = 96 * 40 - 1500;
      values.forEach((v, i) => expect(stretched?.rgb[i * 3]).toBe(Math.round(((v - lo) * 255) / (hi - lo))));

      const [windowed] = await decodeFile(native(TS.explicitBE, { ...attrs, WindowCenter: '40', WindowWidth: '400', RescaleSlope: '1', RescaleIntercept: '0' }, be, 'OW'));
      values.forEach((v, i) => {
        const x = v;
        const expected = x <= 40 - 0.5 - 399 / 2 ? 0 : x > 40 - 0.5 + 399 / 2 ? 255 : Math.round(((x - 39.5) / 399 + 0.5) * 255);
        expect(windowed?.rgb[i * 3]).toBe(expected);
      });
    });
    it('PALETTE COLOR with 16-bit LUT entries', async () => {
      const idx = Uint8Array.from({ length: W * H }, (_, i) => i % 256);
      const lut = (f: (k: number) => number) => {
        const u = new Uint16Array(256);
        for (let k = 0; k < 256; k++) u[k] = f(k) * 257;
        return u.buffer;
      };
      const file = writeDicom(TS.explicitLE, {
        ...imageAttrs('PALETTE COLOR', { SamplesPerPixel: 1 }),
        RedPaletteColorLookupTableDescriptor: [256, 0, 16],
        GreenPaletteColorLookupTableDescriptor: [256, 0, 16],
        BluePaletteColorLookupTableDescriptor: [256, 0, 16],
        RedPaletteColorLookupTableData: lut((k) => k),
        GreenPaletteColorLookupTableData: lut((k) => 255 - k),
        BluePaletteColorLookupTableData: lut((k) => (k * 3) % 256),
        PixelData: [idx.buffer],
        _vrMap: { PixelData: 'OB', RedPaletteColorLookupTableDescriptor: 'US', GreenPaletteColorLookupTableDescriptor: 'US', BluePaletteColorLookupTableDescriptor: 'US', RedPaletteColorLookupTableData: 'OW', GreenPaletteColorLookupTableData: 'OW', BluePaletteColorLookupTableData: 'OW' },
      });
      const [f] = await decodeFile(file);
      idx.forEach((k, i) => expect([f?.rgb[i * 3], f?.rgb[i * 3 + 1], f?.rgb[i * 3 + 2]]).toEqual([k, 255 - k, (k * 3) % 256]));
    });
    it('multi-frame: frames are produced one by one', async () => {
      const second = testImage(W, H, 5);
      const both = new Uint8Array([...rgb, ...second]);
      const seen: Buffer[] = [];
      for await (const f of decodeFrames(native(TS.explicitLE, { ...imageAttrs('RGB'), NumberOfFrames: '2' }, both))) seen.push(f.rgb);
      expect(seen).toHaveLength(2);
      expect(diff(seen[1] ?? Buffer.alloc(0), second).max).toBe(0);
    });
  });

  describe('errors name the problem', () => {
    it('truncated JPEG 2000 codestream', async () => {
      const err = await expectError(encapsulated(TS.j2kLossless, 'RGB', [j2kMct.subarray(0, Math.floor(j2kMct.length / 2))]), /^frame 1: JPEG 2000 codestream truncated/);
      expect(err.reason).toBe('truncated');
      expect(err.frame).toBe(1);
    });
    it('truncated JPEG, JPEG-LS and RLE', async () => {
      const jpeg = NativeCodecs.encodeJpeg(ctx(rgb), { lossy: true, quality: 90 }).getEncodedBuffer() as Uint8Array;
      await expectError(encapsulated(TS.jpegBaseline, 'YBR_FULL_422', [jpeg.subarray(0, jpeg.length - 300)]), /^frame 1: JPEG codestream truncated/);
      const jls = NativeCodecs.encodeJpegLs(ctx(rgb), { lossy: false }).getEncodedBuffer() as Uint8Array;
      await expectError(encapsulated(TS.jlsLossless, 'RGB', [jls.subarray(0, 500)]), /^frame 1: JPEG-LS codestream truncated/);
      const rle = NativeCodecs.encodeRle(ctx(rgb), {}).getEncodedBuffer() as Uint8Array;
      await expectError(encapsulated(TS.rle, 'RGB', [rle.subarray(0, 40)]), /^frame 1: RLE frame truncated/);
    });
    it('second frame missing from encapsulated data', async () => {
      const file = handEncapsulated(TS.j2kLossless, 'YBR_RCT', 2, [j2kMct]);
      await expectError(file, /^frame 2: missing from the encapsulated Pixel Data \(found 1 of 2 frames\)/);
    });
    it('native frame shorter than Rows x Columns x Samples x Bits Allocated / 8', async () => {
      // One 3915-byte frame where two are declared (the writer pads the value to 3916 bytes).
      const file = native(TS.explicitLE, { ...imageAttrs('RGB'), NumberOfFrames: '2' }, rgb);
      const err = await expectError(file, /^frame 2: pixel data too short: 1 of 3915 bytes present/);
      expect(err.reason).toBe('short-data');
    });
    it('no Pixel Data', async () => {
      await expectError(writeDicom(TS.explicitLE, imageAttrs('RGB')), /^no Pixel Data \(7FE0,0010\)$/);
    });
    it('unsupported transfer syntax', async () => {
      await expectError(encapsulated(TS.mpeg2, 'YBR_PARTIAL_420', [new Uint8Array([0, 0, 1, 0xb3])]), /^unsupported transfer syntax 1\.2\.840\.10008\.1\.2\.4\.100 \(MPEG2\)$/);
    });
    it('unrecognised codestream', async () => {
      await expectError(encapsulated(TS.j2kLossless, 'RGB', [new Uint8Array(64).fill(7)]), /^frame 1: unrecognised codestream \(starts 07 07/);
    });
    it('corrupted codestreams fail cleanly (or decode), and the codecs keep working afterwards', async () => {
      const jpeg = NativeCodecs.encodeJpeg(ctx(rgb), { lossy: true, quality: 90 }).getEncodedBuffer() as Uint8Array;
      const jls = NativeCodecs.encodeJpegLs(ctx(rgb), { lossy: false }).getEncodedBuffer() as Uint8Array;
      const rle = NativeCodecs.encodeRle(ctx(rgb), {}).getEncodedBuffer() as Uint8Array;
      const cases: [string, string, Uint8Array][] = [
        [TS.j2kLossless, 'YBR_RCT', j2kMct],
        [TS.j2kLossless, 'RGB', j2kPlain],
        [TS.jpegBaseline, 'YBR_FULL_422', jpeg],
        [TS.jlsLossless, 'RGB', jls],
        [TS.rle, 'RGB', rle],
      ];
      let seed = 42;
      const rand = (n: number) => {
        seed = (seed * 1103515245 + 12345) >>> 0;
        return (seed >>> 8) % n;
      };
      const outcomes = { decoded: 0, rejected: 0 };
      for (let round = 0; round < 12; round++) {
        for (const [ts, pi, good] of cases) {
          const bad = Uint8Array.from(good);
          for (let k = 0; k < 6; k++) bad[rand(bad.length)] = rand(256); // may also hit headers and markers
          try {
            const frames = await decodeFile(encapsulated(ts, pi, [bad]));
            expect(frames[0]?.rgb.length).toBe(frames[0] ? frames[0].rows * frames[0].columns * 3 : 0);
            outcomes.decoded++;
          } catch (err) {
            expect(err).toBeInstanceOf(PixelDecodeError);
            outcomes.rejected++;
          }
        }
      }
      expect(outcomes.decoded + outcomes.rejected).toBe(60);
      const [again] = await decodeFile(encapsulated(TS.j2kLossless, 'YBR_RCT', [j2kMct]));
      expect(diff(again?.rgb ?? Buffer.alloc(0), rgb).max).toBe(0);
    });
  });
});
