// node-llama-cpp 3.21.1 (prebuilt CPU binary) on the tiny random-weight GGUF from the project's own writer.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChatMLChatWrapper, type ChatHistoryItem, type LlamaText, resolveChatWrapper, SpecialToken, SpecialTokensText } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChatMessage, type ChatSegment, renderChat, renderChatSegments } from '../../src/llm/chat-format.js';
import { tinyVocab, writeTinyLlamaGguf } from '../../src/llm/gguf/tiny.js';
import { LlmAbortedError, LlmContextOverflowError, type LlmRuntime, LlmTimeoutError, loadLlmRuntime, toNodeLlamaHistory } from '../../src/llm/llama-runtime.js';

const dir = mkdtempSync(join(tmpdir(), 'ophgate-llm-'));
const modelPath = join(dir, 'tiny.gguf');
let rt2: LlmRuntime;

beforeAll(async () => {
  await writeTinyLlamaGguf(modelPath);
  rt2 = await loadLlmRuntime({ modelPath, gpu: false, threads: 2, contextSize: 512 });
});
afterAll(async () => {
  await rt2?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const ask: ChatMessage[] = [
  { role: 'system', content: 'You write fundus reports.' },
  { role: 'user', content: 'Left eye: moderate diabetic retinopathy?' },
];

const conversations: Record<string, ChatMessage[]> = {
  'system and user': ask,
  'user only': [{ role: 'user', content: 'hello' }],
  'multi-turn': [
    ...ask,
    { role: 'assistant', content: 'Moderate non-proliferative diabetic retinopathy, left eye.' },
    { role: 'user', content: 'Is it urgent?\nAnswer briefly.' },
  ],
  'consecutive system messages, UTF-8 and leading spaces': [
    { role: 'system', content: 'Rule one.' },
    { role: 'system', content: ' Rule two: naïve “quotes” 日本.' },
    { role: 'user', content: '  two leading spaces' },
  ],
};

function toSegments(text: LlamaText): ChatSegment[] {
  return text.values.map((v): ChatSegment => {
    if (typeof v === 'string') return { kind: 'text', text: v };
    if (v instanceof SpecialTokensText) return { kind: 'special', text: v.value };
    if (v instanceof SpecialToken && v.value === 'BOS') return { kind: 'bos' };
    throw new Error(`unexpected LlamaText value ${JSON.stringify(v)}`);
  });
}

/** What LlamaChatSession hands its chat wrapper for the next answer: the history plus an empty model turn. */
function nodeLlamaPromptHistory(messages: ChatMessage[]): ChatHistoryItem[] {
  return [...toNodeLlamaHistory(messages), { type: 'model', response: [] }];
}

describe('node-llama-cpp loads the GGUF written by the project writer', () => {
  it('picks its ChatML wrapper from the chat template and reads the special tokens', () => {
    expect(rt2.chatWrapperName).toBe('ChatML');
    expect(resolveChatWrapper(rt2.model)).toBeInstanceOf(ChatMLChatWrapper);
    expect(rt2.gpu).toBe(false);
    expect(rt2.model.tokens.bos).toBe(1);
    expect(rt2.model.tokens.eos).toBe(2);
    expect(rt2.model.tokens.bosString).toBe('<s>');
  });

  it('round-trips ASCII and UTF-8 text through tokenize/detokenize (byte tokens, no space prefix)', () => {
    for (const text of [
      'hello world',
      'Left eye',
      ' leading space',
      '  two spaces\tand a tab\nnew line',
      'naïve café — “grade 2” ✓',
      '視神経乳頭 日本語',
      'emoji 👁️ and 🩺',
      '<0x41> is not a byte token when typed',
    ]) {
      const tokens = rt2.tokenize(text);
      expect(rt2.detokenize(tokens)).toBe(text);
    }
    // A character outside the vocabulary becomes its UTF-8 bytes as <0xXX> tokens, not <unk>.
    const vocab = tinyVocab().map((e) => e.text);
    expect(rt2.tokenize('日')).toEqual(['<0xE6>', '<0x97>', '<0xA5>'].map((t) => vocab.indexOf(t)));
    // Words merge into the word pieces by score, "▁" standing for the space; no "▁" is added at the start.
    expect(rt2.tokenize(' retina')).toEqual([vocab.indexOf('\u2581retina')]);
    expect(rt2.tokenize('left')[0]).toBe(vocab.indexOf('l'));
  });

  it('generates at temperature 0 deterministically, with 1 and with 2 threads', async () => {
    const rt1 = await loadLlmRuntime({ modelPath, gpu: false, threads: 1, contextSize: 512 });
    try {
      const opts = { temperature: 0, maxTokens: 24, timeoutMs: 30_000 };
      const a1 = await rt1.generate(ask, opts);
      const b1 = await rt1.generate(ask, opts);
      const a2 = await rt2.generate(ask, opts);
      const b2 = await rt2.generate(ask, opts);
      for (const g of [a1, a2]) {
        expect(g.completionTokens).toBe(24);
        expect(g.stopReason).toBe('maxTokens');
        expect(g.text.length).toBeGreaterThan(0);
        expect(g.timeToFirstTokenMs).toBeGreaterThan(0);
        expect(g.tokensPerSecond).toBeGreaterThan(0);
      }
      expect(b1.text).toBe(a1.text);
      expect(b2.text).toBe(a2.text);
      expect(rt1.threads).toBe(1);
      expect(rt2.threads).toBe(2);
      console.log(`[llm] 1 thread: ${JSON.stringify(a1.text)}\n[llm] 2 threads: ${JSON.stringify(a2.text)}`);
    } finally {
      await rt1.dispose();
    }
  });

  it("loads with gpu 'auto' too (a GPU build where one works, else the CPU) and generates", async () => {
    const rt = await loadLlmRuntime({ modelPath, gpu: 'auto', threads: 1, contextSize: 512 });
    try {
      const g = await rt.generate(ask, { temperature: 0, maxTokens: 4, timeoutMs: 60_000 });
      expect(g.completionTokens).toBe(4);
      console.log(`[llm] gpu 'auto' chose ${rt.gpu} with devices ${JSON.stringify(rt.gpuDevices)}`);
    } finally {
      await rt.dispose();
    }
  });

  it('streams the text it returns', async () => {
    let streamed = '';
    const g = await rt2.generate(ask, { temperature: 0, maxTokens: 12, timeoutMs: 30_000, onTextChunk: (t) => (streamed += t) });
    expect(streamed).toBe(g.text);
  });

  it('throws LlmTimeoutError when the time limit passes and LlmAbortedError when the caller aborts', async () => {
    await expect(rt2.generate(ask, { temperature: 0, maxTokens: 400, timeoutMs: 1 })).rejects.toBeInstanceOf(LlmTimeoutError);
    const ac = new AbortController();
    ac.abort();
    await expect(rt2.generate(ask, { temperature: 0, maxTokens: 8, timeoutMs: 30_000, signal: ac.signal })).rejects.toBeInstanceOf(
      LlmAbortedError,
    );
    await expect(rt2.generate([{ role: 'user', content: 'x'.repeat(600) }], { temperature: 0, maxTokens: 4, timeoutMs: 30_000 })).rejects.toBeInstanceOf(
      LlmContextOverflowError,
    );
    // and the runtime still works afterwards
    expect((await rt2.generate(ask, { temperature: 0, maxTokens: 4, timeoutMs: 30_000 })).completionTokens).toBe(4);
    await expect(rt2.generate([{ role: 'system', content: 'x' }], { temperature: 0, maxTokens: 4, timeoutMs: 1000 })).rejects.toThrow(
      /must end with a user message/,
    );
  });
});

describe('chat layout: renderChat equals what node-llama-cpp feeds the model', () => {
  for (const [name, messages] of Object.entries(conversations)) {
    it(`${name}: same segments and same tokens as ChatMLChatWrapper`, () => {
      const wrapper = resolveChatWrapper(rt2.model);
      const { contextText } = wrapper.generateContextState({ chatHistory: nodeLlamaPromptHistory(messages) });
      expect(renderChatSegments(messages, { mode: 'prompt' })).toEqual(toSegments(contextText));
      expect(rt2.tokenize(renderChat(messages, { mode: 'prompt' }), { specialTokens: true })).toEqual(
        contextText.tokenize(rt2.model.tokenizer),
      );
    });
  }

  it('the prompt tokens in the context after a real generation are exactly renderChat(..., prompt) tokenised', async () => {
    for (const messages of Object.values(conversations)) {
      const g = await rt2.generate(messages, { temperature: 0, maxTokens: 3, timeoutMs: 30_000 });
      const expected = rt2.tokenize(renderChat(messages, { mode: 'prompt' }), { specialTokens: true });
      expect(g.promptTokens).toBe(expected.length);
      expect(rt2.contextTokens().slice(0, expected.length)).toEqual(expected);
      expect(expected.filter((t) => t === 1)).toHaveLength(1); // one BOS, not two
    }
  });

  it('a transcript (training example) is the prefix node-llama-cpp feeds on the next turn, answer closed by <|im_end|>', () => {
    const messages = conversations['multi-turn']!;
    const answer: ChatMessage = { role: 'assistant', content: 'Refer within weeks.' };
    const transcript = renderChat([...messages, answer], { mode: 'transcript' });
    expect(transcript.endsWith('Refer within weeks.<|im_end|>\n')).toBe(true);
    const next = [...messages, answer, { role: 'user' as const, content: 'Thanks' }];
    expect(renderChat(next, { mode: 'prompt' }).startsWith(transcript)).toBe(true);
    const wrapper = resolveChatWrapper(rt2.model);
    const nextTokens = wrapper.generateContextState({ chatHistory: nodeLlamaPromptHistory(next) }).contextText.tokenize(rt2.model.tokenizer);
    const transcriptTokens = rt2.tokenize(transcript, { specialTokens: true });
    expect(nextTokens.slice(0, transcriptTokens.length)).toEqual(transcriptTokens);
    // and the prompt mode equals the transcript up to the open assistant turn
    expect(transcript.startsWith(renderChat(messages, { mode: 'prompt' }))).toBe(true);
  });
});

describe('throughput on the tiny model (printed, not asserted)', () => {
  it('measures tokens/s for 1, 2 and node-llama-cpp default threads', { timeout: 300_000 }, async () => {
    const rows: string[] = [];
    for (const threads of [1, 2, 'library-default'] as const) {
      const rt = await loadLlmRuntime({ modelPath, gpu: false, threads, contextSize: 512 });
      try {
        await rt.generate(ask, { temperature: 0, maxTokens: 4, timeoutMs: 120_000 }); // warm-up
        // The library default has run ~100x slower on 2 cores: fewer tokens there keep the test short.
        const [n, maxTokens] = threads === 'library-default' ? [1, 16] : [3, 64];
        const runs = [];
        for (let i = 0; i < n; i++) runs.push(await rt.generate(ask, { temperature: 0, maxTokens, timeoutMs: 120_000 }));
        const median = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
        const tps = median(runs.map((r) => r.tokensPerSecond));
        const ttft = median(runs.map((r) => r.timeToFirstTokenMs ?? NaN));
        rows.push(`threads=${threads} (effective ${rt.threads}): ${n}x${maxTokens} tokens, median ${tps.toFixed(1)} tokens/s, time to first token ${ttft.toFixed(1)} ms (prompt ${runs[0]!.promptTokens} tokens)`);
      } catch (err) {
        rows.push(`threads=${threads}: ${(err as Error).message}`);
      } finally {
        await rt.dispose();
      }
    }
    console.log(`[llm throughput, tiny model]\n${rows.join('\n')}`);
    expect(rows).toHaveLength(3);
  });
});
