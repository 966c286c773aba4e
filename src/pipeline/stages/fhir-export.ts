// Stage 6: the report goes to the EHR's FHIR server (fhir.destination) as one transaction Bundle built from the
// store's current resources (src/report/fhir/report-closure.ts), with conditional creates and updates on stable
// identifiers: sending again, after a retry or a sign-off, updates the same resources and never duplicates them.
// A failure that retrying can mend (network, timeout, 5xx, 429) is retried with the pipeline's backoff, then
// dead-lettered; one that cannot (a 4xx the server explains) dead-letters at once with the server's message.
// A sign-off re-runs the job from this stage (POST /api/studies/{study}/report/sign).
import type { Stage, StageContext } from '../stage.js';
import { PermanentStageError } from '../stage.js';
import { reportClosure } from '../../report/fhir/report-closure.js';
import { reportResourceId } from '../../report/fhir/context.js';
import { provenanceId } from '../../report/fhir/bundle.js';
import { signProvenanceIdsOf } from '../../report/sign-off.js';
import type { DiagnosticReport } from '@medplum/fhirtypes';
import { isFhirType } from '../../store/fhir-resources.js';
import { toTransactionBundle } from '../../report/fhir/local-resources.js';

export const fhirExportStage: Stage = {
  name: 'fhir-export',
  async run(ctx: StageContext) {
    const sender = ctx.services.fhirSender;
    if (!sender) return { note: 'no fhir.destination configured: the report is served under /fhir only' };
    const reportId = reportResourceId(ctx.study.study_uid);
    if (!ctx.store.fhir.read('DiagnosticReport', reportId)) return { note: 'no report to send' };
    const resources = reportClosure((type, id) => (isFhirType(type) ? ctx.store.fhir.read(type, id) : undefined), reportId,
      [provenanceId(ctx.study.study_uid), ...signProvenanceIdsOf(ctx.study.study_uid, ctx.store.fhir.history('DiagnosticReport', reportId) as DiagnosticReport[])]);
    const bundle = toTransactionBundle(resources);
    const outcome = await sender.send(bundle, ctx.signal);
    if (!outcome.ok) {
      // The sender's error already names the server and the HTTP status.
      const message = `report transaction failed: ${outcome.error}`;
      if (!outcome.retryable) throw new PermanentStageError(message);
      throw new Error(message);
    }
    const locations = (outcome.response.entry ?? []).map((e) => e.response?.location ?? null);
    const report = ctx.store.fhir.read('DiagnosticReport', reportId);
    ctx.logger.info({ to: sender.description, entries: resources.length, status: (report as { status?: string } | undefined)?.status }, 'report sent');
    return {
      to: sender.description,
      sent: resources.map((r, i) => ({ type: r.resourceType, id: r.id, versionId: r.meta?.versionId ?? null, location: locations[i] ?? null })),
      reportStatus: (report as { status?: string } | undefined)?.status ?? null,
    };
  },
};
