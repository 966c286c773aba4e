// The resources that make up a study's report as kept in the store: the DiagnosticReport and everything it
// reaches by reference (Patient, Observations, their Devices, the ImagingStudy and its Endpoint, the signer),
// plus the Provenances that target it. This is what is sent, and sent again after a sign-off: the store's current
// versions, not a bundle remembered from the analysis.
import type { Resource } from '@medplum/fhirtypes';

export type ReadResource = (type: string, id: string) => Resource | undefined;

/** Every "Type/id" reference inside a resource (version-specific references count for their resource). */
export function referencesIn(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) referencesIn(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'reference' && typeof v === 'string') {
        const m = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9.-]{1,64})(?:\/_history\/[A-Za-z0-9.-]+)?$/.exec(v);
        if (m) out.push(`${m[1]}/${m[2]}`);
      } else referencesIn(v, out);
    }
  }
  return out;
}

/**
 * The report's resources in dependency order (what is referenced before what refers to it), each once. A
 * reference that the store cannot resolve is an error naming it: a half report is never sent.
 */
export function reportClosure(read: ReadResource, reportId: string, provenanceIds: string[]): Resource[] {
  const seen = new Map<string, Resource>();
  const order: Resource[] = [];
  const visit = (key: string, from: string) => {
    if (seen.has(key)) return;
    const [type, id] = key.split('/') as [string, string];
    const r = read(type, id);
    if (!r) throw new Error(`${from} refers to ${key}, which OphGate does not hold`);
    seen.set(key, r);
    for (const ref of referencesIn(r)) visit(ref, key);
    order.push(r);
  };
  visit(`DiagnosticReport/${reportId}`, 'the report');
  for (const id of provenanceIds) {
    const p = read('Provenance', id);
    if (!p) continue;
    for (const ref of referencesIn(p)) visit(ref, `Provenance/${id}`);
    order.push(p);
  }
  return order;
}
