// The export is right only if llama.cpp computes what the trained (Hugging Face-style) model computes: next-token
// probabilities from node-llama-cpp on the written GGUF are compared with a plain-JavaScript forward pass.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getLlama, type Llama, type LlamaModel, type Token } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeLlamaGguf, type LlamaGgufInput } from '../../src/llm/gguf/llama.js';
import { makeTinyLlama } from '../../src/llm/gguf/tiny.js';
import { argmax, referenceLogits, softmax } from './llama-reference.js';

const dir = mkdtempSync(join(tmpdir(), 'ophgate-llm-fwd-'));
let llama: Llama;
beforeAll(async () => {
  llama = await getLlama({ gpu: false, build: 'never', skipDownload: true, maxThreads: 1, progressLogs: false });
});
afterAll(async () => {
  await llama?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** Largest |log p_ref - log p_got| over the vocabulary: sharper than probabilities on a flat distribution. */
function maxLogProbDiff(ref: Float64Array, got: Float64Array): number {
  let d = 0;
  for (let i = 0; i < ref.length; i++) d = Math.max(d, Math.abs(Math.log(ref[i]!) - Math.log(got[i]!)));
  return d;
}

/** Next-token probabilities from llama.cpp after `tokens` (temperature 1, no truncation). */
async function engineProbs(model: LlamaModel, tokens: Token[], nVocab: number): Promise<Float64Array> {
  const context = await model.createContext({ contextSize: 256, threads: 1 });
  try {
    const seq = context.getSequence();
    const it = seq.evaluateWithMetadata(tokens, { probabilities: true }, { temperature: 1, topK: nVocab, topP: 1, minP: 0 });
    const first = await it.next();
    await it.return();
    if (first.done) throw new Error('no token evaluated');
    const out = new Float64Array(nVocab);
    expect(first.value.probabilities.size).toBe(nVocab);
    for (const [tok, p] of first.value.probabilities) out[tok] = p;
    return out;
  } finally {
    await context.dispose();
  }
}

async function load(name: string, input: LlamaGgufInput): Promise<LlamaModel> {
  const path = join(dir, `${name}.gguf`);
  await writeLlamaGguf(path, input);
  return llama.loadModel({ modelPath: path });
}

describe('llama.cpp computes what the exported weights mean', () => {
  const input = makeTinyLlama({ weightType: 'F32', seed: 7 });
  // BOS and ten or more tokens of text (word pieces and single characters).
  const promptOf = (model: LlamaModel): Token[] => {
    const tokens = [model.tokens.bos!, ...model.tokenize(' left eye: mild (cup) 42')];
    expect(tokens.length).toBeGreaterThanOrEqual(10);
    return tokens;
  };

  it('F32, q/k permuted from the Hugging Face layout: the same next-token distribution at every prefix', async () => {
    const model = await load('f32', input);
    try {
      const prompt = promptOf(model);
      for (const len of [1, 2, 5, prompt.length]) {
        const ref = softmax(referenceLogits(input.config, input.weights, prompt.slice(0, len)));
        const got = await engineProbs(model, prompt.slice(0, len), input.config.nVocab);
        expect(argmax(got)).toBe(argmax(ref));
        const d = maxLogProbDiff(ref, got);
        console.log(`[llm] F32 prefix ${len}: max |Δ log p| ${d.toExponential(2)}`);
        expect(d).toBeLessThan(1e-2); // ~1e-3 seen: llama.cpp keeps the KV cache in F16
      }
    } finally {
      await model.dispose();
    }
  });

  it('without the permutation the distribution departs once positions differ (what the permutation fixes)', async () => {
    const model = await load('unpermuted', { ...input, qkLayout: 'llamacpp' }); // HF weights written as if already llama.cpp order
    try {
      const prompt = promptOf(model);
      const ref = softmax(referenceLogits(input.config, input.weights, prompt));
      const got = await engineProbs(model, prompt, input.config.nVocab);
      const d = maxLogProbDiff(ref, got);
      console.log(`[llm] unpermuted q/k: max |Δ log p| ${d.toExponential(2)}`);
      expect(d).toBeGreaterThan(0.5); // 2.3 seen
    } finally {
      await model.dispose();
    }
  });

  it('Q8_0 stays close to the float reference', async () => {
    const model = await load('q8', { ...input, weightType: 'Q8_0' });
    try {
      const prompt = promptOf(model);
      const ref = softmax(referenceLogits(input.config, input.weights, prompt));
      const got = await engineProbs(model, prompt, input.config.nVocab);
      const d = maxLogProbDiff(ref, got);
      console.log(`[llm] Q8_0 vs float reference: max |Δ log p| ${d.toExponential(2)}, top token p ${ref[argmax(ref)]!.toFixed(3)}`);
      expect(d).toBeLessThan(0.3); // 0.1 seen: Q8_0 weights, and ggml also quantises the activations to Q8 for the dot products
    } finally {
      await model.dispose();
    }
  });
});
