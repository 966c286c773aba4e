// kill -9 during a 50-study import (and while the pipeline runs), then a restart: every acknowledged
// instance is present with its exact bytes, and every job completes. Real processes, real signals.
import { describe, it, expect, afterAll } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, rmSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { SqliteStore } from '../src/store/sqlite-store.js';
import { PROJECT_ROOT } from '../src/project-root.js';
import { TEST_LOG_DIR } from './helpers/paths.js';
import { waitFor } from './helpers/gateway.js';
import { syntheticInstance } from './helpers/synthetic.js';

const CLI = path.join(PROJECT_ROOT, 'bin', 'ophgate.js');
const work = mkdtempSync(path.join(os.tmpdir(), 'ophgate-kill-'));
const dataDir = path.join(work, 'data');
const inputDir = path.join(work, 'input');
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

function env(): NodeJS.ProcessEnv {
  return {
    ...process.env, OPHGATE_DATA_DIR: dataDir, OPHGATE_HTTP__PORT: '0', OPHGATE_DIMSE__ENABLED: 'false',
    OPHGATE_ASSEMBLY__SETTLE_SECONDS: '0.3', OPHGATE_PIPELINE__LEASE_SECONDS: '2', OPHGATE_PIPELINE__POLL_MILLISECONDS: '50',
    OPHGATE_LOG__LEVEL: 'info',
    // Crash safety is about the store and the job queue, not the models: the tiny test models keep 50 studies fast.
    OPHGATE_INFERENCE__MODELS_DIR: 'test/inference/models', OPHGATE_INFERENCE__EXECUTION_PROVIDER: 'cpu',
  };
}

async function startServe(tag: string): Promise<{ child: ChildProcess; http: number }> {
  mkdirSync(TEST_LOG_DIR, { recursive: true });
  const log = path.join(TEST_LOG_DIR, `durability-${tag}.jsonl`);
  const child = spawn(process.execPath, [CLI, 'serve'], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const chunks: Buffer[] = [];
  child.stdout!.on('data', (c: Buffer) => { chunks.push(c); writeFileSync(log, Buffer.concat(chunks)); });
  const lines = createInterface({ input: child.stderr! });
  const ready = await new Promise<{ http: number }>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
    lines.on('line', (l) => { if (l.includes('"ophgate":"listening"')) resolve(JSON.parse(l)); });
  });
  return { child, http: ready.http };
}

describe('crash safety', () => {
  it('loses no acknowledged instance and no job across kill -9 of the importer and the server', async () => {
    mkdirSync(inputDir, { recursive: true });
    const expected = new Map<string, string>(); // SOP Instance UID -> sha256
    const studies = new Set<string>();
    for (let s = 0; s < 50; s++) {
      const first = syntheticInstance({ seed: s, patientId: `KILL-${s}` });
      const second = syntheticInstance({ studyUid: first.studyUid, seriesUid: first.seriesUid, seed: s + 100, patientId: `KILL-${s}` });
      for (const [i, inst] of [first, second].entries()) {
        writeFileSync(path.join(inputDir, `s${String(s).padStart(2, '0')}-${i}.dcm`), inst.bytes);
        expected.set(inst.sopUid, createHash('sha256').update(inst.bytes).digest('hex'));
      }
      studies.add(first.studyUid);
    }

    const serve1 = await startServe('before-kill');
    const importer = spawn(process.execPath, [CLI, 'import', '--json', inputDir], { env: env(), stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(importer);
    const acknowledged: string[] = [];
    const lines = createInterface({ input: importer.stdout! });
    lines.on('line', (l) => {
      const r = JSON.parse(l) as { status: string; sopInstanceUid?: string };
      if ((r.status === 'stored' || r.status === 'duplicate') && r.sopInstanceUid) acknowledged.push(r.sopInstanceUid);
    });
    await waitFor('40 instances acknowledged and a job under way', () => acknowledged.length >= 40, 60_000, 5);
    importer.kill('SIGKILL');
    serve1.child.kill('SIGKILL');
    await new Promise((r) => importer.once('exit', r));
    expect(acknowledged.length).toBeLessThan(expected.size); // killed mid-import

    const store = new SqliteStore(dataDir);
    expect(store.db.pragma('integrity_check', { simple: true })).toBe('ok');
    for (const uid of acknowledged) {
      const row = store.getInstance(uid);
      expect(row, `acknowledged instance ${uid} present`).toBeDefined();
      expect(row!.sha256).toBe(expected.get(uid));
      const bytes = readFileSync(store.blobPath(row!));
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(row!.sha256);
    }
    store.close();

    const serve2 = await startServe('after-kill');
    const rerun = spawnSync(process.execPath, [CLI, 'import', '--json', inputDir], { env: env(), encoding: 'utf8' });
    expect(rerun.status, `${rerun.stderr}\n${rerun.stdout.split('\n').filter((l) => !/"status":"(stored|duplicate)"/.test(l)).join('\n')}`).toBe(0);
    const outcomes = rerun.stdout.trim().split('\n').map((l) => JSON.parse(l) as { status: string });
    expect(outcomes.filter((o) => o.status === 'duplicate').length).toBeGreaterThanOrEqual(acknowledged.length);

    const base = `http://127.0.0.1:${serve2.http}`;
    await waitFor('all 50 studies processed', async () => {
      const jobs = (await (await fetch(`${base}/api/jobs?limit=1000`)).json()) as Array<{ state: string; studyInstanceUid: string }>;
      const done = new Set(jobs.filter((j) => j.state === 'done').map((j) => j.studyInstanceUid));
      return [...studies].every((s) => done.has(s)) && jobs.every((j) => j.state === 'done' || j.state === 'superseded');
    }, 120_000, 250);

    const final = new SqliteStore(dataDir);
    try {
      for (const [uid, sha] of expected) expect(final.getInstance(uid)?.sha256).toBe(sha);
      expect(final.jobCounts()).toMatchObject({ queued: 0, running: 0, dead: 0 });
    } finally {
      final.close();
    }
    const listed = spawnSync(process.execPath, [CLI, 'jobs', 'list', '--json', '--state', 'dead'], { env: env(), encoding: 'utf8' });
    expect(JSON.parse(listed.stdout)).toEqual([]);
    serve2.child.kill('SIGTERM');
    await new Promise((r) => serve2.child.once('exit', r));
    expect(existsSync(path.join(dataDir, 'index.sqlite'))).toBe(true);
  }, 240_000);
});
