// A tiny random-weight llama written by the project's own writer: the fixture that exercises the GGUF and
// node-llama-cpp plumbing in seconds. Its output is noise; only determinism and the tokenizer are meaningful.
import { CHAT_TOKENS, CHATML_TEMPLATE } from '../chat-format.js';
import { type LlamaConfig, type LlamaGgufInput, llamaTensorShapes, writeLlamaGguf } from './llama.js';
import { byteFallbackTokens, type VocabEntry } from './vocab.js';
import { rng } from '../seeded-random.js';

export interface TinyLlamaOptions {
  seed?: number;
  weightType?: 'F32' | 'Q8_0';
  /** Larger random models for benchmarks (bench/llm-threads.ts); the vocabulary stays the tiny one. */
  config?: Partial<Omit<LlamaConfig, 'nVocab'>>;
}


function gaussian(next: () => number, n: number, std: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = Math.max(next(), 1e-12);
    const v = next();
    const r = Math.sqrt(-2 * Math.log(u)) * std;
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

const WORDS = [
  'the', 'and', 'of', 'in', 'eye', 'left', 'right', 'retina', 'retinopathy', 'diabetic', 'macular', 'oedema',
  'glaucoma', 'cataract', 'optic', 'disc', 'cup', 'haemorrhage', 'exudate', 'microaneurysm', 'referral', 'grade',
  'mild', 'moderate', 'severe', 'no', 'signs', 'of', 'fundus', 'photograph', 'patient', 'ophthalmologist', 'is',
  'with', 'present', 'absent', 'normal', 'report', 'findings', 'impression', 'recommendation',
];

/** SentencePiece-style vocabulary: control tokens, the 256 byte tokens, single characters, then word prefixes. */
export function tinyVocab(): VocabEntry[] {
  const entries: VocabEntry[] = [
    { text: CHAT_TOKENS.unk, score: 0, type: 'unknown' },
    { text: CHAT_TOKENS.bos, score: 0, type: 'control' },
    { text: CHAT_TOKENS.eos, score: 0, type: 'control' },
    { text: CHAT_TOKENS.imStart, score: 0, type: 'control' },
    { text: CHAT_TOKENS.imEnd, score: 0, type: 'control' },
    ...byteFallbackTokens(),
  ];
  const seen = new Set(entries.map((e) => e.text));
  const add = (text: string): void => {
    if (seen.has(text)) return;
    seen.add(text);
    entries.push({ text, score: -entries.length, type: 'normal' });
  };
  add('\u2581');
  for (let c = 0x21; c < 0x7f; c++) add(String.fromCharCode(c));
  // Every prefix of "▁word" is a piece, so llama.cpp's pairwise merges can always reach the whole word.
  for (const w of WORDS) {
    const piece = `\u2581${w}`;
    for (let len = 2; len <= piece.length; len++) add(piece.slice(0, len));
  }
  return entries;
}

export const TINY_LLAMA_SEED = 20261128;

/** Builds the tiny model: n_embd 64, 2 layers, 4 heads (2 KV heads, so GQA and the k permutation are exercised). */
export function makeTinyLlama(options: TinyLlamaOptions = {}): LlamaGgufInput {
  const entries = tinyVocab();
  const config: LlamaConfig = {
    nVocab: entries.length,
    nEmbd: 64,
    nLayer: 2,
    nHead: 4,
    nHeadKv: 2,
    nFf: 192,
    contextLength: 512,
    ropeTheta: 10000,
    rmsEps: 1e-5,
    ...options.config,
  };
  const next = rng(options.seed ?? TINY_LLAMA_SEED);
  const weights: Record<string, Float32Array> = {};
  for (const [name, shape] of llamaTensorShapes(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    // Norm weights at 1 as after initialisation; matrices large enough that greedy decoding has clear winners.
    weights[name] = shape.length === 1 ? new Float32Array(n).fill(1) : gaussian(next, n, name === 'token_embd.weight' ? 1 : 0.15);
  }
  // Zero output rows give the control tokens a logit of 0 while some random logit is always higher, so greedy
  // decoding never ends the answer: tests get exactly maxTokens tokens whatever the prompt.
  const output = weights['output.weight']!;
  entries.forEach((e, id) => {
    if (e.type === 'control' || e.type === 'unknown') output.fill(0, id * config.nEmbd, (id + 1) * config.nEmbd);
  });
  return {
    config,
    tokenizer: {
      entries,
      unkId: 0,
      bosId: 1,
      eosId: 2,
      addBos: true,
      chatTemplate: CHATML_TEMPLATE,
    },
    weights,
    qkLayout: 'hf',
    weightType: options.weightType ?? 'Q8_0',
    name: 'ophgate-tiny-random',
  };
}

export async function writeTinyLlamaGguf(path: string, options: TinyLlamaOptions = {}): Promise<{ bytes: number }> {
  return writeLlamaGguf(path, makeTinyLlama(options));
}
