import { permuteForRope, type RopeLayout } from './rope.js';
import { checkSpmVocab, type VocabEntry } from './vocab.js';
import { type GgufTensorInput, type GgufValue, type GgufWriteInput, gguf, writeGguf } from './writer.js';
import { GgufFormatError, LlamaFileType, TokenType } from './types.js';

export { permuteForRope, unpermuteFromRope, type RopeLayout } from './rope.js';

export interface LlamaConfig {
  nVocab: number;
  nEmbd: number;
  nLayer: number;
  nHead: number;
  nHeadKv: number;
  nFf: number;
  contextLength: number;
  ropeTheta: number;
  rmsEps: number;
}

export interface LlamaTokenizer {
  /** Token id order is the list order. A SentencePiece-style vocabulary: see checkSpmVocab. */
  entries: readonly VocabEntry[];
  bosId: number;
  eosId: number;
  unkId: number;
  padId?: number;
  addBos: boolean;
  addEos?: boolean;
  /** Jinja template stored as tokenizer.chat_template (node-llama-cpp picks its chat wrapper from it). */
  chatTemplate: string;
}

/** Weights keyed by llama.cpp tensor name, row-major float32 in PyTorch's [out, in] orientation. */
export type LlamaWeights = Readonly<Record<string, Float32Array>>;

export interface LlamaGgufInput {
  config: LlamaConfig;
  tokenizer: LlamaTokenizer;
  weights: LlamaWeights;
  /** Pairing the q/k weights were trained with; 'hf' ones are permuted to llama.cpp's order on the way out. */
  qkLayout: RopeLayout;
  /** Type of the 2-D matrices; norms stay F32 whatever this says (llama.cpp expects F32 norm weights). */
  weightType: 'F32' | 'Q8_0';
  name?: string;
  /** Added after the llama keys, e.g. provenance under general.*; may not replace a key the writer sets. */
  extraMetadata?: Readonly<Record<string, GgufValue>>;
}

/** Row-major shapes of every tensor llama.cpp's LLM_ARCH_LLAMA loader reads (output.weight optional: tied). */
export function llamaTensorShapes(c: LlamaConfig): Map<string, number[]> {
  const headDim = c.nEmbd / c.nHead;
  const kvDim = headDim * c.nHeadKv;
  const shapes = new Map<string, number[]>();
  shapes.set('token_embd.weight', [c.nVocab, c.nEmbd]);
  for (let l = 0; l < c.nLayer; l++) {
    shapes.set(`blk.${l}.attn_norm.weight`, [c.nEmbd]);
    shapes.set(`blk.${l}.attn_q.weight`, [c.nEmbd, c.nEmbd]);
    shapes.set(`blk.${l}.attn_k.weight`, [kvDim, c.nEmbd]);
    shapes.set(`blk.${l}.attn_v.weight`, [kvDim, c.nEmbd]);
    shapes.set(`blk.${l}.attn_output.weight`, [c.nEmbd, c.nEmbd]);
    shapes.set(`blk.${l}.ffn_norm.weight`, [c.nEmbd]);
    shapes.set(`blk.${l}.ffn_gate.weight`, [c.nFf, c.nEmbd]);
    shapes.set(`blk.${l}.ffn_up.weight`, [c.nFf, c.nEmbd]);
    shapes.set(`blk.${l}.ffn_down.weight`, [c.nEmbd, c.nFf]);
  }
  shapes.set('output_norm.weight', [c.nEmbd]);
  shapes.set('output.weight', [c.nVocab, c.nEmbd]);
  return shapes;
}

function checkConfig(c: LlamaConfig): void {
  const ints: (keyof LlamaConfig)[] = ['nVocab', 'nEmbd', 'nLayer', 'nHead', 'nHeadKv', 'nFf', 'contextLength'];
  for (const k of ints) {
    if (!Number.isInteger(c[k]) || c[k] < 1) throw new GgufFormatError(`llama config: ${k} must be a positive integer`);
  }
  if (c.nEmbd % c.nHead !== 0) throw new GgufFormatError(`llama config: nEmbd ${c.nEmbd} is not divisible by nHead ${c.nHead}`);
  if ((c.nEmbd / c.nHead) % 2 !== 0) throw new GgufFormatError('llama config: head dimension must be even for RoPE');
  if (c.nHead % c.nHeadKv !== 0) throw new GgufFormatError(`llama config: nHead ${c.nHead} is not a multiple of nHeadKv ${c.nHeadKv}`);
  if (!(c.ropeTheta > 0) || !(c.rmsEps > 0)) throw new GgufFormatError('llama config: ropeTheta and rmsEps must be positive');
}

/** Builds the writer input for a llama-architecture model; the caller writes it with writeGguf or encodeGguf. */
export function buildLlamaGguf(input: LlamaGgufInput): GgufWriteInput {
  const { config: c, tokenizer: t } = input;
  checkConfig(c);
  checkSpmVocab(t.entries);
  if (t.entries.length !== c.nVocab) throw new GgufFormatError(`vocab has ${t.entries.length} tokens, config says ${c.nVocab}`);
  for (const [k, id] of [['bos', t.bosId], ['eos', t.eosId], ['unknown', t.unkId], ['padding', t.padId]] as const) {
    if (id !== undefined && (!Number.isInteger(id) || id < 0 || id >= c.nVocab)) {
      throw new GgufFormatError(`${k} token id ${id} is outside the vocabulary`);
    }
  }

  const shapes = llamaTensorShapes(c);
  for (const name of Object.keys(input.weights)) {
    if (!shapes.has(name)) throw new GgufFormatError(`unknown llama tensor ${name}`);
  }
  const headDim = c.nEmbd / c.nHead;
  const tensors: GgufTensorInput[] = [];
  for (const [name, shape] of shapes) {
    let data = input.weights[name];
    if (data === undefined) {
      if (name === 'output.weight') continue; // llama.cpp reuses token_embd.weight (tied embeddings)
      throw new GgufFormatError(`missing llama tensor ${name}`);
    }
    const n = shape.reduce((a, b) => a * b, 1);
    if (data.length !== n) throw new GgufFormatError(`tensor ${name}: expected [${shape.join(', ')}] = ${n} values, got ${data.length}`);
    if (input.qkLayout === 'hf') {
      if (name.endsWith('.attn_q.weight')) data = permuteForRope(data, c.nHead, shape[0]!, shape[1]!);
      else if (name.endsWith('.attn_k.weight')) data = permuteForRope(data, c.nHeadKv, shape[0]!, shape[1]!);
    }
    tensors.push({ name, shape, data, type: shape.length === 1 ? 'F32' : input.weightType });
  }

  const md: Record<string, GgufValue> = {
    'general.architecture': gguf.str('llama'),
    'general.name': gguf.str(input.name ?? 'llama'),
    'general.file_type': gguf.u32(input.weightType === 'Q8_0' ? LlamaFileType.mostlyQ8_0 : LlamaFileType.allF32),
    'general.quantization_version': gguf.u32(2),
    'llama.context_length': gguf.u32(c.contextLength),
    'llama.embedding_length': gguf.u32(c.nEmbd),
    'llama.block_count': gguf.u32(c.nLayer),
    'llama.feed_forward_length': gguf.u32(c.nFf),
    'llama.attention.head_count': gguf.u32(c.nHead),
    'llama.attention.head_count_kv': gguf.u32(c.nHeadKv),
    'llama.rope.dimension_count': gguf.u32(headDim),
    'llama.attention.layer_norm_rms_epsilon': gguf.f32(c.rmsEps),
    'llama.rope.freq_base': gguf.f32(c.ropeTheta),
    'llama.vocab_size': gguf.u32(c.nVocab),
    // SentencePiece-style: scores drive llama.cpp's merge order and <0xXX> tokens are the byte fallback.
    'tokenizer.ggml.model': gguf.str('llama'),
    'tokenizer.ggml.tokens': gguf.strings(t.entries.map((e) => e.text)),
    'tokenizer.ggml.scores': gguf.f32s(t.entries.map((e) => e.score)),
    'tokenizer.ggml.token_type': gguf.i32s(t.entries.map((e) => TokenType[e.type])),
    'tokenizer.ggml.bos_token_id': gguf.u32(t.bosId),
    'tokenizer.ggml.eos_token_id': gguf.u32(t.eosId),
    'tokenizer.ggml.unknown_token_id': gguf.u32(t.unkId),
    ...(t.padId !== undefined ? { 'tokenizer.ggml.padding_token_id': gguf.u32(t.padId) } : {}),
    'tokenizer.ggml.add_bos_token': gguf.bool(t.addBos),
    'tokenizer.ggml.add_eos_token': gguf.bool(t.addEos ?? false),
    // llama.cpp's SPM tokenizer otherwise prepends "▁" to the text, so "Hi" would not round-trip to "Hi".
    'tokenizer.ggml.add_space_prefix': gguf.bool(false),
    'tokenizer.chat_template': gguf.str(t.chatTemplate),
  };
  for (const [k, v] of Object.entries(input.extraMetadata ?? {})) {
    if (k in md || k === 'general.alignment') throw new GgufFormatError(`extraMetadata may not replace ${k}`);
    md[k] = v;
  }
  return { metadata: md, tensors };
}

export async function writeLlamaGguf(path: string, input: LlamaGgufInput): Promise<{ bytes: number }> {
  return writeGguf(path, buildLlamaGguf(input));
}
