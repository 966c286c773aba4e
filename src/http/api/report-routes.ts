// The study's report for operators and clinicians: read it (narrative, status, where the FHIR resources are),
// and sign it (POST .../report/sign, scope report:sign). The FHIR resources themselves are served under /fhir.
import { Router } from 'express';
import { z } from 'zod';
import type { DiagnosticReport, Resource } from '@medplum/fhirtypes';
import type { GatewayContext } from '../../gateway-context.js';
import { reportResourceId } from '../../report/fhir/context.js';
import { practitionerOf, signedReport, signProvenance, SignOffConflict } from '../../report/sign-off.js';
import { requireScope, type Principal } from '../auth/api-keys.js';
import { baseUrl } from '../dicomweb/common.js';
import { jobView } from './routes.js';

const signBody = z.object({
  /** The clinician's own wording of the conclusion; absent: the report's text is signed as it is. */
  conclusion: z.string().trim().min(1).max(20_000).optional(),
}).strict();

export function reportRouter(ctx: GatewayContext): Router {
  const r = Router();

  r.get('/studies/:study/report', requireScope(ctx.config.auth.apiKeys, 'report:read'), (req, res) => {
    const studyParam = String(req.params.study);
    const s = ctx.store.getStudy(studyParam);
    if (!s) return void res.status(404).json({ error: `no study ${studyParam}` });
    const id = reportResourceId(s.study_uid);
    const report = ctx.store.fhir.read('DiagnosticReport', id);
    if (!report) return void res.status(404).json({ error: `study ${s.study_uid} has no report yet` });
    const stage = ctx.store.latestStageResult(s.study_uid, 'report')?.result as Record<string, unknown> | undefined;
    const delivery = ctx.store.latestStageResult(s.study_uid, 'fhir-export');
    const job = ctx.store.listJobs({ studyUid: s.study_uid, limit: 1 })[0];
    res.json({
      studyInstanceUid: s.study_uid,
      status: report.status,
      versionId: report.meta?.versionId ?? null,
      issued: report.issued ?? null,
      conclusion: report.conclusion ?? null,
      narrativeProducedBy: (stage?.narrative as { producedBy?: string } | undefined)?.producedBy ?? null,
      resultsInterpreter: (report.resultsInterpreter ?? []).map((i) => i.display ?? i.reference),
      fhir: `${baseUrl(ctx, req)}/fhir/DiagnosticReport/${id}`,
      comparedWith: (stage?.priorStudyUid as string | undefined) ?? null,
      lastSentToEhr: delivery ? { at: new Date(delivery.completed_at).toISOString(), result: delivery.result } : null,
      job: job ? jobView(job) : null,
    });
  });

  r.post('/studies/:study/report/sign', requireScope(ctx.config.auth.apiKeys, 'report:sign'), (req, res) => {
    const principal = res.locals.principal as Principal;
    const studyParam = String(req.params.study);
    const s = ctx.store.getStudy(studyParam);
    if (!s) return void res.status(404).json({ error: `no study ${studyParam}` });
    const body = signBody.safeParse(req.body ?? {});
    if (!body.success) return void res.status(400).json({ error: body.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ') });
    const id = reportResourceId(s.study_uid);
    const current = ctx.store.fhir.read('DiagnosticReport', id);
    if (!current) return void res.status(404).json({ error: `study ${s.study_uid} has no report to sign yet` });
    // A report still being written (or re-analysed) is not signed under the clinician's name.
    const job = ctx.store.listJobs({ studyUid: s.study_uid, limit: 1 })[0];
    const pendingSend = job?.state === 'queued' && job.stage === 'fhir-export';
    if (job && (job.state === 'running' || (job.state === 'queued' && !pendingSend))) {
      return void res.status(409).json({ error: `study ${s.study_uid} is being analysed or sent (job ${job.id} ${job.state} at ${job.stage}); sign when it is done`, job: jobView(job) });
    }
    const practitioner = practitionerOf({ keyName: principal.keyName, practitioner: principal.practitioner! });
    const at = new Date().toISOString();
    let signed;
    try {
      signed = signedReport(current, practitioner, at, body.data.conclusion);
    } catch (err) {
      if (err instanceof SignOffConflict) return void res.status(409).json({ error: err.message });
      throw err;
    }
    const url = `${baseUrl(ctx, req)}/fhir/DiagnosticReport/${id}`;
    if (signed.outcome === 'unchanged') {
      return void res.json({ outcome: 'unchanged', status: current.status, versionId: current.meta?.versionId ?? null, diagnosticReport: url });
    }
    const saved = ctx.store.fhir.save(s.study_uid, [practitioner as Resource, signed.report as Resource]);
    const versionId = saved.find((x) => x.resourceType === 'DiagnosticReport')!.versionId;
    ctx.store.fhir.save(s.study_uid, [signProvenance(s.study_uid, id, String(versionId), practitioner, at, signed.outcome) as Resource]);
    // Audit: who signed what; no patient data.
    ctx.logger.info({ studyUid: s.study_uid, key: principal.keyName, outcome: signed.outcome, status: signed.report.status, versionId }, 'report signed');
    let resend: unknown = null;
    if (ctx.config.fhir.destination && job && !pendingSend) {
      const reopened = ctx.store.reopenJob(job.id, 'fhir-export');
      if (reopened) ctx.runner.poke();
      resend = reopened ? jobView(reopened) : null;
    } else if (pendingSend) resend = jobView(job!);
    res.json({ outcome: signed.outcome, status: signed.report.status, versionId, signer: practitioner.name?.[0]?.text, diagnosticReport: url, resend });
  });

  return r;
}
