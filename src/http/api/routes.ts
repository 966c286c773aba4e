// The operator API: studies with their routing decision, pipeline jobs (list, inspect, requeue), conflicts.
import { Router, json } from 'express';
import { z } from 'zod';
import type { GatewayContext } from '../../gateway-context.js';
import { findingResultSchema } from '../../inference/finding-result.js';
import { jobState, type JobRow, type StudyRow } from '../../store/rows.js';
import { baseUrl } from '../dicomweb/common.js';
import { reportRouter } from './report-routes.js';
import { dialogueRouter } from './dialogue-routes.js';

const listQuery = z.object({
  state: jobState.optional(),
  study: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

/** Jobs as the API shows them; study-level patient data is not part of a job. */
const findingsQuery = z.object({ version: z.coerce.number().int().min(1).optional() }).strict();

export function jobView(job: JobRow) {
  return {
    id: job.id, studyInstanceUid: job.study_uid, studyVersion: job.study_version, state: job.state, stage: job.stage,
    attempts: job.attempts, lastError: job.last_error, nextRunAt: new Date(job.next_run_at).toISOString(),
    createdAt: new Date(job.created_at).toISOString(), updatedAt: new Date(job.updated_at).toISOString(),
  };
}

/** `instances` counts what was received; `derivedInstances` what OphGate wrote into the study (SEG, SR). */
function studyView(s: StudyRow, received: number, derived: number) {
  return {
    studyInstanceUid: s.study_uid, state: s.state, version: s.version, routing: s.routing, routingRule: s.routing_rule,
    routingReason: s.routing_reason, instances: received, derivedInstances: derived, studyDate: s.study_date,
    firstReceivedAt: new Date(s.first_received_at).toISOString(), lastReceivedAt: new Date(s.last_received_at).toISOString(),
    settledAt: s.settled_at ? new Date(s.settled_at).toISOString() : null,
  };
}

export function apiRouter(ctx: GatewayContext): Router {
  const r = Router();
  r.use(json({ limit: '1mb' }));

  r.get('/jobs', (req, res) => {
    const q = listQuery.safeParse(req.query);
    if (!q.success) return void res.status(400).json({ error: q.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
    res.json(ctx.store.listJobs({ state: q.data.state, studyUid: q.data.study, limit: q.data.limit, offset: q.data.offset }).map(jobView));
  });

  r.get('/jobs/:id', (req, res) => {
    const id = Number(req.params.id);
    const job = Number.isInteger(id) ? ctx.store.getJob(id) : undefined;
    if (!job) return void res.status(404).json({ error: `no job ${req.params.id}` });
    res.json({ ...jobView(job), stages: ctx.store.stageResults(job.id).map((s) => ({ stage: s.stage, durationMs: s.duration_ms, completedAt: new Date(s.completed_at).toISOString(), result: s.result })) });
  });

  r.post('/jobs/:id/requeue', (req, res) => {
    const id = Number(req.params.id);
    const job = Number.isInteger(id) ? ctx.store.getJob(id) : undefined;
    if (!job) return void res.status(404).json({ error: `no job ${req.params.id}` });
    const requeued = ctx.store.requeueJob(job.id);
    if (!requeued) return void res.status(409).json({ error: `job ${job.id} is ${job.state}; only dead jobs can be requeued` });
    ctx.logger.info({ jobId: job.id, studyUid: job.study_uid, stage: job.stage }, 'job requeued by operator');
    ctx.runner.poke();
    res.json(jobView(requeued));
  });

  r.get('/studies', (req, res) => {
    const q = listQuery.pick({ limit: true, offset: true }).safeParse(req.query);
    if (!q.success) return void res.status(400).json({ error: q.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
    res.json(ctx.store.listStudies(q.data.limit, q.data.offset).map((s) => studyView(s, ctx.store.instancesOfStudy(s.study_uid, 'received').length, ctx.store.instancesOfStudy(s.study_uid, 'derived').length)));
  });

  r.get('/studies/:study', (req, res) => {
    const s = ctx.store.getStudy(req.params.study);
    if (!s) return void res.status(404).json({ error: `no study ${req.params.study}` });
    res.json({ ...studyView(s, ctx.store.instancesOfStudy(s.study_uid, 'received').length, ctx.store.instancesOfStudy(s.study_uid, 'derived').length), jobs: ctx.store.listJobs({ studyUid: s.study_uid }).map(jobView) });
  });

  // Findings of the study's latest analysed version (or ?version=N): per image frame, each model's result.
  r.get('/studies/:study/findings', (req, res) => {
    const s = ctx.store.getStudy(req.params.study);
    if (!s) return void res.status(404).json({ error: `no study ${req.params.study}` });
    const q = findingsQuery.safeParse(req.query);
    if (!q.success) return void res.status(400).json({ error: q.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
    const base = { studyInstanceUid: s.study_uid, latestVersion: s.version, routing: s.routing, routingReason: s.routing_reason };
    if (s.routing === 'ignored') return void res.json({ ...base, status: 'not analysed', reason: `routing: ${s.routing_reason ?? 'not ophthalmic'}`, images: [] });
    const jobs = ctx.store.listJobs({ studyUid: s.study_uid, limit: 1000 }).filter((j) => q.data.version === undefined || j.study_version === q.data.version);
    if (q.data.version !== undefined && jobs.length === 0) return void res.status(404).json({ error: `study ${s.study_uid} has no version ${q.data.version} (latest ${s.version})` });
    // The newest finished job wins; otherwise the newest job, to say where it stands.
    const job = jobs.find((j) => j.state === 'done' || ctx.store.findingsOfJob(j.id).length > 0) ?? jobs[0];
    if (!job) return void res.json({ ...base, status: s.state === 'receiving' ? 'receiving' : 'pending', images: [] });
    const rows = ctx.store.findingsOfJob(job.id);
    const status = job.state === 'done' ? 'complete' : job.state === 'dead' ? 'failed' : job.state === 'superseded' ? 'superseded' : 'pending';
    const images = new Map<string, { seriesInstanceUid: string; sopInstanceUid: string; frame: number; results: unknown[] }>();
    for (const row of rows) {
      const key = `${row.sop_instance_uid}/${row.frame}`;
      let image = images.get(key);
      if (!image) images.set(key, (image = { seriesInstanceUid: row.series_uid, sopInstanceUid: row.sop_instance_uid, frame: row.frame, results: [] }));
      const parsed = findingResultSchema.safeParse(row.result);
      image.results.push(parsed.success ? parsed.data : { model: { name: row.model_name, version: row.model_version }, error: 'stored finding does not match the current schema' });
    }
    res.json({
      ...base, studyVersion: job.study_version, status, job: jobView(job),
      ...(status === 'failed' ? { error: job.last_error } : {}),
      models: [...new Map(rows.map((r) => [r.model_name, { name: r.model_name, version: r.model_version, provider: r.provider }])).values()],
      images: [...images.values()],
    });
  });

  // The DICOM objects OphGate wrote for a study (SEG, SR), where to fetch them and how each delivery stands.
  r.get('/studies/:study/results', (req, res) => {
    const s = ctx.store.getStudy(req.params.study);
    if (!s) return void res.status(404).json({ error: `no study ${req.params.study}` });
    const base = baseUrl(ctx, req);
    const deliveries = ctx.store.deliveriesOfStudy(s.study_uid);
    const rows = ctx.store.resultsOfStudy(s.study_uid);
    res.json({
      studyInstanceUid: s.study_uid,
      qidoRs: `${base}/dicomweb/studies/${s.study_uid}/instances`,
      results: rows.map((r) => ({
        kind: r.kind, sopClassUid: r.sop_class_uid, sopInstanceUid: r.sop_instance_uid, seriesInstanceUid: r.series_uid,
        jobId: r.job_id, studyVersion: r.study_version,
        ...(r.source_sop_instance_uid ? { source: { sopInstanceUid: r.source_sop_instance_uid, frame: r.source_frame } } : {}),
        createdAt: new Date(r.created_at).toISOString(),
        wadoRs: `${base}/dicomweb/studies/${r.study_uid}/series/${r.series_uid}/instances/${r.sop_instance_uid}`,
        deliveries: deliveries.filter((d) => d.sop_instance_uid === r.sop_instance_uid).map((d) => ({
          destination: d.destination, state: d.state, attempts: d.attempts, lastError: d.last_error,
          transferSyntaxUid: d.transfer_syntax_uid, deliveredAt: d.delivered_at ? new Date(d.delivered_at).toISOString() : null,
        })),
      })),
    });
  });

  r.use(reportRouter(ctx));
  r.use(dialogueRouter(ctx));

  r.get('/conflicts', (_req, res) => {
    res.json(ctx.store.conflicts().map((c) => ({
      id: c.id, sopInstanceUid: c.sop_instance_uid, studyInstanceUid: c.study_uid, storedSha256: c.stored_sha256,
      receivedSha256: c.received_sha256, receivedSize: c.received_size, protocol: c.protocol, callingAe: c.calling_ae,
      receivedAt: new Date(c.received_at).toISOString(),
    })));
  });
  return r;
}
