// Retrieves a whole study from a configured DICOMweb source by WADO-RS (PS3.18 10.4.1, Retrieve Study):
// GET {url}/studies/{study} asking for every instance in its stored transfer syntax. The multipart/related
// response is parsed as it arrives by the STOW-RS parser; each part is spooled to a temp file and goes through
// the ingest door (InstanceAcceptor) exactly as a STOW-RS part does, so memory stays flat whatever the study's size.
import type { Logger } from 'pino';
import type { InstanceAcceptor, InstanceSource } from './accept-instance.js';
import type { BlobStore, SpooledFile } from '../store/blob-store.js';
import type { DicomwebSource } from './fhir-notification/sources.js';
import { MultipartError, MultipartParser, checkBoundary, parseMediaType, type PartHeaders } from '../http/dicomweb/multipart.js';
import { PartSpool } from '../http/dicomweb/part-spool.js';

export const WADO_RS_ACCEPT = 'multipart/related; type="application/dicom"; transfer-syntax=*';

/** Statuses that another try cannot change (the request itself is wrong or not allowed). */
const FINAL_STATUSES = new Set([400, 401, 403, 405, 406, 415]);

export class WadoFetchError extends Error {
  constructor(message: string, readonly retryable: boolean) {
    super(message);
    this.name = 'WadoFetchError';
  }
}

export interface WadoFetchResult {
  parts: number; stored: number; duplicates: number; refused: number; bytes: number;
  /** Why each refused part was refused (first few). */
  refusals: string[];
}

export interface WadoFetchOptions {
  source: DicomwebSource;
  studyUid: string;
  acceptor: InstanceAcceptor;
  blobs: BlobStore;
  /** Groups the instances for the study assembler, which settles the study once the retrieval is complete. */
  associationId?: string;
  signal?: AbortSignal;
  logger?: Logger;
}

export async function fetchStudy(o: WadoFetchOptions): Promise<WadoFetchResult> {
  const url = `${o.source.url}/studies/${o.studyUid}`;
  const where = `WADO-RS ${o.source.name} (study ${o.studyUid})`;
  const headers: Record<string, string> = { Accept: WADO_RS_ACCEPT };
  if (o.source.bearerToken) headers.Authorization = `Bearer ${o.source.bearerToken}`;
  const timeout = AbortSignal.timeout(o.source.timeoutSeconds * 1000);
  const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout;

  let res: Response;
  try {
    res = await fetch(url, { headers, redirect: 'error', signal });
  } catch (err) {
    throw new WadoFetchError(`${where}: ${describeNetworkError(err, o.source.timeoutSeconds)}`, true);
  }
  if (res.status !== 200) {
    const text = (await res.text().catch(() => '')).replace(/\s+/g, ' ').trim().slice(0, 200);
    const why = res.status === 204 || res.status === 404 ? 'the source has no instances of this study (yet)' : text;
    throw new WadoFetchError(`${where}: HTTP ${res.status}${why ? `: ${why}` : ''}`, !FINAL_STATUSES.has(res.status));
  }
  const contentType = res.headers.get('content-type') ?? '';
  const mt = parseMediaType(contentType);
  if (!mt || mt.type !== 'multipart/related') throw new WadoFetchError(`${where}: the response is ${JSON.stringify(contentType.slice(0, 100))}, not multipart/related`, false);
  const boundary = mt.params.boundary;
  const badBoundary = boundary === undefined ? 'no boundary parameter' : checkBoundary(boundary);
  if (badBoundary) throw new WadoFetchError(`${where}: response Content-Type: ${badBoundary}`, false);
  if (!res.body) throw new WadoFetchError(`${where}: the response has no body`, true);

  const source: InstanceSource = { protocol: 'wado-fetch', associationId: o.associationId };
  const result: WadoFetchResult = { parts: 0, stored: 0, duplicates: 0, refused: 0, bytes: 0, refusals: [] };
  const refuse = (reason: string) => {
    result.refused++;
    if (result.refusals.length < 5) result.refusals.push(reason);
  };
  const parser = new MultipartParser(boundary!);
  let current: { index: number; spool: PartSpool | undefined; skip?: string } | undefined;

  const endPart = async (part: NonNullable<typeof current>): Promise<void> => {
    if (!part.spool) return refuse(`part ${part.index}: ${part.skip}`);
    const file: SpooledFile = await part.spool.finish(); // a disk error fails the attempt; it is retried
    let outcome;
    try {
      outcome = await o.acceptor.accept(file, source, o.studyUid);
    } catch (err) {
      o.blobs.discard(file);
      throw err;
    }
    switch (outcome.status) {
      case 'stored': result.stored++; break;
      case 'duplicate': result.duplicates++; break;
      default: refuse(`part ${part.index}${outcome.sopInstanceUid ? ` (SOP Instance ${outcome.sopInstanceUid})` : ''}: ${outcome.reason}`);
    }
  };

  try {
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      result.bytes += buf.length;
      for (const ev of parser.push(buf)) {
        switch (ev.type) {
          case 'part': {
            result.parts++;
            const skip = partProblem(ev.headers);
            current = { index: ev.index, spool: skip ? undefined : new PartSpool(o.blobs), skip };
            break;
          }
          case 'data': if (current?.spool) await current.spool.write(ev.chunk); break;
          case 'part-end': {
            const part = current!;
            current = undefined;
            await endPart(part);
            break;
          }
          case 'done': break;
          case 'error': throw ev.error;
        }
      }
    }
    parser.finish();
  } catch (err) {
    await current?.spool?.discard();
    if (err instanceof MultipartError) throw new WadoFetchError(`${where}: malformed multipart response after ${result.parts} part(s): ${err.message}`, true);
    if (err instanceof WadoFetchError) throw err;
    if ((err as Error).name === 'AbortError' || (err as Error).name === 'TimeoutError' || signal.aborted) {
      throw new WadoFetchError(`${where}: ${describeNetworkError(signal.reason ?? err, o.source.timeoutSeconds)} after ${result.parts} part(s)`, true);
    }
    throw new WadoFetchError(`${where}: the response broke off after ${result.parts} part(s): ${(err as Error).message}`, true);
  }
  if (result.parts === 0) throw new WadoFetchError(`${where}: the response has no parts`, true);
  o.logger?.info({ source: o.source.name, studyUid: o.studyUid, parts: result.parts, stored: result.stored, duplicates: result.duplicates, refused: result.refused, bytes: result.bytes }, 'WADO-RS retrieval done');
  return result;
}

function partProblem(headers: PartHeaders): string | undefined {
  const ct = headers['content-type'];
  if (ct === undefined) return undefined; // taken as application/dicom, the type the response declared
  const mt = parseMediaType(ct);
  if (!mt || mt.type !== 'application/dicom') return `the part is ${JSON.stringify(ct.slice(0, 80))}, not application/dicom`;
  return undefined;
}

function describeNetworkError(err: unknown, timeoutSeconds: number): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return `no complete answer within ${timeoutSeconds} s (sources.dicomweb timeoutSeconds)`;
  if (e?.name === 'AbortError') return 'stopped (the gateway is shutting down)';
  const cause = e?.cause?.code ?? e?.cause?.message;
  return `${e?.message ?? String(err)}${cause ? ` (${cause})` : ''}`;
}
