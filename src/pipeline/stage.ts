// What a pipeline stage is. Stages run in the order of the list in stages/index.ts; each persists its
// result (JSON) before the next starts, so a restarted job resumes at its first unfinished stage.
import type { Logger } from 'pino';
import type { SqliteStore } from '../store/sqlite-store.js';
import type { InstanceRow, JobRow, StudyRow } from '../store/rows.js';
import type { DecodedFrame } from '../dicom/pixels/index.js';
import type { Inference } from '../inference/model-registry.js';
import type { Config } from '../config/schema.js';
import type { Destination } from '../export/destination.js';
import type { Bundle } from '@medplum/fhirtypes';
import type { LlmService } from '../llm/service.js';

/** Sends a transaction Bundle to the EHR (src/export/fhir/fhir-sender.ts); never throws for the server's answers. */
export interface FhirReportSender {
  /** Where it sends, for logs and stage results (no credentials). */
  readonly description: string;
  send(bundle: Bundle, signal?: AbortSignal): Promise<{ ok: true; response: Bundle } | { ok: false; retryable: boolean; status?: number; error: string }>;
}

/** Shared, long-lived helpers a stage may call (built once by the gateway). */
export interface StageServices {
  /** Decodes a stored DICOM file off the event loop (see src/dicom/pixels/decode-pool.ts). */
  decode(path: string): Promise<DecodedFrame[]>;
  /** The loaded models (absent when the gateway runs none); one session per model, shared by all jobs. */
  inference?: Inference;
  /** The configuration the result and export stages follow (UID root, SEG options, destinations and peers). */
  config: Pick<Config, 'dicom' | 'results' | 'export' | 'peers' | 'dimse' | 'pipeline' | 'fhir' | 'llm'>;
  /** OphGate's base URL as others reach it (http.publicBaseUrl, else the listening address), for FHIR Endpoints. */
  publicBaseUrl(): string;
  /** Where the export stage sends results (built from config.export.destinations). */
  destinations?: Destination[];
  /** Where the fhir-export stage sends the report (built from config.fhir.destination); absent: not sent. */
  fhirSender?: FhirReportSender;
  /** The language model that writes the narrative (the deterministic one when absent or when it fails the guard). */
  llm?: LlmService;
}

export interface StageContext {
  job: JobRow;
  /** The worker holding the job's lease; stages that write rows of their own check it (store.saveFindings). */
  owner: string;
  study: StudyRow;
  instances: InstanceRow[];
  store: SqliteStore;
  /** Where stages write what they derive (decoded pixels, later masks and reports). */
  derivedDir: string;
  /** Results of the stages that finished before this one, by stage name. */
  previous: Record<string, Record<string, unknown>>;
  logger: Logger;
  signal: AbortSignal;
  services: StageServices;
}

export interface Stage {
  readonly name: string;
  run(ctx: StageContext): Promise<Record<string, unknown>>;
}

/** A failure that retrying cannot mend (e.g. an image that cannot be decoded): the job dead-letters at once. */
export class PermanentStageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentStageError';
  }
}
