// The request body of a notification: FHIR JSON only (application/fhir+json or application/json, UTF-8).
import { parseMediaType } from '../../http/dicomweb/multipart.js';
import { malformed, unsupportedMediaType } from './outcome.js';

const ACCEPTED_TYPES = new Set(['application/fhir+json', 'application/json']);

/** Refuses (415) anything but a FHIR JSON media type, before the body is read. */
export function checkContentType(contentType: string | undefined): void {
  if (!contentType) throw unsupportedMediaType('the request has no Content-Type; send application/fhir+json');
  const mt = parseMediaType(contentType);
  if (!mt) throw unsupportedMediaType(`Content-Type ${JSON.stringify(contentType.slice(0, 100))} is not a valid media type; send application/fhir+json`);
  if (!ACCEPTED_TYPES.has(mt.type)) throw unsupportedMediaType(`Content-Type ${mt.type.slice(0, 100)} is not supported; send application/fhir+json (or application/json)`);
  const charset = mt.params.charset?.toLowerCase();
  if (charset && charset !== 'utf-8' && charset !== 'utf8') throw unsupportedMediaType(`charset ${charset.slice(0, 40)} is not supported; FHIR JSON is UTF-8`);
}

/** Parses the body as one JSON object (400 when it is empty, not JSON, or not an object). */
export function parseJsonBody(body: Buffer): Record<string, unknown> {
  if (body.length === 0) throw malformed('the request body is empty; a FHIR resource was expected');
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw malformed(`the request body is not valid JSON: ${(err as Error).message.slice(0, 200)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformed('the request body is not a JSON object (a FHIR resource)');
  return value as Record<string, unknown>;
}
