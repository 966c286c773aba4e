// Subscriptions R5 Backport IG notifications in their R4 form (http://hl7.org/fhir/uv/subscriptions-backport):
// a Bundle of type history whose first entry is a Parameters resource (profile backport-subscription-status-r4)
// saying what kind of notification it is. Handshakes and heartbeats are acknowledged and change nothing. An
// event-notification names its ImagingStudy in each notification-event's focus: with a full-resource payload
// the ImagingStudy is an entry of the Bundle; with id-only it is read from its FHIR server, which must be a
// configured source.
import { checkContentType, parseJsonBody } from './body.js';
import { bundle as bundleSchema, parameters as parametersSchema, parseResource, type BundleEntry, type Parameter } from './resources.js';
import { fetchTargetOf, type FetchTarget } from './target.js';
import { serviceBaseOf } from './endpoint.js';
import { isAbsoluteUrl } from './sources.js';
import { malformed, unprocessable } from './outcome.js';
import type { NotificationDeps, NotificationRequest } from './rest-hook.js';

export const BACKPORT_STATUS_PROFILE = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-status-r4';

export type BackportNotification =
  | { kind: 'acknowledged'; type: 'handshake' | 'heartbeat' }
  | { kind: 'fetch'; targets: FetchTarget[] };

const TYPES = new Set(['handshake', 'heartbeat', 'event-notification', 'query-status', 'query-event']);

export async function backportNotification(req: NotificationRequest, deps: NotificationDeps): Promise<BackportNotification> {
  checkContentType(req.contentType);
  const json = parseJsonBody(req.body);
  if (json.resourceType !== 'Bundle') {
    throw malformed(`expected a Bundle (Subscriptions Backport notification); the body is ${typeof json.resourceType === 'string' ? `a ${json.resourceType.slice(0, 40)}` : 'not a FHIR resource'}. The classic rest-hook with payload is PUT …/ImagingStudy/{id}`);
  }
  const bundle = parseResource(bundleSchema, json, 'the notification Bundle');
  if (bundle.type !== 'history') throw malformed(`the notification Bundle has type ${JSON.stringify(bundle.type.slice(0, 40))}; the R4 backport notification is a Bundle of type history`);
  const entries = bundle.entry ?? [];
  const status = parseResource(parametersSchema, entries[0]?.resource ?? {}, 'the first entry of the notification Bundle (a Parameters resource, profile backport-subscription-status-r4)');
  const params = status.parameter ?? [];
  const type = params.find((p) => p.name === 'type')?.valueCode;
  if (!type) throw malformed('the subscription status Parameters has no "type" parameter (valueCode handshake, heartbeat or event-notification)');
  if (!TYPES.has(type)) throw malformed(`the notification type ${JSON.stringify(type.slice(0, 40))} is not one of the backport IG's`);
  if (type === 'handshake' || type === 'heartbeat') return { kind: 'acknowledged', type };
  if (type !== 'event-notification') throw unprocessable(`a ${type} Bundle answers a status query; OphGate only receives notifications (event-notification, handshake, heartbeat)`, 'not-supported');

  // Relative focus references resolve against the notifying server's base, known from the subscription's reference.
  const subscription = params.find((p) => p.name === 'subscription')?.valueReference?.reference;
  const serverBase = subscription && isAbsoluteUrl(subscription) ? serviceBaseOf(subscription) : undefined;
  const focuses = params.filter((p) => p.name === 'notification-event').map((p) => focusOf(p)).filter((f): f is string => f !== undefined);
  const studyEntries = entries.slice(1).filter((e) => e.resource?.resourceType === 'ImagingStudy');
  if (focuses.length === 0 && studyEntries.length === 0) {
    throw unprocessable('the event-notification names no ImagingStudy (no notification-event focus, no ImagingStudy entry); subscribe with payload id-only or full-resource', 'required');
  }

  const targets: FetchTarget[] = [];
  const seen = new Set<BundleEntry>();
  for (const focus of focuses) {
    const absolute = isAbsoluteUrl(focus) ? focus : serverBase ? `${serverBase}/${focus}` : undefined;
    const type = /(?:^|\/)([A-Z][A-Za-z]+)\/[A-Za-z0-9\-.]{1,64}(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/.exec(focus)?.[1];
    if (type !== 'ImagingStudy') throw unprocessable(`notification-event focus ${JSON.stringify(focus.slice(0, 200))} is not an ImagingStudy; OphGate listens for ImagingStudy notifications only`, 'not-supported');
    const entry = entries.slice(1).find((e) => e.resource && (e.fullUrl === focus || (absolute !== undefined && e.fullUrl === absolute) || sameResource(e, focus)));
    if (entry) {
      seen.add(entry);
      targets.push(await fetchTargetOf(deps.config, entry.resource, focus.slice(0, 200), 'backport-full-resource', { entries, studyUrl: entry.fullUrl && isAbsoluteUrl(entry.fullUrl) ? entry.fullUrl : absolute, reader: deps.reader }));
      continue;
    }
    if (!absolute) throw unprocessable(`notification-event focus ${JSON.stringify(focus.slice(0, 200))} is relative and the Bundle neither holds it nor names its server (subscription reference); id-only notifications need absolute references`, 'not-found');
    if (!deps.reader) throw unprocessable('id-only notifications need OphGate to read the ImagingStudy, and no FHIR source is configured (sources.fhir)', 'not-supported');
    const read = await deps.reader.read(absolute, 'ImagingStudy');
    targets.push(await fetchTargetOf(deps.config, read.resource, absolute.slice(0, 200), 'backport-id-only', { studyUrl: absolute, reader: deps.reader }));
  }
  // Full-resource Bundles from servers that leave out notification-event still carry the resources.
  if (focuses.length === 0) {
    for (const e of studyEntries) {
      if (seen.has(e)) continue;
      const label = e.fullUrl?.slice(0, 200) ?? `ImagingStudy/${e.resource?.id ?? '?'}`;
      targets.push(await fetchTargetOf(deps.config, e.resource, label, 'backport-full-resource', { entries, studyUrl: e.fullUrl && isAbsoluteUrl(e.fullUrl) ? e.fullUrl : undefined, reader: deps.reader }));
    }
  }
  return { kind: 'fetch', targets };
}

function focusOf(event: Parameter): string | undefined {
  return event.part?.find((p) => p.name === 'focus')?.valueReference?.reference;
}

/** Whether the entry is the resource a reference names by type and id (ImagingStudy/{id}, absolute or not). */
function sameResource(entry: BundleEntry, ref: string): boolean {
  const m = /(?:^|\/)ImagingStudy\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/.exec(ref);
  return Boolean(m && entry.resource?.resourceType === 'ImagingStudy' && entry.resource.id === m[1]);
}
