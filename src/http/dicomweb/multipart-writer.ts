// Streams a multipart/related response (RFC 2387, as PS3.18 8.7.1.2 uses it): parts from buffers or straight from
// files, with backpressure, so a study of any size goes out with flat memory. A client that hangs up stops the
// stream at the next chunk.
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Response } from 'express';

export class ClientGone extends Error {
  constructor() {
    super('client closed the connection');
  }
}

/** Writes a chunk, waiting for 'drain' when the socket buffer is full; rejects with ClientGone once it closed. */
export async function writeChunk(res: Response, chunk: Buffer | Uint8Array | string): Promise<void> {
  if (res.destroyed || res.writableEnded) throw new ClientGone();
  if (res.write(chunk)) return;
  await new Promise<void>((resolve, reject) => {
    const onDrain = () => { cleanup(); resolve(); };
    const onClose = () => { cleanup(); reject(new ClientGone()); };
    const cleanup = () => { res.off('drain', onDrain); res.off('close', onClose); };
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}

export class MultipartWriter {
  readonly boundary = `ophgate-${randomBytes(12).toString('hex')}`;
  private started = false;

  constructor(private readonly res: Response, private readonly type: string, private readonly extra: Record<string, string> = {}) {}

  /** The response's Content-Type: multipart/related; type="..."; boundary=... */
  get contentType(): string {
    const params = Object.entries(this.extra).map(([k, v]) => `; ${k}=${v}`).join('');
    return `multipart/related; type="${this.type}"${params}; boundary=${this.boundary}`;
  }

  private begin(): void {
    if (this.started) return;
    this.started = true;
    this.res.status(200);
    this.res.setHeader('Content-Type', this.contentType);
  }

  private write(chunk: Buffer | Uint8Array | string): Promise<void> {
    return writeChunk(this.res, chunk);
  }

  private head(headers: Record<string, string | number>): string {
    return `--${this.boundary}\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
  }

  async partFromBuffer(headers: Record<string, string | number>, body: Buffer | Uint8Array): Promise<void> {
    this.begin();
    await this.write(this.head({ ...headers, 'Content-Length': body.length }));
    await this.write(body);
    await this.write('\r\n');
  }

  /** A part whose body is a whole file; `size` is what the store recorded and must match what is read. */
  async partFromFile(headers: Record<string, string | number>, file: string, size: number): Promise<void> {
    this.begin();
    await this.write(this.head({ ...headers, 'Content-Length': size }));
    let sent = 0;
    const stream = createReadStream(file, { highWaterMark: 256 * 1024 });
    try {
      for await (const chunk of stream) {
        sent += (chunk as Buffer).length;
        await this.write(chunk as Buffer);
      }
    } finally {
      stream.destroy();
    }
    if (sent !== size) throw new Error(`stored file ${file} has ${sent} bytes where the index says ${size}`);
    await this.write('\r\n');
  }

  async end(): Promise<void> {
    this.begin();
    await this.write(`--${this.boundary}--\r\n`);
    this.res.end();
  }
}
