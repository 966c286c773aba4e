import { GgufFormatError } from './types.js';

/**
 * Which pairing of rotary dimensions a q/k projection weight was trained with.
 * - 'hf': Hugging Face / PyTorch `rotate_half` (NeoX style): within each head, dimension i pairs with i + headDim/2.
 * - 'llamacpp': llama.cpp's LLAMA rope (ggml rope mode 0): within each head, dimension 2i pairs with 2i + 1.
 */
export type RopeLayout = 'hf' | 'llamacpp';

function check(weight: Float32Array, nHead: number, rows: number, cols: number): number {
  if (weight.length !== rows * cols) throw new GgufFormatError(`rope permute: ${weight.length} values is not ${rows}x${cols}`);
  if (nHead < 1 || rows % nHead !== 0) throw new GgufFormatError(`rope permute: ${rows} rows do not split into ${nHead} heads`);
  const headDim = rows / nHead;
  if (headDim % 2 !== 0) throw new GgufFormatError(`rope permute: head dimension ${headDim} is odd`);
  return headDim;
}

/**
 * Reorders the output rows of a q or k weight (row-major [nHead * headDim, cols]) from the 'hf' pairing to the
 * 'llamacpp' pairing: within each head, new row 2i + j = old row j * headDim/2 + i (j in {0, 1}). This is the
 * reshape(nHead, 2, headDim/2, cols).swapaxes(1, 2) of llama.cpp's convert_hf_to_gguf.py. For k pass nHeadKv.
 * The attention scores are unchanged: both rotate the same pairs by the same angles, only the storage order moves.
 */
export function permuteForRope(weight: Float32Array, nHead: number, rows: number, cols: number): Float32Array {
  const headDim = check(weight, nHead, rows, cols);
  const half = headDim / 2;
  const out = new Float32Array(weight.length);
  for (let h = 0; h < nHead; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const src = h * headDim + j * half + i;
        const dst = h * headDim + 2 * i + j;
        out.set(weight.subarray(src * cols, (src + 1) * cols), dst * cols);
      }
    }
  }
  return out;
}

/** The inverse of permuteForRope: 'llamacpp' pairing back to 'hf'. */
export function unpermuteFromRope(weight: Float32Array, nHead: number, rows: number, cols: number): Float32Array {
  const headDim = check(weight, nHead, rows, cols);
  const half = headDim / 2;
  const out = new Float32Array(weight.length);
  for (let h = 0; h < nHead; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const src = h * headDim + 2 * i + j;
        const dst = h * headDim + j * half + i;
        out.set(weight.subarray(src * cols, (src + 1) * cols), dst * cols);
      }
    }
  }
  return out;
}
