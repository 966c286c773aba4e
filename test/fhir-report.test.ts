// The report stages through a running gateway with OphGate's own models, against a real FHIR server on loopback
// (Medplum's FHIR router over its in-memory repository, test/helpers/fhir-server.ts): the study's report is sent
// as one transaction, sent again without duplicating anything, found back by patient, and a clinician's sign-off
// makes it final (then amended) on the server while OphGate keeps every version. A second study of the same
// patient is compared with the first.
import { describe, it, expect, afterEach } from 'vitest';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Bundle, DiagnosticReport, Observation, Resource } from '@medplum/fhirtypes';
import { startTestGateway, ingestFile, waitFor, FIXTURES_DIR, type TestGateway } from './helpers/gateway.js';
import { startFhirServer, type FhirTestServer } from './helpers/fhir-server.js';
import { validate } from './report/fhir/validator.js';
import { PYTHON } from './seg/helpers.js';

const RIGHT = path.join(FIXTURES_DIR, 'op-j2k-lossless-rct-idrid75-R.dcm');
const LEFT = path.join(FIXTURES_DIR, 'op-j2k-lossless-rct-idrid64-L.dcm');
const SIGNER_KEY = 'test-signer-key-5f1c';
const READER_KEY = 'test-reader-key-9a2e';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

const running: TestGateway[] = [];
const servers: FhirTestServer[] = [];
afterEach(async () => {
  for (const g of running.splice(0)) await g.stop();
  for (const s of servers.splice(0)) await s.stop();
});

async function start(fhir: FhirTestServer): Promise<TestGateway> {
  const g = await startTestGateway({
    'inference.modelsDir': 'models',
    'fhir.destination': { url: fhir.baseUrl, timeoutSeconds: 30 },
    'auth.apiKeys': [
      { name: 'dr-grader', sha256: sha(SIGNER_KEY), scopes: ['report:read', 'report:sign'], practitioner: { name: 'Dr Ada Grader', identifierSystem: 'urn:oid:2.16.840.1.113883.4.6', identifierValue: '1234567893' } },
      { name: 'reader', sha256: sha(READER_KEY), scopes: ['report:read'] },
    ],
  });
  running.push(g);
  return g;
}

async function searchAll(fhir: FhirTestServer, type: string, query = ''): Promise<Resource[]> {
  const res = await fetch(`${fhir.baseUrl}/${type}?_count=1000${query ? `&${query}` : ''}`);
  expect(res.status).toBe(200);
  const bundle = (await res.json()) as Bundle;
  return (bundle.entry ?? []).map((e) => e.resource!);
}

async function counts(fhir: FhirTestServer): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of ['Patient', 'ImagingStudy', 'Endpoint', 'Device', 'Observation', 'DiagnosticReport', 'Provenance', 'Practitioner']) out[t] = (await searchAll(fhir, t)).length;
  return out;
}

async function jobDone(tg: TestGateway, studyUid: string, after = 0) {
  return waitFor('job finished', () => tg.gateway.ctx.store.listJobs({ studyUid }).find((j) => (j.state === 'done' || j.state === 'dead') && j.updated_at >= after), 120_000);
}

describe('FHIR report to a real FHIR server', () => {
  it('sends the report, re-sends without duplicates, is found by patient, and a sign-off makes it final then amended', async () => {
    const fhir = await startFhirServer();
    servers.push(fhir);
    const tg = await start(fhir);
    await ingestFile(tg, RIGHT);
    const { header } = await ingestFile(tg, LEFT);
    const studyUid = header.studyInstanceUid;
    const job = await jobDone(tg, studyUid);
    expect(job.last_error).toBeNull();
    expect(job.state).toBe('done');

    // On the server: one Patient, the study, the report (preliminary) with its Observations, all valid R4.
    const reports = await searchAll(fhir, 'DiagnosticReport', `identifier=${encodeURIComponent(`urn:ophgate:fhir:diagnostic-report|${studyUid}`)}`) as DiagnosticReport[];
    expect(reports).toHaveLength(1);
    const dr = reports[0]!;
    expect(dr.status).toBe('preliminary');
    expect(dr.conclusion).toMatch(/Right eye/);
    expect(dr.conclusion).toMatch(/Left eye/);
    expect(dr.result!.length).toBeGreaterThan(10);
    // The rendered report: text, HTML with the key images inline, and each key image (AI lesion overlay) as a PNG.
    const forms = dr.presentedForm ?? [];
    expect(forms.map((f) => f.contentType)).toEqual(expect.arrayContaining(['text/plain; charset=utf-8', 'text/html; charset=utf-8', 'image/png']));
    const html = Buffer.from(forms.find((f) => f.contentType?.startsWith('text/html'))!.data!, 'base64').toString('utf8');
    expect(html).toMatch(/<img src="data:image\/png;base64,[A-Za-z0-9+/=]{1000,}"/);
    for (const png of forms.filter((f) => f.contentType === 'image/png')) {
      expect(Buffer.from(png.data!, 'base64').subarray(1, 4).toString('latin1')).toBe('PNG');
      expect(png.title).toMatch(/Key image, (right|left) eye/);
    }
    const patients = await searchAll(fhir, 'Patient', 'identifier=OPHGATE-FIX-0005');
    expect(patients).toHaveLength(1);
    const byPatient = await searchAll(fhir, 'DiagnosticReport', `subject=Patient/${patients[0]!.id}`);
    expect(byPatient.map((r) => r.id)).toEqual([dr.id]);
    const studies = await searchAll(fhir, 'ImagingStudy', `identifier=${encodeURIComponent(`urn:dicom:uid|urn:oid:${studyUid}`)}`);
    expect(studies).toHaveLength(1);
    for (const t of ['Patient', 'ImagingStudy', 'Endpoint', 'Device', 'Observation', 'DiagnosticReport', 'Provenance']) {
      for (const r of await searchAll(fhir, t)) {
        const { meta: _meta, ...plain } = r;
        validate(plain as Resource);
      }
    }
    const first = await counts(fhir);
    expect(first).toMatchObject({ Patient: 1, ImagingStudy: 1, Endpoint: 1, DiagnosticReport: 1, Provenance: 1, Practitioner: 0 });
    expect(first.Device).toBe(2);

    // OphGate serves the same report under /fhir, and says where.
    expect((await fetch(`${tg.baseUrl}/api/studies/${studyUid}/report`)).status).toBe(401);
    const view = (await (await fetch(`${tg.baseUrl}/api/studies/${studyUid}/report`, { headers: { 'x-api-key': READER_KEY } })).json()) as { status: string; fhir: string; narrativeProducedBy: string; conclusion: string };
    expect(view).toMatchObject({ status: 'preliminary', narrativeProducedBy: 'deterministic' });
    expect(view.conclusion).toBe(dr.conclusion);
    const local = (await (await fetch(view.fhir)).json()) as DiagnosticReport;
    expect(local.conclusion).toBe(dr.conclusion);

    // Sent again (as a retry or a requeue would): every resource is updated in place, nothing is duplicated.
    const store = tg.gateway.ctx.store;
    const t0 = Date.now();
    expect(store.reopenJob(job.id, 'fhir-export')).toBeDefined();
    tg.gateway.ctx.runner.poke();
    await jobDone(tg, studyUid, t0);
    expect(await counts(fhir)).toEqual(first);

    // Sign-off needs a key with report:sign.
    const sign = (key: string | undefined, body: unknown = {}) => fetch(`${tg.baseUrl}/api/studies/${studyUid}/report/sign`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) }, body: JSON.stringify(body),
    });
    const anonymous = await sign(undefined);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/Bearer/);
    expect((await sign('not-a-key')).status).toBe(401);
    const reader = await sign(READER_KEY);
    expect(reader.status).toBe(403);
    expect(((await reader.json()) as { error: string }).error).toMatch(/lacks the scope report:sign/);
    expect((await sign(SIGNER_KEY, { conclusion: 42 })).status).toBe(400);

    const t1 = Date.now();
    const signed = await sign(SIGNER_KEY);
    expect(signed.status).toBe(200);
    expect(await signed.json()).toMatchObject({ outcome: 'signed', status: 'final', signer: 'Dr Ada Grader' });
    await jobDone(tg, studyUid, t1);
    const onServer = (await searchAll(fhir, 'DiagnosticReport')) as DiagnosticReport[];
    expect(onServer).toHaveLength(1);
    expect(onServer[0]!.status).toBe('final');
    expect(onServer[0]!.resultsInterpreter?.[0]?.display).toBe('Dr Ada Grader');
    const practitioners = await searchAll(fhir, 'Practitioner');
    expect(practitioners).toHaveLength(1);
    expect(onServer[0]!.resultsInterpreter?.[0]?.reference).toBe(`Practitioner/${practitioners[0]!.id}`);

    // The same signature again changes nothing; a new conclusion amends, keeping the history.
    expect(await (await sign(SIGNER_KEY)).json()).toMatchObject({ outcome: 'unchanged', status: 'final' });
    const t2 = Date.now();
    const amended = await sign(SIGNER_KEY, { conclusion: 'Moderate NPDR in the right eye confirmed on review. Refer routinely.' });
    expect(await amended.json()).toMatchObject({ outcome: 'amended', status: 'amended' });
    await jobDone(tg, studyUid, t2);
    const after = (await searchAll(fhir, 'DiagnosticReport')) as DiagnosticReport[];
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ status: 'amended', conclusion: 'Moderate NPDR in the right eye confirmed on review. Refer routinely.' });
    expect(await counts(fhir)).toEqual({ ...first, Practitioner: 1, Provenance: first.Provenance! + 2 });

    const history = (await (await fetch(`${view.fhir}/_history`)).json()) as Bundle;
    const statuses = (history.entry ?? []).map((e) => (e.resource as DiagnosticReport).status).sort();
    expect(statuses).toEqual(['amended', 'final', 'preliminary']);

    // A late photograph re-opens the signed study: the re-analysis changes the report, which is then amended
    // without a signer (nobody signed the new text) until a clinician signs again.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ophgate-late-'));
    try {
      const late = path.join(dir, 'late.dcm');
      restudy(path.join(FIXTURES_DIR, 'op-jpeg-baseline-idrid57-R.dcm'), late, 'OPHGATE-FIX-0005', '20240311', 'late', studyUid);
      const t3 = Date.now();
      await ingestFile(tg, late);
      await waitFor('re-analysis finished', () => store.listJobs({ studyUid }).find((j) => j.study_version === 2 && (j.state === 'done' || j.state === 'dead')), 120_000);
      await jobDone(tg, studyUid, t3);
      const reanalysed = (await searchAll(fhir, 'DiagnosticReport')) as DiagnosticReport[];
      expect(reanalysed).toHaveLength(1);
      expect(reanalysed[0]!.status).toBe('amended');
      expect(reanalysed[0]!.resultsInterpreter ?? []).toEqual([]);
      expect(reanalysed[0]!.conclusion).toMatch(/Right eye \((1 of )?2 photographs/);
      const again = await sign(SIGNER_KEY);
      expect(await again.json()).toMatchObject({ outcome: 'amended', status: 'amended', signer: 'Dr Ada Grader' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});

/** A copy of a fixture as another study of a chosen patient on a chosen date (pydicom writes it). */
function restudy(src: string, out: string, patientId: string, date: string, tag: string, studyUid = ''): void {
  const code = `
import sys, pydicom
from pydicom.uid import generate_uid
ds = pydicom.dcmread(sys.argv[1])
ds.PatientID = sys.argv[3]; ds.PatientName = 'OPHGATE^PRIOR^TEST'
ds.StudyDate = sys.argv[4]; ds.SeriesDate = sys.argv[4]; ds.ContentDate = sys.argv[4]
ds.StudyInstanceUID = sys.argv[6] or generate_uid(entropy_srcs=[sys.argv[5], 'study'])
ds.SeriesInstanceUID = generate_uid(entropy_srcs=[sys.argv[5], 'series'])
ds.SOPInstanceUID = generate_uid(entropy_srcs=[sys.argv[5], 'sop'])
ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
ds.save_as(sys.argv[2], write_like_original=False)
`;
  const r = spawnSync(PYTHON, ['-c', code, src, out, patientId, date, tag, studyUid], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pydicom could not rewrite ${src}: ${r.stderr}`);
}

describe('prior comparison', () => {
  it('compares a study with the same patient\'s earlier analysed study, per eye, with the prior date', async () => {
    const fhir = await startFhirServer();
    servers.push(fhir);
    const tg = await start(fhir);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ophgate-prior-'));
    try {
      const prior = path.join(dir, 'prior.dcm');
      const current = path.join(dir, 'current.dcm');
      // Left eye both times, same patient: IDRiD 56, then a year later IDRiD 55 (both gradable by the quality output).
      restudy(path.join(FIXTURES_DIR, 'op-jpeg-baseline-idrid56-L.dcm'), prior, 'OPHGATE-PRIOR-01', '20230301', 'prior');
      restudy(path.join(FIXTURES_DIR, 'op-jpeg-baseline-idrid55-L.dcm'), current, 'OPHGATE-PRIOR-01', '20240311', 'current');
      const a = (await ingestFile(tg, prior)).header.studyInstanceUid;
      expect((await jobDone(tg, a)).state).toBe('done');
      const b = (await ingestFile(tg, current)).header.studyInstanceUid;
      expect((await jobDone(tg, b)).state).toBe('done');

      const first = (await (await fetch(`${tg.baseUrl}/api/studies/${a}/report`, { headers: { 'x-api-key': READER_KEY } })).json()) as { comparedWith: string | null; conclusion: string };
      expect(first.comparedWith).toBeNull();
      expect(first.conclusion).not.toMatch(/Comparison/);
      const second = (await (await fetch(`${tg.baseUrl}/api/studies/${b}/report`, { headers: { 'x-api-key': READER_KEY } })).json()) as { comparedWith: string | null; conclusion: string };
      expect(second.comparedWith).toBe(a);
      expect(second.conclusion).toMatch(/Comparison\nCompared with the prior study of 1 March 2023:/);
      // Both left-eye photographs are gradable, so grades and lesion types are compared, not just dates.
      expect(second.conclusion).toMatch(/Comparison\n[^\n]*Left eye: (DR grade|DME risk)[^\n]*(No change in the lesion types seen|New since then|No longer seen)/);
      expect(second.conclusion).not.toMatch(/Left eye: not comparable/);
      // The Observations say it too: one comparison Observation, for the left eye, in the report on the server.
      const comparisons = (await searchAll(fhir, 'Observation', `identifier=${encodeURIComponent(`urn:ophgate:fhir:observation|${b}/comparison/L`)}`)) as Observation[];
      expect(comparisons).toHaveLength(1);
      expect(comparisons[0]!.code.coding?.[0]).toMatchObject({ system: 'http://loinc.org', code: '18834-2' });
      expect(comparisons[0]!.bodySite?.coding?.[0]?.display).toMatch(/left eye/i);
      expect(second.conclusion).toContain(comparisons[0]!.valueString!);
      expect(comparisons[0]!.note?.[0]?.text).toContain(a);
      const { meta: _m, ...plain } = comparisons[0]!;
      validate(plain as Resource);
      expect(await searchAll(fhir, 'Observation', `identifier=${encodeURIComponent(`urn:ophgate:fhir:observation|${b}/comparison/R`)}`)).toHaveLength(0);
      const report = (await searchAll(fhir, 'DiagnosticReport', `identifier=${encodeURIComponent(`urn:ophgate:fhir:diagnostic-report|${b}`)}`))[0] as DiagnosticReport;
      expect(report.result?.map((r) => r.reference)).toContain(`Observation/${comparisons[0]!.id}`);
      expect(second.conclusion).not.toMatch(/Right eye: (not comparable|DR grade|New since)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);
});
