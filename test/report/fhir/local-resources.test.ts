import { describe, expect, it } from 'vitest';
import type { Bundle, DiagnosticReport, Practitioner, Provenance, Resource } from '@medplum/fhirtypes';
import { buildReportBundle, fullUrlOf, requestFor } from '../../../src/report/fhir/bundle.js';
import { LocalResourceError, localIdOf, toLocalResources, toTransactionBundle } from '../../../src/report/fhir/local-resources.js';
import { validate } from './validator.js';
import { bundleInput, ctx } from './study.js';
import { references } from './references.js';

/** Every "reference" string anywhere in a resource. */

const sortedEntries = (b: Bundle) => [...(b.entry ?? [])].sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));

const samples: Array<[string, Bundle]> = [
  ['two-eye study with both models', buildReportBundle(bundleInput(), ctx)],
  ['study without findings', buildReportBundle(bundleInput({ images: [] }), ctx)],
  ['study with the right eye only', buildReportBundle(bundleInput({ images: bundleInput().images.slice(0, 1) }), ctx)],
];

describe('local resources of a report bundle', () => {
  for (const [name, bundle] of samples) {
    it(`${name}: every resource has its entry's uuid as id, refers by Type/id to resources present, validates, and round-trips`, () => {
      const local = toLocalResources(bundle);
      expect(local).toHaveLength(bundle.entry!.length);
      const keys = new Set(local.map((r) => `${r.resourceType}/${r.id}`));
      expect(keys.size).toBe(local.length);
      bundle.entry!.forEach((e, i) => {
        const r = local[i]!;
        expect(r.resourceType).toBe(e.resource!.resourceType);
        expect(r.id).toBe(e.fullUrl ? e.fullUrl.slice('urn:uuid:'.length) : e.resource!.id);
        validate(r);
      });
      const refs = local.flatMap((r) => references(r));
      expect(refs.length).toBeGreaterThan(0);
      for (const ref of refs) {
        expect(ref).not.toMatch(/^urn:/);
        expect(keys.has(ref), ref).toBe(true);
      }
      // The bundle itself is not changed.
      expect(references(bundle).every((r) => r.startsWith('urn:uuid:'))).toBe(true);

      const again = toTransactionBundle(local);
      validate(again);
      expect(sortedEntries(again)).toEqual(sortedEntries(bundle));
      // Order is kept, and shuffled input gives the same entries.
      expect(again).toEqual(bundle);
      expect(sortedEntries(toTransactionBundle([...local].reverse()))).toEqual(sortedEntries(bundle));
    });
  }

  it('keeps Provenance under its own id and maps its targets', () => {
    const local = toLocalResources(samples[0]![1]);
    const prov = local.find((r) => r.resourceType === 'Provenance') as Provenance;
    expect(prov.id).toMatch(/^ophgate-[0-9a-f]{40}$/);
    const report = local.find((r) => r.resourceType === 'DiagnosticReport')!;
    expect(prov.target[0]!.reference).toBe(`DiagnosticReport/${report.id}`);
    expect(prov.agent.map((a) => a.who!.reference!.split('/')[0])).toEqual(['Device', 'Device']);
  });

  it('names an unresolvable urn:uuid reference', () => {
    const bundle = structuredClone(samples[1]![1]);
    const report = bundle.entry!.find((e) => e.resource!.resourceType === 'DiagnosticReport')!.resource as DiagnosticReport;
    report.subject = { reference: 'urn:uuid:00000000-0000-8000-8000-000000000000' };
    expect(() => toLocalResources(bundle)).toThrow(LocalResourceError);
    expect(() => toLocalResources(bundle)).toThrow(/DiagnosticReport\/[0-9a-f-]{36} references urn:uuid:00000000-0000-8000-8000-000000000000, which is no entry/);
  });

  it('refuses an entry that cannot be named, and a local reference to a resource not sent', () => {
    const bundle = structuredClone(samples[1]![1]);
    delete bundle.entry![0]!.fullUrl;
    expect(() => toLocalResources(bundle)).toThrow(/entry 0 \(Patient\) has neither a urn:uuid fullUrl nor an id/);
    const local = toLocalResources(samples[1]![1]);
    const withoutPatient = local.filter((r) => r.resourceType !== 'Patient');
    expect(() => toTransactionBundle(withoutPatient)).toThrow(/ImagingStudy\/[0-9a-f-]{36} references Patient\/[0-9a-f-]{36}, which is not among the resources to send/);
  });

  it('sends a signer Practitioner by PUT on its identifier, and drops the store\'s meta but keeps the rest', () => {
    const identifier = { system: 'urn:oid:1.2.3.4.5.6.7', value: 'DR-17' };
    const id = localIdOf('Practitioner', identifier);
    expect(`urn:uuid:${id}`).toBe(fullUrlOf('Practitioner', identifier));
    const practitioner: Practitioner = { resourceType: 'Practitioner', id, identifier: [identifier], name: [{ family: 'Okafor' }] };
    expect(requestFor(practitioner)).toEqual({ method: 'PUT', url: 'Practitioner?identifier=urn%3Aoid%3A1.2.3.4.5.6.7|DR-17' });
    const local = toLocalResources(samples[1]![1]);
    const report = local.find((r) => r.resourceType === 'DiagnosticReport') as DiagnosticReport;
    const signed: Resource[] = local.map((r) => (r === report
      ? { ...report, status: 'final', resultsInterpreter: [{ reference: `Practitioner/${id}` }], meta: { versionId: '2', lastUpdated: '2024-03-16T09:00:00.000Z', tag: [{ code: 'x' }] } }
      : r));
    const bundle = toTransactionBundle([...signed, practitioner]);
    validate(bundle);
    const entry = (type: string) => bundle.entry!.find((e) => e.resource!.resourceType === type)!;
    expect(entry('Practitioner')).toEqual({
      fullUrl: `urn:uuid:${id}`,
      resource: { resourceType: 'Practitioner', identifier: [identifier], name: [{ family: 'Okafor' }] },
      request: { method: 'PUT', url: 'Practitioner?identifier=urn%3Aoid%3A1.2.3.4.5.6.7|DR-17' },
    });
    const sent = entry('DiagnosticReport').resource as DiagnosticReport;
    expect(sent.resultsInterpreter).toEqual([{ reference: `urn:uuid:${id}` }]);
    expect(sent.meta).toEqual({ tag: [{ code: 'x' }] });
    expect(sent.id).toBeUndefined();
  });

  it('refuses a resource without an identifier to update on', () => {
    expect(() => requestFor({ resourceType: 'Practitioner', id: 'x' })).toThrow(/Practitioner has no identifier to update on/);
  });
});
