// Turns instances that arrive over time into studies. A study settles once no instance arrived for the
// settle time, or at once when the DIMSE association that delivered it is released (if configured).
// Settling applies the routing rules and, for an ophthalmic study, queues its pipeline job. A late instance
// re-opens a settled study (the store bumps its version) and it settles again, with a new job.
import type { Logger } from 'pino';
import type { SqliteStore } from '../store/sqlite-store.js';
import type { Metrics } from '../metrics/registry.js';
import { routeStudy, type RoutingRules } from './routing-rules.js';
import type { InstanceSource, StudyListener } from './accept-instance.js';
import type { DicomJson } from '../dicom/json-model.js';

export interface AssemblerOptions {
  settleMs: number;
  settleOnAssociationRelease: boolean;
  /** The pipeline's first stage, or null when the pipeline is off (studies are still routed and recorded). */
  firstStage: string | null;
}

export class StudyAssembler implements StudyListener {
  private timer: NodeJS.Timeout | undefined;
  private readonly byAssociation = new Map<string, Set<string>>();

  constructor(
    private readonly store: SqliteStore,
    private readonly rules: RoutingRules,
    private readonly options: AssemblerOptions,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly onJobQueued: () => void = () => {},
  ) {}

  instanceArrived(studyUid: string, source: InstanceSource): void {
    if (source.associationId) {
      let studies = this.byAssociation.get(source.associationId);
      if (!studies) this.byAssociation.set(source.associationId, (studies = new Set()));
      studies.add(studyUid);
    }
  }

  associationReleased(associationId: string): void {
    const studies = this.byAssociation.get(associationId);
    this.byAssociation.delete(associationId);
    if (!studies || !this.options.settleOnAssociationRelease) return;
    for (const studyUid of studies) {
      try {
        const study = this.store.getStudy(studyUid);
        if (study?.state === 'receiving') this.settle(studyUid, study.version);
      } catch (err) {
        this.logger.error({ studyUid, err: (err as Error).message }, 'settling on release failed; the study settles by time');
      }
    }
  }

  associationAborted(associationId: string): void {
    this.byAssociation.delete(associationId); // its studies settle by time, as an abort says nothing about completeness
  }

  start(): void {
    const every = Math.max(50, Math.min(1000, this.options.settleMs / 4));
    this.timer = setInterval(() => this.tick(), every);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Settles every study that has been quiet for the settle time (also those left receiving by a crash). */
  tick(now = Date.now()): void {
    let due: Array<{ study_uid: string; version: number }>;
    try {
      due = this.store.studiesDueToSettle(now - this.options.settleMs);
    } catch (err) {
      this.logger.error({ err: (err as Error).message }, 'reading studies to settle failed; will retry');
      return;
    }
    for (const { study_uid, version } of due) {
      try {
        this.settle(study_uid, version, now);
      } catch (err) {
        this.logger.error({ studyUid: study_uid, err: (err as Error).message }, 'settling a study failed; will retry');
      }
    }
  }

  settle(studyUid: string, version: number, now = Date.now()): void {
    const instances = this.store.instancesOfStudy(studyUid, 'received');
    const decision = routeStudy(this.rules, instances.map((i) => i.attributes as DicomJson));
    const result = this.store.settleStudy(studyUid, version, decision, this.options.firstStage, now);
    if (!result) return; // a late instance arrived meanwhile; it settles later
    this.metrics.studiesSettled.inc({ routing: decision.ophthalmic ? 'ophthalmic' : 'ignored' });
    this.logger.info({ studyUid, version, instances: instances.length, routing: decision.ophthalmic ? 'ophthalmic' : 'ignored', rule: decision.rule, reason: decision.reason, jobId: result.jobId }, 'study settled');
    if (result.jobId !== null) this.onJobQueued();
  }
}
