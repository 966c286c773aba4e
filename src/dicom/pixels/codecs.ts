// Thin wrapper over the dcmjs-codecs WebAssembly codecs (libjpeg 8/12/16-bit incl. lossless, CharLS, OpenJPEG,
// OpenJPH, RLE). Why a wrapper: the module is a process-wide singleton that must be initialised once, its errors
// arrive as plain Errors thrown through WASM frames (or as WASM traps), and after such an unwind the instance may
// hold leaked or inconsistent heap state, so we throw it away and instantiate a fresh one before the next call.
import codecsPackage from 'dcmjs-codecs';
import { PixelDecodeError } from './errors.js';

const { NativeCodecs, Context } = codecsPackage;

let initialising: Promise<void> | undefined;
let needsFreshInstance = false;

/** Makes sure a usable codec instance exists (first call compiles the ~4 MB WASM module). */
export async function ensureCodecs(): Promise<void> {
  if (!needsFreshInstance && NativeCodecs.isInitialized()) return;
  if (!initialising) {
    needsFreshInstance = false;
    initialising = NativeCodecs.initializeAsync({ logCodecsInfo: false, logCodecsTrace: false })
      .catch((err: unknown) => {
        throw new PixelDecodeError('codec', `could not initialise the WASM codecs: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      })
      .finally(() => {
        initialising = undefined;
      });
  }
  return initialising;
}

export type CodecName = 'jpeg' | 'jpeg-ls' | 'j2k' | 'htj2k' | 'rle';

export interface CodecInput {
  encoded: Uint8Array;
  width: number;
  height: number;
  /** 8 or 16: the container the codec writes each sample into. */
  bitsAllocated: number;
  bitsStored: number;
  samplesPerPixel: number;
  signed: boolean;
}

export interface CodecOutput {
  width: number;
  height: number;
  data: Uint8Array;
}

/**
 * Decodes one frame synchronously. The codec returns raw samples: no colour conversion is requested (JPEG colour
 * space is decided by the caller from the codestream), output is pixel-interleaved except JPEG-LS with
 * interleave mode 0 (planes) and little-endian for 16-bit containers.
 */
export function runCodec(codec: CodecName, input: CodecInput, frame: number, label: string): CodecOutput {
  if (!NativeCodecs.isInitialized()) throw new PixelDecodeError('codec', 'WASM codecs not initialised', { frame });
  const ctx = new Context({
    width: input.width,
    height: input.height,
    bitsAllocated: input.bitsAllocated,
    bitsStored: input.bitsStored,
    samplesPerPixel: input.samplesPerPixel,
    pixelRepresentation: input.signed ? 1 : 0,
    planarConfiguration: 0, // asks the RLE decoder for interleaved output; ignored by the others
    // Only used by the codec for its own colour handling, which we switch off; any valid value will do.
    photometricInterpretation: input.samplesPerPixel === 3 ? 'RGB' : 'MONOCHROME2',
    encodedBuffer: input.encoded,
  });
  let out: InstanceType<typeof Context>;
  try {
    switch (codec) {
      case 'jpeg':
        out = NativeCodecs.decodeJpeg(ctx, { convertColorspaceToRgb: false });
        break;
      case 'jpeg-ls':
        out = NativeCodecs.decodeJpegLs(ctx, {});
        break;
      case 'j2k':
        out = NativeCodecs.decodeJpeg2000(ctx, {});
        break;
      case 'htj2k':
        out = NativeCodecs.decodeHtJpeg2000(ctx, {});
        break;
      case 'rle':
        out = NativeCodecs.decodeRle(ctx, {});
        break;
    }
  } catch (err) {
    // Heap state after an exception unwound the WASM stack is not trustworthy: start over next time.
    needsFreshInstance = true;
    const detail = (err instanceof Error ? err.message : String(err)).trim().replace(/\s+/g, ' ');
    // Name the common case plainly: the codec ran out of data.
    if (/too short|premature|truncat|end of (file|stream|data)|not enough (data|bytes)|source.*(short|small)/i.test(detail)) {
      throw new PixelDecodeError('truncated', `${label} codestream truncated or inconsistent (${detail})`, { frame, cause: err });
    }
    throw new PixelDecodeError('codec', `${label} decoder failed: ${detail}`, { frame, cause: err });
  }
  const data = out.getDecodedBuffer();
  if (!data) throw new PixelDecodeError('codec', `${label} decoder returned no data`, { frame });
  return { width: out.getWidth() ?? input.width, height: out.getHeight() ?? input.height, data };
}
