// The FHIR R4 read API under /fhir: the resources OphGate emitted (store.fhir), so that an EHR can pull them.
// Interactions: capabilities, read, vread, history-instance, search-type (GET, or POST _search); nothing writes.
import { Router, urlencoded, type ErrorRequestHandler, type Request, type RequestHandler } from 'express';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import type { GatewayContext } from '../../gateway-context.js';
import { FHIR_ID, isFhirType, FHIR_TYPES, type FhirType } from '../../store/fhir-resources.js';
import { baseUrl } from '../dicomweb/common.js';
import { capabilityStatement } from './capability-statement.js';
import { FhirHttpError, negotiateJson, operationOutcome, readOnly, sendFhir, versionHeaders } from './respond.js';
import { parseSearch, searchsetBundle } from './search.js';

/**
 * The one place where access control goes: every route but /metadata runs it first, with the resource type in
 * req.params.type (not yet checked to be one OphGate serves). The planned requireScope middleware (OAuth2 scopes,
 * API keys: e.g. system/*.read or <Type>.read) replaces this pass-through; its 401/403 should be thrown as
 * FhirHttpError so that they answer as OperationOutcomes. /metadata stays open, as SMART clients read it first.
 */
function accessControl(_ctx: GatewayContext): RequestHandler {
  return (_req, _res, next) => next();
}

/** The FHIR base URL clients see: publicBaseUrl (or the request's host) + /fhir. */
export function fhirBaseUrl(ctx: GatewayContext, req: Request): string {
  return `${baseUrl(ctx, req)}/fhir`;
}

function typeOf(req: Request): FhirType {
  const type = String(req.params.type);
  if (!isFhirType(type)) throw new FhirHttpError(404, 'not-supported', `OphGate serves no resource type "${type.slice(0, 80)}" (it serves ${FHIR_TYPES.join(', ')})`);
  return type;
}

function notFound(type: string, id: string, version?: string): FhirHttpError {
  return new FhirHttpError(404, 'not-found', `${type}/${id.slice(0, 80)}${version !== undefined ? `/_history/${version.slice(0, 20)}` : ''} is not known`);
}

/** Request parameters as (name, value) pairs in order: the query string, then a POST _search form body. */
function searchPairs(req: Request): Array<[string, string]> {
  const pairs = [...new URL(req.originalUrl, 'http://x').searchParams.entries()];
  if (req.method === 'POST') {
    if (!req.is('application/x-www-form-urlencoded')) throw new FhirHttpError(415, 'not-supported', 'POST _search takes an application/x-www-form-urlencoded body');
    for (const [k, v] of Object.entries((req.body ?? {}) as Record<string, string | string[]>)) {
      for (const one of Array.isArray(v) ? v : [v]) pairs.push([k, String(one)]);
    }
  }
  return pairs;
}

/** Prefer: handling=lenient (R4 search.html#errors); strict is the default. */
function lenient(req: Request): boolean {
  return (req.get('prefer') ?? '').split(/[,;]/).some((p) => p.trim().toLowerCase() === 'handling=lenient');
}

export function fhirRouter(ctx: GatewayContext): Router {
  const r = Router();
  const started = new Date().toISOString();

  r.use(readOnly);
  r.use(negotiateJson);

  r.get('/metadata', (req, res) => sendFhir(res, 200, capabilityStatement(fhirBaseUrl(ctx, req), started)));

  const guard = accessControl(ctx);

  const search: RequestHandler = (req, res) => {
    const type = typeOf(req);
    const fhirBase = fhirBaseUrl(ctx, req);
    const parsed = parseSearch(type, searchPairs(req), { lenient: lenient(req), fhirBase });
    const { total, resources } = ctx.store.fhir.search(type, parsed.criteria, { count: parsed.count, offset: parsed.offset });
    sendFhir(res, 200, searchsetBundle(fhirBase, type, parsed, total, resources));
  };
  r.get('/:type', guard, search);
  r.post('/:type/_search', guard, urlencoded({ extended: false, limit: '64kb' }), search);

  r.get('/:type/:id', guard, (req, res) => {
    const type = typeOf(req);
    const id = String(req.params.id);
    const resource = FHIR_ID.test(id) ? ctx.store.fhir.read(type, id) : undefined;
    if (!resource) throw notFound(type, id);
    const headers = versionHeaders(resource);
    // Conditional read (http.html#cread): the client's copy is current.
    if (req.get('if-none-match') === headers.ETag) return void res.status(304).set(headers).end();
    sendFhir(res, 200, resource, headers);
  });

  r.get('/:type/:id/_history', guard, (req, res) => {
    const type = typeOf(req);
    const id = String(req.params.id);
    const versions = FHIR_ID.test(id) ? ctx.store.fhir.history(type, id) : [];
    if (!versions.length) throw notFound(type, id);
    const fhirBase = fhirBaseUrl(ctx, req);
    sendFhir(res, 200, historyBundle(fhirBase, type, id, versions));
  });

  r.get('/:type/:id/_history/:vid', guard, (req, res) => {
    const type = typeOf(req);
    const id = String(req.params.id);
    const vid = String(req.params.vid);
    const resource = FHIR_ID.test(id) && /^[1-9]\d{0,9}$/.test(vid) ? ctx.store.fhir.vread(type, id, Number(vid)) : undefined;
    if (!resource) throw notFound(type, id, vid);
    sendFhir(res, 200, resource, versionHeaders(resource));
  });

  r.use((req, _res, next) => next(new FhirHttpError(404, 'not-found', `no FHIR interaction at ${req.method} /fhir${req.path.slice(0, 200)}`)));

  const onError: ErrorRequestHandler = (err, req, res, _next) => {
    if (res.headersSent) return void res.destroy();
    if (err instanceof FhirHttpError) return void sendFhir(res, err.status, operationOutcome(err.code, err.message), err.headers);
    const status = typeof err?.status === 'number' && err.status >= 400 && err.status < 500 ? err.status : 500;
    // Only the path: a query may carry identifiers (patient IDs), which must not reach the log.
    if (status >= 500) ctx.logger.error({ method: req.method, path: req.path, err: String(err?.message ?? err) }, 'FHIR request failed');
    sendFhir(res, status, operationOutcome(status >= 500 ? 'exception' : 'invalid', status >= 500 ? 'internal error' : String(err?.message ?? err)));
  };
  r.use(onError);
  return r;
}

/** The history Bundle of one resource (http.html#history): newest first, each version with request and response. */
function historyBundle(fhirBase: string, type: string, id: string, versions: Resource[]): Bundle {
  return {
    resourceType: 'Bundle', type: 'history', total: versions.length,
    link: [{ relation: 'self', url: `${fhirBase}/${type}/${id}/_history` }],
    entry: versions.map((v) => {
      const first = v.meta?.versionId === '1';
      return {
        fullUrl: `${fhirBase}/${type}/${id}`,
        resource: v,
        request: first ? { method: 'POST', url: type } : { method: 'PUT', url: `${type}/${id}` },
        response: { status: first ? '201 Created' : '200 OK', etag: `W/"${v.meta?.versionId}"`, lastModified: v.meta?.lastUpdated },
      };
    }),
  };
}
