// store.fhir on a real SQLite store: versions, what counts as a change, studies sharing a Patient, rows checked
// as they leave the database.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Observation, Patient, Resource } from '@medplum/fhirtypes';
import { SqliteStore } from '../src/store/sqlite-store.js';
import { buildReportBundle } from '../src/report/fhir/bundle.js';
import { toLocalResources, toTransactionBundle } from '../src/report/fhir/local-resources.js';
import { STUDY_UID, bundleInput, ctx, studyJson } from './report/fhir/study.js';

let dir: string;
let store: SqliteStore;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ophgate-fhir-store-'));
  store = new SqliteStore(dir);
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const report = () => toLocalResources(buildReportBundle(bundleInput(), ctx));
const secondStudy = '1.2.826.0.1.3680043.8.498.3003';
const sameSecondPatient = () => {
  const base = bundleInput();
  return toLocalResources(buildReportBundle({ ...base, study: { ...base.study, study: studyJson({ '0020000D': { vr: 'UI', Value: [secondStudy] } }) } }, ctx));
};

describe('store.fhir', () => {
  it('creates version 1, then keeps it for the same content in any key order and with the served meta', () => {
    const resources = report();
    const first = store.fhir.save(STUDY_UID, resources, 1000);
    expect(first.map((s) => s.outcome)).toEqual(resources.map(() => 'created'));
    const reordered = resources.map((r) => Object.fromEntries(Object.entries(r).reverse()) as unknown as Resource);
    expect(store.fhir.save(STUDY_UID, reordered, 2000).map((s) => [s.outcome, s.versionId])).toEqual(resources.map(() => ['unchanged', 1]));
    const served = resources.map((r) => store.fhir.read(r.resourceType as 'Patient', r.id!)!);
    expect(served[0]!.meta).toEqual({ versionId: '1', lastUpdated: new Date(1000).toISOString() });
    expect(store.fhir.save(STUDY_UID, served, 3000).every((s) => s.outcome === 'unchanged')).toBe(true);
    expect(store.fhir.history('Patient', resources[0]!.id!)).toHaveLength(1);
  });

  it('gives a changed resource the next version and keeps every version', () => {
    const resources = report();
    store.fhir.save(STUDY_UID, resources);
    const obs = resources.find((r) => r.resourceType === 'Observation') as Observation;
    const changed: Observation = { ...obs, status: 'amended', meta: { tag: [{ system: 'urn:x', code: 'y' }] } };
    const [s] = store.fhir.save(STUDY_UID, [changed], 5000);
    expect(s).toMatchObject({ outcome: 'updated', versionId: 2, resource: { status: 'amended', meta: { versionId: '2', tag: [{ code: 'y' }] } } });
    expect(store.fhir.vread('Observation', obs.id!, 1)!.status).toBe('preliminary');
    expect(store.fhir.vread('Observation', obs.id!, 2)!.meta).toEqual({ tag: [{ system: 'urn:x', code: 'y' }], versionId: '2', lastUpdated: new Date(5000).toISOString() });
    expect(store.fhir.vread('Observation', obs.id!, 3)).toBeUndefined();
    expect(store.fhir.history('Observation', obs.id!).map((v) => v.meta!.versionId)).toEqual(['2', '1']);
    // A meta tag alone is content too.
    expect(store.fhir.save(STUDY_UID, [{ ...changed, meta: {} }])[0]!.outcome).toBe('updated');
  });

  it('lists a study\'s resources (a shared Patient under each study) and round-trips them to the bundle', () => {
    const a = report();
    const b = sameSecondPatient();
    store.fhir.save(STUDY_UID, a);
    store.fhir.save(secondStudy, b);
    const patientId = a.find((r) => r.resourceType === 'Patient')!.id;
    expect(b.find((r) => r.resourceType === 'Patient')!.id).toBe(patientId);
    const ofA = store.fhir.ofStudy(STUDY_UID);
    const ofB = store.fhir.ofStudy(secondStudy);
    expect(ofA.map((r) => `${r.resourceType}/${r.id}`)).toEqual(a.map((r) => `${r.resourceType}/${r.id}`));
    expect(ofB.map((r) => r.id)).toContain(patientId);
    expect(toTransactionBundle(ofA)).toEqual(buildReportBundle(bundleInput(), ctx));
    expect(store.fhir.ofStudy('9.9.9')).toEqual([]);
  });

  it('searches by identifier token, subject, status and _id, and pages by id', () => {
    store.fhir.save(STUDY_UID, report());
    const patient = store.fhir.search('Patient', [{ kind: 'identifier', values: [{ system: 'urn:oid:1.2.276.0.7230010.3', value: 'PAT-0042' }] }]);
    expect(patient.total).toBe(1);
    const subject = `Patient/${patient.resources[0]!.id}`;
    const all = store.fhir.search('Observation', [{ kind: 'subject', values: [subject] }, { kind: 'status', values: ['preliminary'] }], { count: 500, offset: 0 });
    expect(all.total).toBe(38);
    const ids = all.resources.map((r) => r.id!);
    expect(ids).toEqual([...ids].sort());
    expect(store.fhir.search('Observation', [{ kind: 'subject', values: [subject] }], { count: 5, offset: 35 }).resources.map((r) => r.id)).toEqual(ids.slice(35));
    expect(store.fhir.search('Observation', [{ kind: 'status', values: ['final'] }]).total).toBe(0);
    expect(store.fhir.search('Observation', [{ kind: '_id', values: [ids[3]!, ids[4]!] }]).total).toBe(2);
    expect(store.fhir.search('ImagingStudy', [{ kind: 'identifier', values: [{ value: 'ACC-77' }] }]).total).toBe(1); // any identifier, not only the first
  });

  it('refuses types it does not keep, bad ids and duplicates, and saves nothing of such a batch', () => {
    const [p] = report() as [Patient];
    expect(() => store.fhir.save(STUDY_UID, [p, { resourceType: 'Encounter', id: 'e1' } as Resource])).toThrow(/cannot keep a Encounter/);
    expect(() => store.fhir.save(STUDY_UID, [{ ...p, id: 'bad id' }])).toThrow(/"bad id" is not a FHIR id/);
    expect(() => store.fhir.save(STUDY_UID, [p, p])).toThrow(/given twice/);
    expect(store.fhir.read('Patient', p.id!)).toBeUndefined();
  });

  it('refuses a stored row that does not hold what its columns say', () => {
    const [p] = report();
    store.fhir.save(STUDY_UID, [p!]);
    store.db.prepare('UPDATE fhir_resources SET json = ? WHERE id = ?').run(JSON.stringify({ ...p, id: 'other' }), p!.id);
    expect(() => store.fhir.read('Patient', p!.id!)).toThrow(/holds Patient\/other/);
    store.db.prepare('UPDATE fhir_resources SET json = ? WHERE id = ?').run('{not json', p!.id);
    expect(() => store.fhir.read('Patient', p!.id!)).toThrow(/not JSON/);
  });
});
