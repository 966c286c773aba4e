import { describe, expect, it } from 'vitest';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { buildReportBundle } from '../../../src/report/fhir/bundle.js';
import { classifierFinding } from '../../sr/samples.js';
import { readDefinition, validate } from './validator.js';
import { STUDY_UID, bundleInput, ctx } from './study.js';
import { references } from './references.js';

/** Every "reference" string anywhere in a resource. */

/** Every Coding (an object with system and code) anywhere in a resource. */
function codings(node: unknown, out: Array<{ system: string; code: string; display?: string }> = []) {
  if (Array.isArray(node)) node.forEach((n) => codings(n, out));
  else if (node && typeof node === 'object') {
    const o = node as Record<string, unknown>;
    if (typeof o.system === 'string' && typeof o.code === 'string') out.push(o as { system: string; code: string; display?: string });
    Object.values(o).forEach((v) => codings(v, out));
  }
  return out;
}

/** Code -> display of every HL7 code system in the R4 definitions (the validator checks no bindings). */
function hl7CodeSystems(): Map<string, Map<string, string | undefined>> {
  const systems = new Map<string, Map<string, string | undefined>>();
  type Concept = { code: string; display?: string; concept?: Concept[] };
  const walk = (cs: Concept[], into: Map<string, string | undefined>) => cs.forEach((c) => { into.set(c.code, c.display); walk(c.concept ?? [], into); });
  for (const f of ['valuesets.json', 'v2-tables.json', 'v3-codesystems.json']) {
    const b = readDefinition(`fhir/r4/${f}`) as { entry: Array<{ resource: { resourceType: string; url: string; concept?: Concept[] } }> };
    for (const { resource: r } of b.entry) {
      if (r.resourceType !== 'CodeSystem') continue;
      const m = new Map<string, string | undefined>();
      walk(r.concept ?? [], m);
      systems.set(r.url, m);
    }
  }
  return systems;
}

const entriesOf = (b: Bundle, type: string) => (b.entry ?? []).filter((e) => e.resource?.resourceType === type);
/** The identifier a conditional URL or If-None-Exist searches for, decoded. */
function searchedIdentifier(query: string): string {
  const m = /(?:^|[?&])identifier=([^&]*)$/.exec(query);
  return m ? m[1]!.split('|').map(decodeURIComponent).join('|') : '';
}

describe('the transaction Bundle of a study report', () => {
  const bundle = buildReportBundle(bundleInput(), ctx);

  it('is a valid transaction with every resource valid', () => {
    validate(bundle);
    for (const e of bundle.entry!) validate(e.resource as Resource);
    expect(bundle.type).toBe('transaction');
    expect(entriesOf(bundle, 'Patient')).toHaveLength(1);
    expect(entriesOf(bundle, 'Endpoint')).toHaveLength(1);
    expect(entriesOf(bundle, 'Device')).toHaveLength(2);
    expect(entriesOf(bundle, 'ImagingStudy')).toHaveLength(1);
    expect(entriesOf(bundle, 'Observation')).toHaveLength(19 + 19);
    expect(entriesOf(bundle, 'DiagnosticReport')).toHaveLength(1);
    expect(entriesOf(bundle, 'Provenance')).toHaveLength(1);
  });

  it('uses HL7 terminology codes that exist, with their display', () => {
    const systems = hl7CodeSystems();
    const used = codings(bundle).filter((c) => /^http:\/\/(terminology\.)?hl7\.org\//.test(c.system));
    expect(new Set(used.map((c) => c.system)).size).toBeGreaterThanOrEqual(5);
    for (const c of used) {
      const cs = systems.get(c.system);
      expect(cs, c.system).toBeDefined();
      expect(cs!.has(c.code), `${c.system}|${c.code}`).toBe(true);
      if (c.display) expect(cs!.get(c.code), `${c.system}|${c.code}`).toBe(c.display);
    }
  });

  it('creates the Patient only if none has its identifier', () => {
    const [p] = entriesOf(bundle, 'Patient');
    expect(p!.request).toEqual({ method: 'POST', url: 'Patient', ifNoneExist: 'identifier=urn%3Aoid%3A1.2.276.0.7230010.3|PAT-0042' });
  });

  it('updates ImagingStudy, Observations, DiagnosticReport, Device and Endpoint by the identifier they carry', () => {
    const [s] = entriesOf(bundle, 'ImagingStudy');
    expect(s!.request).toEqual({ method: 'PUT', url: `ImagingStudy?identifier=urn%3Adicom%3Auid|urn%3Aoid%3A${STUDY_UID}` });
    for (const type of ['Endpoint', 'Device', 'ImagingStudy', 'Observation', 'DiagnosticReport']) {
      for (const e of entriesOf(bundle, type)) {
        expect(e.request?.method).toBe('PUT');
        expect(e.request?.url.startsWith(`${type}?identifier=`)).toBe(true);
        const id = (e.resource as { identifier: Array<{ system: string; value: string }> }).identifier[0]!;
        expect(searchedIdentifier(e.request!.url)).toBe(`${id.system}|${id.value}`);
      }
    }
    const [r] = entriesOf(bundle, 'DiagnosticReport');
    expect(searchedIdentifier(r!.request!.url)).toBe(`urn:ophgate:fhir:diagnostic-report|${STUDY_UID}`);
    const [prov] = entriesOf(bundle, 'Provenance');
    expect(prov!.request).toEqual({ method: 'PUT', url: `Provenance/${prov!.resource!.id}` });
    expect(prov!.resource!.id).toMatch(/^[A-Za-z][A-Za-z0-9.-]{0,63}$/);
  });

  it('references only entries of the bundle, by unique urn:uuid fullUrls', () => {
    const fullUrls = bundle.entry!.flatMap((e) => (e.fullUrl ? [e.fullUrl] : []));
    expect(new Set(fullUrls).size).toBe(fullUrls.length);
    for (const u of fullUrls) expect(u).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
    const refs = bundle.entry!.flatMap((e) => references(e.resource));
    expect(refs.length).toBeGreaterThan(0);
    for (const r of refs) expect(fullUrls).toContain(r);
    const [report] = entriesOf(bundle, 'DiagnosticReport');
    const obsUrls = entriesOf(bundle, 'Observation').map((e) => e.fullUrl);
    expect((report!.resource as { result: Array<{ reference: string }> }).result.map((x) => x.reference)).toEqual(obsUrls);
    const prov = entriesOf(bundle, 'Provenance')[0]!.resource as { agent: Array<{ who: { display: string } }> };
    expect(prov.agent.map((a) => a.who.display)).toEqual(['fundus-classifier 0.1.0', 'fundus-segmenter 0.1.0']);
  });

  it('is the same for the same study, and keeps its identifiers and URLs when only the time differs', () => {
    expect(buildReportBundle(bundleInput(), ctx)).toEqual(bundle);
    const later = buildReportBundle(bundleInput({ issued: '2024-04-01T08:00:00.000Z' }), ctx);
    const keys = (b: Bundle) => b.entry!.map((e) => [e.fullUrl, e.request?.url, e.request?.ifNoneExist]);
    expect(keys(later)).toEqual(keys(bundle));
  });

  it('updates the same Observations when an upgraded model re-reads the study, pointing to a new Device', () => {
    const input = bundleInput();
    const upgrade = (f: ReturnType<typeof classifierFinding>) => (f.model.name === 'fundus-classifier' ? { ...f, model: { ...f.model, version: '0.2.0' } } : f);
    input.images = input.images.map((i) => ({ ...i, findings: i.findings.map(upgrade) }));
    const again = buildReportBundle(input, ctx);
    validate(again);
    const obsKeys = (b: Bundle) => entriesOf(b, 'Observation').map((e) => [e.fullUrl, e.request?.url]);
    expect(obsKeys(again)).toEqual(obsKeys(bundle));
    expect(entriesOf(again, 'Device').map((e) => searchedIdentifier(e.request!.url))).toEqual([
      'urn:ophgate:fhir:device|fundus-classifier@0.2.0', 'urn:ophgate:fhir:device|fundus-segmenter@0.1.0',
    ]);
  });

  it('without findings still reports the study, with no Device and no Provenance', () => {
    const empty = buildReportBundle(bundleInput({ images: [] }), ctx);
    validate(empty);
    expect(empty.entry!.map((e) => e.resource!.resourceType)).toEqual(['Patient', 'Endpoint', 'ImagingStudy', 'DiagnosticReport']);
  });
});
