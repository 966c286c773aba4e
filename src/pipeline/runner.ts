// Runs queued jobs through the stages. Jobs are claimed with a lease that the worker renews while a stage
// runs; a worker that dies (kill -9) stops renewing, and after leaseSeconds any worker takes the job over at
// its unfinished stage. Failures retry with exponential backoff, then dead-letter for an operator to requeue.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Logger } from 'pino';
import type { SqliteStore } from '../store/sqlite-store.js';
import type { Metrics } from '../metrics/registry.js';
import type { JobRow } from '../store/rows.js';
import { PermanentStageError, type Stage, type StageServices } from './stage.js';

export interface RunnerOptions {
  maxAttempts: number;
  backoffMs: number;
  maxBackoffMs: number;
  leaseMs: number;
  pollMs: number;
  concurrency: number;
}

export class PipelineRunner {
  readonly workerId = `worker-${process.pid}-${randomUUID().slice(0, 8)}`;
  private running = false;
  private readonly abort = new AbortController();
  private wake: (() => void) | undefined;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly store: SqliteStore,
    private readonly stages: Stage[],
    private readonly options: RunnerOptions,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly services: StageServices,
  ) {
    if (new Set(stages.map((s) => s.name)).size !== stages.length) throw new Error('pipeline stage names must be unique');
  }

  get firstStage(): string | null {
    return this.stages[0]?.name ?? null;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loops = Array.from({ length: this.options.concurrency }, () => this.loop());
  }

  /** Wakes idle workers early (a job was just queued). */
  poke(): void {
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    this.poke();
    await Promise.allSettled(this.loops);
  }

  private async loop(): Promise<void> {
    while (this.running) {
      let job: JobRow | undefined;
      try {
        job = this.store.claimJob(this.workerId, this.options.leaseMs);
        this.refreshJobGauge();
        if (job) {
          await this.runJob(job);
          this.refreshJobGauge();
          continue;
        }
      } catch (err) {
        // The store itself failed (e.g. locked past busy_timeout by another process): keep the worker alive and
        // try again after the poll interval; an unfinished job is taken over when its lease runs out.
        this.logger.error({ jobId: job?.id, err: (err as Error).message }, 'pipeline worker error; retrying');
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.options.pollMs);
        this.wake = () => { clearTimeout(t); resolve(); };
      });
    }
  }

  private refreshJobGauge(): void {
    for (const [state, n] of Object.entries(this.store.jobCounts())) this.metrics.jobs.set({ state }, n);
  }

  /** Runs a claimed job from its current stage to the end, or until a stage fails. */
  async runJob(job: JobRow): Promise<void> {
    const log = this.logger.child({ jobId: job.id, studyUid: job.study_uid, studyVersion: job.study_version });
    let stageName = job.stage;
    while (stageName && this.running) {
      const index = this.stages.findIndex((s) => s.name === stageName);
      const stage = this.stages[index];
      if (!stage) {
        this.store.failStage(job.id, this.workerId, `unknown stage "${stageName}" (not in this version's pipeline)`, null);
        log.error({ stage: stageName }, 'job dead-lettered: unknown stage');
        return;
      }
      const study = this.store.getStudy(job.study_uid);
      if (!study) {
        this.store.failStage(job.id, this.workerId, `study ${job.study_uid} is not in the store`, null);
        return;
      }
      const previous: Record<string, Record<string, unknown>> = {};
      for (const r of this.store.stageResults(job.id)) previous[r.stage] = r.result;
      const started = performance.now();
      const heartbeat = setInterval(() => this.store.renewLease(job.id, this.workerId, this.options.leaseMs), Math.max(50, this.options.leaseMs / 3));
      try {
        const result = await stage.run({
          job, owner: this.workerId, study, instances: this.store.instancesOfStudy(job.study_uid, 'received'), store: this.store,
          derivedDir: path.join(this.store.dataDir, 'derived', job.study_uid, `v${job.study_version}`),
          previous, logger: log.child({ stage: stage.name }), signal: this.abort.signal, services: this.services,
        });
        const seconds = (performance.now() - started) / 1000;
        if (!this.running) { this.store.releaseJob(job.id, this.workerId); return; }
        const next = this.stages[index + 1]?.name ?? null;
        if (!this.store.completeStage(job.id, this.workerId, stage.name, result, seconds * 1000, next)) {
          log.warn({ stage: stage.name }, 'lost the job lease (superseded or taken over); result discarded');
          return;
        }
        this.metrics.stageDuration.observe({ stage: stage.name, outcome: 'ok' }, seconds);
        log.info({ stage: stage.name, seconds: Number(seconds.toFixed(3)), next }, 'stage done');
        stageName = next;
      } catch (err) {
        this.metrics.stageDuration.observe({ stage: stage.name, outcome: 'error' }, (performance.now() - started) / 1000);
        const message = `${stage.name}: ${(err as Error).message}`;
        const current = this.store.getJob(job.id);
        const attempts = (current?.attempts ?? 0) + 1;
        const permanent = err instanceof PermanentStageError;
        const retryAt = permanent || attempts >= this.options.maxAttempts ? null
          : Date.now() + Math.min(this.options.maxBackoffMs, this.options.backoffMs * 2 ** (attempts - 1));
        this.store.failStage(job.id, this.workerId, message, retryAt);
        if (retryAt === null) log.error({ stage: stage.name, attempts, error: message }, permanent ? 'job dead-lettered: permanent failure' : 'job dead-lettered: attempts spent');
        else log.warn({ stage: stage.name, attempts, retryInMs: retryAt - Date.now(), error: message }, 'stage failed; will retry');
        return;
      } finally {
        clearInterval(heartbeat);
      }
    }
  }
}
