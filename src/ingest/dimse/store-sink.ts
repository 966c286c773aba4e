// The Writable dcmjs-dimse streams a C-STORE dataset into (Scp.createStoreWritableStream). It writes a PS3.10
// header and then every received dataset byte, unchanged, to a temporary file, hashing as it goes, so the
// instance is never held in memory and never decoded or re-encoded.
//
// It never emits 'error' (the library does not listen for one and an unhandled 'error' would end the process):
// a disk error is remembered, further bytes are dropped, and `result` rejects once the library ends the stream.
// The file is written as "<name>.part" and renamed to "<name>.dcm" only when complete.
import { createHash, type Hash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { Writable } from 'node:stream';

export interface SinkResult {
  path: string;
  sha256: string;
  /** Bytes of the whole file (header + dataset). */
  size: number;
  /** Bytes of the dataset alone. */
  datasetSize: number;
}

/** Lets the sink pause the network while the disk catches up (dcmjs-dimse ignores write() backpressure). */
export interface FlowControl {
  pause(): void;
  resume(): void;
}

type State = 'writing' | 'completing' | 'done' | 'failed' | 'discarded';

export class HashingFileSink extends Writable {
  readonly result: Promise<SinkResult>;
  private readonly hash: Hash = createHash('sha256');
  private readonly file: WriteStream;
  private readonly headerLength: number;
  private size = 0;
  private state: State = 'writing';
  private pendingCallback?: () => void;
  private settle!: { resolve: (r: SinkResult) => void; reject: (e: Error) => void };

  constructor(private readonly partPath: string, private readonly finalPath: string, header: Buffer, private readonly flow?: FlowControl) {
    super({ highWaterMark: 256 * 1024 });
    this.result = new Promise<SinkResult>((resolve, reject) => { this.settle = { resolve, reject }; });
    this.result.catch(() => { /* observed by whoever awaits it; never an unhandled rejection */ });
    this.headerLength = header.length;
    this.file = createWriteStream(partPath, { flags: 'wx', mode: 0o600 });
    this.file.on('error', (err) => this.fail(err));
    this.file.on('close', () => void this.onFileClosed());
    this.append(header);
  }

  /** Bytes of the dataset received so far. */
  get datasetBytes(): number {
    return Math.max(0, this.size - this.headerLength);
  }

  get completed(): boolean {
    return this.state === 'done';
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.state !== 'writing') return callback();
    if (this.append(chunk)) return callback();
    this.pendingCallback = () => callback();
    this.flow?.pause();
    this.file.once('drain', () => this.releasePending());
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.state === 'writing') {
      this.state = 'completing';
      this.file.end();
    }
    callback();
  }

  override _destroy(_error: Error | null, callback: (error?: Error | null) => void): void {
    // Called when an association ends before the dataset did: drop the partial file. (Writable also destroys
    // itself after a normal 'finish'; by then the state is 'completing' and the file is kept.)
    if (this.state === 'writing') {
      this.state = 'discarded';
      this.file.destroy();
      this.settle.reject(new Error('the association ended before the dataset was complete'));
    }
    this.releasePending();
    callback(null);
  }

  private append(chunk: Buffer): boolean {
    this.hash.update(chunk);
    this.size += chunk.length;
    return this.file.write(chunk);
  }

  private releasePending(): void {
    const cb = this.pendingCallback;
    this.pendingCallback = undefined;
    this.flow?.resume();
    cb?.();
  }

  private fail(err: Error): void {
    if (this.state === 'done' || this.state === 'discarded' || this.state === 'failed') return;
    this.state = 'failed';
    this.file.destroy();
    this.releasePending();
    this.settle.reject(err);
  }

  private async onFileClosed(): Promise<void> {
    if (this.state !== 'completing') {
      // Failed or discarded: the partial file goes.
      await unlink(this.partPath).catch(() => undefined);
      return;
    }
    try {
      await rename(this.partPath, this.finalPath);
      this.state = 'done';
      this.settle.resolve({ path: this.finalPath, sha256: this.hash.digest('hex'), size: this.size, datasetSize: this.datasetBytes });
    } catch (err) {
      this.state = 'failed';
      await unlink(this.partPath).catch(() => undefined);
      this.settle.reject(err as Error);
    }
  }
}

/** A Writable that drops everything: used for a C-STORE that will be refused whatever its content. */
export class DiscardSink extends Writable {
  received = 0;
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.received += chunk.length;
    callback();
  }
}
