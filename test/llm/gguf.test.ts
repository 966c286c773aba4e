import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readGgufFileInfo } from 'node-llama-cpp';
import { afterAll, describe, expect, it } from 'vitest';
import { float16BitsToFloat32, float32ToFloat16Bits } from '../../src/llm/gguf/fp16.js';
import { buildLlamaGguf, llamaTensorShapes } from '../../src/llm/gguf/llama.js';
import { dequantizeQ8_0, quantizeQ8_0 } from '../../src/llm/gguf/q8_0.js';
import { parseGguf, readGguf, readTensorData } from '../../src/llm/gguf/reader.js';
import { permuteForRope, unpermuteFromRope } from '../../src/llm/gguf/rope.js';
import { makeTinyLlama, writeTinyLlamaGguf } from '../../src/llm/gguf/tiny.js';
import { GgufFormatError, GgufValueType } from '../../src/llm/gguf/types.js';
import { encodeGguf, gguf, type GgufWriteInput, writeGguf } from '../../src/llm/gguf/writer.js';

const dir = mkdtempSync(join(tmpdir(), 'ophgate-gguf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function seq(n: number, f: (i: number) => number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => f(i));
}

const sample: GgufWriteInput = {
  metadata: {
    'general.architecture': gguf.str('test'),
    'test.u32': gguf.u32(4_000_000_000),
    'test.i32': gguf.i32(-7),
    'test.f32': gguf.f32(0.1),
    'test.bool': gguf.bool(true),
    'test.string': gguf.str('naïve ✓ 日本'),
    'test.strings': gguf.strings(['a', '', '▁b']),
    'test.f32s': gguf.f32s([1.5, -2.25]),
    'test.i32s': gguf.i32s([-1, 0, 2147483647]),
  },
  tensors: [
    // 3 rows of 5: odd byte length, so the next tensor needs padding.
    { name: 'a.weight', shape: [3, 5], type: 'F32', data: seq(15, (i) => i - 7.5) },
    { name: 'b.weight', shape: [2, 64], type: 'Q8_0', data: seq(128, (i) => Math.sin(i) * (i + 1)) },
    { name: 'c.bias', shape: [7], type: 'F32', data: seq(7, (i) => i) },
  ],
};

describe('GGUF writer and reader', () => {
  it('writes the v3 header and reads every metadata type back with its GGUF type', () => {
    const bytes = encodeGguf(sample);
    expect(Buffer.from(bytes.subarray(0, 4)).toString('latin1')).toBe('GGUF');
    const f = parseGguf(bytes);
    expect(f.version).toBe(3);
    expect(f.metadata.get('test.u32')).toBe(4_000_000_000);
    expect(f.metadata.get('test.i32')).toBe(-7);
    expect(f.metadata.get('test.f32')).toBeCloseTo(0.1, 7);
    expect(f.metadata.get('test.bool')).toBe(true);
    expect(f.metadata.get('test.string')).toBe('naïve ✓ 日本');
    expect(f.metadata.get('test.strings')).toEqual(['a', '', '▁b']);
    expect(f.metadata.get('test.f32s')).toEqual([1.5, -2.25]);
    expect(f.metadata.get('test.i32s')).toEqual([-1, 0, 2147483647]);
    expect(f.metadata.get('general.alignment')).toBe(32);
    expect(f.metadataTypes.get('test.u32')).toEqual({ type: GgufValueType.uint32 });
    expect(f.metadataTypes.get('test.i32')).toEqual({ type: GgufValueType.int32 });
    expect(f.metadataTypes.get('test.bool')).toEqual({ type: GgufValueType.bool });
    expect(f.metadataTypes.get('test.strings')).toEqual({ type: GgufValueType.array, itemType: GgufValueType.string });
    expect(f.metadataTypes.get('test.i32s')).toEqual({ type: GgufValueType.array, itemType: GgufValueType.int32 });
    expect(f.metadataTypes.get('general.alignment')).toEqual({ type: GgufValueType.uint32 });
  });

  it('stores dimensions in ggml order (reversed), aligns every offset and the data section, and keeps F32 exact', () => {
    const f = parseGguf(encodeGguf(sample));
    expect(f.tensors.map((t) => [t.name, t.ne, t.type])).toEqual([
      ['a.weight', [5, 3], 'F32'],
      ['b.weight', [64, 2], 'Q8_0'],
      ['c.bias', [7], 'F32'],
    ]);
    expect(f.dataOffset % 32).toBe(0);
    expect(f.tensors.map((t) => t.offset)).toEqual([0, 64, 224]); // 60 bytes of F32 padded to 64; 4 Q8_0 blocks = 136 bytes, 200 padded to 224;
    expect(f.bytes.length % 32).toBe(0);
    expect(readTensorData(f, 'a.weight')).toEqual(sample.tensors[0]!.data);
    expect(readTensorData(f, 'c.bias')).toEqual(sample.tensors[2]!.data);
  });

  it('honours a larger alignment and records it', () => {
    const f = parseGguf(encodeGguf({ ...sample, alignment: 64 }));
    expect(f.alignment).toBe(64);
    expect(f.dataOffset % 64).toBe(0);
    expect(f.tensors.map((t) => t.offset)).toEqual([0, 64, 256]);
  });

  it("is read alike by node-llama-cpp's own GGUF parser", async () => {
    const path = join(dir, 'sample.gguf');
    await writeGguf(path, sample);
    const info = await readGgufFileInfo(path, { readTensorInfo: true });
    expect(info.version).toBe(3);
    const md = info.metadata as unknown as Record<string, Record<string, unknown>>;
    expect(md.test!.string).toBe('naïve ✓ 日本');
    expect(md.test!.strings).toEqual(['a', '', '▁b']);
    expect(md.general!.alignment).toBe(32);
    const ours = (await readGguf(path)).tensors;
    expect(info.tensorInfo?.map((t) => [t.name, t.dimensions.map(Number), Number(t.offset)])).toEqual(
      ours.map((t) => [t.name, t.ne, t.offset]),
    );
  });

  it('refuses bad input with a message naming the problem', () => {
    const bad = (t: Partial<GgufWriteInput['tensors'][number]>): (() => Uint8Array) => () =>
      encodeGguf({ metadata: {}, tensors: [{ name: 'x', shape: [1, 32], type: 'F32', data: new Float32Array(32), ...t }] });
    expect(bad({ shape: [32, 31], data: new Float32Array(32 * 31), type: 'Q8_0' })).toThrow(/innermost dimension \(31\)/);
    expect(bad({ shape: [2, 32] })).toThrow(/needs 64 values, got 32/);
    expect(bad({ name: 'n'.repeat(64) })).toThrow(/must be 1\.\.63 bytes/);
    expect(bad({ data: seq(32, (i) => (i === 3 ? NaN : 0)) })).toThrow(/value at 3 is not finite/);
    expect(() => encodeGguf({ metadata: { k: gguf.u32(-1) }, tensors: [] })).toThrow(/metadata k: -1 is out of range/);
    expect(() => encodeGguf({ metadata: { 'general.alignment': gguf.u32(64) }, tensors: [] })).toThrow(GgufFormatError);
    const dup = { name: 'x', shape: [1], type: 'F32' as const, data: new Float32Array(1) };
    expect(() => encodeGguf({ metadata: {}, tensors: [dup, dup] })).toThrow(/duplicate tensor name x/);
    expect(() => parseGguf(new Uint8Array(16))).toThrow(/bad magic/);
    expect(() => parseGguf(encodeGguf(sample).subarray(0, 100))).toThrow(/truncated/);
  });
});

describe('fp16 and Q8_0', () => {
  it('converts float32 to fp16 with round-to-nearest-even, subnormals and overflow', () => {
    expect(float32ToFloat16Bits(1)).toBe(0x3c00);
    expect(float32ToFloat16Bits(-2)).toBe(0xc000);
    expect(float32ToFloat16Bits(65504)).toBe(0x7bff);
    expect(float32ToFloat16Bits(65520)).toBe(0x7c00); // halfway past the largest half rounds to Inf
    expect(float32ToFloat16Bits(0.1)).toBe(0x2e66);
    expect(float32ToFloat16Bits(2 ** -24)).toBe(0x0001);
    expect(float32ToFloat16Bits(2 ** -25)).toBe(0x0000); // a tie rounds to even (zero)
    expect(float32ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie between 1 and 1+2^-10: even
    expect(float32ToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    for (const bits of [0x0001, 0x03ff, 0x0400, 0x3555, 0x7bff, 0xfbff]) {
      expect(float32ToFloat16Bits(float16BitsToFloat32(bits))).toBe(bits);
    }
  });

  it("quantises like ggml's quantize_row_q8_0_ref: scale max/127 in fp16, C roundf (halves away from zero)", () => {
    const block = seq(32, (i) => i - 16);
    block[31] = 127; // scale exactly 1, so x * (1/d) = x and the halves below are exact ties
    block[0] = -2.5;
    block[1] = 2.5;
    block[2] = -0.5;
    const q = quantizeQ8_0(block);
    expect(q.length).toBe(34);
    expect(new DataView(q.buffer).getUint16(0, true)).toBe(0x3c00);
    const ints = new Int8Array(q.buffer, 2, 32);
    expect([ints[0], ints[1], ints[2], ints[3], ints[31]]).toEqual([-3, 3, -1, -13, 127]);
    expect(Array.from(dequantizeQ8_0(quantizeQ8_0(new Float32Array(32)), 32))).toEqual(new Array(32).fill(0));
  });

  it('dequantises within max|x|/127 per block', () => {
    let s = 12345;
    const rand = (): number => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
    const data = seq(32 * 50, (i) => rand() * 10 ** ((i >> 5) % 5 - 2)); // blocks of very different magnitudes
    const back = dequantizeQ8_0(quantizeQ8_0(data), data.length);
    for (let b = 0; b < 50; b++) {
      const block = data.subarray(b * 32, b * 32 + 32);
      const amax = Math.max(...Array.from(block, Math.abs));
      for (let i = 0; i < 32; i++) expect(Math.abs(back[b * 32 + i]! - block[i]!)).toBeLessThanOrEqual(amax / 127);
    }
  });
});

describe('RoPE permutation', () => {
  const rowIds = (w: Float32Array): number[] => Array.from(w);

  it('moves the rotate_half pairs (i, i + d/2) next to each other, per head', () => {
    // One value per row: the row's own index, so the result reads as the row order.
    expect(rowIds(permuteForRope(seq(8, (i) => i), 1, 8, 1))).toEqual([0, 4, 1, 5, 2, 6, 3, 7]);
    expect(rowIds(permuteForRope(seq(8, (i) => i), 2, 8, 1))).toEqual([0, 2, 1, 3, 4, 6, 5, 7]);
    // head dimension 4 is the one size where the permutation is its own inverse
    const w4 = seq(4, (i) => i);
    expect(rowIds(permuteForRope(permuteForRope(w4, 1, 4, 1), 1, 4, 1))).toEqual([0, 1, 2, 3]);
    expect(rowIds(permuteForRope(permuteForRope(seq(8, (i) => i), 1, 8, 1), 1, 8, 1))).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('unpermuteFromRope inverts it, whole rows moving together', () => {
    const w = seq(16 * 3, (i) => i * 0.5);
    expect(unpermuteFromRope(permuteForRope(w, 2, 16, 3), 2, 16, 3)).toEqual(w);
    expect(permuteForRope(unpermuteFromRope(w, 4, 16, 3), 4, 16, 3)).toEqual(w);
    expect(Array.from(permuteForRope(w, 2, 16, 3).subarray(3, 6))).toEqual(Array.from(w.subarray(4 * 3, 5 * 3)));
    expect(() => permuteForRope(w, 3, 16, 3)).toThrow(/do not split into 3 heads/);
  });

  it('gives the same attention scores: HF rotate_half on the original weights = llama.cpp pairs on the permuted ones', () => {
    const nHead = 2, headDim = 8, cols = 5, theta = 10000;
    const wq = seq(nHead * headDim * cols, (i) => Math.sin(i * 1.3));
    const wk = seq(nHead * headDim * cols, (i) => Math.cos(i * 0.7));
    const x = seq(cols, (i) => i - 2);
    const y = seq(cols, (i) => 1 / (i + 1));
    const matvec = (w: Float32Array, v: Float32Array): number[] =>
      Array.from({ length: nHead * headDim }, (_, r) => v.reduce((s, vi, c) => s + w[r * cols + c]! * vi, 0));
    const freq = (i: number): number => theta ** ((-2 * i) / headDim);
    const ropeHf = (v: number[], pos: number): number[] => {
      const out = v.slice();
      for (let h = 0; h < nHead; h++) for (let i = 0; i < headDim / 2; i++) {
        const a = h * headDim + i, b = a + headDim / 2, t = pos * freq(i);
        out[a] = v[a]! * Math.cos(t) - v[b]! * Math.sin(t);
        out[b] = v[b]! * Math.cos(t) + v[a]! * Math.sin(t);
      }
      return out;
    };
    const ropeLlamaCpp = (v: number[], pos: number): number[] => {
      const out = v.slice();
      for (let h = 0; h < nHead; h++) for (let i = 0; i < headDim / 2; i++) {
        const a = h * headDim + 2 * i, b = a + 1, t = pos * freq(i);
        out[a] = v[a]! * Math.cos(t) - v[b]! * Math.sin(t);
        out[b] = v[b]! * Math.cos(t) + v[a]! * Math.sin(t);
      }
      return out;
    };
    const scores = (q: number[], k: number[]): number[] =>
      Array.from({ length: nHead }, (_, h) => q.slice(h * headDim, (h + 1) * headDim).reduce((s, qi, i) => s + qi * k[h * headDim + i]!, 0));
    const hf = scores(ropeHf(matvec(wq, x), 7), ropeHf(matvec(wk, y), 3));
    const pq = permuteForRope(wq, nHead, nHead * headDim, cols);
    const pk = permuteForRope(wk, nHead, nHead * headDim, cols);
    const cpp = scores(ropeLlamaCpp(matvec(pq, x), 7), ropeLlamaCpp(matvec(pk, y), 3));
    cpp.forEach((s, h) => expect(s).toBeCloseTo(hf[h]!, 4));
    // and without the permutation the scores differ: the permutation is what makes them agree
    const wrong = scores(ropeLlamaCpp(matvec(wq, x), 7), ropeLlamaCpp(matvec(wk, y), 3));
    expect(Math.abs(wrong[0]! - hf[0]!)).toBeGreaterThan(1e-3);
  });
});

describe('llama GGUF', () => {
  it('writes the llama keys, tokenizer and tensors llama.cpp reads', async () => {
    const path = join(dir, 'tiny.gguf');
    const { bytes } = await writeTinyLlamaGguf(path);
    expect(bytes).toBeLessThan(400_000);
    const f = await readGguf(path);
    const m = f.metadata;
    expect(m.get('general.architecture')).toBe('llama');
    expect(m.get('llama.embedding_length')).toBe(64);
    expect(m.get('llama.block_count')).toBe(2);
    expect(m.get('llama.attention.head_count')).toBe(4);
    expect(m.get('llama.attention.head_count_kv')).toBe(2);
    expect(m.get('llama.rope.dimension_count')).toBe(16);
    expect(m.get('llama.feed_forward_length')).toBe(192);
    expect(m.get('llama.context_length')).toBe(512);
    expect(m.get('llama.rope.freq_base')).toBe(10000);
    expect(m.get('llama.attention.layer_norm_rms_epsilon')).toBeCloseTo(1e-5, 10);
    expect(m.get('tokenizer.ggml.model')).toBe('llama');
    expect(m.get('tokenizer.ggml.add_space_prefix')).toBe(false);
    expect(m.get('tokenizer.ggml.add_bos_token')).toBe(true);
    expect(m.get('tokenizer.chat_template')).toContain('<|im_start|>');
    const tokens = m.get('tokenizer.ggml.tokens') as string[];
    const types = m.get('tokenizer.ggml.token_type') as number[];
    expect((m.get('tokenizer.ggml.scores') as number[]).length).toBe(tokens.length);
    expect(tokens.length).toBe(m.get('llama.vocab_size'));
    const byteIds = tokens.flatMap((t, i) => (/^<0x[0-9A-F]{2}>$/.test(t) ? [i] : []));
    expect(byteIds.length).toBe(256);
    expect(byteIds.every((i) => types[i] === 6)).toBe(true);
    expect(tokens[m.get('tokenizer.ggml.bos_token_id') as number]).toBe('<s>');
    expect(tokens[m.get('tokenizer.ggml.eos_token_id') as number]).toBe('</s>');
    expect(types[tokens.indexOf('<|im_end|>')]).toBe(3);

    const input = makeTinyLlama();
    const shapes = llamaTensorShapes(input.config);
    expect(f.tensors.map((t) => t.name).sort()).toEqual([...shapes.keys()].sort());
    for (const t of f.tensors) {
      expect(t.shape).toEqual(shapes.get(t.name));
      expect(t.type).toBe(t.shape.length === 1 ? 'F32' : 'Q8_0');
    }
    expect(f.tensors.find((t) => t.name === 'blk.0.attn_k.weight')!.ne).toEqual([64, 32]);
  });

  it("permutes q and k of 'hf' weights (k by the KV head count) and leaves 'llamacpp' ones alone", () => {
    const input = { ...makeTinyLlama(), weightType: 'F32' as const };
    const q = input.weights['blk.1.attn_q.weight']!;
    const k = input.weights['blk.1.attn_k.weight']!;
    const v = input.weights['blk.1.attn_v.weight']!;
    const read = (layout: 'hf' | 'llamacpp', name: string): Float32Array =>
      readTensorData(parseGguf(encodeGguf(buildLlamaGguf({ ...input, qkLayout: layout }))), name);
    expect(read('hf', 'blk.1.attn_q.weight')).toEqual(permuteForRope(q, 4, 64, 64));
    expect(read('hf', 'blk.1.attn_k.weight')).toEqual(permuteForRope(k, 2, 32, 64));
    expect(read('hf', 'blk.1.attn_v.weight')).toEqual(v);
    expect(read('llamacpp', 'blk.1.attn_q.weight')).toEqual(q);
  });

  it('refuses a vocabulary without the byte tokens, a wrong shape and an unknown tensor', () => {
    const input = makeTinyLlama();
    const noBytes = input.tokenizer.entries.filter((e) => e.text !== '<0x0A>');
    expect(() => buildLlamaGguf({ ...input, tokenizer: { ...input.tokenizer, entries: noBytes } })).toThrow(/<0x0A> is missing/);
    expect(() => buildLlamaGguf({ ...input, weights: { ...input.weights, 'blk.0.ffn_up.weight': new Float32Array(5) } })).toThrow(
      /blk\.0\.ffn_up\.weight: expected \[192, 64\]/,
    );
    expect(() => buildLlamaGguf({ ...input, weights: { ...input.weights, 'blk.9.attn_q.weight': new Float32Array(1) } })).toThrow(
      /unknown llama tensor blk\.9/,
    );
    const { ['output.weight']: _, ...tied } = input.weights;
    expect(parseGguf(encodeGguf(buildLlamaGguf({ ...input, weights: tied }))).tensors.some((t) => t.name === 'output.weight')).toBe(false);
  });
});
