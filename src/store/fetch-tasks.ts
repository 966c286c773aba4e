// Fetch tasks: each study a FHIR notification asked OphGate to retrieve (migration 6). A task is written before
// the notifier gets its 202, so an accepted notification survives a restart; the fetch worker claims due tasks
// with a lease (a crashed worker's task is taken over once the lease runs out), retries with backoff and
// dead-letters with the reason.
import type Database from 'better-sqlite3';
import { z } from 'zod';
import type { NotificationForm } from '../ingest/fhir-notification/target.js';

export const fetchTaskState = z.enum(['pending', 'running', 'done', 'dead']);
export type FetchTaskState = z.infer<typeof fetchTaskState>;

export const fetchTaskRow = z.object({
  id: z.number().int(), study_uid: z.string(), source: z.string(), source_url: z.string(),
  form: z.enum(['rest-hook', 'backport-full-resource', 'backport-id-only']), resource: z.string(),
  state: fetchTaskState, attempts: z.number().int(), last_error: z.string().nullable(), next_run_at: z.number(),
  lease_owner: z.string().nullable(), lease_until: z.number().nullable(),
  stored: z.number().int().nullable(), duplicates: z.number().int().nullable(), refused: z.number().int().nullable(), bytes: z.number().int().nullable(),
  created_at: z.number(), updated_at: z.number(), completed_at: z.number().nullable(),
});
export type FetchTaskRow = z.infer<typeof fetchTaskRow>;

export interface NewFetchTask { studyUid: string; source: string; sourceUrl: string; form: NotificationForm; resource: string }
export interface FetchCounts { stored: number; duplicates: number; refused: number; bytes: number }

export class FetchTaskStore {
  constructor(private readonly db: Database.Database) {}

  /**
   * Records a task, or returns the one already waiting for the same study and source (a notifier that repeats
   * itself, or several events about one study, cause one retrieval). `created` says which.
   */
  enqueue(task: NewFetchTask, now = Date.now()): { task: FetchTaskRow; created: boolean } {
    return this.db.transaction(() => {
      const waiting = this.db.prepare(`SELECT * FROM fetch_tasks WHERE study_uid = ? AND source = ? AND state = 'pending' ORDER BY id LIMIT 1`)
        .get(task.studyUid, task.source);
      if (waiting) return { task: fetchTaskRow.parse(waiting), created: false };
      const info = this.db.prepare(`INSERT INTO fetch_tasks (study_uid, source, source_url, form, resource, state, attempts, next_run_at, created_at, updated_at)
          VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?)`)
        .run(task.studyUid, task.source, task.sourceUrl, task.form, task.resource, now, now, now);
      return { task: this.get(Number(info.lastInsertRowid))!, created: true };
    }).immediate();
  }

  get(id: number): FetchTaskRow | undefined {
    const row = this.db.prepare('SELECT * FROM fetch_tasks WHERE id = ?').get(id);
    return row ? fetchTaskRow.parse(row) : undefined;
  }

  list(filter: { state?: FetchTaskState; studyUid?: string; limit?: number; offset?: number } = {}): FetchTaskRow[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.state) { where.push('state = ?'); args.push(filter.state); }
    if (filter.studyUid) { where.push('study_uid = ?'); args.push(filter.studyUid); }
    return this.db.prepare(`SELECT * FROM fetch_tasks ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT ? OFFSET ?`)
      .all(...args, filter.limit ?? 100, filter.offset ?? 0).map((r) => fetchTaskRow.parse(r));
  }

  /** Takes the next due task: a pending one whose time has come, or a running one whose worker's lease ran out. */
  claim(owner: string, leaseMs: number, now = Date.now()): FetchTaskRow | undefined {
    return this.db.transaction(() => {
      const row = this.db.prepare(`SELECT * FROM fetch_tasks WHERE (state = 'pending' AND next_run_at <= ?) OR (state = 'running' AND lease_until < ?)
          ORDER BY next_run_at, id LIMIT 1`).get(now, now);
      if (!row) return undefined;
      const task = fetchTaskRow.parse(row);
      this.db.prepare(`UPDATE fetch_tasks SET state = 'running', lease_owner = ?, lease_until = ?, updated_at = ? WHERE id = ?`)
        .run(owner, now + leaseMs, now, task.id);
      return { ...task, state: 'running' as const, lease_owner: owner, lease_until: now + leaseMs };
    }).immediate();
  }

  renewLease(id: number, owner: string, leaseMs: number, now = Date.now()): boolean {
    return this.db.prepare(`UPDATE fetch_tasks SET lease_until = ?, updated_at = ? WHERE id = ? AND state = 'running' AND lease_owner = ?`)
      .run(now + leaseMs, now, id, owner).changes === 1;
  }

  complete(id: number, owner: string, counts: FetchCounts, note: string | null, now = Date.now()): boolean {
    return this.db.prepare(`UPDATE fetch_tasks SET state = 'done', stored = ?, duplicates = ?, refused = ?, bytes = ?, last_error = ?,
        lease_owner = NULL, lease_until = NULL, completed_at = ?, updated_at = ? WHERE id = ? AND state = 'running' AND lease_owner = ?`)
      .run(counts.stored, counts.duplicates, counts.refused, counts.bytes, note, now, now, id, owner).changes === 1;
  }

  /** A failed attempt: pending again at retryAt, or dead (retryAt null) with the reason. */
  fail(id: number, owner: string, error: string, retryAt: number | null, now = Date.now()): boolean {
    return this.db.prepare(`UPDATE fetch_tasks SET attempts = attempts + 1, last_error = ?, state = ?, next_run_at = COALESCE(?, next_run_at),
        lease_owner = NULL, lease_until = NULL, updated_at = ? WHERE id = ? AND state = 'running' AND lease_owner = ?`)
      .run(error.slice(0, 2000), retryAt === null ? 'dead' : 'pending', retryAt, now, id, owner).changes === 1;
  }

  /** Hands a task back (a worker stopping mid-fetch): due again at once, the attempt not counted. */
  release(id: number, owner: string, now = Date.now()): void {
    this.db.prepare(`UPDATE fetch_tasks SET state = 'pending', lease_owner = NULL, lease_until = NULL, next_run_at = ?, updated_at = ?
        WHERE id = ? AND state = 'running' AND lease_owner = ?`).run(now, now, id, owner);
  }
}
