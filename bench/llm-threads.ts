// Tokens/s of node-llama-cpp on random llama models of the sizes the issue names, for 1, 2 and the library's default
// thread count, to choose the default by measurement: `npx tsx bench/llm-threads.ts [--quick]`.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChatMessage } from '../src/llm/chat-format.js';
import { makeTinyLlama } from '../src/llm/gguf/tiny.js';
import { writeLlamaGguf } from '../src/llm/gguf/llama.js';
import { loadLlmRuntime, type LlmRuntimeOptions } from '../src/llm/llama-runtime.js';

const sizes = {
  tiny: {},
  '2M': { nEmbd: 192, nLayer: 4, nHead: 6, nHeadKv: 6, nFf: 512 },
  '7M': { nEmbd: 320, nLayer: 6, nHead: 5, nHeadKv: 5, nFf: 864 },
} as const;

const messages: ChatMessage[] = [
  { role: 'system', content: 'You are an assistant that writes fundus photograph reports for ophthalmologists.' },
  {
    role: 'user',
    content:
      'Findings: left eye moderate non-proliferative diabetic retinopathy with scattered microaneurysms, ' +
      'dot haemorrhages and hard exudates; right eye no signs of retinopathy; optic discs normal. Write the report.',
  },
];

const dir = mkdtempSync(join(tmpdir(), 'ophgate-llm-bench-'));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), node-llama-cpp prebuilt CPU build`);
console.log('model | params | threads | prompt tokens | time to first token ms | decode tokens/s');
try {
  for (const [name, config] of Object.entries(sizes)) {
    const input = makeTinyLlama({ config });
    const params = Object.values(input.weights).reduce((n, w) => n + w.length, 0);
    const path = join(dir, `${name}.gguf`);
    await writeLlamaGguf(path, input);
    for (const threads of [1, 2, 'library-default'] as LlmRuntimeOptions['threads'][]) {
      const rt = await loadLlmRuntime({ modelPath: path, gpu: false, threads, contextSize: 512 });
      try {
        const slow = threads === 'library-default';
        await rt.generate(messages, { temperature: 0, maxTokens: 2, timeoutMs: 300_000 });
        const runs = [];
        for (let i = 0; i < (slow ? 1 : 3); i++) {
          // A different last word each run, so the prompt's tail is evaluated again rather than served from the cache.
          const m = [...messages.slice(0, -1), { role: 'user' as const, content: `${messages[1]!.content} Run ${i}.` }];
          runs.push(await rt.generate(m, { temperature: 0, maxTokens: slow ? 16 : 64, timeoutMs: 300_000 }));
        }
        console.log(
          `${name} | ${(params / 1e6).toFixed(2)}M | ${threads} (${rt.threads}) | ${runs[0]!.promptTokens} | ` +
            `${median(runs.map((r) => r.timeToFirstTokenMs ?? NaN)).toFixed(1)} | ${median(runs.map((r) => r.tokensPerSecond)).toFixed(1)}`,
        );
      } finally {
        await rt.dispose();
      }
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
