// Writes the tiny random-weight llama fixture: `tsx scripts/make-tiny-gguf.ts OUT.gguf [--seed N] [--f32]`.
import { writeTinyLlamaGguf, TINY_LLAMA_SEED } from '../src/llm/gguf/tiny.js';

const args = process.argv.slice(2);
const out = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--seed');
const seedAt = args.indexOf('--seed');
const seed = seedAt >= 0 ? Number(args[seedAt + 1]) : TINY_LLAMA_SEED;
if (!out || !Number.isInteger(seed)) {
  console.error('usage: tsx scripts/make-tiny-gguf.ts OUT.gguf [--seed N] [--f32]');
  process.exit(2);
}
const { bytes } = await writeTinyLlamaGguf(out, { seed, weightType: args.includes('--f32') ? 'F32' : 'Q8_0' });
console.log(`wrote ${out} (${bytes} bytes, seed ${seed})`);
