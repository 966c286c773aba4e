// STOW-RS (PS3.18 section 10.5, Store Instances): POST /dicomweb/studies[/{study}] with
// multipart/related; type="application/dicom". The body is parsed as it arrives: each part is spooled to a temp
// file (hashed on the way, part-spool.ts) and, once complete, goes through the ingest door (InstanceAcceptor) in arrival order,
// so memory stays flat whatever the size of the request or of any part. Status codes: 200 all stored, 202 some
// stored and some failed, 409 none stored, 400 malformed request or body (parts completed before the error stay
// processed), 413 body over http.maxRequestBytes, 415 not multipart/related; type="application/dicom", 406 when
// the client accepts no JSON. The response format and the private reason element: dicom-json-response.ts.
import { performance } from 'node:perf_hooks';
import type { Request, Response, Router } from 'express';
import type { GatewayContext } from '../../gateway-context.js';
import type { SpooledFile } from '../../store/blob-store.js';
import { PartSpool } from './part-spool.js';
import { statusOf, Status } from '../../ingest/status-codes.js';
import { isValidUid } from '../../dicom/uid.js';
import { baseUrl, studyUrl, instanceUrl } from './common.js';
import { MultipartError, MultipartParser, checkBoundary, parseMediaType, type PartHeaders } from './multipart.js';
import { storeInstancesResponse, type FailedItem, type StoredItem } from './dicom-json-response.js';

const EXPECTED = 'multipart/related; type="application/dicom"; boundary=...';
const LINGER_BYTES = 4 * 1024 * 1024;
const LINGER_MS = 5_000;
const IDENTITY_ENCODINGS = new Set(['binary', '8bit', '7bit']);

export function stowRoutes(r: Router, ctx: GatewayContext): void {
  r.post('/studies', (req, res) => storeInstances(ctx, req, res, undefined));
  r.post('/studies/:study', (req, res) => storeInstances(ctx, req, res, String(req.params.study)));
}

class BodyTooLarge extends Error {}

/** A request-level refusal: the status and the message the client gets. */
interface Refusal { status: number; message: string }

/** The part being received: spooled to a temp file when it is application/dicom, counted and dropped otherwise. */
type CurrentPart =
  | { index: number; kind: 'dicom'; spool: PartSpool }
  | { index: number; kind: 'skip'; reason: string; size: number };

async function storeInstances(ctx: GatewayContext, req: Request, res: Response, studyUid: string | undefined): Promise<void> {
  const started = performance.now();
  const log = ctx.logger.child({ component: 'stow-rs' });
  const limit = ctx.config.http.maxRequestBytes;

  const responseType = req.accepts(['application/dicom+json', 'application/json']);
  if (!responseType) {
    const message = `cannot answer in ${String(req.headers.accept)}: STOW-RS responses are application/dicom+json (or application/json)`;
    await finishEarly(res, req, 406, 'application/json', { error: message });
    log.warn({ status: 406, durationMs: ms(started) }, 'STOW-RS request refused: not acceptable');
    return;
  }
  const send = (status: number, body: object) => finishEarly(res, req, status, `${responseType}; charset=utf-8`, body);


  const refusal = checkRequest(req, studyUid, limit);
  if (refusal) {
    await send(refusal.status, storeInstancesResponse({ studyRetrieveUrl: undefined, stored: [], failed: [], error: refusal.message }));
    log.warn({ status: refusal.status, reason: refusal.message, durationMs: ms(started) }, 'STOW-RS request refused');
    return;
  }
  const boundary = parseMediaType(req.headers['content-type']!)!.params.boundary!;

  const base = baseUrl(ctx, req);
  const stored: StoredItem[] = [];
  const failed: FailedItem[] = [];
  const storedStudies = new Set<string>();
  const counts = { stored: 0, duplicate: 0, failed: 0 };
  const parser = new MultipartParser(boundary);
  let current: CurrentPart | undefined;
  let bytes = 0;

  const startPart = (index: number, headers: PartHeaders): CurrentPart => {
    const problem = partProblem(headers);
    if (problem) return { index, kind: 'skip', reason: problem, size: 0 };
    return { index, kind: 'dicom', spool: new PartSpool(ctx.store.blobs) };
  };

  const writePart = async (part: CurrentPart, chunk: Buffer): Promise<void> => {
    if (part.kind === 'skip') {
      part.size += chunk.length;
      return;
    }
    await part.spool.write(chunk); // after a write error (disk full?) it only counts; the part's end reports it
  };

  const endPart = async (part: CurrentPart): Promise<void> => {
    if (part.kind === 'skip') {
      ctx.metrics.instancesReceived.inc({ protocol: 'stow-rs', outcome: 'rejected' });
      ctx.metrics.bytesReceived.inc({ protocol: 'stow-rs' }, part.size);
      failed.push({ part: part.index, failureReason: Status.CannotUnderstand, reason: part.reason });
      counts.failed++;
      return;
    }
    let file: SpooledFile;
    try {
      file = await part.spool.finish();
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const outOfSpace = e.code === 'ENOSPC' || e.code === 'EDQUOT';
      log.error({ part: part.index, err: e.message }, 'could not spool a STOW-RS part');
      failed.push({ part: part.index, failureReason: outOfSpace ? Status.OutOfResources : Status.ProcessingFailure, reason: `part ${part.index} could not be written to disk: ${e.message}` });
      counts.failed++;
      return;
    }
    try {
      const outcome = await ctx.acceptor.accept(file, { protocol: 'stow-rs' }, studyUid);
      switch (outcome.status) {
        case 'stored':
        case 'duplicate':
          stored.push({
            part: part.index, sopClassUid: outcome.sopClassUid, sopInstanceUid: outcome.sopInstanceUid,
            retrieveUrl: instanceUrl(base, outcome.studyUid, outcome.seriesUid, outcome.sopInstanceUid),
            note: outcome.status === 'duplicate' ? 'an identical instance (same SOP Instance UID, same bytes) was already stored; nothing changed' : undefined,
          });
          storedStudies.add(outcome.studyUid);
          counts[outcome.status]++;
          break;
        case 'conflict':
        case 'rejected':
          failed.push({ part: part.index, sopClassUid: outcome.sopClassUid, sopInstanceUid: outcome.sopInstanceUid, failureReason: statusOf(outcome), reason: outcome.reason });
          counts.failed++;
          break;
      }
    } catch (err) {
      ctx.store.blobs.discard(file); // a no-op when the acceptor already kept or moved it
      log.error({ part: part.index, err: (err as Error).message }, 'ingest failed for a STOW-RS part');
      failed.push({ part: part.index, failureReason: Status.ProcessingFailure, reason: `part ${part.index}: processing failure: ${(err as Error).message}` });
      counts.failed++;
    }
  };

  const abortPart = async (part: CurrentPart | undefined): Promise<void> => {
    if (part?.kind !== 'dicom') return;
    await part.spool.discard();
  };

  let outcome: { kind: 'complete' } | { kind: 'refused'; refusal: Refusal } | { kind: 'disconnected'; message: string } | { kind: 'failed'; err: Error };
  try {
    for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (bytes > limit) throw new BodyTooLarge();
      for (const ev of parser.push(chunk)) {
        switch (ev.type) {
          case 'part': current = startPart(ev.index, ev.headers); break;
          case 'data': await writePart(current!, ev.chunk); break;
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
    outcome = parser.partCount === 0
      ? { kind: 'refused', refusal: { status: 400, message: 'the multipart body has no parts' } }
      : { kind: 'complete' };
  } catch (err) {
    await abortPart(current);
    current = undefined;
    const processed = parser.partCount > 0 ? `; the ${counts.stored + counts.duplicate + counts.failed} part(s) completed before it were processed and stay as reported (stored instances are kept)` : '';
    if (err instanceof MultipartError) {
      outcome = { kind: 'refused', refusal: { status: 400, message: `malformed multipart body: ${err.message}${processed}` } };
    } else if (err instanceof BodyTooLarge) {
      outcome = { kind: 'refused', refusal: { status: 413, message: `the request body exceeds the limit of ${limit} bytes (http.maxRequestBytes); reading stopped in part ${parser.partCount}${processed}` } };
    } else if (req.destroyed || res.destroyed || (err as NodeJS.ErrnoException).code === 'ECONNRESET') {
      outcome = { kind: 'disconnected', message: (err as Error).message };
    } else {
      outcome = { kind: 'failed', err: err as Error };
    }
  }

  const onlyStudy = studyUid ?? (storedStudies.size === 1 ? [...storedStudies][0] : undefined);
  const body = (error?: string) => storeInstancesResponse({ studyRetrieveUrl: onlyStudy ? studyUrl(base, onlyStudy) : undefined, stored, failed, error });
  let status: number;
  switch (outcome.kind) {
    case 'complete':
      status = failed.length === 0 ? 200 : stored.length > 0 ? 202 : 409;
      await send(status, body());
      break;
    case 'refused':
      status = outcome.refusal.status;
      await send(status, body(outcome.refusal.message));
      break;
    case 'disconnected':
      status = 499; // for the log only: nobody is left to answer
      break;
    case 'failed':
      status = 500;
      log.error({ err: outcome.err.message }, 'STOW-RS request failed');
      await send(status, body('internal error while receiving the request; instances listed in ReferencedSOPSequence were stored'));
      break;
  }
  const summary = {
    status, parts: parser.partCount, stored: counts.stored, duplicates: counts.duplicate, failed: counts.failed,
    failureReasons: [...new Set(failed.map((f) => `0x${f.failureReason.toString(16).padStart(4, '0').toUpperCase()}`))],
    bytes, durationMs: ms(started), ...(studyUid ? { studyUid } : {}),
  };
  if (outcome.kind === 'disconnected') log.warn({ ...summary, err: outcome.message }, 'STOW-RS client disconnected; completed parts were processed, the incomplete one dropped');
  else if (status < 300) log.info(summary, 'STOW-RS request done');
  else log.warn({ ...summary, ...(outcome.kind === 'refused' ? { reason: outcome.refusal.message } : {}) }, 'STOW-RS request done with errors');
}

/** Checks made before any of the body is read: media type, boundary, declared length, the URL's study UID. */
function checkRequest(req: Request, studyUid: string | undefined, limit: number): Refusal | undefined {
  const contentType = req.headers['content-type'];
  if (!contentType) return { status: 415, message: `the request has no Content-Type; STOW-RS expects ${EXPECTED}` };
  const mt = parseMediaType(contentType);
  if (!mt) return { status: 415, message: `Content-Type ${JSON.stringify(contentType.slice(0, 200))} is not a valid media type; STOW-RS expects ${EXPECTED}` };
  if (mt.type !== 'multipart/related') return { status: 415, message: `Content-Type ${mt.type} is not supported; STOW-RS expects ${EXPECTED}` };
  const root = mt.params.type !== undefined ? (parseMediaType(mt.params.type)?.type ?? mt.params.type.toLowerCase()) : undefined;
  if (root === 'application/dicom+json' || root === 'application/dicom+xml') {
    return { status: 415, message: `multipart/related; type="${root}" (metadata and bulk data) is not supported: only application/dicom parts (PS3.10 files) are; send ${EXPECTED}` };
  }
  if (root !== undefined && root !== 'application/dicom') {
    return { status: 415, message: `multipart/related; type="${root.slice(0, 100)}" is not supported; STOW-RS expects ${EXPECTED}` };
  }
  const encoding = req.headers['content-encoding']?.trim().toLowerCase();
  if (encoding && encoding !== 'identity') return { status: 415, message: `Content-Encoding ${encoding.slice(0, 40)} is not supported; send the body unencoded` };
  if (mt.params.boundary === undefined) return { status: 400, message: `Content-Type multipart/related has no boundary parameter; send ${EXPECTED}` };
  const badBoundary = checkBoundary(mt.params.boundary);
  if (badBoundary) return { status: 400, message: `Content-Type: ${badBoundary}` };
  if (studyUid !== undefined && !isValidUid(studyUid)) {
    return { status: 400, message: `the Study Instance UID in the URL is not a valid UID: ${JSON.stringify(studyUid.slice(0, 70))}` };
  }
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    return { status: 413, message: `Content-Length ${declared} exceeds the limit of ${limit} bytes (http.maxRequestBytes); nothing was read or stored` };
  }
  return undefined;
}

/** Why a part cannot be stored, judged from its headers; undefined when it is (or is taken as) application/dicom. */
function partProblem(headers: PartHeaders): string | undefined {
  const ct = headers['content-type'];
  if (ct !== undefined) {
    const mt = parseMediaType(ct);
    if (!mt) return `the part's Content-Type ${JSON.stringify(ct.slice(0, 100))} is not a valid media type; only application/dicom parts are supported`;
    if (mt.type !== 'application/dicom') return `the part's Content-Type is ${mt.type}; only application/dicom parts (PS3.10 files) are supported`;
  }
  const cte = headers['content-transfer-encoding']?.toLowerCase();
  if (cte !== undefined && !IDENTITY_ENCODINGS.has(cte)) return `Content-Transfer-Encoding ${cte.slice(0, 40)} is not supported; send the part's bytes as they are (binary)`;
  return undefined;
}

/**
 * Ends a response, also when the request body has not been read to its end (a refusal before or during reading).
 * A socket closed with unread input is reset by the kernel, which can destroy the answer in flight, so the rest of
 * the body is read and dropped, up to LINGER_BYTES or LINGER_MS: after the answer when the connection stays open
 * (the client can stop sending as soon as it reads it), before the answer when the connection ends with it.
 */
async function finishEarly(res: Response, req: Request, status: number, type: string, body: object): Promise<void> {
  if (res.headersSent || res.destroyed) return;
  if (!req.complete && !req.destroyed) {
    if (res.shouldKeepAlive) lingerThenClose(req);
    else await drain(req);
  }
  if (res.headersSent || res.destroyed) return;
  res.status(status).type(type).send(JSON.stringify(body));
}

/** Reads and drops the rest of the body; past the linger budget, cuts the connection. */
function lingerThenClose(req: Request): void {
  void drain(req).then((complete) => {
    if (!complete) req.socket.destroy();
  });
}

/** Reads and drops the rest of the body; true when it ended within LINGER_BYTES and LINGER_MS. */
function drain(req: Request): Promise<boolean> {
  return new Promise((resolve) => {
    let dropped = 0;
    const finish = (complete: boolean) => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      if (!complete) req.pause();
      resolve(complete);
    };
    const onData = (chunk: Buffer) => {
      dropped += chunk.length;
      if (dropped > LINGER_BYTES) finish(false);
    };
    const onEnd = () => finish(true);
    const onError = () => finish(false);
    const timer = setTimeout(() => finish(false), LINGER_MS);
    timer.unref();
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
    req.resume();
  });
}

function ms(started: number): number {
  return Math.round(performance.now() - started);
}
