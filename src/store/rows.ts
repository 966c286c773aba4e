// Stored rows, validated as they leave the database (the store is a boundary: a row written by an older
// version or by hand must not flow on unchecked).
import { z } from 'zod';

/** A TEXT column holding a JSON object. */
export const jsonColumn = z.string().transform((s, ctx) => {
  try {
    return JSON.parse(s) as Record<string, unknown>;
  } catch {
    ctx.addIssue({ code: 'custom', message: 'not JSON' });
    return z.NEVER;
  }
});

export const studyRow = z.object({
  study_uid: z.string(),
  patient_id: z.string().nullable(), patient_name: z.string().nullable(),
  patient_birth_date: z.string().nullable(), patient_sex: z.string().nullable(),
  study_date: z.string().nullable(), study_time: z.string().nullable(), accession_number: z.string().nullable(),
  study_id: z.string().nullable(), study_description: z.string().nullable(), referring_physician_name: z.string().nullable(),
  attributes: jsonColumn,
  state: z.enum(['receiving', 'settled']),
  version: z.number().int(),
  routing: z.enum(['ophthalmic', 'ignored']).nullable(),
  routing_rule: z.string().nullable(), routing_reason: z.string().nullable(),
  first_received_at: z.number(), last_received_at: z.number(), settled_at: z.number().nullable(),
});
export type StudyRow = z.infer<typeof studyRow>;

export const seriesRow = z.object({
  series_uid: z.string(), study_uid: z.string(),
  modality: z.string().nullable(), series_number: z.number().nullable(), series_description: z.string().nullable(),
  attributes: jsonColumn,
});
export type SeriesRow = z.infer<typeof seriesRow>;

export const instanceRow = z.object({
  sop_instance_uid: z.string(), series_uid: z.string(), study_uid: z.string(),
  sop_class_uid: z.string(), transfer_syntax_uid: z.string(), instance_number: z.number().nullable(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/), size: z.number().int(), dataset_offset: z.number().int(),
  attributes: jsonColumn,
  protocol: z.string(), calling_ae: z.string().nullable(), received_at: z.number(), study_version: z.number().int(),
  /** received: sent to OphGate; derived: written by OphGate (SEG, SR). */
  origin: z.enum(['received', 'derived']),
});
export type InstanceRow = z.infer<typeof instanceRow>;

export const jobState = z.enum(['queued', 'running', 'done', 'dead', 'superseded']);
export type JobState = z.infer<typeof jobState>;

export const jobRow = z.object({
  id: z.number().int(), study_uid: z.string(), study_version: z.number().int(),
  state: jobState, stage: z.string().nullable(), attempts: z.number().int(), last_error: z.string().nullable(),
  next_run_at: z.number(), lease_owner: z.string().nullable(), lease_until: z.number().nullable(),
  created_at: z.number(), updated_at: z.number(),
});
export type JobRow = z.infer<typeof jobRow>;

export const stageResultRow = z.object({
  job_id: z.number().int(), stage: z.string(), result: jsonColumn, duration_ms: z.number(), completed_at: z.number(),
});
export type StageResultRow = z.infer<typeof stageResultRow>;

export const conflictRow = z.object({
  id: z.number().int(), sop_instance_uid: z.string(), study_uid: z.string().nullable(),
  stored_sha256: z.string(), received_sha256: z.string(), received_size: z.number(),
  protocol: z.string(), calling_ae: z.string().nullable(), received_at: z.number(),
});
export type ConflictRow = z.infer<typeof conflictRow>;

export const findingRow = z.object({
  job_id: z.number().int(), study_uid: z.string(), study_version: z.number().int(),
  series_uid: z.string(), sop_instance_uid: z.string(), frame: z.number().int().min(1),
  model_name: z.string(), model_version: z.string(), provider: z.string(),
  result: jsonColumn, created_at: z.number(),
});
export type FindingRow = z.infer<typeof findingRow>;
export type NewFinding = Omit<FindingRow, 'job_id' | 'study_uid' | 'study_version' | 'created_at' | 'result'> & { result: object };

export const resultKind = z.enum(['SEG', 'SR']);
export const resultRow = z.object({
  sop_instance_uid: z.string(), job_id: z.number().int(), study_uid: z.string(), study_version: z.number().int(),
  kind: resultKind, sop_class_uid: z.string(), series_uid: z.string(),
  source_sop_instance_uid: z.string().nullable(), source_frame: z.number().int().nullable(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/), size: z.number().int(), created_at: z.number(),
});
export type ResultRow = z.infer<typeof resultRow>;

export const deliveryState = z.enum(['pending', 'delivered', 'dead']);
export type DeliveryState = z.infer<typeof deliveryState>;
export const deliveryRow = z.object({
  sop_instance_uid: z.string(), destination: z.string(), job_id: z.number().int(), state: deliveryState,
  attempts: z.number().int(), last_error: z.string().nullable(), transfer_syntax_uid: z.string().nullable(),
  created_at: z.number(), updated_at: z.number(), delivered_at: z.number().nullable(),
});
export type DeliveryRow = z.infer<typeof deliveryRow>;
