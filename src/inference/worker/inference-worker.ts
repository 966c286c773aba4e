// The inference worker thread: holds the ModelRegistry (its sessions) and does all the CPU work of a run
// (decoding, border crop, resize, the session run, bringing masks back to the source), so the gateway's event
// loop keeps serving while a model runs (onnxruntime-node runs a session synchronously on the calling thread).
import { parentPort } from 'node:worker_threads';
import { ModelRegistry } from '../model-registry.js';
import type { ImageSource } from '../preprocess.js';
import type { WireImage, WorkerReply, WorkerRequest } from './protocol.js';

let registry: ModelRegistry | undefined;

function source(w: WireImage): ImageSource {
  if ('path' in w) return w.path;
  if ('encoded' in w) return Buffer.from(w.encoded.buffer, w.encoded.byteOffset, w.encoded.byteLength);
  return { data: w.rgb, width: w.width, height: w.height };
}

async function handle(req: WorkerRequest): Promise<{ value: Extract<WorkerReply, { ok: true }>['value']; transfer: ArrayBuffer[] }> {
  switch (req.op) {
    case 'open':
      if (registry) throw new Error('the inference worker is already open');
      registry = await ModelRegistry.open({ ...req.options, publish: false });
      return { value: { models: registry.models, status: registry.status() }, transfer: [] };
    case 'run': {
      if (!registry) throw new Error('the inference worker is not open');
      const results = await registry.run(req.model, req.images.map(source));
      // Masks and probability maps move to the main thread instead of being copied (they own their buffers).
      const transfer = results.flatMap((r) => Object.values(r.outputs).flatMap((o) => (o.kind === 'masks'
        ? [o.probabilities.buffer as ArrayBuffer, ...o.channels.map((c) => c.mask.buffer as ArrayBuffer)] : [])));
      return { value: results, transfer };
    }
    case 'stats':
      return { value: { sessionsCreated: registry?.sessionsCreated ?? 0, runs: registry?.runCounts() ?? {} }, transfer: [] };
    case 'close':
      await registry?.close();
      registry = undefined;
      return { value: null, transfer: [] };
  }
}

parentPort!.on('message', async (req: WorkerRequest) => {
  try {
    const { value, transfer } = await handle(req);
    parentPort!.postMessage({ id: req.id, ok: true, value } satisfies WorkerReply, transfer);
  } catch (err) {
    const e = err as Error & { problems?: string[] };
    parentPort!.postMessage({ id: req.id, ok: false, error: { name: e.name ?? 'Error', message: e.message ?? String(err), problems: e.problems } } satisfies WorkerReply);
  }
});
