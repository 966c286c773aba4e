// The fetch worker behind the FHIR listener: a notification accepted with 202 survives a restart while its
// source is down, and is retrieved once the source is back; a retrieval that keeps failing is dead-lettered
// with the reason after pipeline.maxAttempts attempts. The DICOMweb source here is a second OphGate (its WADO-RS
// service), holding a fixture study.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { startTestGateway, ingestFile, waitFor, FIXTURES_DIR, type TestGateway } from '../helpers/gateway.js';

const FILES = ['op-jpeg-baseline-idrid55-L.dcm', 'op-jpeg-baseline-idrid56-L.dcm', 'op-jpeg-baseline-idrid57-R.dcm', 'op-jpeg-baseline-idrid66-R.dcm'];
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function imagingStudy(id: string, studyUid: string, address: string) {
  return {
    resourceType: 'ImagingStudy', id, status: 'available',
    contained: [{ resourceType: 'Endpoint', id: 'wado', status: 'active', connectionType: { system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type', code: 'dicom-wado-rs' }, payloadType: [{ text: 'DICOM' }], address }],
    identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:${studyUid}` }],
    endpoint: [{ reference: '#wado' }],
  };
}

async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

interface Task { id: number; state: string; attempts: number; lastError: string | null; result: { stored: number; duplicates: number; refused: number } | null }

describe('fetch tasks: durable across a restart, retried, dead-lettered', () => {
  let source: TestGateway | undefined;
  let gw: TestGateway | undefined;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ophgate-fetch-worker-'));
  let sourceUrl = '';
  let sourcePort = 0;
  const expected: Array<{ sop: string; sha256: string }> = [];
  let studyUid = '';
  const settings = () => ({
    'pipeline.enabled': false, 'dimse.enabled': false, 'pipeline.backoffSeconds': 1, 'pipeline.maxAttempts': 3, 'assembly.settleSeconds': 60,
    'sources.dicomweb': { pacs: { url: sourceUrl, timeoutSeconds: 10 } },
  });

  beforeAll(async () => {
    sourcePort = await freePort();
    sourceUrl = `http://127.0.0.1:${sourcePort}/dicomweb`;
  });
  afterAll(async () => {
    await gw?.stop();
    await source?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a notification accepted while the source is down survives a restart and is retrieved once the source is up', async () => {
    gw = await startTestGateway(settings(), { dataDir });
    studyUid = '2.25.3229570002412344472195883573693846992'; // the FILES' study (checked below as the source ingests them)
    const res = await fetch(`${gw.baseUrl}/fhir-notify/ImagingStudy/s1`, { method: 'PUT', headers: { 'Content-Type': 'application/fhir+json' }, body: JSON.stringify(imagingStudy('s1', studyUid, sourceUrl)) });
    expect(res.status).toBe(202);
    const id = ((await res.json()) as { tasks: Task[] }).tasks[0]!.id;
    const failed = await waitFor('the first attempt to fail', async () => {
      const t = (await (await fetch(`${gw!.baseUrl}/api/fetches/${id}`)).json()) as Task;
      return t.attempts === 1 && t.state === 'pending' ? t : undefined;
    });
    expect(failed.lastError).toMatch(/ECONNREFUSED/);
    await gw.stop();
    gw = undefined;

    // The source comes up (on the address the task names) with the study; OphGate restarts on the same data.
    source = await startTestGateway({ 'pipeline.enabled': false, 'dimse.enabled': false, 'http.port': sourcePort, 'assembly.settleSeconds': 60 });
    for (const f of FILES) {
      const { header, outcome } = await ingestFile(source, path.join(FIXTURES_DIR, f));
      expect(outcome.status).toBe('stored');
      expect(header.studyInstanceUid).toBe(studyUid);
      expected.push({ sop: header.sopInstanceUid, sha256: sha256(readFileSync(path.join(FIXTURES_DIR, f))) });
    }
    gw = await startTestGateway(settings(), { dataDir });
    const done = await waitFor('the task to be retrieved after the restart', async () => {
      const t = (await (await fetch(`${gw!.baseUrl}/api/fetches/${id}`)).json()) as Task;
      return t.state === 'done' || t.state === 'dead' ? t : undefined;
    }, 20_000);
    expect(done, done.lastError ?? '').toMatchObject({ state: 'done', attempts: 1, result: { stored: FILES.length, duplicates: 0, refused: 0 } });
    const rows = gw.gateway.ctx.store.instancesOfStudy(studyUid, 'received');
    expect(rows.map((r) => [r.sop_instance_uid, r.sha256, r.protocol]).sort()).toEqual(expected.map((e) => [e.sop, e.sha256, 'wado-fetch']).sort());
    // Complete with the retrieval, not after the 60 s settle time.
    expect(gw.gateway.ctx.store.getStudy(studyUid)).toMatchObject({ state: 'settled', routing: 'ophthalmic' });

    // A second notification about the same study: retrieved again, every instance a duplicate, nothing changes.
    const again = await fetch(`${gw.baseUrl}/fhir-notify/ImagingStudy/s1`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(imagingStudy('s1', studyUid, `${sourceUrl}/`)) });
    expect(again.status).toBe(202);
    const id2 = ((await again.json()) as { tasks: Task[] }).tasks[0]!.id;
    expect(id2).not.toBe(id);
    const second = await waitFor('the second retrieval', async () => {
      const t = (await (await fetch(`${gw!.baseUrl}/api/fetches/${id2}`)).json()) as Task;
      return t.state === 'done' ? t : undefined;
    });
    expect(second.result).toMatchObject({ stored: 0, duplicates: FILES.length, refused: 0 });
    expect(gw.gateway.ctx.store.getStudy(studyUid)!.version).toBe(1);
  }, 60_000);

  it('a retrieval that keeps failing is dead-lettered after pipeline.maxAttempts with the reason', async () => {
    const missing = '1.2.826.0.1.3680043.8.498.999999';
    const res = await fetch(`${gw!.baseUrl}/fhir-notify/ImagingStudy/s2`, { method: 'PUT', headers: { 'Content-Type': 'application/fhir+json' }, body: JSON.stringify(imagingStudy('s2', missing, sourceUrl)) });
    expect(res.status).toBe(202);
    const id = ((await res.json()) as { tasks: Task[] }).tasks[0]!.id;
    const dead = await waitFor('the task to be dead-lettered', async () => {
      const t = (await (await fetch(`${gw!.baseUrl}/api/fetches/${id}`)).json()) as Task;
      return t.state === 'dead' ? t : undefined;
    }, 20_000);
    expect(dead.attempts).toBe(3);
    expect(dead.lastError).toMatch(new RegExp(`WADO-RS pacs \\(study ${missing.replace(/\./g, '\\.')}\\): HTTP 404`));
    const listed = (await (await fetch(`${gw!.baseUrl}/api/fetches?state=dead`)).json()) as Task[];
    expect(listed.map((t) => t.id)).toEqual([id]);
  }, 30_000);
});
