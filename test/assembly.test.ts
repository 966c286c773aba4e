// Study assembly over time: settle, route, re-open on a late instance, duplicates and conflicts.
import { describe, it, expect, afterEach } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { startTestGateway, ingest, waitFor, type TestGateway } from './helpers/gateway.js';
import { syntheticInstance, SECONDARY_CAPTURE } from './helpers/synthetic.js';
import type { Stage } from '../src/pipeline/stage.js';

const countStage: Stage = { name: 'count', run: async (ctx) => ({ instances: ctx.instances.length }) };
let tg: TestGateway | undefined;
afterEach(async () => { await tg?.stop(); tg = undefined; });

describe('study assembly', () => {
  it('settles a quiet study, routes it as ophthalmic and queues one job', async () => {
    tg = await startTestGateway({}, { stages: [countStage] });
    const a = syntheticInstance();
    const b = syntheticInstance({ studyUid: a.studyUid, seriesUid: a.seriesUid, seed: 2 });
    expect((await ingest(tg, a.bytes)).status).toBe('stored');
    expect((await ingest(tg, b.bytes)).status).toBe('stored');
    expect(tg.gateway.ctx.store.getStudy(a.studyUid)?.state).toBe('receiving');
    const store = tg.gateway.ctx.store;
    const study = await waitFor('study settled', () => store.getStudy(a.studyUid)?.state === 'settled' && store.getStudy(a.studyUid));
    expect(study.routing).toBe('ophthalmic');
    expect(study.routing_rule).toBe('modality-op');
    const job = await waitFor('job done', () => store.listJobs({ studyUid: a.studyUid }).find((j) => j.state === 'done'));
    expect(store.stageResults(job.id)[0]?.result).toEqual({ instances: 2 });
  });

  it('re-opens a settled study when a late instance arrives and processes it again with every instance', async () => {
    tg = await startTestGateway({}, { stages: [countStage] });
    const store = tg.gateway.ctx.store;
    const a = syntheticInstance();
    await ingest(tg, a.bytes);
    await waitFor('first job done', () => store.listJobs({ studyUid: a.studyUid }).find((j) => j.state === 'done'));
    const late = syntheticInstance({ studyUid: a.studyUid, seed: 9 });
    const outcome = await ingest(tg, late.bytes);
    expect(outcome).toMatchObject({ status: 'stored', reopened: true });
    expect(store.getStudy(a.studyUid)).toMatchObject({ state: 'receiving', version: 2 });
    const second = await waitFor('second job done', () => store.listJobs({ studyUid: a.studyUid }).find((j) => j.study_version === 2 && j.state === 'done'));
    expect(store.stageResults(second.id)[0]?.result).toEqual({ instances: 2 });
    expect(store.listJobs({ studyUid: a.studyUid })).toHaveLength(2);
    expect(store.instancesOfStudy(a.studyUid).map((i) => i.study_version).sort()).toEqual([1, 2]);
  });

  it('stores a non-ophthalmic study, marks it ignored with the reason, and queues no job', async () => {
    tg = await startTestGateway({}, { stages: [countStage] });
    const store = tg.gateway.ctx.store;
    const chest = syntheticInstance({ modality: 'OT', sopClassUid: SECONDARY_CAPTURE, bodyPart: 'CHEST' });
    await ingest(tg, chest.bytes);
    const study = await waitFor('settled', () => store.getStudy(chest.studyUid)?.state === 'settled' && store.getStudy(chest.studyUid));
    expect(study.routing).toBe('ignored');
    expect(study.routing_reason).toMatch(/no instance matched an ophthalmic routing rule \(modalities: OT/);
    expect(store.listJobs({ studyUid: chest.studyUid })).toHaveLength(0);
    expect(store.getInstance(chest.sopUid)).toBeDefined();
  });

  it('treats an identical duplicate as a no-op and refuses a conflicting one without touching the stored bytes', async () => {
    tg = await startTestGateway({ 'pipeline.enabled': false });
    const store = tg.gateway.ctx.store;
    const a = syntheticInstance();
    await ingest(tg, a.bytes);
    const storedPath = store.blobPath(store.getInstance(a.sopUid)!);
    expect((await ingest(tg, a.bytes)).status).toBe('duplicate');
    const changed = syntheticInstance({ studyUid: a.studyUid, seriesUid: a.seriesUid, sopUid: a.sopUid, seed: 77 });
    const outcome = await ingest(tg, changed.bytes);
    expect(outcome.status).toBe('conflict');
    expect('reason' in outcome && outcome.reason).toMatch(/already stored with different content/);
    const sha = createHash('sha256').update(readFileSync(storedPath)).digest('hex');
    expect(sha).toBe(createHash('sha256').update(a.bytes).digest('hex'));
    expect(store.getInstance(a.sopUid)!.sha256).toBe(sha);
    const conflicts = store.conflicts();
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]).toMatchObject({ sop_instance_uid: a.sopUid, stored_sha256: sha, received_sha256: createHash('sha256').update(changed.bytes).digest('hex') });
    const res = await fetch(`${tg.baseUrl}/api/conflicts`);
    expect((await res.json())[0].sopInstanceUid).toBe(a.sopUid);
  });
});
