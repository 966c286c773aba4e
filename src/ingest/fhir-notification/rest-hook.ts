// The classic FHIR R4 rest-hook with payload: a Subscription whose channel.payload is application/fhir+json
// makes its server PUT the resource to {endpoint}/ImagingStudy/{id} (R4 subscription.html, "rest-hook").
import { checkContentType, parseJsonBody } from './body.js';
import { fhirId } from './resources.js';
import { fetchTargetOf, type FetchTarget } from './target.js';
import type { FhirSourceReader } from './fhir-read.js';
import { malformed } from './outcome.js';
import type { Config } from '../../config/schema.js';

export interface NotificationRequest { contentType: string | undefined; body: Buffer }
export interface NotificationDeps { config: Pick<Config, 'sources'>; reader?: FhirSourceReader }

export async function restHookNotification(id: string, req: NotificationRequest, deps: NotificationDeps): Promise<FetchTarget> {
  checkContentType(req.contentType);
  if (!fhirId.safeParse(id).success) throw malformed(`ImagingStudy/${JSON.stringify(id.slice(0, 80))}: the id in the URL is not a FHIR id`);
  const resource = parseJsonBody(req.body);
  if (resource.resourceType !== 'ImagingStudy') {
    throw malformed(`the body is ${typeof resource.resourceType === 'string' ? `a ${resource.resourceType.slice(0, 40)}` : 'not a FHIR resource (no resourceType)'}, but the URL names ImagingStudy/${id}`);
  }
  // R4 update: an id that disagrees with the URL is a 400.
  if (resource.id !== undefined && resource.id !== id) {
    throw malformed(`the body's id ${JSON.stringify(String(resource.id).slice(0, 80))} differs from the id in the URL (${id})`);
  }
  return fetchTargetOf(deps.config, resource, `ImagingStudy/${id}`, 'rest-hook', { reader: deps.reader });
}
