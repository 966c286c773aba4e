import { float16BitsToFloat32, float32ToFloat16Bits } from './fp16.js';
import { GgufFormatError, Q8_0_BLOCK_BYTES, Q8_0_BLOCK_SIZE } from './types.js';

const fround = Math.fround;

/** C's roundf: halves go away from zero (Math.round sends -2.5 to -2). */
function roundf(v: number): number {
  return v < 0 ? -Math.round(-v) : Math.round(v);
}

/**
 * Quantises to Q8_0 exactly as ggml's quantize_row_q8_0_ref: per block of 32, d = max|x| / 127 (in float32),
 * q = roundf(x * (1/d)), and d stored as fp16. Arithmetic is kept in float32 with Math.fround so the bytes match ggml's.
 */
export function quantizeQ8_0(values: Float32Array): Uint8Array {
  if (values.length % Q8_0_BLOCK_SIZE !== 0) {
    throw new GgufFormatError(`Q8_0 needs a multiple of ${Q8_0_BLOCK_SIZE} values, got ${values.length}`);
  }
  const nBlocks = values.length / Q8_0_BLOCK_SIZE;
  const out = new Uint8Array(nBlocks * Q8_0_BLOCK_BYTES);
  const view = new DataView(out.buffer);
  for (let b = 0; b < nBlocks; b++) {
    const base = b * Q8_0_BLOCK_SIZE;
    let amax = 0;
    for (let i = 0; i < Q8_0_BLOCK_SIZE; i++) {
      const v = values[base + i]!;
      if (!Number.isFinite(v)) throw new GgufFormatError(`Q8_0: value ${v} at index ${base + i} is not finite`);
      amax = Math.max(amax, Math.abs(v));
    }
    const d = fround(amax / 127);
    const id = d !== 0 ? fround(1 / d) : 0;
    const o = b * Q8_0_BLOCK_BYTES;
    view.setUint16(o, float32ToFloat16Bits(d), true);
    for (let i = 0; i < Q8_0_BLOCK_SIZE; i++) {
      view.setInt8(o + 2 + i, roundf(fround(values[base + i]! * id)));
    }
  }
  return out;
}

export function dequantizeQ8_0(bytes: Uint8Array, count: number): Float32Array {
  if (count % Q8_0_BLOCK_SIZE !== 0 || bytes.length < (count / Q8_0_BLOCK_SIZE) * Q8_0_BLOCK_BYTES) {
    throw new GgufFormatError(`Q8_0: ${bytes.length} bytes cannot hold ${count} values`);
  }
  const out = new Float32Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let b = 0; b < count / Q8_0_BLOCK_SIZE; b++) {
    const o = b * Q8_0_BLOCK_BYTES;
    const d = float16BitsToFloat32(view.getUint16(o, true));
    for (let i = 0; i < Q8_0_BLOCK_SIZE; i++) out[b * Q8_0_BLOCK_SIZE + i] = d * view.getInt8(o + 2 + i);
  }
  return out;
}
