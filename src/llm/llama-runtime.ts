// Thin, typed wrapper over node-llama-cpp 3.21.1: load a GGUF once, generate chat answers one at a time.
// The queue, configuration and HTTP live elsewhere; this module only owns the model, its context and the timing.
import {
  ChatMLChatWrapper,
  type ChatHistoryItem,
  getLlama,
  type Llama,
  type LlamaChatSession as LlamaChatSessionType,
  LlamaChatSession,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaGrammar,
  LlamaLogLevel,
  type LlamaModel,
  type Token,
} from 'node-llama-cpp';
import type { ChatMessage } from './chat-format.js';

export interface LlmRuntimeOptions {
  modelPath: string;
  /** 'auto' tries CUDA/Vulkan prebuilt binaries and falls back to the CPU; false is CPU only. */
  gpu: 'auto' | false;
  /**
   * Threads for evaluation. Set explicitly: node-llama-cpp's own default (at least 4) oversubscribes a 2-core machine
   * and has run ~100x slower there. 'library-default' exists only to measure that default.
   */
  threads: number | 'library-default';
  /** Context window in tokens (prompt and answer together). */
  contextSize: number;
  batchSize?: number;
  /** 'auto' lets node-llama-cpp pick from the GGUF's chat template (OphGate's models resolve to ChatML). */
  chatWrapper?: 'auto' | 'chatml';
  /** llama.cpp log threshold; defaults to 'warn'. */
  logLevel?: 'error' | 'warn' | 'info' | 'debug';
}

export interface LlmGenerateOptions {
  temperature: number;
  maxTokens: number;
  /** Whole-call limit; the generation is aborted and LlmTimeoutError thrown when it passes. */
  timeoutMs: number;
  /** The caller's cancellation (a closed HTTP stream); aborts with LlmAbortedError. */
  signal?: AbortSignal;
  seed?: number;
  /** Streams decoded text as it is generated. */
  onTextChunk?: (text: string) => void;
  /** Constrains the answer, e.g. from createJsonSchemaGrammar. */
  grammar?: LlamaGrammar;
}

export interface LlmGeneration {
  text: string;
  stopReason: 'eogToken' | 'stopGenerationTrigger' | 'maxTokens' | 'customStopTrigger' | 'abort' | 'functionCalls';
  /** Tokens of the rendered conversation (BOS and chat-template tokens included). */
  promptTokens: number;
  completionTokens: number;
  /** From the call to the first generated token: queueing inside node-llama-cpp plus prompt evaluation. */
  timeToFirstTokenMs: number | null;
  /** Decode speed after the first token: (completionTokens - 1) / (end - first token); 0 with fewer than 2 tokens. */
  tokensPerSecond: number;
  totalMs: number;
}

export class LlmTimeoutError extends Error {
  override name = 'LlmTimeoutError';
}
export class LlmAbortedError extends Error {
  override name = 'LlmAbortedError';
}
export class LlmContextOverflowError extends Error {
  override name = 'LlmContextOverflowError';
}

export interface LlmRuntime {
  readonly modelPath: string;
  /** The wrapper node-llama-cpp uses, e.g. "ChatML". */
  readonly chatWrapperName: string;
  /** The llama.cpp build in use: 'cuda' | 'vulkan' | 'metal' | false (CPU). */
  readonly gpu: string | false;
  /**
   * GPU devices that build found. Empty with gpu 'vulkan' means Vulkan loaded without a device (Mesa's ICDs on a
   * machine with no GPU) and everything runs on the CPU.
   */
  readonly gpuDevices: readonly string[];
  readonly threads: number;
  readonly contextSize: number;
  /** For callers that need node-llama-cpp directly (grammars, inspection). */
  readonly model: LlamaModel;
  generate(messages: readonly ChatMessage[], options: LlmGenerateOptions): Promise<LlmGeneration>;
  tokenize(text: string, options?: { specialTokens?: boolean }): Token[];
  detokenize(tokens: readonly Token[], options?: { specialTokens?: boolean }): string;
  /** The tokens currently held by the context (the last conversation and answer). */
  contextTokens(): Token[];
  createJsonSchemaGrammar(schema: Parameters<Llama['createGrammarForJsonSchema']>[0]): Promise<LlamaGrammar>;
  dispose(): Promise<void>;
}

const logLevels = {
  error: LlamaLogLevel.error,
  warn: LlamaLogLevel.warn,
  info: LlamaLogLevel.info,
  debug: LlamaLogLevel.debug,
} as const;

export function toNodeLlamaHistory(messages: readonly ChatMessage[]): ChatHistoryItem[] {
  return messages.map((m): ChatHistoryItem => {
    if (m.role === 'system') return { type: 'system', text: m.content };
    if (m.role === 'user') return { type: 'user', text: m.content };
    return { type: 'model', response: [m.content] };
  });
}

export async function loadLlmRuntime(options: LlmRuntimeOptions): Promise<LlmRuntime> {
  const explicitThreads = options.threads === 'library-default' ? undefined : options.threads;
  if (explicitThreads !== undefined && (!Number.isInteger(explicitThreads) || explicitThreads < 1)) {
    throw new RangeError(`threads must be a positive integer, got ${explicitThreads}`);
  }
  if (!Number.isInteger(options.contextSize) || options.contextSize < 16) {
    throw new RangeError(`contextSize must be an integer of at least 16, got ${options.contextSize}`);
  }
  const llama = await getLlama({
    gpu: options.gpu,
    // Prebuilt binaries only: never download llama.cpp sources or compile at run time.
    build: 'never',
    skipDownload: true,
    progressLogs: false,
    logLevel: logLevels[options.logLevel ?? 'warn'],
    ...(explicitThreads !== undefined ? { maxThreads: explicitThreads } : {}),
  });
  let model: LlamaModel | undefined;
  let context: LlamaContext | undefined;
  try {
    model = await llama.loadModel({ modelPath: options.modelPath });
    context = await model.createContext({
      contextSize: options.contextSize,
      sequences: 1,
      ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
      ...(explicitThreads !== undefined ? { threads: explicitThreads } : {}),
    });
  } catch (err) {
    await llama.dispose();
    throw err;
  }
  const sequence = context.getSequence();
  const chatWrapper = options.chatWrapper === 'chatml' ? new ChatMLChatWrapper() : 'auto';
  // Resolve once so the name is known and every call uses the same wrapper.
  const probe = new LlamaChatSession({ contextSequence: sequence, chatWrapper, autoDisposeSequence: false });
  const resolvedWrapper = probe.chatWrapper;
  probe.dispose({ disposeSequence: false });
  const gpuDevices = llama.gpu === false ? [] : await llama.getGpuDeviceNames();
  return new Runtime(options, llama, model, context, sequence, resolvedWrapper, explicitThreads ?? llama.maxThreads, gpuDevices);
}

class Runtime implements LlmRuntime {
  private tail: Promise<unknown> = Promise.resolve();
  readonly chatWrapperName: string;
  readonly gpu: string | false;
  readonly modelPath: string;
  readonly contextSize: number;

  constructor(
    options: LlmRuntimeOptions,
    private readonly llama: Llama,
    readonly model: LlamaModel,
    private readonly context: LlamaContext,
    private readonly sequence: LlamaContextSequence,
    private readonly chatWrapper: LlamaChatSessionType['chatWrapper'],
    readonly threads: number,
    readonly gpuDevices: readonly string[],
  ) {
    this.chatWrapperName = chatWrapper.wrapperName ?? chatWrapper.constructor.name;
    this.gpu = llama.gpu;
    this.modelPath = options.modelPath;
    this.contextSize = context.contextSize;
  }

  generate(messages: readonly ChatMessage[], options: LlmGenerateOptions): Promise<LlmGeneration> {
    // One sequence, one generation at a time: later calls wait their turn.
    const run = this.tail.then(() => this.generateNow(messages, options));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async generateNow(messages: readonly ChatMessage[], options: LlmGenerateOptions): Promise<LlmGeneration> {
    const last = messages[messages.length - 1];
    if (last === undefined || last.role !== 'user') throw new RangeError('the conversation must end with a user message');
    if (!(options.maxTokens >= 1) || !(options.timeoutMs > 0) || !(options.temperature >= 0)) {
      throw new RangeError('maxTokens >= 1, timeoutMs > 0 and temperature >= 0 are required');
    }
    const timeout = AbortSignal.timeout(options.timeoutMs);
    const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;

    const history = toNodeLlamaHistory(messages);
    // The exact prompt node-llama-cpp evaluates. One that fills the context would be cut by its context shift
    // (history silently dropped), so it is refused instead.
    const promptTokens = this.chatWrapper
      .generateContextState({ chatHistory: [...history, { type: 'model', response: [] }] })
      .contextText.tokenize(this.model.tokenizer).length;
    if (promptTokens >= this.contextSize) {
      throw new LlmContextOverflowError(`the conversation is ${promptTokens} tokens; the context holds ${this.contextSize}`);
    }
    const started = performance.now();
    const session = new LlamaChatSession({
      contextSequence: this.sequence,
      chatWrapper: this.chatWrapper,
      autoDisposeSequence: false,
    });
    const meterBefore = this.sequence.tokenMeter.usedOutputTokens;
    let firstAt: number | null = null;
    try {
      // setChatHistory replaces the session's default system prompt, so the model sees exactly `messages`.
      session.setChatHistory(history.slice(0, -1));
      const res = await session.promptWithMeta(last.content, {
        temperature: options.temperature,
        maxTokens: options.maxTokens,
        signal,
        ...(options.seed !== undefined ? { seed: options.seed } : {}),
        ...(options.grammar !== undefined ? { grammar: options.grammar } : {}),
        ...(options.onTextChunk !== undefined ? { onTextChunk: options.onTextChunk } : {}),
        // onToken comes in chunks (held back while UTF-8 bytes or a stop trigger are incomplete), so it only
        // times the first output; the count comes from the sequence's token meter.
        onToken: () => {
          firstAt ??= performance.now();
        },
      });
      const end = performance.now();
      const decodeMs = firstAt === null ? 0 : end - firstAt;
      const completionTokens = this.sequence.tokenMeter.usedOutputTokens - meterBefore;
      return {
        text: res.responseText,
        stopReason: res.stopReason,
        promptTokens,
        completionTokens,
        timeToFirstTokenMs: firstAt === null ? null : firstAt - started,
        tokensPerSecond: completionTokens > 1 && decodeMs > 0 ? ((completionTokens - 1) * 1000) / decodeMs : 0,
        totalMs: end - started,
      };
    } catch (err) {
      if (timeout.aborted) throw new LlmTimeoutError(`generation passed its ${options.timeoutMs} ms limit`);
      if (options.signal?.aborted) throw new LlmAbortedError('generation aborted by the caller');
      throw err;
    } finally {
      session.dispose({ disposeSequence: false });
    }
  }

  tokenize(text: string, options: { specialTokens?: boolean } = {}): Token[] {
    return this.model.tokenize(text, options.specialTokens ?? false);
  }

  detokenize(tokens: readonly Token[], options: { specialTokens?: boolean } = {}): string {
    return this.model.detokenize(tokens, options.specialTokens ?? false);
  }

  contextTokens(): Token[] {
    return this.sequence.contextTokens;
  }

  createJsonSchemaGrammar(schema: Parameters<Llama['createGrammarForJsonSchema']>[0]): Promise<LlamaGrammar> {
    return this.llama.createGrammarForJsonSchema(schema);
  }

  async dispose(): Promise<void> {
    await this.tail;
    await this.context.dispose();
    await this.model.dispose();
    await this.llama.dispose();
  }
}
