// The results and export stages through running gateways: each analysed image gets a SEG and the study one SR,
// kept as derived instances of the source study (served by QIDO-RS and WADO-RS, never re-opening the study), and
// sent to every destination exactly once. The destinations are real DICOMweb and DIMSE servers: other OphGate
// gateways (STOW-RS origin server, C-STORE SCP) on loopback, which count what they receive. Orthanc as the PACS,
// a 60 s outage and an implicit-VR-only peer are in test/e2e/orthanc-results.test.ts.
import { describe, it, expect, afterEach } from 'vitest';
import { createHash } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import sharp from 'sharp';
import { startTestGateway, ingestFile, waitFor, FIXTURES_DIR, type TestGateway } from './helpers/gateway.js';
import { dciodvfy, dcentvfy, readWithPydicom, sha256 } from './seg/helpers.js';
import { findingResultSchema } from '../src/inference/finding-result.js';

const FIXTURE = path.join(FIXTURES_DIR, 'op-j2k-lossless-rct-idrid64-L.dcm');
const SEG = '1.2.840.10008.5.1.4.1.1.66.4';
const SR = '1.2.840.10008.5.1.4.1.1.88.33';

const running: TestGateway[] = [];
afterEach(async () => { for (const g of running.splice(0)) await g.stop(); });
// OphGate's own models: the tiny test models point at codes that do not resolve, so they get no DICOM results.
const start = async (overrides: Record<string, unknown> = {}) => { const g = await startTestGateway({ 'inference.modelsDir': 'models', ...overrides }); running.push(g); return g; };
/** A destination: a gateway that only receives (no pipeline, so it never writes results of its own). */
const destination = (overrides: Record<string, unknown> = {}) => start({ 'pipeline.enabled': false, ...overrides });

interface Results { qidoRs: string; results: Array<{ kind: string; sopClassUid: string; sopInstanceUid: string; seriesInstanceUid: string; wadoRs: string; source?: { sopInstanceUid: string }; deliveries: Array<{ destination: string; state: string; attempts: number; lastError: string | null; transferSyntaxUid: string | null }> }> }

async function received(g: TestGateway, protocol: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${g.baseUrl}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(new RegExp(`^ophgate_instances_received_total\\{protocol="${protocol}",outcome="(\\w+)"\\} (\\d+)`, 'gm'))) out[m[1]!] = Number(m[2]);
  return out;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('results and export stages', () => {
  it('writes a SEG per image and one SR into the source study, serves them, and sends each to each destination once', async () => {
    const web = await destination();
    const dimse = await destination();
    const tg = await start({
      peers: { DEST: { host: '127.0.0.1', port: dimse.gateway.dimsePort, aeTitle: 'OPHGATE' } },
      'export.destinations': { web: { type: 'stow-rs', url: `${web.baseUrl}/dicomweb` }, dimse: { type: 'dimse', peer: 'DEST' } },
    });
    const { header } = await ingestFile(tg, FIXTURE);
    const store = tg.gateway.ctx.store;
    const job = await waitFor('job finished', () => store.listJobs({ studyUid: header.studyInstanceUid }).find((j) => j.state === 'done' || j.state === 'dead'), 60_000);
    expect(job.last_error).toBeNull();

    const body = (await (await fetch(`${tg.baseUrl}/api/studies/${header.studyInstanceUid}/results`)).json()) as Results;
    const segs = body.results.filter((r) => r.kind === 'SEG');
    const srs = body.results.filter((r) => r.kind === 'SR');
    expect(srs).toHaveLength(1);
    expect(srs[0]!.sopClassUid).toBe(SR);
    // IDRiD_64 has an optic disc and hard exudates the segmenter finds (test/findings-fundus.test.ts): one SEG.
    expect(segs).toHaveLength(1);
    expect(segs[0]!.sopClassUid).toBe(SEG);
    expect(segs[0]!.source?.sopInstanceUid).toBe(header.sopInstanceUid);
    for (const r of body.results) {
      expect(r.deliveries.map((d) => [d.destination, d.state, d.attempts]).sort()).toEqual([['dimse', 'delivered', 1], ['web', 'delivered', 1]]);
    }

    // Kept in the source study as derived instances: QIDO-RS and WADO-RS serve them; the study stays settled at
    // version 1 with one job (a result never re-opens its study).
    const qido = (await (await fetch(body.qidoRs)).json()) as Array<Record<string, { Value?: unknown[] }>>;
    const uids = qido.map((i) => i['00080018']!.Value![0]);
    for (const r of body.results) expect(uids).toContain(r.sopInstanceUid);
    const wado = await fetch(body.results[0]!.wadoRs, { headers: { Accept: 'multipart/related; type="application/dicom"' } });
    expect(wado.status).toBe(200);
    const study = store.getStudy(header.studyInstanceUid)!;
    expect([study.state, study.version]).toEqual(['settled', 1]);
    expect(store.listJobs({ studyUid: header.studyInstanceUid })).toHaveLength(1);
    expect(store.instancesOfStudy(header.studyInstanceUid, 'received')).toHaveLength(1);

    // What the pipeline wrote is valid (dicom3tools), and independent readers find what OphGate computed.
    const fileOf = (uid: string) => store.blobPath(store.getInstance(uid)!);
    const sourceFile = store.blobPath(store.getInstance(header.sopInstanceUid)!);
    for (const r of body.results) {
      const v = dciodvfy(fileOf(r.sopInstanceUid));
      expect(v.errors, `dciodvfy ${r.kind}:\n${v.output}`).toEqual([]);
      expect(v.warnings.filter((w) => !/Unrecognized defined term <99OPHGATE>/.test(w)), `dciodvfy ${r.kind}`).toEqual([]);
      const e = dcentvfy([fileOf(r.sopInstanceUid), sourceFile]);
      expect(e.errors, `dcentvfy ${r.kind} with its source:\n${e.output}`).toEqual([]);
    }
    const segmenter = findingResultSchema.parse(store.findingsOfJob(job.id).find((f) => f.model_name === 'fundus-segmenter')!.result);
    const found = segmenter.lesions.filter((l) => l.areaPx > 0);
    const [py] = readWithPydicom([fileOf(segs[0]!.sopInstanceUid)]);
    expect(py!.segments!.map((x) => x.label.toLowerCase())).toEqual(found.map((l) => l.name));
    for (const [i, lesion] of found.entries()) {
      const png = await sharp(path.join(store.dataDir, lesion.mask!)).extractChannel(0).raw().toBuffer();
      const mask = Uint8Array.from(png, (v) => (v >= 128 ? 1 : 0));
      const frame = py!.frames![i]!;
      expect(frame.segmentNumbers).toEqual([i + 1]);
      expect([frame.nonzero, frame.sha256], `pydicom's frame of ${lesion.key} equals the mask`).toEqual([lesion.areaPx, sha256(mask)]);
    }
    const sr = spawnSync('/usr/bin/python3', [path.join('test', 'sr', 'read_sr.py'), fileOf(srs[0]!.sopInstanceUid)], { encoding: 'utf8' });
    expect(sr.status, sr.stderr).toBe(0);
    const report = Object.values(JSON.parse(sr.stdout) as Record<string, { groups: Array<{ trackingId: string; segment: { sopInstanceUid: string; segments: number[] } | null; nums: Array<{ concept: string; unit: string | null; value: number | null }> }> }>)[0]!;
    for (const [i, lesion] of found.entries()) {
      const g = report.groups.find((x) => x.segment?.segments?.[0] === i + 1);
      expect(g, `SR group referencing segment ${i + 1} (${lesion.key})`).toBeDefined();
      expect(g!.segment!.sopInstanceUid).toBe(segs[0]!.sopInstanceUid);
      expect(g!.nums.find((n) => n.concept === 'SCT:42798000' && n.unit === 'UCUM:{pixels}')?.value).toBe(lesion.areaPx);
    }

    // Each destination holds each object once, in the source study; STOW-RS carried the stored bytes as they are.
    for (const [g, protocol] of [[web, 'stow-rs'], [dimse, 'dimse']] as const) {
      expect(await received(g, protocol), `${protocol} destination's counters`).toEqual({ stored: body.results.length });
      for (const r of body.results) {
        const got = g.gateway.ctx.store.getInstance(r.sopInstanceUid);
        expect(got?.study_uid, `${r.kind} at the ${protocol} destination`).toBe(header.studyInstanceUid);
        if (protocol === 'stow-rs') {
          const mine = store.getInstance(r.sopInstanceUid)!;
          expect(got!.sha256).toBe(mine.sha256);
        }
      }
    }
  }, 120_000);

  it('dead-letters undeliverable results with the reason, and a requeue delivers them once the destination is up', async () => {
    const port = await freePort();
    const tg = await start({ 'export.destinations': { later: { type: 'stow-rs', url: `http://127.0.0.1:${port}/dicomweb`, timeoutSeconds: 5 } } });
    const { header } = await ingestFile(tg, FIXTURE);
    const store = tg.gateway.ctx.store;
    const dead = await waitFor('job dead-lettered', () => store.listJobs({ studyUid: header.studyInstanceUid }).find((j) => j.state === 'dead'), 60_000);
    expect(dead.stage).toBe('export');
    expect(dead.last_error).toMatch(/export: \d+ of \d+ deliveries failed \(marked dead\).*STOW-RS http:\/\/127\.0\.0\.1:\d+\/dicomweb: no connection/);
    const before = (await (await fetch(`${tg.baseUrl}/api/studies/${header.studyInstanceUid}/results`)).json()) as Results;
    for (const r of before.results) expect(r.deliveries).toMatchObject([{ destination: 'later', state: 'dead', attempts: 2 }]);
    const uidsBefore = before.results.map((r) => r.sopInstanceUid).sort();

    const later = await destination({ 'http.port': port });
    const requeue = await fetch(`${tg.baseUrl}/api/jobs/${dead.id}/requeue`, { method: 'POST' });
    expect(requeue.status).toBe(200);
    await waitFor('job done after requeue', () => store.getJob(dead.id)?.state === 'done', 60_000);
    const after = (await (await fetch(`${tg.baseUrl}/api/studies/${header.studyInstanceUid}/results`)).json()) as Results;
    // The same objects (same UIDs, same bytes) went, once each.
    expect(after.results.map((r) => r.sopInstanceUid).sort()).toEqual(uidsBefore);
    for (const r of after.results) expect(r.deliveries).toMatchObject([{ destination: 'later', state: 'delivered', attempts: 3, lastError: null }]);
    expect(await received(later, 'stow-rs')).toEqual({ stored: uidsBefore.length });
    for (const r of after.results) {
      const blob = readFileSync(store.blobPath(store.getInstance(r.sopInstanceUid)!));
      expect(later.gateway.ctx.store.getInstance(r.sopInstanceUid)?.sha256).toBe(createHash('sha256').update(blob).digest('hex'));
    }
  }, 120_000);

  it('writes no DICOM results for a model whose codes do not resolve, says so, and the job completes', async () => {
    const tg = await startTestGateway(); // the test models: codes in mappings/test-labels.json, which does not exist
    running.push(tg);
    const { header } = await ingestFile(tg, FIXTURE);
    const store = tg.gateway.ctx.store;
    const job = await waitFor('job finished', () => store.listJobs({ studyUid: header.studyInstanceUid }).find((j) => j.state === 'done' || j.state === 'dead'), 60_000);
    expect(job.state).toBe('done');
    const results = store.stageResults(job.id).find((r) => r.stage === 'results')!.result as { written: unknown[]; notReported: Record<string, string> };
    expect(results.written).toEqual([]);
    expect(Object.keys(results.notReported).sort()).toEqual(['ophgate-test-classifier', 'ophgate-test-segmenter']);
    expect(results.notReported['ophgate-test-segmenter']).toMatch(/mappings\/test-labels\.json#/);
  }, 60_000);

  it('writes no results when results.enabled is false, and the job still completes', async () => {
    const tg = await start({ 'results.enabled': false });
    const { header } = await ingestFile(tg, FIXTURE);
    const store = tg.gateway.ctx.store;
    const job = await waitFor('job finished', () => store.listJobs({ studyUid: header.studyInstanceUid }).find((j) => j.state === 'done' || j.state === 'dead'), 60_000);
    expect(job.state).toBe('done');
    expect(store.resultsOfStudy(header.studyInstanceUid)).toEqual([]);
    expect(store.instancesOfStudy(header.studyInstanceUid, 'derived')).toEqual([]);
  }, 60_000);
});
