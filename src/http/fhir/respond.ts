// How /fhir answers: application/fhir+json always (R4 http.html#mime: content types and _format), errors
// as OperationOutcome with the HTTP status R4 names for them, and versioned reads with ETag and Last-Modified.
// Messages name parameters, types and ids, never identifier values or patient data.
import type { RequestHandler, Response } from 'express';
import type { OperationOutcome, Resource } from '@medplum/fhirtypes';

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

type IssueCode = OperationOutcome['issue'][number]['code'];

/** An error that becomes an OperationOutcome with this status. */
export class FhirHttpError extends Error {
  constructor(readonly status: number, readonly code: IssueCode, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
    this.name = 'FhirHttpError';
  }
}

export function operationOutcome(code: IssueCode, diagnostics: string, severity: 'error' | 'warning' | 'information' = 'error'): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity, code, diagnostics }] };
}

export function sendFhir(res: Response, status: number, body: Resource, headers: Record<string, string> = {}): void {
  res.status(status).set({ ...headers, 'Content-Type': FHIR_JSON }).send(JSON.stringify(body));
}

/** R4 http.html#versioning: a versioned resource answers with ETag W/"versionId" and Last-Modified from meta. */
export function versionHeaders(resource: Resource): Record<string, string> {
  const h: Record<string, string> = {};
  if (resource.meta?.versionId) h.ETag = `W/"${resource.meta.versionId}"`;
  if (resource.meta?.lastUpdated) h['Last-Modified'] = new Date(resource.meta.lastUpdated).toUTCString();
  return h;
}

const JSON_FORMATS = new Set(['json', 'application/json', 'application/fhir+json']);

/**
 * 406 for anything that asks for another format than JSON: `_format` (which wins over Accept, R4 http.html#mime) or
 * an Accept header that JSON does not satisfy (application/fhir+xml, text/turtle, ...).
 */
export const negotiateJson: RequestHandler = (req, _res, next) => {
  const formats = new URL(req.originalUrl, 'http://x').searchParams.getAll('_format');
  if (formats.length) {
    for (const f of formats) {
      const mime = f.split(';')[0]!.trim().toLowerCase();
      if (!JSON_FORMATS.has(mime)) return next(new FhirHttpError(406, 'not-supported', `_format=${f} is not available: OphGate's FHIR API speaks JSON only (_format=json or application/fhir+json)`));
    }
    return next();
  }
  if (req.get('accept') && !req.accepts(['application/fhir+json', 'application/json'])) {
    return next(new FhirHttpError(406, 'not-supported', `Accept: ${req.get('accept')} cannot be satisfied: OphGate's FHIR API speaks JSON only (application/fhir+json)`));
  }
  next();
};

/** R4 http.html#general: an interaction the server does not support answers 405. Only reads pass. */
export const readOnly: RequestHandler = (req, _res, next) => {
  if (req.method === 'GET' || req.method === 'HEAD') return next();
  // POST Type/_search is a read (R4 http.html#search: GET or POST); every other method writes.
  if (req.method === 'POST' && /^\/[A-Za-z]+\/_search\/?$/.test(req.path)) return next();
  next(new FhirHttpError(405, 'not-supported',
    `${req.method} is not supported: OphGate's FHIR API is read-only (read, vread, history, search). OphGate sends its reports to the EHR itself`,
    { Allow: 'GET, HEAD' }));
};
