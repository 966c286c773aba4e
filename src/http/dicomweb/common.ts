// What the DICOMweb services share: the base URL for RetrieveURL and BulkDataURI values,
// resource URLs, and errors that carry an HTTP status. Error bodies are JSON {"error": "..."} like the rest of the
// gateway; messages name UIDs and query keys but never echo patient data.
import type { Request } from 'express';
import type { GatewayContext } from '../../gateway-context.js';

export class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
    this.name = 'HttpError';
  }
}

/** The gateway's externally visible base URL, without a trailing slash: publicBaseUrl, else the request's Host. */
export function baseUrl(ctx: GatewayContext, req: Request): string {
  const configured = ctx.config.http.publicBaseUrl;
  if (configured) return configured.replace(/\/+$/, '');
  const host = req.get('host');
  if (host) return `${req.protocol}://${host}`;
  const addr = req.socket.localAddress ?? '127.0.0.1'; // HTTP/1.0 without Host: the address the client reached
  return `${req.protocol}://${addr.includes(':') ? `[${addr}]` : addr}:${req.socket.localPort}`;
}

export function studyUrl(base: string, study: string): string {
  return `${base}/dicomweb/studies/${study}`;
}

export function seriesUrl(base: string, study: string, series: string): string {
  return `${studyUrl(base, study)}/series/${series}`;
}

export function instanceUrl(base: string, study: string, series: string, instance: string): string {
  return `${seriesUrl(base, study, series)}/instances/${instance}`;
}

/** A UID from a URL path segment: checked for shape so that a typo gives a clear 400/404, never a SQL surprise. */
export function pathUid(value: unknown, what: string, status = 404): string {
  const v = typeof value === 'string' ? value : '';
  if (!/^[0-9.]{1,64}$/.test(v)) throw new HttpError(status, `${what} "${v.slice(0, 80)}" is not a UID${status === 404 ? ', so there is no such resource' : ''}`);
  return v;
}
