// Stage 5: every object the results stage wrote goes to every configured destination, exactly once.
//
// Exactly once: each (object, destination) pair is a row in deliveries; an attempt sends only the pairs not yet
// delivered, always the stored bytes under their one SOP Instance UID, and records each outcome as it comes. A
// failed pair fails the stage, and the pipeline retries it with exponential backoff (pipeline.maxAttempts,
// backoffSeconds); a destination that was down gets what it is owed when it is back, and one that already took
// an object is never sent it again. On the last attempt the pairs still owed are marked dead with their last
// error and the job is dead-lettered; `ophgate jobs requeue` (or POST /api/jobs/{id}/requeue) tries them again.
import type { Stage, StageContext } from '../stage.js';
import type { OutgoingObject } from '../../export/destination.js';

export const exportStage: Stage = {
  name: 'export',
  async run(ctx: StageContext) {
    const destinations = ctx.services.destinations ?? [];
    const results = ctx.store.resultsOfJob(ctx.job.id);
    if (destinations.length === 0) return { deliveries: [], note: 'no export destinations configured: results stay in OphGate (QIDO-RS, WADO-RS)' };
    if (results.length === 0) return { deliveries: [], note: 'no results to send' };
    ctx.store.planDeliveries(ctx.job.id, destinations.flatMap((d) => results.map((r) => ({ sopInstanceUid: r.sop_instance_uid, destination: d.name }))));
    const lastAttempt = ctx.job.attempts + 1 >= ctx.services.config.pipeline.maxAttempts;
    const byUid = new Map(results.map((r) => [r.sop_instance_uid, r]));
    const failures: string[] = [];
    for (const destination of destinations) {
      if (ctx.signal.aborted) throw new Error('stopped');
      // SEGs before the SR that refers to them (resultsOfJob's order).
      const owed = ctx.store.deliveriesOfJob(ctx.job.id)
        .filter((d) => d.destination === destination.name && d.state !== 'delivered')
        .map((d) => byUid.get(d.sop_instance_uid)!)
        .filter(Boolean)
        .sort((a, b) => results.indexOf(a) - results.indexOf(b));
      if (owed.length === 0) continue;
      const objects: OutgoingObject[] = owed.map((r) => ({ path: ctx.store.blobs.pathFor(r.sha256), sopClassUid: r.sop_class_uid, sopInstanceUid: r.sop_instance_uid, studyUid: r.study_uid }));
      const outcomes = await destination.send(objects);
      outcomes.forEach((o, i) => {
        const uid = objects[i]!.sopInstanceUid;
        if (o.ok) ctx.store.recordDeliveryAttempt(uid, destination.name, { ok: true, ...(o.transferSyntaxUid ? { transferSyntaxUid: o.transferSyntaxUid } : {}) });
        else {
          ctx.store.recordDeliveryAttempt(uid, destination.name, { ok: false, error: o.error, dead: lastAttempt });
          failures.push(o.error);
        }
      });
      const sent = outcomes.filter((o) => o.ok).length;
      ctx.logger.info({ destination: destination.name, to: destination.description, sent, failed: outcomes.length - sent }, 'results sent');
    }
    const rows = ctx.store.deliveriesOfJob(ctx.job.id);
    if (failures.length > 0) {
      const distinct = [...new Set(failures)];
      throw new Error(`${failures.length} of ${rows.length} deliveries failed${lastAttempt ? ' (marked dead)' : ''}: ${distinct.slice(0, 3).join('; ')}`);
    }
    return {
      deliveries: destinations.map((d) => ({
        destination: d.name, to: d.description,
        delivered: rows.filter((r) => r.destination === d.name && r.state === 'delivered').map((r) => r.sop_instance_uid),
      })),
    };
  },
};
