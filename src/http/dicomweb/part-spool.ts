// One multipart part on its way to disk: written to a temp file under the store's tmp/ while it is hashed, the way
// BlobStore.spool does for a whole stream, but fed chunk by chunk by the multipart parser. A part that is cut off
// is removed only once its file is closed, so no temp file can appear after the clean-up.
import { createHash } from 'node:crypto';
import { createWriteStream, rmSync, type WriteStream } from 'node:fs';
import type { BlobStore, SpooledFile } from '../../store/blob-store.js';

const HIGH_WATER_MARK = 256 * 1024;

export class PartSpool {
  readonly path: string;
  private readonly hash = createHash('sha256');
  private readonly out: WriteStream;
  private size = 0;
  private error: Error | undefined;

  constructor(blobs: BlobStore) {
    this.path = blobs.newTmpPath();
    this.out = createWriteStream(this.path, { highWaterMark: HIGH_WATER_MARK });
    this.out.on('error', (err) => {
      this.error ??= err;
    });
  }

  /** Appends a chunk; waits while the file is behind. After a write error it only counts (finish() reports it). */
  async write(chunk: Buffer): Promise<void> {
    this.size += chunk.length;
    if (this.error || this.out.destroyed) return;
    this.hash.update(chunk);
    if (!this.out.write(chunk)) await drainedOrClosed(this.out);
  }

  /** Closes the file (BlobStore.commit makes it durable); throws (after removing it) when anything failed on the way. */
  async finish(): Promise<SpooledFile> {
    if (!this.error && !this.out.destroyed) {
      const closed = closedPromise(this.out);
      this.out.end();
      await closed;
    }
    if (this.error || !this.out.writableFinished) {
      await this.discard();
      throw this.error ?? new Error('the temp file was closed before the part was complete');
    }
    return { path: this.path, sha256: this.hash.digest('hex'), size: this.size };
  }

  /** Drops the part: closes the file, then removes it. */
  async discard(): Promise<void> {
    if (!this.out.closed) {
      const closed = closedPromise(this.out);
      this.out.destroy();
      await closed;
    }
    rmSync(this.path, { force: true });
  }
}

function closedPromise(stream: WriteStream): Promise<void> {
  return stream.closed ? Promise.resolve() : new Promise((resolve) => stream.once('close', () => resolve()));
}

/** Resolves when the stream can take more, or is gone; leaves no listener behind. */
function drainedOrClosed(stream: WriteStream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}
