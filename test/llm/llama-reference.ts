// A plain-JavaScript llama forward pass with Hugging Face semantics (rotate_half RoPE on the un-permuted q/k
// weights): the independent reference the GGUF export is checked against through llama.cpp.
import type { LlamaConfig, LlamaWeights } from '../../src/llm/gguf/llama.js';

function matvec(w: Float32Array, x: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += w[r * cols + c]! * x[c]!;
    out[r] = s;
  }
  return out;
}

function rmsnorm(x: Float64Array, w: Float32Array, eps: number): Float64Array {
  let ss = 0;
  for (const v of x) ss += v * v;
  const scale = 1 / Math.sqrt(ss / x.length + eps);
  return x.map((v, i) => v * scale * w[i]!);
}

function ropeHf(v: Float64Array, nHeads: number, headDim: number, pos: number, theta: number): void {
  const half = headDim / 2;
  for (let h = 0; h < nHeads; h++) {
    for (let i = 0; i < half; i++) {
      const a = h * headDim + i;
      const b = a + half;
      const t = pos * theta ** ((-2 * i) / headDim);
      const [x, y] = [v[a]!, v[b]!];
      v[a] = x * Math.cos(t) - y * Math.sin(t);
      v[b] = y * Math.cos(t) + x * Math.sin(t);
    }
  }
}

/** Logits of the next token after `tokens` (full recomputation; fine for the tiny model). */
export function referenceLogits(c: LlamaConfig, w: LlamaWeights, tokens: readonly number[]): Float64Array {
  const headDim = c.nEmbd / c.nHead;
  const kvDim = headDim * c.nHeadKv;
  const group = c.nHead / c.nHeadKv;
  const get = (name: string): Float32Array => {
    const t = w[name];
    if (!t) throw new Error(`missing ${name}`);
    return t;
  };
  let xs = tokens.map((t) => Float64Array.from(get('token_embd.weight').subarray(t * c.nEmbd, (t + 1) * c.nEmbd)));
  for (let l = 0; l < c.nLayer; l++) {
    const p = `blk.${l}.`;
    const hs = xs.map((x) => rmsnorm(x, get(`${p}attn_norm.weight`), c.rmsEps));
    const qs = hs.map((h, pos) => {
      const q = matvec(get(`${p}attn_q.weight`), h, c.nEmbd, c.nEmbd);
      ropeHf(q, c.nHead, headDim, pos, c.ropeTheta);
      return q;
    });
    const ks = hs.map((h, pos) => {
      const k = matvec(get(`${p}attn_k.weight`), h, kvDim, c.nEmbd);
      ropeHf(k, c.nHeadKv, headDim, pos, c.ropeTheta);
      return k;
    });
    const vs = hs.map((h) => matvec(get(`${p}attn_v.weight`), h, kvDim, c.nEmbd));
    xs = xs.map((x, pos) => {
      const attn = new Float64Array(c.nEmbd);
      for (let h = 0; h < c.nHead; h++) {
        const kvh = Math.floor(h / group);
        const scores: number[] = [];
        for (let j = 0; j <= pos; j++) {
          let s = 0;
          for (let d = 0; d < headDim; d++) s += qs[pos]![h * headDim + d]! * ks[j]![kvh * headDim + d]!;
          scores.push(s / Math.sqrt(headDim));
        }
        const m = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - m));
        const z = e.reduce((a, b) => a + b, 0);
        for (let j = 0; j <= pos; j++) {
          for (let d = 0; d < headDim; d++) attn[h * headDim + d]! += (e[j]! / z) * vs[j]![kvh * headDim + d]!;
        }
      }
      const o = matvec(get(`${p}attn_output.weight`), attn, c.nEmbd, c.nEmbd);
      const x1 = x.map((v, i) => v + o[i]!);
      const h2 = rmsnorm(x1, get(`${p}ffn_norm.weight`), c.rmsEps);
      const g = matvec(get(`${p}ffn_gate.weight`), h2, c.nFf, c.nEmbd);
      const u = matvec(get(`${p}ffn_up.weight`), h2, c.nFf, c.nEmbd);
      const act = g.map((gv, i) => (gv / (1 + Math.exp(-gv))) * u[i]!);
      const down = matvec(get(`${p}ffn_down.weight`), act, c.nEmbd, c.nFf);
      return x1.map((v, i) => v + down[i]!);
    });
  }
  const last = rmsnorm(xs[xs.length - 1]!, get('output_norm.weight'), c.rmsEps);
  return matvec(w['output.weight'] ?? get('token_embd.weight'), last, c.nVocab, c.nEmbd);
}

export function softmax(logits: Float64Array): Float64Array {
  const m = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

export function argmax(xs: Float64Array): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i]! > xs[best]!) best = i;
  return best;
}
