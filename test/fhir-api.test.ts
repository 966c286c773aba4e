// The FHIR R4 read API (/fhir) of a real gateway over HTTP: resources of two report bundles saved through the store
// as the report stage saves them (toLocalResources), then read, vread, history and search as an EHR would pull them.
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bundle, CapabilityStatement, DiagnosticReport, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { createLogger } from '../src/log/logger.js';
import { buildReportBundle } from '../src/report/fhir/bundle.js';
import { toLocalResources } from '../src/report/fhir/local-resources.js';
import { OPHGATE_VERSION } from '../src/version.js';
import { validate } from './report/fhir/validator.js';
import { STUDY_UID, bundleInput, ctx, studyJson } from './report/fhir/study.js';
import { references } from './report/fhir/references.js';

const OTHER_STUDY = '1.2.826.0.1.3680043.8.498.2002';

let tg: TestGateway;
let fhir: string;
let local: Resource[];
let other: Resource[];
const ofType = <T extends Resource>(rs: Resource[], type: T['resourceType']) => rs.filter((r) => r.resourceType === type) as T[];

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(path.startsWith('http') ? path : `${fhir}${path}`, { headers });
  const text = await res.text();
  return { res, status: res.status, body: (text ? JSON.parse(text) : undefined) as Record<string, unknown> & Resource };
}
const outcomeText = (b: unknown) => (b as OperationOutcome).issue.map((i) => i.diagnostics).join(' ');

// The gateway's log in a file of this test's own (tmp/test-logs is shared with other vitest runs, which clear it).
const logDir = mkdtempSync(path.join(os.tmpdir(), 'ophgate-fhir-api-log-'));
const logFile = path.join(logDir, 'gateway.jsonl');
const logStream = createWriteStream(logFile);

beforeAll(async () => {
  tg = await startTestGateway({ 'pipeline.enabled': false }, { logger: createLogger('debug', logStream) });
  fhir = `${tg.baseUrl}/fhir`;
  local = toLocalResources(buildReportBundle(bundleInput(), ctx));
  // A second patient's study: search must tell the two apart.
  const base = bundleInput();
  other = toLocalResources(buildReportBundle({
    ...base,
    study: { ...base.study, study: studyJson({ '0020000D': { vr: 'UI', Value: [OTHER_STUDY] }, '00100020': { vr: 'LO', Value: ['PAT-0099'] } }) },
  }, ctx));
  const saved = tg.gateway.ctx.store.fhir.save(STUDY_UID, local, Date.parse('2024-03-15T14:41:00Z'));
  expect(saved.every((s) => s.outcome === 'created' && s.versionId === 1)).toBe(true);
  tg.gateway.ctx.store.fhir.save(OTHER_STUDY, other, Date.parse('2024-03-15T15:00:00Z'));
});
afterAll(async () => {
  await tg?.stop();
  await new Promise<void>((r) => logStream.end(() => r()));
  const log = readFileSync(logFile, 'utf8');
  rmSync(logDir, { recursive: true, force: true });
  expect(log).toContain('"msg"'); // the gateway did log (start-up), so the checks below are not vacuous
  // Queries carried patient IDs: none may reach the log.
  expect(log).not.toContain('PAT-0042');
  expect(log).not.toContain('Müller');
});

describe('FHIR R4 read API', () => {
  it('describes itself in a valid CapabilityStatement', async () => {
    const { res, body } = await get('/metadata');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8');
    const cs = body as unknown as CapabilityStatement;
    validate(cs);
    expect(cs).toMatchObject({ status: 'active', kind: 'instance', fhirVersion: '4.0.1', format: ['json'], software: { name: 'OphGate', version: OPHGATE_VERSION }, implementation: { url: fhir } });
    const rest = cs.rest![0]!;
    expect(rest.mode).toBe('server');
    expect(rest.resource!.map((r) => r.type).sort()).toEqual(['Device', 'DiagnosticReport', 'Endpoint', 'ImagingStudy', 'Observation', 'Patient', 'Practitioner', 'Provenance']);
    for (const r of rest.resource!) expect(r.interaction!.map((i) => i.code)).toEqual(['read', 'vread', 'history-instance', 'search-type']);
    const params = (type: string) => Object.fromEntries(rest.resource!.find((r) => r.type === type)!.searchParam!.map((p) => [p.name, p.type]));
    expect(params('DiagnosticReport')).toEqual({ _id: 'token', identifier: 'token', patient: 'reference', subject: 'reference', status: 'token', study: 'reference' });
    expect(params('Patient')).toEqual({ _id: 'token', identifier: 'token' });
    expect(params('Provenance')).toEqual({ _id: 'token' });
  });

  it('accepts every search parameter the CapabilityStatement declares, on each type', async () => {
    const cs = (await get('/metadata')).body as unknown as CapabilityStatement;
    const sample: Record<string, string> = { token: 'x', reference: 'Patient/x' };
    let n = 0;
    for (const r of cs.rest![0]!.resource!) {
      for (const p of r.searchParam!) {
        const value = p.name === 'study' ? 'ImagingStudy/x' : sample[p.type]!;
        const { status, body } = await get(`/${r.type}?${p.name}=${encodeURIComponent(value)}`);
        expect(status, `${r.type}?${p.name}`).toBe(200);
        expect(body.total).toBe(0);
        n++;
      }
    }
    expect(n).toBe(8 + 7 + 3 * 3 + 1);
  });

  it('reads every saved resource, valid, with version headers, and every reference resolves by read', async () => {
    for (const r of local) {
      const { res, body } = await get(`/${r.resourceType}/${r.id}`);
      expect(res.status, `${r.resourceType}/${r.id}`).toBe(200);
      validate(body);
      expect(body.meta).toEqual({ versionId: '1', lastUpdated: '2024-03-15T14:41:00.000Z' });
      expect(res.headers.get('etag')).toBe('W/"1"');
      expect(res.headers.get('last-modified')).toBe('Fri, 15 Mar 2024 14:41:00 GMT');
      const { meta: _m, ...content } = body;
      expect(content).toEqual(r);
      for (const ref of references(body)) {
        const target = await get(`/${ref}`);
        expect(target.status, `${r.resourceType}/${r.id} -> ${ref}`).toBe(200);
      }
    }
  });

  it('answers a conditional read with 304 when the client has the current version', async () => {
    const p = ofType(local, 'Patient')[0]!;
    const res = await fetch(`${fhir}/Patient/${p.id}`, { headers: { 'If-None-Match': 'W/"1"' } });
    expect(res.status).toBe(304);
  });

  it('searches DiagnosticReport by patient, as Patient/id, bare id or this server\'s absolute URL', async () => {
    const patient = ofType(local, 'Patient')[0]!;
    const report = ofType(local, 'DiagnosticReport')[0]!;
    for (const v of [patient.id!, `Patient/${patient.id}`, `${fhir}/Patient/${patient.id}`]) {
      const { status, body } = await get(`/DiagnosticReport?patient=${encodeURIComponent(v)}`);
      expect(status).toBe(200);
      const b = body as unknown as Bundle;
      validate(b);
      expect(b.type).toBe('searchset');
      expect(b.total).toBe(1);
      expect(b.entry).toHaveLength(1);
      expect(b.entry![0]!.fullUrl).toBe(`${fhir}/DiagnosticReport/${report.id}`);
      expect(b.entry![0]!.search).toEqual({ mode: 'match' });
      expect(b.link!.find((l) => l.relation === 'self')!.url).toContain(`${fhir}/DiagnosticReport?patient=`);
    }
    const none = await get('/DiagnosticReport?patient=Patient/00000000-0000-8000-8000-000000000000');
    expect(none.body.total).toBe(0);
  });

  it('searches Observation by subject, and ImagingStudy by study identifier in each token form', async () => {
    const patient = ofType(local, 'Patient')[0]!;
    const obs = await get(`/Observation?subject=Patient/${patient.id}`);
    expect(obs.body.total).toBe(38);
    const ids = ((obs.body as unknown as Bundle).entry ?? []).map((e) => e.resource!.id);
    expect(new Set(ids)).toEqual(new Set(ofType(local, 'Observation').map((o) => o.id)));

    const study = ofType(local, 'ImagingStudy')[0]!;
    const q = async (v: string) => ((await get(`/ImagingStudy?identifier=${encodeURIComponent(v)}`)).body as unknown as Bundle);
    const exact = await q(`urn:dicom:uid|urn:oid:${STUDY_UID}`);
    expect(exact.total).toBe(1);
    expect(exact.entry![0]!.resource!.id).toBe(study.id);
    expect((await q(`urn:oid:${STUDY_UID}`)).total).toBe(1); // any system
    expect((await q(`|urn:oid:${STUDY_UID}`)).total).toBe(0); // no system: the study UID has one
    expect((await q('urn:dicom:uid|')).total).toBe(2); // any value of the system
    expect((await q(`urn:dicom:uid|urn:oid:${STUDY_UID},urn:dicom:uid|urn:oid:${OTHER_STUDY}`)).total).toBe(2); // comma: OR
    const patientById = await get(`/Patient?identifier=${encodeURIComponent('urn:oid:1.2.276.0.7230010.3|PAT-0042')}`);
    expect(patientById.body.total).toBe(1);
    expect((await get(`/DiagnosticReport?study=ImagingStudy/${study.id}`)).body.total).toBe(1);
    expect((await get(`/DiagnosticReport?_id=${ofType(local, 'DiagnosticReport')[0]!.id}`)).body.total).toBe(1);
  });

  it('searches by status: every report is preliminary, none final', async () => {
    expect((await get('/DiagnosticReport?status=preliminary')).body.total).toBe(2);
    expect((await get('/DiagnosticReport?status=final')).body.total).toBe(0);
    // Repeated parameters AND: status and patient together.
    const patient = ofType(other, 'Patient')[0]!;
    expect((await get(`/DiagnosticReport?status=preliminary&patient=${patient.id}`)).body.total).toBe(1);
  });

  it('pages with _count and next links through every match exactly once', async () => {
    const patient = ofType(local, 'Patient')[0]!;
    let url: string | undefined = `${fhir}/Observation?subject=Patient/${patient.id}&_count=10`;
    const seen: string[] = [];
    let pages = 0;
    while (url) {
      const { body } = await get(url);
      const b = body as unknown as Bundle;
      expect(b.total).toBe(38);
      expect(b.entry!.length).toBeLessThanOrEqual(10);
      seen.push(...b.entry!.map((e) => e.resource!.id!));
      url = b.link!.find((l) => l.relation === 'next')?.url;
      pages++;
    }
    expect(pages).toBe(4);
    expect(seen).toHaveLength(38);
    expect(new Set(seen).size).toBe(38);
    expect(((await get('/Observation?_count=100000')).body as unknown as Bundle).entry).toHaveLength(76); // capped at 500
    const onlyTotal = (await get('/Observation?_count=0')).body as unknown as Bundle;
    expect(onlyTotal.total).toBe(76);
    expect(onlyTotal.entry).toEqual([]);
  });

  it('keeps versions: a changed report is version 2, vread tells 1 from 2, history lists both, an unchanged save keeps 2', async () => {
    const store = tg.gateway.ctx.store.fhir;
    const report = ofType<DiagnosticReport>(local, 'DiagnosticReport')[0]!;
    const signed: DiagnosticReport = { ...report, status: 'final' };
    const [saved] = store.save(STUDY_UID, [signed], Date.parse('2024-03-16T09:00:00Z'));
    expect(saved).toMatchObject({ outcome: 'updated', versionId: 2 });

    const current = await get(`/DiagnosticReport/${report.id}`);
    expect(current.res.headers.get('etag')).toBe('W/"2"');
    expect(current.body.status).toBe('final');
    const v1 = await get(`/DiagnosticReport/${report.id}/_history/1`);
    const v2 = await get(`/DiagnosticReport/${report.id}/_history/2`);
    expect(v1.status).toBe(200);
    expect(v1.body.status).toBe('preliminary');
    expect(v1.res.headers.get('etag')).toBe('W/"1"');
    expect(v2.body.status).toBe('final');
    expect(v2.body.meta).toEqual({ versionId: '2', lastUpdated: '2024-03-16T09:00:00.000Z' });
    validate(v1.body);
    validate(v2.body);

    const history = (await get(`/DiagnosticReport/${report.id}/_history`)).body as unknown as Bundle;
    validate(history);
    expect(history.type).toBe('history');
    expect(history.total).toBe(2);
    expect(history.entry!.map((e) => [e.resource!.meta!.versionId, (e.resource as DiagnosticReport).status, e.response!.status])).toEqual([
      ['2', 'final', '200 OK'], ['1', 'preliminary', '201 Created'],
    ]);

    // The same content again (with the served meta on it) changes nothing.
    const [again] = store.save(STUDY_UID, [current.body], Date.parse('2024-03-17T09:00:00Z'));
    expect(again).toMatchObject({ outcome: 'unchanged', versionId: 2 });
    expect((await get(`/DiagnosticReport/${report.id}`)).body.meta!.lastUpdated).toBe('2024-03-16T09:00:00.000Z');
    expect((await get(`/DiagnosticReport/${report.id}/_history`)).body.total).toBe(2);
    expect((await get('/DiagnosticReport?status=final')).body.total).toBe(1);
  });

  it('answers 404 with an OperationOutcome for an unknown id, version or type', async () => {
    const report = ofType(local, 'DiagnosticReport')[0]!;
    for (const path of ['/DiagnosticReport/00000000-0000-8000-8000-000000000000', `/DiagnosticReport/${report.id}/_history/9`, '/Patient/not$an$id', `/Observation/${report.id}`]) {
      const { status, res, body } = await get(path);
      expect(status, path).toBe(404);
      expect(res.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8');
      expect(body.resourceType).toBe('OperationOutcome');
      validate(body);
    }
    for (const path of ['/Encounter/1', '/Foo', '/Foo/1/_history']) {
      const { status, body } = await get(path);
      expect(status, path).toBe(404);
      expect(outcomeText(body)).toMatch(/serves no resource type "(Encounter|Foo)"/);
    }
  });

  it('is read-only: PUT, POST and DELETE answer 405', async () => {
    const report = ofType(local, 'DiagnosticReport')[0]!;
    for (const [method, path] of [['PUT', `/DiagnosticReport/${report.id}`], ['DELETE', `/DiagnosticReport/${report.id}`], ['POST', '/DiagnosticReport'], ['POST', '/']] as const) {
      const res = await fetch(`${fhir}${path}`, { method, headers: { 'Content-Type': 'application/fhir+json' }, body: method === 'DELETE' ? undefined : JSON.stringify(report) });
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.get('allow')).toBe('GET, HEAD');
      expect(outcomeText(await res.json())).toMatch(/read-only/);
    }
    expect((await get(`/DiagnosticReport/${report.id}`)).body.meta!.versionId).toBe('2');
  });

  it('searches by POST _search with a form body as by GET', async () => {
    const res = await fetch(`${fhir}/DiagnosticReport/_search`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'status=final' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Bundle).total).toBe(1);
  });

  it('refuses unknown parameters and modifiers with 400 naming them, and ignores them under Prefer: handling=lenient', async () => {
    const bad = await get('/DiagnosticReport?status=final&colour=blue');
    expect(bad.status).toBe(400);
    expect(outcomeText(bad.body)).toMatch(/unknown search parameter "colour" for DiagnosticReport/);
    const mod = await get('/Observation?subject:missing=true');
    expect(mod.status).toBe(400);
    expect(outcomeText(mod.body)).toMatch(/modifier ":missing" of subject/);
    expect((await get('/Patient?status=active')).status).toBe(400);
    expect((await get('/Observation?_count=-1')).status).toBe(400);
    expect((await get('/Observation?patient=Device/x')).status).toBe(400);
    const lenient = await get('/DiagnosticReport?status=final&colour=blue', { Prefer: 'handling=lenient' });
    expect(lenient.status).toBe(200);
    const b = lenient.body as unknown as Bundle;
    expect(b.total).toBe(1);
    expect(b.link![0]!.url).not.toContain('colour');
    const outcome = b.entry!.find((e) => e.search?.mode === 'outcome')!;
    expect(outcomeText(outcome.resource)).toMatch(/colour/);
  });

  it('speaks JSON only: _format=json is fine, XML answers 406', async () => {
    const p = ofType(local, 'Patient')[0]!;
    expect((await get(`/Patient/${p.id}?_format=json`)).status).toBe(200);
    expect((await get(`/Patient/${p.id}?_format=application/fhir%2Bjson`)).status).toBe(200);
    expect((await get(`/Patient?_format=json&_id=${p.id}`)).body.total).toBe(1);
    for (const [path, headers] of [[`/Patient/${p.id}?_format=xml`, {}], ['/metadata?_format=application/fhir%2Bxml', {}], [`/Patient/${p.id}`, { Accept: 'application/fhir+xml' }]] as const) {
      const { status, res, body } = await get(path, headers);
      expect(status, path).toBe(406);
      expect(res.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8');
      expect(outcomeText(body)).toMatch(/JSON only/);
    }
  });
});
