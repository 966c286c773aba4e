// Content-addressed files: every accepted DICOM file is kept byte for byte at blobs/ab/<sha256>
// (256 folders made once at start, so the hot path never creates one).
// A file is written to tmp/ by whichever protocol received it; commit() fsyncs it, renames it into place and
// fsyncs the directory, so a crash never leaves a partial blob under a real name and an acknowledged blob is on
// disk. The fsyncs are asynchronous (libuv's thread pool) so concurrent requests overlap their disk waits.
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, openSync, fsyncSync, closeSync, renameSync, existsSync, unlinkSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';

export interface SpooledFile { path: string; sha256: string; size: number }

export class SizeLimitError extends Error {
  constructor(readonly limit: number) {
    super(`body exceeds the configured limit of ${limit} bytes`);
  }
}

export class BlobStore {
  readonly tmpDir: string;
  readonly blobDir: string;
  readonly quarantineDir: string;

  constructor(dataDir: string) {
    this.tmpDir = path.join(dataDir, 'tmp');
    this.blobDir = path.join(dataDir, 'blobs');
    this.quarantineDir = path.join(dataDir, 'quarantine');
    for (const d of [this.tmpDir, this.blobDir, this.quarantineDir]) mkdirSync(d, { recursive: true });
    for (let i = 0; i < 256; i++) mkdirSync(path.join(this.blobDir, i.toString(16).padStart(2, '0')), { recursive: true });
  }

  /** Leftovers of requests that were cut off (or of a crash) are never accepted; clear them at start. */
  clearTmp(): void {
    rmSync(this.tmpDir, { recursive: true, force: true });
    mkdirSync(this.tmpDir, { recursive: true });
  }

  newTmpPath(suffix = '.part'): string {
    return path.join(this.tmpDir, randomUUID() + suffix);
  }

  /** Streams a body to a temporary file while hashing it; memory stays flat whatever the size. */
  async spool(source: Readable, maxBytes = Number.POSITIVE_INFINITY): Promise<SpooledFile> {
    const tmp = this.newTmpPath();
    const hash = createHash('sha256');
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        size += chunk.length;
        if (size > maxBytes) return cb(new SizeLimitError(maxBytes));
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    // Open the file before streaming, so that on any failure the file exists and the clean-up below finds it.
    const fd = openSync(tmp, 'wx');
    try {
      await pipeline(source, meter, createWriteStream(tmp, { fd }));
    } catch (err) {
      if (existsSync(tmp)) unlinkSync(tmp);
      throw err;
    }
    return { path: tmp, sha256: hash.digest('hex'), size };
  }

  pathFor(sha256: string): string {
    return path.join(this.blobDir, sha256.slice(0, 2), sha256);
  }

  /** Makes a spooled file durable at its content address (a no-op when the same bytes are already there). */
  async commit(file: SpooledFile): Promise<string> {
    const target = this.pathFor(file.sha256);
    if (existsSync(target)) {
      unlinkSync(file.path);
      return target;
    }
    await fsyncPathAsync(file.path);
    renameSync(file.path, target);
    await fsyncPathAsync(path.dirname(target));
    return target;
  }

  async quarantine(file: SpooledFile): Promise<string> {
    const target = path.join(this.quarantineDir, file.sha256);
    if (existsSync(target)) unlinkSync(file.path);
    else {
      await fsyncPathAsync(file.path);
      renameSync(file.path, target);
      await fsyncPathAsync(this.quarantineDir);
    }
    return target;
  }

  discard(file: SpooledFile): void {
    if (existsSync(file.path)) unlinkSync(file.path);
  }
}

export function fsyncPath(p: string): void {
  const fd = openSync(p, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export async function fsyncPathAsync(p: string): Promise<void> {
  const fh = await open(p, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
