// A decode worker thread: reads a stored DICOM file and decodes every frame, off the gateway's event loop
// (a full-resolution JPEG 2000 fundus photograph takes seconds of CPU in the WASM codec).
import { parentPort } from 'node:worker_threads';
import { readFile } from 'node:fs/promises';
import { decodeFile, PixelDecodeError } from '../index.js';
import type { DecodeReply, DecodeRequest, TransferredFrame } from './protocol.js';

function ownBuffer(b: Buffer): ArrayBuffer {
  // Transfer the frame's memory instead of copying it, unless it is a view into a larger (pooled) buffer.
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer) return b.buffer;
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

parentPort!.on('message', async (req: DecodeRequest) => {
  let reply: DecodeReply;
  try {
    const frames = await decodeFile(await readFile(req.path));
    const out: TransferredFrame[] = frames.map((f) => ({ ...f, rgb: ownBuffer(f.rgb) }));
    reply = { id: req.id, frames: out };
    parentPort!.postMessage(reply, out.map((f) => f.rgb));
    return;
  } catch (err) {
    const e = err as PixelDecodeError;
    reply = { id: req.id, error: { pixel: err instanceof PixelDecodeError, reason: e.reason, message: e.message ?? String(err), frame: e.frame } };
  }
  parentPort!.postMessage(reply);
});
