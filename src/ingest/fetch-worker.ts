// Runs the fetch tasks FHIR notifications leave (src/store/fetch-tasks.ts): one retrieval at a time, claimed
// with a renewable lease, retried with the pipeline's exponential backoff, dead-lettered after
// pipeline.maxAttempts failed attempts with the reason. The retrieved instances go through the ingest door
// grouped as one "association", so the study settles as soon as the retrieval is complete and is then routed
// and processed like any routed study.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { GatewayContext } from '../gateway-context.js';
import { FetchTaskStore, type FetchTaskRow } from '../store/fetch-tasks.js';
import { fetchStudy, WadoFetchError } from './wado-rs-fetch.js';

export interface FetchWorkerOptions { pollMs: number; leaseMs: number; backoffMs: number; maxBackoffMs: number; maxAttempts: number }

export class FetchWorker {
  readonly tasks: FetchTaskStore;
  private readonly owner = `fetch-${randomUUID()}`;
  private readonly logger: Logger;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopping = new AbortController();
  private started = false;

  constructor(private readonly ctx: Pick<GatewayContext, 'config' | 'store' | 'acceptor' | 'assembler' | 'logger'>, private readonly options: FetchWorkerOptions) {
    this.tasks = new FetchTaskStore(ctx.store.db);
    this.logger = ctx.logger.child({ component: 'wado-fetch' });
  }

  start(): void {
    this.started = true;
    this.schedule(0);
  }

  /** Looks for work now (a task was just queued). */
  poke(): void {
    if (this.started && !this.running && !this.stopping.signal.aborted) this.schedule(0);
  }

  /** Stops taking tasks; a retrieval in flight is cut off and its task handed back, due again at once. */
  async stop(): Promise<void> {
    this.started = false;
    this.stopping.abort();
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.drain().finally(() => {
        this.running = undefined;
        if (this.started) this.schedule(this.options.pollMs);
      });
    }, ms);
    this.timer.unref();
  }

  /** Runs due tasks until none is left. */
  private async drain(): Promise<void> {
    while (this.started) {
      let task: FetchTaskRow | undefined;
      try {
        task = this.tasks.claim(this.owner, this.options.leaseMs);
      } catch (err) {
        this.logger.error({ err: (err as Error).message }, 'claiming a fetch task failed; will retry');
        return;
      }
      if (!task) return;
      await this.run(task);
    }
  }

  private async run(task: FetchTaskRow): Promise<void> {
    const log = { taskId: task.id, studyUid: task.study_uid, source: task.source, attempt: task.attempts + 1 };
    const renew = setInterval(() => this.tasks.renewLease(task.id, this.owner, this.options.leaseMs), Math.max(1000, this.options.leaseMs / 3));
    renew.unref();
    const associationId = `${this.owner}:${task.id}:${task.attempts}`;
    try {
      // The source is looked up by name now: a source removed from the configuration since is a final failure.
      const s = this.ctx.config.sources.dicomweb[task.source];
      if (!s) throw new WadoFetchError(`sources.dicomweb.${task.source} is no longer configured`, false);
      const source = { name: task.source, url: s.url.replace(/\/+$/, ''), bearerToken: s.bearerToken, timeoutSeconds: s.timeoutSeconds };
      this.logger.info(log, 'retrieving a notified study by WADO-RS');
      const r = await fetchStudy({
        source, studyUid: task.study_uid, acceptor: this.ctx.acceptor, blobs: this.ctx.store.blobs, associationId,
        signal: this.stopping.signal, logger: this.logger,
      });
      const note = r.refused > 0 ? `${r.refused} part(s) refused: ${r.refusals.join('; ')}` : null;
      // Settled (routed, its job queued) before the task reads done, so whoever sees done finds the study complete.
      this.ctx.assembler.associationReleased(associationId);
      this.tasks.complete(task.id, this.owner, { stored: r.stored, duplicates: r.duplicates, refused: r.refused, bytes: r.bytes }, note);
      this.logger.info({ ...log, stored: r.stored, duplicates: r.duplicates, refused: r.refused }, 'notified study retrieved');
    } catch (err) {
      this.ctx.assembler.associationAborted(associationId); // what arrived settles by time
      if (this.stopping.signal.aborted) {
        this.tasks.release(task.id, this.owner);
        this.logger.info(log, 'fetch task handed back: the gateway is stopping');
        return;
      }
      const message = (err as Error).message;
      const retryable = err instanceof WadoFetchError ? err.retryable : true;
      const attempts = task.attempts + 1;
      const retryAt = retryable && attempts < this.options.maxAttempts
        ? Date.now() + Math.min(this.options.maxBackoffMs, this.options.backoffMs * 2 ** (attempts - 1))
        : null;
      this.tasks.fail(task.id, this.owner, message, retryAt);
      if (retryAt === null) this.logger.error({ ...log, err: message }, 'fetch task dead-lettered');
      else this.logger.warn({ ...log, err: message, retryInMs: retryAt - Date.now() }, 'fetch attempt failed; will retry');
    } finally {
      clearInterval(renew);
    }
  }
}

const workers = new WeakMap<object, FetchWorker>();

/** Starts the gateway's fetch worker (gateway.ts), with the pipeline's retry settings. */
export function startFetchWorker(ctx: GatewayContext): FetchWorker {
  const p = ctx.config.pipeline;
  const worker = new FetchWorker(ctx, {
    pollMs: p.pollMilliseconds, leaseMs: p.leaseSeconds * 1000, backoffMs: p.backoffSeconds * 1000,
    maxBackoffMs: p.maxBackoffSeconds * 1000, maxAttempts: p.maxAttempts,
  });
  workers.set(ctx, worker);
  worker.start();
  return worker;
}

/** The running gateway's fetch worker, if started (the listener pokes it after queueing a task). */
export function fetchWorkerOf(ctx: GatewayContext): FetchWorker | undefined {
  return workers.get(ctx);
}

export async function stopFetchWorker(ctx: GatewayContext): Promise<void> {
  await workers.get(ctx)?.stop();
  workers.delete(ctx);
}
