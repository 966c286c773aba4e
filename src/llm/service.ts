// The gateway's one language model: loaded once at start (src/llm/llama-runtime.ts), shared by the narrative stage
// and the case dialogue. Generations run one at a time in arrival order; past llm.maxQueue waiting requests a new
// one is refused (LlmBusyError, HTTP 503) instead of queueing without end. Queue length, speed and outcomes go to
// /metrics. No prompt or answer text is logged: both can hold findings of a patient.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { DEFAULT_LLM_MODEL } from '../config/schema.js';
import type { Metrics } from '../metrics/registry.js';
import { PROJECT_ROOT } from '../project-root.js';
import type { ChatMessage } from './chat-format.js';
import { loadLlmRuntime, type LlmGeneration, type LlmRuntime } from './llama-runtime.js';
import type { LlamaGrammar } from 'node-llama-cpp';

export type LlmConfig = Config['llm'];
export type LlmPurpose = 'narrative' | 'dialogue' | 'evaluation';

/** Too many requests already wait for the model. */
export class LlmBusyError extends Error {
  override name = 'LlmBusyError';
}

export interface GenerateRequest {
  purpose: LlmPurpose;
  messages: readonly ChatMessage[];
  grammar?: LlamaGrammar;
  maxTokens?: number;
  /** Overrides llm.temperature (a retry after a failed guard samples instead of repeating the same answer). */
  temperature?: number;
  seed?: number;
  signal?: AbortSignal;
  onTextChunk?: (text: string) => void;
}

export class LlmService {
  private waiting = 0;

  private constructor(
    readonly runtime: LlmRuntime,
    /** "name version" as the GGUF's general.name and general.version say (the report names its writer). */
    readonly modelName: string,
    private readonly config: LlmConfig,
    private readonly metrics: Metrics | undefined,
  ) {}

  /**
   * Loads the configured model. The bundled model missing (not built yet): undefined, and the reports use the
   * deterministic narrative. A model path the site configured that does not exist or does not load: an error that
   * stops the start with the reason.
   */
  static async open(config: LlmConfig, logger: Logger, metrics?: Metrics): Promise<LlmService | undefined> {
    if (!config.enabled) return undefined;
    const file = path.resolve(PROJECT_ROOT, config.modelPath);
    if (!existsSync(file)) {
      if (config.modelPath === DEFAULT_LLM_MODEL) {
        logger.warn({ modelPath: config.modelPath }, 'the bundled LLM is not built: reports use the deterministic narrative and the case dialogue is unavailable');
        return undefined;
      }
      throw new Error(`llm.modelPath ${config.modelPath} does not exist (${file})`);
    }
    const runtime = await loadLlmRuntime({
      modelPath: file, gpu: config.gpu === 'auto' ? 'auto' : false, threads: config.threads, contextSize: config.contextSize,
    });
    const meta = (runtime.model.fileInfo.metadata as { general?: { name?: string; version?: string } }).general ?? {};
    const modelName = [meta.name ?? path.basename(file, '.gguf'), meta.version].filter(Boolean).join(' ');
    logger.info({ model: modelName, gpu: runtime.gpu, threads: runtime.threads, contextSize: runtime.contextSize, chatWrapper: runtime.chatWrapperName }, 'LLM loaded');
    return new LlmService(runtime, modelName, config, metrics);
  }

  get queueLength(): number {
    return this.waiting;
  }

  async generate(req: GenerateRequest): Promise<LlmGeneration> {
    if (this.waiting > this.config.maxQueue) throw new LlmBusyError(`the language model is busy: ${this.waiting} requests are waiting`);
    this.waiting++;
    this.metrics?.llmQueueLength.set(this.waiting);
    try {
      const g = await this.runtime.generate(req.messages, {
        temperature: req.temperature ?? this.config.temperature,
        ...(req.seed !== undefined ? { seed: req.seed } : {}),
        maxTokens: req.maxTokens ?? this.config.maxTokens,
        timeoutMs: this.config.timeoutSeconds * 1000,
        ...(req.signal ? { signal: req.signal } : {}),
        ...(req.grammar ? { grammar: req.grammar } : {}),
        ...(req.onTextChunk ? { onTextChunk: req.onTextChunk } : {}),
      });
      this.metrics?.llmGenerations.inc({ purpose: req.purpose, outcome: 'ok' });
      this.metrics?.llmTokens.inc({ kind: 'prompt' }, g.promptTokens);
      this.metrics?.llmTokens.inc({ kind: 'completion' }, g.completionTokens);
      if (g.tokensPerSecond > 0) this.metrics?.llmTokensPerSecond.set(g.tokensPerSecond);
      if (g.timeToFirstTokenMs !== null) this.metrics?.llmTimeToFirstToken.observe(g.timeToFirstTokenMs / 1000);
      return g;
    } catch (err) {
      this.metrics?.llmGenerations.inc({ purpose: req.purpose, outcome: (err as Error).name || 'error' });
      throw err;
    } finally {
      this.waiting--;
      this.metrics?.llmQueueLength.set(this.waiting);
    }
  }

  /**
   * The sampling of a second attempt: at temperature 0 the first answer would only come back again. A narrative
   * samples hotter (1.0): its grammar fixes every value, and at 0.7 the bundled model, sure of itself, repeated its
   * failed comment on real photographs' findings (one fixture study passed 2 of 6 seeded retries at 0.7, 3 of 6 at
   * 1.0; the other fixture studies passed at every temperature). A free dialogue answer stays at 0.7.
   */
  retrySampling(purpose: 'narrative' | 'dialogue' = 'dialogue'): { temperature: number; seed: number } {
    return { temperature: Math.max(this.config.temperature, purpose === 'narrative' ? 1.0 : 0.7), seed: 1 };
  }

  async close(): Promise<void> {
    await this.runtime.dispose();
  }
}
