// The durable pipeline: retries with backoff, dead-letter, operator requeue resuming at the unfinished stage.
import { describe, it, expect, afterEach } from 'vitest';
import { existsSync, writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestGateway, ingest, waitFor, type TestGateway } from './helpers/gateway.js';
import { syntheticInstance } from './helpers/synthetic.js';
import type { Stage } from '../src/pipeline/stage.js';

let tg: TestGateway | undefined;
afterEach(async () => { await tg?.stop(); tg = undefined; });

describe('pipeline jobs', () => {
  it('retries a failing stage, dead-letters it, and completes after an operator requeue without re-running finished stages', async () => {
    const flagDir = mkdtempSync(path.join(os.tmpdir(), 'ophgate-flag-'));
    const flag = path.join(flagDir, 'dependency-ready');
    const runs = { first: 0, second: 0 };
    const stages: Stage[] = [
      { name: 'first', run: async () => { runs.first++; return { ok: true }; } },
      {
        name: 'second',
        run: async () => {
          runs.second++;
          if (!existsSync(flag)) throw new Error('dependency not ready (flag file missing)');
          return { ok: true };
        },
      },
    ];
    tg = await startTestGateway({ 'pipeline.maxAttempts': 3, 'pipeline.backoffSeconds': 0.05 }, { stages });
    const a = syntheticInstance();
    await ingest(tg, a.bytes);
    const store = tg.gateway.ctx.store;
    const dead = await waitFor('job dead', () => store.listJobs({ studyUid: a.studyUid }).find((j) => j.state === 'dead'));
    expect(dead.stage).toBe('second');
    expect(dead.attempts).toBe(3);
    expect(dead.last_error).toBe('second: dependency not ready (flag file missing)');
    expect(runs).toEqual({ first: 1, second: 3 });

    const listed = await (await fetch(`${tg.baseUrl}/api/jobs?state=dead`)).json();
    expect(listed.map((j: { id: number }) => j.id)).toEqual([dead.id]);
    const notDead = await fetch(`${tg.baseUrl}/api/jobs/999999/requeue`, { method: 'POST' });
    expect(notDead.status).toBe(404);

    writeFileSync(flag, 'ok');
    const res = await fetch(`${tg.baseUrl}/api/jobs/${dead.id}/requeue`, { method: 'POST' });
    expect(res.status).toBe(200);
    const done = await waitFor('job done', () => store.getJob(dead.id)?.state === 'done' && store.getJob(dead.id));
    expect(done.stage).toBeNull();
    expect(runs).toEqual({ first: 1, second: 4 });
    const again = await fetch(`${tg.baseUrl}/api/jobs/${dead.id}/requeue`, { method: 'POST' });
    expect(again.status).toBe(409);
    const detail = await (await fetch(`${tg.baseUrl}/api/jobs/${dead.id}`)).json();
    expect(detail.stages.map((s: { stage: string }) => s.stage)).toEqual(['first', 'second']);
  });

  it('takes over a job whose worker stopped renewing its lease (crash recovery)', async () => {
    tg = await startTestGateway({ 'pipeline.enabled': false }, { stages: [{ name: 'only', run: async () => ({ ok: true }) }] });
    const store = tg.gateway.ctx.store;
    const a = syntheticInstance();
    await ingest(tg, a.bytes);
    const queued = await waitFor('job queued', () => store.listJobs({ studyUid: a.studyUid })[0]);
    const claimed = store.claimJob('dead-worker', 10_000);
    expect(claimed?.id).toBe(queued.id);
    expect(store.claimJob('other', 10_000)).toBeUndefined(); // lease still held
    const later = Date.now() + 11_000;
    const taken = store.claimJob('rescuer', 10_000, later);
    expect(taken).toMatchObject({ id: queued.id, lease_owner: 'rescuer', stage: 'only' });
    expect(store.completeStage(queued.id, 'dead-worker', 'only', {}, 1, null)).toBe(false); // the old worker lost it
    expect(store.completeStage(queued.id, 'rescuer', 'only', { ok: true }, 1, null, later)).toBe(true);
    expect(store.getJob(queued.id)?.state).toBe('done');
  });
});

describe('decode stage', () => {
  it('dead-letters a job whose image cannot be decoded, with the decoder reason, and keeps serving', async () => {
    const { readFileSync } = await import('node:fs');
    const { FIXTURES_DIR } = await import('./helpers/paths.js');
    tg = await startTestGateway();
    const store = tg.gateway.ctx.store;
    // A valid OP file whose JPEG codestream has lost its start-of-image marker: the header gate accepts it
    // (the structure is intact), the decoder cannot.
    const bytes = Buffer.from(readFileSync(path.join(FIXTURES_DIR, 'op-jpeg-baseline-grade0-idrid029-L.dcm')));
    const soi = bytes.indexOf(Buffer.from([0xff, 0xd8, 0xff]));
    expect(soi).toBeGreaterThan(0);
    bytes.fill(0, soi, soi + 3);
    expect((await ingest(tg, bytes)).status).toBe('stored');
    const dead = await waitFor('job dead', () => store.listJobs({ state: 'dead' })[0]);
    expect(dead.attempts).toBe(1); // permanent: no retries
    expect(dead.last_error).toMatch(/^decode: instance [0-9.]+ cannot be decoded: .+/);
    expect((await fetch(`${tg.baseUrl}/healthz`)).status).toBe(200);

    const good = syntheticInstance();
    await ingest(tg, good.bytes);
    await waitFor('next study done', () => store.listJobs({ studyUid: good.studyUid }).find((j) => j.state === 'done'));
    const metrics = await (await fetch(`${tg.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/ophgate_instances_received_total\{protocol="import",outcome="stored"\} 2/);
    expect(metrics).toMatch(/ophgate_jobs\{state="dead"\} 1/);
    expect(metrics).toMatch(/ophgate_stage_duration_seconds_count\{stage="decode",outcome="error"\} 1/);
    expect(metrics).toMatch(/ophgate_studies_settled_total\{routing="ophthalmic"\} 2/);
  });
});
