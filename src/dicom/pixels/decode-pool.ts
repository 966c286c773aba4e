// Decodes stored DICOM files in worker threads, so the event loop keeps serving DICOMweb and DIMSE while a
// large image decodes. A decode that runs past the timeout (a codec stuck on a hostile codestream) has its
// worker stopped and replaced, and fails with a PixelDecodeError of reason 'timeout'.
import { Worker } from 'node:worker_threads';
import { PixelDecodeError, type DecodedFrame } from './index.js';
import type { DecodeReply, DecodeRequest } from './worker/protocol.js';

interface Pending { req: DecodeRequest; resolve: (f: DecodedFrame[]) => void; reject: (e: Error) => void }
interface Slot { worker: Worker; busy?: Pending; timer?: NodeJS.Timeout }

const BOOT = new URL('./worker/boot.mjs', import.meta.url);

export class DecodePool {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;

  /** Workers start on first use: a gateway that only receives pays nothing for them. */
  constructor(private readonly size: number, private readonly timeoutMs: number) {}

  decode(path: string): Promise<DecodedFrame[]> {
    if (this.closed) return Promise.reject(new Error('decode pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ req: { id: this.nextId++, path }, resolve, reject });
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.queue.splice(0)) p.reject(new Error('decode pool closed'));
    await Promise.all(this.slots.map(async (s) => {
      clearTimeout(s.timer);
      s.busy?.reject(new Error('decode pool closed'));
      await s.worker.terminate();
    }));
  }

  private spawn(): Slot {
    const slot: Slot = { worker: new Worker(BOOT) };
    slot.worker.unref();
    slot.worker.on('message', (reply: DecodeReply) => this.finish(slot, reply));
    slot.worker.on('error', (err) => this.replace(slot, new PixelDecodeError('codec', `decode worker failed: ${err.message}`)));
    slot.worker.on('exit', (code) => {
      if (!this.closed && slot.busy) this.replace(slot, new PixelDecodeError('codec', `decode worker exited with code ${code}`));
    });
    return slot;
  }

  private pump(): void {
    while (this.slots.length < Math.min(this.size, this.slots.filter((x) => x.busy).length + this.queue.length)) this.slots.push(this.spawn());
    for (const slot of this.slots) {
      if (slot.busy) continue;
      const next = this.queue.shift();
      if (!next) return;
      slot.busy = next;
      slot.timer = setTimeout(() => this.replace(slot, new PixelDecodeError('timeout', `decoding took longer than ${this.timeoutMs / 1000} s; the decoder was stopped`)), this.timeoutMs);
      slot.worker.postMessage(next.req);
    }
  }

  private finish(slot: Slot, reply: DecodeReply): void {
    const pending = slot.busy;
    if (!pending || pending.req.id !== reply.id) return;
    clearTimeout(slot.timer);
    slot.busy = undefined;
    if ('frames' in reply) pending.resolve(reply.frames.map((f) => ({ ...f, rgb: Buffer.from(f.rgb) })));
    else {
      const { pixel, reason, message, frame } = reply.error;
      const err = pixel && reason ? new PixelDecodeError(reason, message) : new Error(message);
      if (frame !== undefined) Object.assign(err, { frame });
      pending.reject(err);
    }
    this.pump();
  }

  /** Stops a worker that hung or died, fails its decode, and puts a fresh worker in its place. */
  private replace(slot: Slot, error: Error): void {
    clearTimeout(slot.timer);
    const pending = slot.busy;
    slot.busy = undefined;
    void slot.worker.terminate();
    pending?.reject(error);
    if (this.closed) return;
    const index = this.slots.indexOf(slot);
    if (index >= 0) this.slots[index] = this.spawn();
    this.pump();
  }
}
