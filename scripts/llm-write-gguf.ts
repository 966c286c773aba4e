// Writes a trained OphGate chat model to GGUF with the project's own writer (src/llm/gguf/llama.ts):
//
//   npx tsx scripts/llm-write-gguf.ts EXPORT_DIR OUT.gguf [--f32]
//
// EXPORT_DIR is what models/llm/export.py writes: config.json (ophgate-llama-export/1: llama config, qkLayout,
// tensor index into weights.bin), weights.bin (little-endian float32, PyTorch [out, in] row-major) and
// tokenizer.json (ophgate-tokenizer/1: pieces, scores, types in id order, special ids). Q8_0 by default.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { CHATML_TEMPLATE } from '../src/llm/chat-format.js';
import { writeLlamaGguf, type LlamaGgufInput } from '../src/llm/gguf/llama.js';
import { gguf } from '../src/llm/gguf/writer.js';

const exportSchema = z.object({
  format: z.literal('ophgate-llama-export/1'),
  name: z.string().min(1),
  config: z.object({
    nVocab: z.number().int(), nEmbd: z.number().int(), nLayer: z.number().int(), nHead: z.number().int(),
    nHeadKv: z.number().int(), nFf: z.number().int(), contextLength: z.number().int(), ropeTheta: z.number(), rmsEps: z.number(),
  }),
  qkLayout: z.enum(['hf', 'llamacpp']),
  tiedEmbeddings: z.boolean(),
  dtype: z.literal('float32-le'),
  tensors: z.array(z.object({ name: z.string(), shape: z.array(z.number().int()), offset: z.number().int(), bytes: z.number().int() })),
  parameters: z.number().int().optional(),
  size: z.string().nullable().optional(),
  provenance: z.record(z.string(), z.unknown()).optional(),
});

const tokenizerSchema = z.object({
  format: z.literal('ophgate-tokenizer/1'),
  model: z.literal('llama'),
  addSpacePrefix: z.literal(false),
  addBos: z.boolean(),
  addEos: z.boolean(),
  bosId: z.number().int(),
  eosId: z.number().int(),
  unkId: z.number().int(),
  entries: z.array(z.object({ text: z.string(), score: z.number(), type: z.enum(['normal', 'unknown', 'control', 'userDefined', 'unused', 'byte']) })),
});

export function readExport(dir: string, weightType: 'F32' | 'Q8_0' = 'Q8_0'): LlamaGgufInput {
  const cfg = exportSchema.parse(JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')));
  const tok = tokenizerSchema.parse(JSON.parse(readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')));
  const raw = readFileSync(path.join(dir, 'weights.bin'));
  const weights: Record<string, Float32Array> = {};
  for (const t of cfg.tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (t.bytes !== n * 4 || t.offset + t.bytes > raw.length) throw new Error(`${dir}: tensor ${t.name} does not fit weights.bin`);
    // Copy: the Buffer's offset need not be 4-byte aligned, and the weights must be little-endian float32 whatever the host.
    const view = new DataView(raw.buffer, raw.byteOffset + t.offset, t.bytes);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = view.getFloat32(i * 4, true);
    weights[t.name] = data;
  }
  if (cfg.tiedEmbeddings && weights['output.weight']) throw new Error(`${dir}: tiedEmbeddings but output.weight is present`);
  const provenance = Object.fromEntries(Object.entries(cfg.provenance ?? {})
    .filter(([, v]) => typeof v === 'string' || typeof v === 'number')
    .map(([k, v]) => [`ophgate.training.${k}`, typeof v === 'string' ? gguf.str(v) : gguf.str(String(v))]));
  return {
    config: cfg.config,
    tokenizer: {
      entries: tok.entries,
      bosId: tok.bosId,
      eosId: tok.eosId,
      unkId: tok.unkId,
      addBos: tok.addBos,
      addEos: tok.addEos,
      chatTemplate: CHATML_TEMPLATE,
    },
    weights,
    qkLayout: cfg.qkLayout,
    weightType,
    name: cfg.name,
    extraMetadata: provenance,
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const [dir, out] = args.filter((a) => !a.startsWith('--'));
  if (!dir || !out) {
    console.error('usage: tsx scripts/llm-write-gguf.ts EXPORT_DIR OUT.gguf [--f32]');
    process.exit(2);
  }
  const { bytes } = await writeLlamaGguf(out, readExport(dir, args.includes('--f32') ? 'F32' : 'Q8_0'));
  console.log(`wrote ${out} (${bytes} bytes)`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) await main();
