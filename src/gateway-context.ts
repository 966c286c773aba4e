// What the parts of a running gateway share. Built once in gateway.ts and passed down explicitly.
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import type { SqliteStore } from './store/sqlite-store.js';
import type { Metrics } from './metrics/registry.js';
import type { InstanceAcceptor } from './ingest/accept-instance.js';
import type { StudyAssembler } from './ingest/study-assembler.js';
import type { PipelineRunner } from './pipeline/runner.js';
import type { DecodePool } from './dicom/pixels/decode-pool.js';
import type { Inference } from './inference/model-registry.js';
import type { ScopeGate } from './llm/scope/gate.js';
import type { QuestionRouter } from './llm/intent/router.js';
import type { LlmService } from './llm/service.js';

export interface GatewayContext {
  config: Config;
  store: SqliteStore;
  metrics: Metrics;
  logger: Logger;
  acceptor: InstanceAcceptor;
  assembler: StudyAssembler;
  runner: PipelineRunner;
  decodePool: DecodePool;
  /** The loaded models; absent when the pipeline is disabled. */
  inference?: Inference;
  /** The local language model (narrative, case dialogue); absent when disabled or not built. */
  llm?: LlmService;
  /** Decides which dialogue questions reach the model (llm.scopeGate); absent without a model or when set to null. */
  scopeGate?: ScopeGate;
  /** Rewrites dialogue questions to the model's canonical ones (llm.questionRouter); absent without a model or when null. */
  questionRouter?: QuestionRouter;
  readiness: { dimse: string; pipeline: string };
}
