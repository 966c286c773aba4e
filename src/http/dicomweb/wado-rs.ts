// WADO-RS, the DICOMweb retrieve service (PS3.18 10.4): instances as stored (multipart/related;
// type="application/dicom", the original bytes streamed from the blob store, never transcoded), metadata
// (application/dicom+json, BulkDataURIs pointing at the bulkdata resource here), bulk data and frames
// (application/octet-stream parts, bytes as stored) and rendered frames (image/jpeg or image/png).
import { access } from 'node:fs/promises';
import type { Request, Response, NextFunction, Router } from 'express';
import type { GatewayContext } from '../../gateway-context.js';
import { TRANSFER_SYNTAXES } from '../../dicom/transfer-syntaxes.js';
import type { DicomJson } from '../../dicom/json-model.js';
import { studyExists, studyOfSeries, instanceFile, instanceFiles, instanceAttributes, type InstanceFile } from '../../store/queries.js';
import { HttpError, baseUrl, instanceUrl, pathUid } from './common.js';
import { acceptOf, covers, parseAccept, type MediaRange } from './media-types.js';
import { MultipartWriter, ClientGone, writeChunk } from './multipart-writer.js';
import { T } from './attribute-keys.js';
import { element, rewriteBulkDataUris, sortByTag } from './dicom-json.js';
import { parseStored, elementValue, pixelFrames, parseFrameList, isNativeTransferSyntax } from './bulk.js';
import { negotiateRendered, parseRenderParams, renderFrame } from './rendered.js';

const EXPLICIT_LE = '1.2.840.10008.1.2.1';

type Level = 'study' | 'series' | 'instance';

interface Target { level: Level; study: string; series?: string; instance?: string }

function describeTs(uid: string): string {
  const name = TRANSFER_SYNTAXES.get(uid)?.name;
  return name ? `${uid} (${name})` : uid;
}

function handle(ctx: GatewayContext, fn: (req: Request, res: Response) => Promise<void>) {
  return (req: Request, res: Response, next: NextFunction): void => {
    fn(req, res).catch((err: unknown) => {
      if (err instanceof ClientGone) return;
      if (err instanceof HttpError) {
        if (res.headersSent) return void res.destroy();
        res.status(err.status).set(err.headers).json({ error: err.message });
        return;
      }
      if (res.headersSent) {
        ctx.logger.error({ path: req.path, err: (err as Error)?.message ?? String(err) }, 'WADO-RS response failed after it started');
        res.destroy();
        return;
      }
      next(err);
    });
  };
}

function targetOf(req: Request, level: Level): Target {
  const t: Target = { level, study: pathUid(req.params.study, 'Study Instance UID') };
  if (level !== 'study') t.series = pathUid(req.params.series, 'Series Instance UID');
  if (level === 'instance') t.instance = pathUid(req.params.instance, 'SOP Instance UID');
  return t;
}

/** The instances a target names, or 404 naming the UID that is unknown or misplaced. */
function resolve(ctx: GatewayContext, t: Target): InstanceFile[] {
  if (!studyExists(ctx.store, t.study)) throw new HttpError(404, `study ${t.study} not found`);
  if (t.series) {
    const owner = studyOfSeries(ctx.store, t.series);
    if (!owner) throw new HttpError(404, `series ${t.series} not found`);
    if (owner !== t.study) throw new HttpError(404, `series ${t.series} is not in study ${t.study}`);
  }
  if (t.instance) {
    const f = instanceFile(ctx.store, t.instance);
    if (!f) throw new HttpError(404, `instance ${t.instance} not found`);
    if (f.series_uid !== t.series || f.study_uid !== t.study) throw new HttpError(404, `instance ${t.instance} is not in series ${t.series} of study ${t.study}`);
    return [f];
  }
  const files = instanceFiles(ctx.store, { study: t.study, series: t.series });
  if (files.length === 0) throw new HttpError(404, `${t.series ? `series ${t.series}` : `study ${t.study}`} has no instances`);
  return files;
}

function isMultipartRelated(r: MediaRange): boolean {
  return r.type === 'multipart' && (r.subtype === 'related' || r.subtype === '*');
}

/**
 * Instances: multipart/related; type="application/dicom" (also for an absent Accept, any type, or multipart/related
 * without type). transfer-syntax=* or absent: as stored; a named one must equal every instance's stored one.
 */
function negotiateInstances(req: Request, files: readonly InstanceFile[]): void {
  const ranges = parseAccept(acceptOf(req));
  if (ranges.length === 0) return;
  let mismatch: string | undefined;
  for (const r of ranges) {
    if (r.type === '*' && r.subtype === '*') return;
    if (!isMultipartRelated(r)) continue;
    const type = (r.params.type ?? 'application/dicom').toLowerCase();
    if (type !== 'application/dicom' && type !== '*/*' && type !== 'application/*') continue;
    const ts = r.params['transfer-syntax'];
    if (ts === undefined || ts === '*') return;
    const other = files.find((f) => f.transfer_syntax_uid !== ts);
    if (!other) return;
    mismatch = `instance ${other.sop_instance_uid} is stored as ${describeTs(other.transfer_syntax_uid)}, not ${ts}; OphGate does not transcode: ask for transfer-syntax=* (or the stored one)`;
  }
  throw new HttpError(406, mismatch ?? 'instances are offered as multipart/related; type="application/dicom" (transfer-syntax=* or as stored); the Accept header allows none of these');
}

function negotiateJson(req: Request): 'application/dicom+json' | 'application/json' {
  const ranges = parseAccept(acceptOf(req));
  if (ranges.length === 0) return 'application/dicom+json';
  for (const r of ranges) {
    if (covers(r, 'application', 'dicom+json')) return 'application/dicom+json';
    if (covers(r, 'application', 'json')) return 'application/json';
  }
  throw new HttpError(406, 'metadata is offered as application/dicom+json (or application/json); the Accept header allows neither');
}

/**
 * Bulk data and frames: multipart/related; type="application/octet-stream" (also for an absent Accept or any type), or
 * a single application/octet-stream body. Returns whether multipart was chosen, and the transfer-syntax asked for.
 */
function negotiateOctets(req: Request, storedTs: string | undefined, compressed: boolean, what: string): { multipart: boolean } {
  const ranges = parseAccept(acceptOf(req));
  if (ranges.length === 0) return { multipart: true };
  let mismatch: string | undefined;
  for (const r of ranges) {
    let multipart: boolean;
    let ts: string | undefined;
    if (r.type === '*' && r.subtype === '*') return { multipart: true };
    if (isMultipartRelated(r)) {
      const type = (r.params.type ?? 'application/octet-stream').toLowerCase();
      if (type !== 'application/octet-stream' && type !== '*/*' && type !== 'application/*') continue;
      multipart = true;
      ts = r.params['transfer-syntax'];
    } else if (covers(r, 'application', 'octet-stream')) {
      multipart = false;
      ts = r.params['transfer-syntax'];
    } else {
      continue;
    }
    if (!compressed) {
      if (ts === undefined || ts === '*' || ts === EXPLICIT_LE || ts === storedTs) return { multipart };
      mismatch = `${what} is uncompressed (${describeTs(EXPLICIT_LE)}); OphGate does not transcode to ${ts}`;
    } else {
      if (ts === '*' || ts === storedTs) return { multipart };
      mismatch = `${what} is stored compressed as ${describeTs(storedTs ?? '')}; OphGate does not transcode: ask for transfer-syntax=* (or the stored one)`;
    }
  }
  throw new HttpError(406, mismatch ?? `${what} is offered as multipart/related; type="application/octet-stream" or application/octet-stream; the Accept header allows neither`);
}

async function checkBlobs(ctx: GatewayContext, files: readonly InstanceFile[]): Promise<void> {
  for (const f of files) {
    try {
      await access(ctx.store.blobPath(f));
    } catch {
      throw new Error(`stored file of instance ${f.sop_instance_uid} is missing (${ctx.store.blobPath(f)})`);
    }
  }
}

async function retrieveInstances(ctx: GatewayContext, req: Request, res: Response, level: Level): Promise<void> {
  const t = targetOf(req, level);
  const files = resolve(ctx, t);
  negotiateInstances(req, files);
  await checkBlobs(ctx, files);
  const base = baseUrl(ctx, req);
  const w = new MultipartWriter(res, 'application/dicom');
  for (const f of files) {
    await w.partFromFile({
      'Content-Type': `application/dicom; transfer-syntax=${f.transfer_syntax_uid}`,
      'Content-Location': instanceUrl(base, f.study_uid, f.series_uid, f.sop_instance_uid),
    }, ctx.store.blobPath(f), f.size);
  }
  await w.end();
}

const METADATA_CHUNK = 100;

async function retrieveMetadata(ctx: GatewayContext, req: Request, res: Response, level: Level): Promise<void> {
  const t = targetOf(req, level);
  const files = resolve(ctx, t);
  const type = negotiateJson(req);
  const base = baseUrl(ctx, req);
  res.status(200).type(type);
  await writeChunk(res, '[');
  let first = true;
  for (let i = 0; i < files.length; i += METADATA_CHUNK) {
    const chunk = files.slice(i, i + METADATA_CHUNK);
    const attrs = instanceAttributes(ctx.store, chunk.map((f) => f.sop_instance_uid));
    const parts: string[] = [];
    for (const f of chunk) {
      const text = attrs.get(f.sop_instance_uid);
      if (text === undefined) continue; // deleted meanwhile
      const json = JSON.parse(text) as DicomJson;
      rewriteBulkDataUris(json, instanceUrl(base, f.study_uid, f.series_uid, f.sop_instance_uid));
      json[T.AvailableTransferSyntaxUID] = element('UI', [f.transfer_syntax_uid]);
      parts.push(JSON.stringify(sortByTag(json)));
    }
    if (parts.length === 0) continue;
    await writeChunk(res, (first ? '' : ',') + parts.join(','));
    first = false;
  }
  await writeChunk(res, ']');
  res.end();
}

async function retrieveBulk(ctx: GatewayContext, req: Request, res: Response): Promise<void> {
  const t = targetOf(req, 'instance');
  const raw = req.params.path as unknown;
  const segments = (Array.isArray(raw) ? raw.map(String) : String(raw ?? '').split('/')).filter((s) => s !== '');
  const [f] = resolve(ctx, t);
  const { multipart } = negotiateOctets(req, undefined, false, `bulk data ${segments.join('/')}`);
  await checkBlobs(ctx, [f!]);
  const ds = await parseStored(ctx.store.blobPath(f!), f!.transfer_syntax_uid);
  const bytes = elementValue(ds, segments);
  if (!multipart) {
    res.status(200).type('application/octet-stream').send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return;
  }
  const w = new MultipartWriter(res, 'application/octet-stream');
  await w.partFromBuffer({ 'Content-Type': 'application/octet-stream', 'Content-Location': `${instanceUrl(baseUrl(ctx, req), t.study, t.series!, t.instance!)}/bulk/${segments.join('/')}` }, bytes);
  await w.end();
}

async function retrieveFrames(ctx: GatewayContext, req: Request, res: Response): Promise<void> {
  const t = targetOf(req, 'instance');
  const frames = parseFrameList(String(req.params.frames ?? ''));
  const [f] = resolve(ctx, t);
  const compressed = !isNativeTransferSyntax(f!.transfer_syntax_uid);
  const { multipart } = negotiateOctets(req, f!.transfer_syntax_uid, compressed, `the pixel data of instance ${t.instance}`);
  if (!multipart && frames.length > 1) throw new HttpError(406, 'several frames need multipart/related; type="application/octet-stream"');
  await checkBlobs(ctx, [f!]);
  const ds = await parseStored(ctx.store.blobPath(f!), f!.transfer_syntax_uid);
  const data = pixelFrames(ds, f!.transfer_syntax_uid, frames, t.instance!);
  const ts = compressed ? f!.transfer_syntax_uid : EXPLICIT_LE;
  const partType = `application/octet-stream; transfer-syntax=${ts}`;
  if (!multipart) {
    const b = data[0]!.bytes;
    res.status(200).set('Content-Type', partType).send(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    return;
  }
  const w = new MultipartWriter(res, 'application/octet-stream', { 'transfer-syntax': ts });
  const url = instanceUrl(baseUrl(ctx, req), t.study, t.series!, t.instance!);
  for (let i = 0; i < data.length; i++) {
    await w.partFromBuffer({ 'Content-Type': partType, 'Content-Location': `${url}/frames/${frames[i]}` }, data[i]!.bytes);
  }
  await w.end();
}

async function retrieveRendered(ctx: GatewayContext, req: Request, res: Response, framed: boolean): Promise<void> {
  const t = targetOf(req, 'instance');
  let frame = 1;
  if (framed) {
    const list = parseFrameList(String(req.params.frames ?? ''));
    if (list.length !== 1) throw new HttpError(400, 'a rendered frame resource takes exactly one frame number');
    frame = list[0]!;
  }
  const type = negotiateRendered(req);
  const params = parseRenderParams(req.query as Record<string, unknown>);
  const [f] = resolve(ctx, t);
  await checkBlobs(ctx, [f!]);
  const image = await renderFrame((file) => ctx.decodePool.decode(file), ctx.store.blobPath(f!), frame, type, params, t.instance!);
  if (params.ignored.length) {
    res.append('Warning', `299 ${req.get('host') ?? 'ophgate'}: "The ${params.ignored.join(', ')} parameter(s) are not supported and were ignored."`);
  }
  res.status(200).type(type).send(image);
}

export function wadoRoutes(r: Router, ctx: GatewayContext): void {
  const S = '/studies/:study';
  const SE = `${S}/series/:series`;
  const I = `${SE}/instances/:instance`;
  r.get(S, handle(ctx, (req, res) => retrieveInstances(ctx, req, res, 'study')));
  r.get(SE, handle(ctx, (req, res) => retrieveInstances(ctx, req, res, 'series')));
  r.get(I, handle(ctx, (req, res) => retrieveInstances(ctx, req, res, 'instance')));
  r.get(`${S}/metadata`, handle(ctx, (req, res) => retrieveMetadata(ctx, req, res, 'study')));
  r.get(`${SE}/metadata`, handle(ctx, (req, res) => retrieveMetadata(ctx, req, res, 'series')));
  r.get(`${I}/metadata`, handle(ctx, (req, res) => retrieveMetadata(ctx, req, res, 'instance')));
  r.get(`${I}/rendered`, handle(ctx, (req, res) => retrieveRendered(ctx, req, res, false)));
  r.get(`${I}/frames/:frames/rendered`, handle(ctx, (req, res) => retrieveRendered(ctx, req, res, true)));
  r.get(`${I}/frames/:frames`, handle(ctx, (req, res) => retrieveFrames(ctx, req, res)));
  r.get(`${I}/bulk/*path`, handle(ctx, (req, res) => retrieveBulk(ctx, req, res)));
  const notOffered = (what: string) => handle(ctx, async () => {
    throw new HttpError(406, `${what} are not offered; render single instances (…/instances/{uid}/rendered) instead`);
  });
  r.get(`${S}/rendered`, notOffered('rendered studies'));
  r.get(`${SE}/rendered`, notOffered('rendered series'));
}
