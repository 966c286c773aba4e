// STOW-RS test helpers: multipart/related bodies built from DICOM files, a raw HTTP client that can stream a
// chunked body and stop (or hang up) part way, and readers for the Store Instances Response dataset.
import http from 'node:http';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { readInstanceHeader } from '../../src/dicom/part10-header.js';
import { createLogger, type Logger } from '../../src/log/logger.js';
import { FIXTURES_DIR, SHARED_DIR, TEST_LOG_DIR } from './gateway.js';

export const BOUNDARY = 'ophgate-test-boundary-6b1f0c';
export const MULTIPART = `multipart/related; type="application/dicom"; boundary=${BOUNDARY}`;

export interface Part { bytes: Buffer; contentType?: string | null; extraHeaders?: string[] }

/** One part's framing and content (the delimiter that opens it included). */
export function partBytes(part: Part, boundary = BOUNDARY): Buffer {
  const headers: string[] = [];
  if (part.contentType !== null) headers.push(`Content-Type: ${part.contentType ?? 'application/dicom'}`);
  headers.push(...(part.extraHeaders ?? []));
  return Buffer.concat([Buffer.from(`--${boundary}\r\n${headers.map((h) => h + '\r\n').join('')}\r\n`, 'latin1'), part.bytes, Buffer.from('\r\n', 'latin1')]);
}

export function closing(boundary = BOUNDARY): Buffer {
  return Buffer.from(`--${boundary}--\r\n`, 'latin1');
}

export function multipartBody(parts: Array<Part | Buffer>, boundary = BOUNDARY): Buffer {
  return Buffer.concat([...parts.map((p) => partBytes(Buffer.isBuffer(p) ? { bytes: p } : p, boundary)), closing(boundary)]);
}

export interface HttpResult { status: number; headers: http.IncomingHttpHeaders; text: string; json: any }

/**
 * POSTs with node:http. `body` is sent with Content-Length unless `chunked`; chunks of an iterable are written one
 * by one and writing stops as soon as a response arrives (a server may answer before reading everything).
 */
export function post(url: string, body: Buffer | Iterable<Buffer> | AsyncIterable<Buffer>, headers: Record<string, string> = {}, opts: { chunked?: boolean; contentLength?: number } = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const h: Record<string, string> = { 'Content-Type': MULTIPART, Accept: 'application/dicom+json', ...headers };
    if (Buffer.isBuffer(body) && !opts.chunked) h['Content-Length'] = String(opts.contentLength ?? body.length);
    else if (opts.contentLength !== undefined) h['Content-Length'] = String(opts.contentLength);
    const req = http.request(url, { method: 'POST', headers: h, agent: false }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    (async () => {
      if (Buffer.isBuffer(body)) {
        req.end(body);
        return;
      }
      for await (const chunk of body as AsyncIterable<Buffer>) {
        if (answered || req.destroyed) return;
        if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
        await new Promise((r) => setImmediate(r));
      }
      if (!answered && !req.destroyed) req.end();
    })().catch(() => undefined);
  });
}

/** Splits a buffer into chunks of `size` bytes. */
export function* chunksOf(buf: Buffer, size: number): Generator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, Math.min(buf.length, i + size));
}

// ---- reading the Store Instances Response ------------------------------------------------------------------

export interface ResponseItem { sopClassUid?: string; sopInstanceUid?: string; retrieveUrl?: string; failureReason?: number; warningReason?: number; reason?: string; part?: number }

function item(ds: Record<string, any>): ResponseItem {
  return {
    sopClassUid: ds['00081150']?.Value?.[0], sopInstanceUid: ds['00081155']?.Value?.[0], retrieveUrl: ds['00081190']?.Value?.[0],
    warningReason: ds['00081196']?.Value?.[0], failureReason: ds['00081197']?.Value?.[0],
    reason: ds['00090010']?.Value?.[0] === 'OPHGATE' ? ds['00091001']?.Value?.[0] : undefined,
    part: ds['00090010']?.Value?.[0] === 'OPHGATE' ? ds['00091002']?.Value?.[0] : undefined,
  };
}

export function readResponse(json: any): { retrieveUrl?: string; referenced: ResponseItem[]; failed: ResponseItem[]; error?: string } {
  const ds = (json ?? {}) as Record<string, any>;
  return {
    retrieveUrl: ds['00081190']?.Value?.[0],
    referenced: (ds['00081199']?.Value ?? []).map(item),
    failed: (ds['00081198']?.Value ?? []).map(item),
    error: ds['00090010']?.Value?.[0] === 'OPHGATE' ? ds['00091001']?.Value?.[0] : undefined,
  };
}

// ---- test material -----------------------------------------------------------------------------------------

export interface DicomFile { name: string; path: string; bytes: Buffer; sha256: string; sopClassUid: string; sopInstanceUid: string; studyUid: string; seriesUid: string; transferSyntaxUid: string }
export interface BadFile { name: string; path: string; bytes: Buffer }

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

const OPHTHALMIC_VL = path.join(SHARED_DIR, 'interop', 'real-dicom', 'ophthalmic-vl');
export const SHARED_MALFORMED = path.join(SHARED_DIR, 'interop', 'malformed');

/**
 * Valid instances to send: the project's fixtures when fixtures/manifest.json is there, else the ophthalmic files of
 * ../shared/interop (or when OPHGATE_TEST_MATERIAL=shared). UIDs come from the files themselves. Empty when neither is present.
 */
export async function validFiles(): Promise<{ source: string; files: DicomFile[] }> {
  let paths: string[] = [];
  let source = 'none';
  const manifest = path.join(FIXTURES_DIR, 'manifest.json');
  if (existsSync(manifest) && process.env.OPHGATE_TEST_MATERIAL !== 'shared') {
    const m = JSON.parse(readFileSync(manifest, 'utf8')) as { files: Array<{ path: string; valid: boolean }> };
    paths = m.files.filter((f) => f.valid).map((f) => path.join(FIXTURES_DIR, f.path)).filter((p) => existsSync(p));
    source = 'fixtures';
  }
  if (paths.length < 3 && existsSync(OPHTHALMIC_VL)) {
    paths = readdirSync(OPHTHALMIC_VL).map((f) => path.join(OPHTHALMIC_VL, f));
    source = '../shared/interop/real-dicom/ophthalmic-vl';
  }
  const files: DicomFile[] = [];
  for (const p of paths) {
    const h = await readInstanceHeader(p, statSync(p).size);
    const bytes = readFileSync(p);
    files.push({ name: path.basename(p), path: p, bytes, sha256: sha256(bytes), sopClassUid: h.sopClassUid, sopInstanceUid: h.sopInstanceUid, studyUid: h.studyInstanceUid, seriesUid: h.seriesInstanceUid, transferSyntaxUid: h.transferSyntaxUid });
  }
  files.sort((a, b) => a.bytes.length - b.bytes.length);
  return { source, files };
}

export function badFiles(dir: string): BadFile[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).sort().map((f) => ({ name: f, path: path.join(dir, f), bytes: readFileSync(path.join(dir, f)) }));
}

/**
 * A logger whose lines a test can read back from memory, also written under tmp/test-logs/ for the PHI scan
 * (reading the file back is not reliable while another test run clears that folder).
 */
export function capturingLogger(name: string): { logger: Logger; lines: () => Array<Record<string, unknown>>; close: () => void } {
  mkdirSync(TEST_LOG_DIR, { recursive: true });
  const file = createWriteStream(path.join(TEST_LOG_DIR, `${name}-${process.pid}-${Date.now()}.jsonl`), { flags: 'a' });
  file.on('error', () => undefined);
  const kept: string[] = [];
  const tee = new Writable({
    write(chunk: Buffer, _enc, cb) {
      kept.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      file.write(chunk, () => cb());
    },
  });
  return {
    logger: createLogger('debug', tee),
    lines: () => kept.map((l) => JSON.parse(l) as Record<string, unknown>),
    close: () => file.end(),
  };
}

/** A copy of a file under another SOP Instance UID of the same length (a new instance with the same content). */
export function withNewSopUid(f: DicomFile, n: number): { bytes: Buffer; sopInstanceUid: string } {
  const last = f.sopInstanceUid.split('.').at(-1)!;
  const k = Math.min(4, last.length - 1);
  if (k < 1) throw new Error(`cannot vary SOP Instance UID ${f.sopInstanceUid}`);
  const uid = f.sopInstanceUid.slice(0, -k) + String(n % 10 ** k).padStart(k, '0');
  const bytes = Buffer.from(f.bytes);
  for (let i = bytes.indexOf(f.sopInstanceUid, 0, 'latin1'); i !== -1; i = bytes.indexOf(f.sopInstanceUid, i + 1, 'latin1')) bytes.write(uid, i, 'latin1');
  return { bytes, sopInstanceUid: uid };
}
