// The gateway's way to run models: a ModelRegistry held in one worker thread. onnxruntime-node runs a session
// synchronously on the thread that calls it, and a fundus model takes seconds of CPU per batch; in the main thread
// that would stall DICOMweb and DIMSE. The worker loads every model once and keeps its sessions; requests queue
// there and run one at a time (the intra-op threads are the parallelism). If the worker dies, pending runs fail,
// later runs are refused and /readyz reports inference as failed.
import { Worker } from 'node:worker_threads';
import { ProviderError } from './execution-provider.js';
import { ModelLoadError, type ImageInference, type Inference, type ModelInfo, type RegistryOptions } from './model-registry.js';
import type { ImageSource } from './preprocess.js';
import { publishInferenceStatus, type InferenceStatus } from './status.js';
import type { OpenReply, RunReply, WireError, WireImage, WorkerReply, WorkerRequest, WorkerStats } from './worker/protocol.js';

const BOOT = new URL('./worker/boot.mjs', import.meta.url);

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };
type Body<T = WorkerRequest> = T extends WorkerRequest ? Omit<T, 'id'> : never;

function revive(e: WireError): Error {
  if (e.name === 'ModelLoadError' && e.problems) return new ModelLoadError(e.problems);
  const err = e.name === 'ProviderError' ? new ProviderError(e.message, []) : new Error(e.message);
  err.name = e.name;
  return err;
}

/** Images are copied to the worker, not transferred: the caller keeps its buffers. */
function wire(src: ImageSource): WireImage {
  if (typeof src === 'string') return { path: src };
  if (Buffer.isBuffer(src)) return { encoded: src };
  return { rgb: src.data, width: src.width, height: src.height };
}

export class ThreadedModelRegistry implements Inference {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private stopped: Error | undefined;
  private current: InferenceStatus = { state: 'no models' };

  private constructor(private readonly worker: Worker, private readonly options: RegistryOptions, public models: ModelInfo[] = []) {
    worker.on('message', (reply: WorkerReply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (reply.ok) p.resolve(reply.value);
      else p.reject(revive(reply.error));
    });
    worker.on('error', (err) => this.fail(new Error(`inference worker failed: ${err.message}`)));
    worker.on('exit', (code) => this.fail(new Error(`inference worker exited with code ${code}`)));
  }

  static async open(options: RegistryOptions): Promise<ThreadedModelRegistry> {
    const { logger, publish, ...plain } = options;
    const host = new ThreadedModelRegistry(new Worker(BOOT), options);
    let opened: OpenReply;
    try {
      opened = await host.call<OpenReply>({ op: 'open', options: plain });
    } catch (err) {
      host.stopped = err as Error;
      await host.worker.terminate();
      throw err;
    }
    host.models = opened.models;
    host.current = opened.status;
    const s = opened.status;
    if (s.state === 'no models') logger?.warn({ modelsDir: options.modelsDir }, 'inference: no models (no <folder>/manifest.json in the models directory)');
    else logger?.info({ executionProvider: s.executionProvider, choice: s.choice, notUsed: s.notUsed, models: s.models, intraOpThreads: options.intraOpThreads, batchSize: options.batchSize }, `inference: ${s.models!.length} model(s) on ${s.executionProvider} (worker thread)`);
    if (publish) publishInferenceStatus(s);
    return host;
  }

  status(): InferenceStatus {
    return this.current;
  }

  run(model: string, images: ImageSource[]): Promise<ImageInference[]> {
    return this.call<RunReply>({ op: 'run', model, images: images.map(wire) });
  }

  /** Sessions created and runs per model inside the worker (tests check that sessions are reused). */
  stats(): Promise<WorkerStats> {
    return this.call<WorkerStats>({ op: 'stats' });
  }

  async close(): Promise<void> {
    if (!this.stopped) {
      await this.call({ op: 'close' }).catch(() => undefined);
      this.stopped = new Error('inference registry closed');
      await this.worker.terminate();
    }
    if (this.options.publish) publishInferenceStatus({ state: 'no models' });
  }

  private call<T>(body: Body, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.stopped) return Promise.reject(this.stopped);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...body, id } as WorkerRequest, transfer);
    });
  }

  private fail(error: Error): void {
    if (this.stopped) return;
    this.stopped = error;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
    this.current = { ...this.current, state: 'failed', error: error.message };
    if (this.options.publish) publishInferenceStatus(this.current);
  }
}
