// The embedded store: a SQLite index (WAL, synchronous=FULL so a commit survives power loss) beside the
// content-addressed blobs. Every method is the unit a future PostgreSQL store must make atomic too.
import Database from 'better-sqlite3';
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { MIGRATIONS } from './schema.js';
import { BlobStore, type SpooledFile } from './blob-store.js';
import { FhirResourceStore } from './fhir-resources.js';
import { ConversationStore } from './conversations.js';
import {
  studyRow, seriesRow, instanceRow, jobRow, stageResultRow, conflictRow, findingRow, resultRow, deliveryRow,
  type StudyRow, type SeriesRow, type InstanceRow, type JobRow, type JobState, type StageResultRow, type ConflictRow, type FindingRow, type NewFinding,
  type ResultRow, type DeliveryRow,
} from './rows.js';
import type { z } from 'zod';

export interface NewInstance {
  sopInstanceUid: string; seriesUid: string; studyUid: string; sopClassUid: string; transferSyntaxUid: string;
  instanceNumber: number | null; datasetOffset: number;
  attributes: object; studyAttributes: object; seriesAttributes: object;
  study: {
    patientId: string | null; patientName: string | null; patientBirthDate: string | null; patientSex: string | null;
    studyDate: string | null; studyTime: string | null; accessionNumber: string | null; studyId: string | null;
    studyDescription: string | null; referringPhysicianName: string | null;
  };
  series: { modality: string | null; seriesNumber: number | null; seriesDescription: string | null };
  protocol: string; callingAe: string | null;
}

/** What a derived instance is, for its results row (src/pipeline/stages/results.ts). */
export interface NewResult {
  jobId: number; owner: string; kind: ResultRow['kind'];
  sourceSopInstanceUid?: string | null; sourceFrame?: number | null;
}

export type RecordOutcome =
  | { kind: 'stored'; reopened: boolean; studyVersion: number }
  | { kind: 'duplicate' }
  | { kind: 'conflict'; storedSha256: string };

function parseRow<T extends z.ZodType>(schema: T, row: unknown): z.infer<T> {
  return schema.parse(row);
}

export class SqliteStore {
  readonly db: Database.Database;
  readonly blobs: BlobStore;
  /** The FHIR resources OphGate emits, versioned, as /fhir serves them. */
  readonly fhir: FhirResourceStore;
  /** Case dialogues with the LLM (src/llm/dialogue.ts). */
  readonly conversations: ConversationStore;

  constructor(readonly dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.blobs = new BlobStore(dataDir);
    this.db = new Database(path.join(dataDir, 'index.sqlite'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.migrate();
    this.fhir = new FhirResourceStore(this.db);
    this.conversations = new ConversationStore(this.db);
  }

  private readonly statements = new Map<string, Database.Statement>();

  /**
   * Runs fn in a BEGIN IMMEDIATE transaction. Several processes share the database (`ophgate import` beside
   * `ophgate serve`, later several workers): a deferred transaction that reads first and then writes can fail at
   * once with SQLITE_BUSY when another writer got in between; taking the write lock up front makes it wait
   * (busy_timeout) instead.
   */
  private writeTransaction<T>(fn: () => T): () => T {
    return () => this.db.transaction(fn).immediate();
  }

  /** Prepared statements are compiled once and reused (preparing is a measurable share of an ingest). */
  private stmt(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) this.statements.set(sql, (st = this.db.prepare(sql)));
    return st;
  }

  private migrate(): void {
    const current = this.db.pragma('user_version', { simple: true }) as number;
    for (let v = current; v < MIGRATIONS.length; v++) {
      this.writeTransaction(() => {
        this.db.exec(MIGRATIONS[v]!);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  close(): void {
    this.db.close();
  }

  // ---- instances -------------------------------------------------------------------------------------------

  /**
   * Stores an instance's bytes, then its index rows: the blob is made durable at its content address (fsync, rename,
   * directory fsync), then one transaction inserts the instance and opens (or re-opens) its study; only then is the
   * sender acknowledged. A crash between the two leaves an unindexed blob, never an index row without its bytes. Same UID with the same bytes is a duplicate (no-op);
   * same UID with other bytes is a conflict: the new bytes go to quarantine and the stored ones stay.
   */
  async recordInstance(file: SpooledFile, inst: NewInstance, now = Date.now()): Promise<RecordOutcome> {
    const early = this.existingOutcome(file, inst, now);
    if (early) return early.kind === 'conflict' ? this.quarantined(file, early) : early;
    await this.blobs.commit(file);
    // The commit awaited the disk: another request may have stored the same SOP Instance meanwhile.
    return this.writeTransaction((): RecordOutcome => {
      const raced = this.existingOutcome(file, inst, now);
      if (raced) return raced; // our blob stays at its content address; the index keeps the first one
      const study = this.stmt('SELECT state, version FROM studies WHERE study_uid = ?').get(inst.studyUid) as { state: string; version: number } | undefined;
      let version = 1;
      let reopened = false;
      const s = inst.study;
      if (!study) {
        this.stmt(`INSERT INTO studies (study_uid, patient_id, patient_name, patient_birth_date, patient_sex, study_date, study_time,
            accession_number, study_id, study_description, referring_physician_name, attributes, state, version, first_received_at, last_received_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'receiving', 1, ?, ?)`)
          .run(inst.studyUid, s.patientId, s.patientName, s.patientBirthDate, s.patientSex, s.studyDate, s.studyTime, s.accessionNumber,
            s.studyId, s.studyDescription, s.referringPhysicianName, JSON.stringify(inst.studyAttributes), now, now);
      } else {
        reopened = study.state === 'settled';
        version = reopened ? study.version + 1 : study.version;
        this.stmt(`UPDATE studies SET state = 'receiving', version = ?, last_received_at = ?, settled_at = CASE WHEN ? THEN NULL ELSE settled_at END
          WHERE study_uid = ?`).run(version, now, reopened ? 1 : 0, inst.studyUid);
      }
      this.stmt(`INSERT INTO series (series_uid, study_uid, modality, series_number, series_description, attributes)
          VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (series_uid) DO NOTHING`)
        .run(inst.seriesUid, inst.studyUid, inst.series.modality, inst.series.seriesNumber, inst.series.seriesDescription, JSON.stringify(inst.seriesAttributes));
      this.stmt(`INSERT INTO instances (sop_instance_uid, series_uid, study_uid, sop_class_uid, transfer_syntax_uid, instance_number,
          sha256, size, dataset_offset, attributes, protocol, calling_ae, received_at, study_version)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(inst.sopInstanceUid, inst.seriesUid, inst.studyUid, inst.sopClassUid, inst.transferSyntaxUid, inst.instanceNumber,
          file.sha256, file.size, inst.datasetOffset, JSON.stringify(inst.attributes), inst.protocol, inst.callingAe, now, version);
      return { kind: 'stored', reopened, studyVersion: version };
    })();
  }

  /** Same SOP Instance UID already stored: a duplicate with the same bytes, or a recorded conflict. */
  private existingOutcome(file: SpooledFile, inst: NewInstance, now: number): RecordOutcome | undefined {
    const existing = this.stmt('SELECT sha256, study_uid FROM instances WHERE sop_instance_uid = ?')
      .get(inst.sopInstanceUid) as { sha256: string; study_uid: string } | undefined;
    if (!existing) return undefined;
    if (existing.sha256 === file.sha256) {
      this.blobs.discard(file);
      return { kind: 'duplicate' };
    }
    this.stmt(`INSERT INTO conflicts (sop_instance_uid, study_uid, stored_sha256, received_sha256, received_size, protocol, calling_ae, received_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)`).run(inst.sopInstanceUid, existing.study_uid, existing.sha256, file.sha256, file.size, inst.protocol, inst.callingAe, now);
    return { kind: 'conflict', storedSha256: existing.sha256 };
  }

  private async quarantined(file: SpooledFile, outcome: RecordOutcome): Promise<RecordOutcome> {
    await this.blobs.quarantine(file);
    return outcome;
  }

  getInstance(sopInstanceUid: string): InstanceRow | undefined {
    const row = this.stmt('SELECT * FROM instances WHERE sop_instance_uid = ?').get(sopInstanceUid);
    return row ? parseRow(instanceRow, row) : undefined;
  }

  /** Every instance of the study; with `origin`, only those received (the pipeline's input) or derived (its output). */
  instancesOfStudy(studyUid: string, origin?: 'received' | 'derived'): InstanceRow[] {
    const rows = origin
      ? this.stmt('SELECT * FROM instances WHERE study_uid = ? AND origin = ? ORDER BY series_uid, instance_number, sop_instance_uid').all(studyUid, origin)
      : this.stmt('SELECT * FROM instances WHERE study_uid = ? ORDER BY series_uid, instance_number, sop_instance_uid').all(studyUid);
    return rows.map((r) => parseRow(instanceRow, r));
  }

  instancesOfSeries(seriesUid: string): InstanceRow[] {
    return this.stmt('SELECT * FROM instances WHERE series_uid = ? ORDER BY instance_number, sop_instance_uid')
      .all(seriesUid).map((r) => parseRow(instanceRow, r));
  }

  blobPath(row: Pick<InstanceRow, 'sha256'>): string {
    return this.blobs.pathFor(row.sha256);
  }

  countInstances(origin?: 'received' | 'derived'): number {
    const row = origin
      ? this.stmt('SELECT count(*) AS n FROM instances WHERE origin = ?').get(origin)
      : this.stmt('SELECT count(*) AS n FROM instances').get();
    return (row as { n: number }).n;
  }

  conflicts(limit = 100): ConflictRow[] {
    return this.stmt('SELECT * FROM conflicts ORDER BY id DESC LIMIT ?').all(limit).map((r) => parseRow(conflictRow, r));
  }

  // ---- studies ---------------------------------------------------------------------------------------------

  getStudy(studyUid: string): StudyRow | undefined {
    const row = this.stmt('SELECT * FROM studies WHERE study_uid = ?').get(studyUid);
    return row ? parseRow(studyRow, row) : undefined;
  }

  seriesOfStudy(studyUid: string): SeriesRow[] {
    return this.stmt('SELECT * FROM series WHERE study_uid = ? ORDER BY series_number, series_uid').all(studyUid).map((r) => parseRow(seriesRow, r));
  }

  getSeries(seriesUid: string): SeriesRow | undefined {
    const row = this.stmt('SELECT * FROM series WHERE series_uid = ?').get(seriesUid);
    return row ? parseRow(seriesRow, row) : undefined;
  }

  /** Studies still receiving whose last instance arrived before the cut-off. */
  studiesDueToSettle(cutoff: number): Array<{ study_uid: string; version: number }> {
    return this.stmt(`SELECT study_uid, version FROM studies WHERE state = 'receiving' AND last_received_at <= ? ORDER BY last_received_at`)
      .all(cutoff) as Array<{ study_uid: string; version: number }>;
  }

  listStudies(limit = 100, offset = 0): StudyRow[] {
    return this.stmt('SELECT * FROM studies ORDER BY last_received_at DESC LIMIT ? OFFSET ?').all(limit, offset).map((r) => parseRow(studyRow, r));
  }

  /** Every study of a patient ID (the caller compares issuers), oldest study date first. */
  studiesOfPatient(patientId: string): StudyRow[] {
    return this.stmt('SELECT * FROM studies WHERE patient_id = ? ORDER BY study_date, study_time, study_uid').all(patientId).map((r) => parseRow(studyRow, r));
  }

  /**
   * Runs a finished job again from one of its stages (a signed report is sent again from the FHIR stage): only a
   * done or dead job, and only the study's newest (a superseded version stays superseded).
   */
  reopenJob(jobId: number, stage: string, now = Date.now()): JobRow | undefined {
    const changed = this.stmt(`UPDATE jobs SET state = 'queued', stage = ?, attempts = 0, last_error = NULL, next_run_at = ?, updated_at = ?
      WHERE id = ? AND state IN ('done', 'dead')`).run(stage, now, now, jobId).changes;
    return changed ? this.getJob(jobId) : undefined;
  }

  /**
   * Marks a study settled with its routing decision and, when it is to be processed, queues its job, in one
   * transaction. Unfinished jobs of earlier versions are superseded: the new job covers every instance.
   * Returns undefined when the study changed meanwhile (a late instance): it will settle again later.
   */
  settleStudy(studyUid: string, version: number, routing: { ophthalmic: boolean; rule: string | null; reason: string }, firstStage: string | null, now = Date.now()): { jobId: number | null } | undefined {
    return this.writeTransaction(() => {
      const res = this.stmt(`UPDATE studies SET state = 'settled', settled_at = ?, routing = ?, routing_rule = ?, routing_reason = ?
          WHERE study_uid = ? AND version = ? AND state = 'receiving'`)
        .run(now, routing.ophthalmic ? 'ophthalmic' : 'ignored', routing.rule, routing.reason, studyUid, version);
      if (res.changes === 0) return undefined;
      if (!routing.ophthalmic || firstStage === null) return { jobId: null };
      this.stmt(`UPDATE jobs SET state = 'superseded', lease_owner = NULL, lease_until = NULL, updated_at = ?
          WHERE study_uid = ? AND state IN ('queued', 'running', 'dead')`).run(now, studyUid);
      const info = this.stmt(`INSERT INTO jobs (study_uid, study_version, state, stage, attempts, next_run_at, created_at, updated_at)
          VALUES (?, ?, 'queued', ?, 0, ?, ?, ?) ON CONFLICT (study_uid, study_version) DO NOTHING`)
        .run(studyUid, version, firstStage, now, now, now);
      return { jobId: info.changes ? Number(info.lastInsertRowid) : null };
    })();
  }

  // ---- jobs ------------------------------------------------------------------------------------------------

  /** Takes the next runnable job: a queued one that is due, or a running one whose worker's lease ran out. */
  claimJob(owner: string, leaseMs: number, now = Date.now()): JobRow | undefined {
    return this.writeTransaction(() => {
      const row = this.stmt(`SELECT * FROM jobs
          WHERE (state = 'queued' AND next_run_at <= ?) OR (state = 'running' AND lease_until < ?)
          ORDER BY next_run_at, id LIMIT 1`).get(now, now);
      if (!row) return undefined;
      const job = parseRow(jobRow, row);
      this.stmt(`UPDATE jobs SET state = 'running', lease_owner = ?, lease_until = ?, updated_at = ? WHERE id = ?`)
        .run(owner, now + leaseMs, now, job.id);
      return { ...job, state: 'running' as const, lease_owner: owner, lease_until: now + leaseMs };
    })();
  }

  renewLease(jobId: number, owner: string, leaseMs: number, now = Date.now()): boolean {
    return this.stmt(`UPDATE jobs SET lease_until = ?, updated_at = ? WHERE id = ? AND state = 'running' AND lease_owner = ?`)
      .run(now + leaseMs, now, jobId, owner).changes === 1;
  }

  /** Persists a stage's result and moves the job on, only if this worker still holds it. */
  completeStage(jobId: number, owner: string, stage: string, result: object, durationMs: number, nextStage: string | null, now = Date.now()): boolean {
    return this.writeTransaction(() => {
      const held = this.stmt(`SELECT 1 FROM jobs WHERE id = ? AND state = 'running' AND lease_owner = ?`).get(jobId, owner);
      if (!held) return false;
      this.stmt(`INSERT INTO stage_results (job_id, stage, result, duration_ms, completed_at) VALUES (?, ?, ?, ?, ?)
          ON CONFLICT (job_id, stage) DO UPDATE SET result = excluded.result, duration_ms = excluded.duration_ms, completed_at = excluded.completed_at`)
        .run(jobId, stage, JSON.stringify(result), Math.round(durationMs), now);
      this.stmt(`UPDATE jobs SET stage = ?, state = ?, attempts = 0, last_error = NULL, next_run_at = ?,
          lease_owner = CASE WHEN ? IS NULL THEN NULL ELSE lease_owner END, lease_until = CASE WHEN ? IS NULL THEN NULL ELSE lease_until END, updated_at = ?
          WHERE id = ?`).run(nextStage, nextStage ? 'running' : 'done', now, nextStage, nextStage, now, jobId);
      return true;
    })();
  }

  /** Records a failed attempt: back to the queue after a delay, or dead once attempts are spent. */
  failStage(jobId: number, owner: string, error: string, retryAt: number | null, now = Date.now()): boolean {
    return this.stmt(`UPDATE jobs SET attempts = attempts + 1, last_error = ?, state = ?, next_run_at = COALESCE(?, next_run_at),
        lease_owner = NULL, lease_until = NULL, updated_at = ? WHERE id = ? AND state = 'running' AND lease_owner = ?`)
      .run(error, retryAt === null ? 'dead' : 'queued', retryAt, now, jobId, owner).changes === 1;
  }

  /** Hands a job back to the queue (used when a worker stops before finishing a stage). */
  releaseJob(jobId: number, owner: string, now = Date.now()): void {
    this.stmt(`UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until = NULL, next_run_at = ?, updated_at = ?
        WHERE id = ? AND state = 'running' AND lease_owner = ?`).run(now, now, jobId, owner);
  }

  /** An operator's requeue of a dead job: attempts start again at its unfinished stage. */
  requeueJob(jobId: number, now = Date.now()): JobRow | undefined {
    const changed = this.stmt(`UPDATE jobs SET state = 'queued', attempts = 0, next_run_at = ?, updated_at = ? WHERE id = ? AND state = 'dead'`)
      .run(now, now, jobId).changes;
    return changed ? this.getJob(jobId) : undefined;
  }

  getJob(jobId: number): JobRow | undefined {
    const row = this.stmt('SELECT * FROM jobs WHERE id = ?').get(jobId);
    return row ? parseRow(jobRow, row) : undefined;
  }

  listJobs(filter: { state?: JobState; studyUid?: string; limit?: number; offset?: number } = {}): JobRow[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.state) { where.push('state = ?'); args.push(filter.state); }
    if (filter.studyUid) { where.push('study_uid = ?'); args.push(filter.studyUid); }
    const sql = `SELECT * FROM jobs ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT ? OFFSET ?`;
    return this.stmt(sql).all(...args, filter.limit ?? 100, filter.offset ?? 0).map((r) => parseRow(jobRow, r));
  }

  jobCounts(): Record<JobState, number> {
    const counts: Record<JobState, number> = { queued: 0, running: 0, done: 0, dead: 0, superseded: 0 };
    for (const r of this.stmt('SELECT state, count(*) AS n FROM jobs GROUP BY state').all() as Array<{ state: JobState; n: number }>) counts[r.state] = r.n;
    return counts;
  }

  stageResults(jobId: number): StageResultRow[] {
    return this.stmt('SELECT * FROM stage_results WHERE job_id = ? ORDER BY completed_at').all(jobId).map((r) => parseRow(stageResultRow, r));
  }

  /** Results of a stage from the study's latest finished job, for whoever shows or sends them later. */
  latestStageResult(studyUid: string, stage: string): StageResultRow | undefined {
    const row = this.stmt(`SELECT r.* FROM stage_results r JOIN jobs j ON j.id = r.job_id
        WHERE j.study_uid = ? AND r.stage = ? ORDER BY j.study_version DESC LIMIT 1`).get(studyUid, stage);
    return row ? parseRow(stageResultRow, row) : undefined;
  }

  /**
   * Replaces a job's findings, only while the caller still holds the job's lease (a worker that lost the job
   * must not overwrite what the new owner writes). A retried stage writes the same rows again.
   */
  saveFindings(jobId: number, owner: string, findings: NewFinding[], now = Date.now()): boolean {
    return this.writeTransaction(() => {
      const job = this.stmt(`SELECT study_uid, study_version FROM jobs WHERE id = ? AND state = 'running' AND lease_owner = ?`)
        .get(jobId, owner) as { study_uid: string; study_version: number } | undefined;
      if (!job) return false;
      this.stmt('DELETE FROM findings WHERE job_id = ?').run(jobId);
      const insert = this.stmt(`INSERT INTO findings (job_id, study_uid, study_version, series_uid, sop_instance_uid, frame,
          model_name, model_version, provider, result, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
      for (const f of findings) {
        insert.run(jobId, job.study_uid, job.study_version, f.series_uid, f.sop_instance_uid, f.frame, f.model_name,
          f.model_version, f.provider, JSON.stringify(f.result), now);
      }
      return true;
    })();
  }

  /** Findings of one job, in image order. */
  findingsOfJob(jobId: number): FindingRow[] {
    return this.stmt('SELECT * FROM findings WHERE job_id = ? ORDER BY series_uid, sop_instance_uid, frame, model_name')
      .all(jobId).map((r) => parseRow(findingRow, r));
  }

  /**
   * Keeps an object the pipeline wrote (SEG, SR) as a derived instance of its study, with its results row, while
   * the caller holds the job's lease. The study's state and version do not change (a result never re-opens the
   * study it belongs to). Writing the same object again (a retried stage makes the same bytes under the same
   * UIDs) is a no-op; other bytes under a stored UID are refused.
   */
  async recordDerivedInstance(file: SpooledFile, inst: NewInstance, result: NewResult, now = Date.now()): Promise<'stored' | 'duplicate' | 'lost-lease'> {
    const existing = this.stmt('SELECT sha256 FROM instances WHERE sop_instance_uid = ?').get(inst.sopInstanceUid) as { sha256: string } | undefined;
    if (existing) {
      this.blobs.discard(file);
      if (existing.sha256 !== file.sha256) throw new Error(`SOP Instance UID ${inst.sopInstanceUid} is already stored with other content; a derived object is never replaced under its UID`);
      return 'duplicate';
    }
    await this.blobs.commit(file);
    return this.writeTransaction((): 'stored' | 'duplicate' | 'lost-lease' => {
      const job = this.stmt(`SELECT study_uid, study_version FROM jobs WHERE id = ? AND state = 'running' AND lease_owner = ?`)
        .get(result.jobId, result.owner) as { study_uid: string; study_version: number } | undefined;
      if (!job) return 'lost-lease';
      if (job.study_uid !== inst.studyUid) throw new Error(`derived instance ${inst.sopInstanceUid} names study ${inst.studyUid}, not the job's ${job.study_uid}`);
      const raced = this.stmt('SELECT sha256 FROM instances WHERE sop_instance_uid = ?').get(inst.sopInstanceUid) as { sha256: string } | undefined;
      if (raced) return 'duplicate';
      this.stmt(`INSERT INTO series (series_uid, study_uid, modality, series_number, series_description, attributes)
          VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (series_uid) DO NOTHING`)
        .run(inst.seriesUid, inst.studyUid, inst.series.modality, inst.series.seriesNumber, inst.series.seriesDescription, JSON.stringify(inst.seriesAttributes));
      this.stmt(`INSERT INTO instances (sop_instance_uid, series_uid, study_uid, sop_class_uid, transfer_syntax_uid, instance_number,
          sha256, size, dataset_offset, attributes, protocol, calling_ae, received_at, study_version, origin)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, 'derived')`)
        .run(inst.sopInstanceUid, inst.seriesUid, inst.studyUid, inst.sopClassUid, inst.transferSyntaxUid, inst.instanceNumber,
          file.sha256, file.size, inst.datasetOffset, JSON.stringify(inst.attributes), inst.protocol, now, job.study_version);
      this.stmt(`INSERT INTO results (sop_instance_uid, job_id, study_uid, study_version, kind, sop_class_uid, series_uid,
          source_sop_instance_uid, source_frame, sha256, size, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(inst.sopInstanceUid, result.jobId, inst.studyUid, job.study_version, result.kind, inst.sopClassUid, inst.seriesUid,
          result.sourceSopInstanceUid ?? null, result.sourceFrame ?? null, file.sha256, file.size, now);
      return 'stored';
    })();
  }

  /** The objects a job wrote, SEGs first, in source order. */
  resultsOfJob(jobId: number): ResultRow[] {
    return this.stmt(`SELECT * FROM results WHERE job_id = ? ORDER BY kind, source_sop_instance_uid, source_frame, sop_instance_uid`)
      .all(jobId).map((r) => parseRow(resultRow, r));
  }

  /** Every object written for the study, newest job first. */
  resultsOfStudy(studyUid: string): ResultRow[] {
    return this.stmt(`SELECT * FROM results WHERE study_uid = ? ORDER BY job_id DESC, kind, source_sop_instance_uid, source_frame, sop_instance_uid`)
      .all(studyUid).map((r) => parseRow(resultRow, r));
  }

  /** The study's most recent SR written by an earlier job than `jobId` (the new SR's predecessor). */
  previousReport(studyUid: string, jobId: number): ResultRow | undefined {
    const row = this.stmt(`SELECT * FROM results WHERE study_uid = ? AND kind = 'SR' AND job_id < ? ORDER BY job_id DESC, created_at DESC LIMIT 1`)
      .get(studyUid, jobId);
    return row ? parseRow(resultRow, row) : undefined;
  }

  /** Adds a pending delivery for each (object, destination) not yet recorded; existing rows keep their state. */
  planDeliveries(jobId: number, pairs: Array<{ sopInstanceUid: string; destination: string }>, now = Date.now()): void {
    this.writeTransaction(() => {
      const insert = this.stmt(`INSERT INTO deliveries (sop_instance_uid, destination, job_id, state, attempts, created_at, updated_at)
          VALUES (?, ?, ?, 'pending', 0, ?, ?) ON CONFLICT (sop_instance_uid, destination) DO NOTHING`);
      for (const p of pairs) insert.run(p.sopInstanceUid, p.destination, jobId, now, now);
    })();
  }

  deliveriesOfJob(jobId: number): DeliveryRow[] {
    return this.stmt('SELECT * FROM deliveries WHERE job_id = ? ORDER BY destination, sop_instance_uid').all(jobId).map((r) => parseRow(deliveryRow, r));
  }

  deliveriesOfStudy(studyUid: string): DeliveryRow[] {
    return this.stmt(`SELECT d.* FROM deliveries d JOIN results r ON r.sop_instance_uid = d.sop_instance_uid
        WHERE r.study_uid = ? ORDER BY d.job_id, d.destination, d.sop_instance_uid`).all(studyUid).map((r) => parseRow(deliveryRow, r));
  }

  /** Records one attempt's outcome. A delivered row never goes back to pending. */
  recordDeliveryAttempt(sopInstanceUid: string, destination: string, outcome: { ok: true; transferSyntaxUid?: string } | { ok: false; error: string; dead: boolean }, now = Date.now()): void {
    if (outcome.ok) {
      this.stmt(`UPDATE deliveries SET state = 'delivered', attempts = attempts + 1, last_error = NULL, transfer_syntax_uid = ?,
          delivered_at = ?, updated_at = ? WHERE sop_instance_uid = ? AND destination = ? AND state != 'delivered'`)
        .run(outcome.transferSyntaxUid ?? null, now, now, sopInstanceUid, destination);
    } else {
      this.stmt(`UPDATE deliveries SET state = ?, attempts = attempts + 1, last_error = ?, updated_at = ?
          WHERE sop_instance_uid = ? AND destination = ? AND state != 'delivered'`)
        .run(outcome.dead ? 'dead' : 'pending', outcome.error.slice(0, 2000), now, sopInstanceUid, destination);
    }
  }
}
