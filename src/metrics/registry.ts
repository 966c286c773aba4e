// Prometheus metrics (prom-client). One registry per gateway instance, so tests can run several side by side.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type Protocol = 'stow-rs' | 'dimse' | 'import' | 'wado-fetch' | 'pipeline';

export class Metrics {
  readonly registry = new Registry();
  readonly instancesReceived = new Counter({
    name: 'ophgate_instances_received_total', help: 'DICOM instances received, by protocol and outcome',
    labelNames: ['protocol', 'outcome'] as const, registers: [this.registry],
  });
  readonly bytesReceived = new Counter({
    name: 'ophgate_bytes_received_total', help: 'Bytes of DICOM instances received, by protocol',
    labelNames: ['protocol'] as const, registers: [this.registry],
  });
  readonly jobs = new Gauge({
    name: 'ophgate_jobs', help: 'Pipeline jobs by state', labelNames: ['state'] as const, registers: [this.registry],
  });
  readonly stageDuration = new Histogram({
    name: 'ophgate_stage_duration_seconds', help: 'Pipeline stage run time, by stage and outcome',
    labelNames: ['stage', 'outcome'] as const, registers: [this.registry],
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 300],
  });
  readonly studiesSettled = new Counter({
    name: 'ophgate_studies_settled_total', help: 'Studies assembled, by routing decision',
    labelNames: ['routing'] as const, registers: [this.registry],
  });

  readonly llmQueueLength = new Gauge({
    name: 'ophgate_llm_queue_length', help: 'LLM requests waiting or running (one runs at a time)', registers: [this.registry],
  });
  readonly llmGenerations = new Counter({
    name: 'ophgate_llm_generations_total', help: 'LLM generations, by purpose and outcome',
    labelNames: ['purpose', 'outcome'] as const, registers: [this.registry],
  });
  readonly llmTokens = new Counter({
    name: 'ophgate_llm_tokens_total', help: 'Tokens the LLM evaluated (prompt) and generated (completion)',
    labelNames: ['kind'] as const, registers: [this.registry],
  });
  readonly llmTokensPerSecond = new Gauge({
    name: 'ophgate_llm_tokens_per_second', help: 'Decode speed of the last LLM generation (tokens after the first, per second)',
    registers: [this.registry],
  });
  readonly llmTimeToFirstToken = new Histogram({
    name: 'ophgate_llm_time_to_first_token_seconds', help: 'From the start of a generation to its first token (prompt evaluation)',
    registers: [this.registry], buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'ophgate_' });
  }
}
