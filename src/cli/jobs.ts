import path from 'node:path';
import { existsSync } from 'node:fs';
import type { Config } from '../config/schema.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { jobView } from '../http/api/routes.js';
import type { JobState } from '../store/rows.js';

/** Opens the store of an existing data directory; a typo in --data-dir must not create an empty one. */
function openExisting(config: Config): SqliteStore | undefined {
  const dir = path.resolve(config.dataDir);
  if (existsSync(path.join(dir, 'index.sqlite'))) return new SqliteStore(dir);
  console.error(`no OphGate data directory at ${dir} (no index.sqlite)`);
  process.exitCode = 2;
  return undefined;
}

export function runJobsList(config: Config, opts: { state?: JobState; json?: boolean }): void {
  const store = openExisting(config);
  if (!store) return;
  const jobs = store.listJobs({ state: opts.state, limit: 1000 }).map(jobView);
  store.close();
  if (opts.json) return void console.log(JSON.stringify(jobs, null, 2));
  if (jobs.length === 0) return void console.log('no jobs');
  console.log(['id', 'state', 'stage', 'attempts', 'study', 'last error'].join('\t'));
  for (const j of jobs) console.log([j.id, j.state, j.stage ?? '-', j.attempts, j.studyInstanceUid, j.lastError ?? ''].join('\t'));
}

export function runJobsRequeue(config: Config, ids: string[], opts: { allDead?: boolean }): number {
  const store = openExisting(config);
  if (!store) return 2;
  try {
    const targets = opts.allDead ? store.listJobs({ state: 'dead', limit: 100000 }).map((j) => j.id) : ids.map(Number);
    if (targets.length === 0) {
      console.error(opts.allDead ? 'no dead jobs' : 'name job ids or use --all-dead');
      return opts.allDead ? 0 : 2;
    }
    let failed = 0;
    for (const id of targets) {
      const job = Number.isInteger(id) ? store.getJob(id) : undefined;
      if (!job) { console.error(`job ${id}: no such job`); failed++; continue; }
      if (!store.requeueJob(id)) { console.error(`job ${id}: is ${job.state}; only dead jobs can be requeued`); failed++; continue; }
      console.log(`job ${id}: requeued at stage ${job.stage}`);
    }
    return failed ? 1 : 0;
  } finally {
    store.close();
  }
}
