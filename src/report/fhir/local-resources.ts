// A report's resources as OphGate keeps and serves them (/fhir), and back. In the transaction Bundle entries are
// named by urn:uuid fullUrls and refer to each other by them; kept locally, each resource gets that uuid as its
// id and refers to the others as "Type/id" (Provenance keeps its client-assigned id). toTransactionBundle turns
// stored resources back into the Bundle that buildReportBundle would send, with requests from the same rule.
import type { Bundle, BundleEntry, Identifier, Resource } from '@medplum/fhirtypes';
import { fullUrlOf, isConditional, requestFor } from './bundle.js';

/** A reference that cannot be resolved, or an entry that cannot be named: the message names it. */
export class LocalResourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LocalResourceError';
  }
}

const URN_UUID = /^urn:uuid:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;
const LOCAL_REF = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/;

/**
 * The local id of a resource OphGate creates outside buildReportBundle (the signer's Practitioner): the uuid of the
 * urn:uuid fullUrl its bundle entry would have, so stored, re-sent and built forms agree.
 */
export function localIdOf(type: string, identifier: Identifier): string {
  return fullUrlOf(type, identifier).slice('urn:uuid:'.length);
}

/**
 * Rewrites every Reference.reference string, at any depth (extensions and backbone elements included). Only the
 * key "reference" holding a string is touched: identifiers whose system or value is a urn:uuid are left alone.
 */
function mapReferences<T>(node: T, map: (reference: string) => string): T {
  if (Array.isArray(node)) return node.map((n) => mapReferences(n, map)) as T;
  if (node && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) out[k] = k === 'reference' && typeof v === 'string' ? map(v) : mapReferences(v, map);
    return out as T;
  }
  return node;
}

/**
 * The resources of a transaction Bundle as OphGate stores them: id = the uuid of the entry's urn:uuid fullUrl (an
 * entry without one keeps its resource's own id, as Provenance does), and every "urn:uuid:X" reference becomes
 * "Type/X" of the entry it names. Throws LocalResourceError for a reference to no entry of the bundle.
 */
export function toLocalResources(bundle: Bundle): Resource[] {
  const entries = bundle.entry ?? [];
  const targets = new Map<string, string>();
  const named = entries.map((e, i) => {
    const resource = e.resource;
    if (!resource) throw new LocalResourceError(`entry ${i} has no resource`);
    const uuid = e.fullUrl ? URN_UUID.exec(e.fullUrl)?.[1]?.toLowerCase() : undefined;
    if (e.fullUrl && !uuid) throw new LocalResourceError(`entry ${i} (${resource.resourceType}) has fullUrl ${e.fullUrl}, not a urn:uuid`);
    const id = uuid ?? resource.id;
    if (!id) throw new LocalResourceError(`entry ${i} (${resource.resourceType}) has neither a urn:uuid fullUrl nor an id`);
    if (uuid) targets.set(`urn:uuid:${uuid}`, `${resource.resourceType}/${uuid}`);
    return { resource, id };
  });
  return named.map(({ resource, id }) => {
    const { resourceType, id: _own, ...rest } = mapReferences(resource, (r) => {
      if (!/^urn:uuid:/i.test(r)) return r;
      const local = targets.get(r.toLowerCase());
      if (!local) throw new LocalResourceError(`${resource.resourceType}/${id} references ${r}, which is no entry of the bundle`);
      return local;
    });
    return { resourceType, id, ...rest } as Resource;
  });
}

/**
 * The transaction Bundle for (re-)sending stored resources: the inverse of toLocalResources. Each entry's request
 * comes from requestFor (bundle.ts); a conditionally created or updated resource gets fullUrl urn:uuid:<id> and
 * loses its local id and server-assigned meta (the receiving server has its own), and "Type/id" references to
 * the given resources become their urn:uuid again. A relative reference to a resource not given is an error
 * (it would dangle at the receiver); absolute URLs and urn: references stay as they are.
 */
export function toTransactionBundle(resources: Resource[]): Bundle {
  const byRef = new Map<string, string>();
  const planned = resources.map((resource) => {
    if (!resource.id) throw new LocalResourceError(`a ${resource.resourceType} without an id cannot be sent`);
    const request = requestFor(resource);
    const conditional = isConditional(request);
    if (conditional && !URN_UUID.test(`urn:uuid:${resource.id}`)) {
      throw new LocalResourceError(`${resource.resourceType}/${resource.id} is sent conditionally, so its id must be the uuid of its urn:uuid fullUrl`);
    }
    byRef.set(`${resource.resourceType}/${resource.id}`, conditional ? `urn:uuid:${resource.id}` : `${resource.resourceType}/${resource.id}`);
    return { resource, request, conditional };
  });
  const entry = planned.map(({ resource, request, conditional }): BundleEntry => {
    const mapped = mapReferences(resource, (r) => {
      if (!LOCAL_REF.test(r)) return r;
      const target = byRef.get(r);
      if (!target) throw new LocalResourceError(`${resource.resourceType}/${resource.id} references ${r}, which is not among the resources to send`);
      return target;
    });
    const { id, meta, ...rest } = mapped;
    const keptMeta = withoutServerMeta(meta);
    const body = { ...rest, ...(conditional ? {} : { id }), ...(keptMeta ? { meta: keptMeta } : {}) } as Resource;
    return conditional ? { fullUrl: `urn:uuid:${id}`, resource: body, request } : { resource: body, request };
  });
  return { resourceType: 'Bundle', type: 'transaction', entry };
}

/** meta without versionId and lastUpdated (the store's, meaningless to another server); undefined when empty. */
function withoutServerMeta(meta: Resource['meta']): Resource['meta'] | undefined {
  if (!meta) return undefined;
  const { versionId: _v, lastUpdated: _l, ...rest } = meta;
  return Object.keys(rest).length ? rest : undefined;
}
