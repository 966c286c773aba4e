// The operator's view of fetch tasks (FHIR notifications' retrievals), mounted at /api/fetches:
//   GET /api/fetches[?state=&study=&limit=&offset=]   newest first
//   GET /api/fetches/{id}
import { Router } from 'express';
import { z } from 'zod';
import type { GatewayContext } from '../../gateway-context.js';
import { FetchTaskStore, fetchTaskState, type FetchTaskRow } from '../../store/fetch-tasks.js';

const listQuery = z.object({
  state: fetchTaskState.optional(),
  study: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
}).strict();

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function fetchTaskView(t: FetchTaskRow) {
  return {
    id: t.id, location: `/api/fetches/${t.id}`, studyInstanceUid: t.study_uid, source: t.source, sourceUrl: t.source_url,
    notification: t.form, resource: t.resource, state: t.state, attempts: t.attempts, lastError: t.last_error,
    nextRunAt: t.state === 'pending' ? iso(t.next_run_at) : null,
    result: t.state === 'done' ? { stored: t.stored, duplicates: t.duplicates, refused: t.refused, bytes: t.bytes } : null,
    createdAt: iso(t.created_at), updatedAt: iso(t.updated_at), completedAt: iso(t.completed_at),
  };
}

export function fetchesRouter(ctx: GatewayContext): Router {
  const r = Router();
  const tasks = new FetchTaskStore(ctx.store.db);
  r.get('/', (req, res) => {
    const q = listQuery.safeParse(req.query);
    if (!q.success) return void res.status(400).json({ error: q.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
    res.json(tasks.list({ state: q.data.state, studyUid: q.data.study, limit: q.data.limit, offset: q.data.offset }).map(fetchTaskView));
  });
  r.get('/:id', (req, res) => {
    const id = Number(req.params.id);
    const task = Number.isInteger(id) ? tasks.get(id) : undefined;
    if (!task) return void res.status(404).json({ error: `no fetch task ${String(req.params.id).slice(0, 40)}` });
    res.json(fetchTaskView(task));
  });
  return r;
}
