// The configuration schema: the single place that says what OphGate can be told and what each value may be.
// Validated once at start (see load.ts); everything downstream receives a typed, defaulted Config.
import { z } from 'zod';

const port = z.number().int().min(0).max(65535);
const aeTitle = z.string().min(1).max(16).regex(/^[\x20-\x5b\x5d-\x7e]+$/, 'AE title: printable ASCII without backslash');
const uidRoot = z.string().regex(/^(0|[1-9]\d*)(\.(0|[1-9]\d*))*$/, 'a UID root of digits and dots').max(40);

export const configSchema = z.object({
  /** Where the SQLite index and the content-addressed DICOM files live. */
  dataDir: z.string().min(1).default('./data'),
  http: z.object({
    host: z.string().default('127.0.0.1'),
    port: port.default(8042),
    /** Base URL clients use to reach OphGate; RetrieveURLs in STOW-RS responses are built from it. Empty: from the request's Host. */
    publicBaseUrl: z.string().url().or(z.literal('')).default(''),
    /** Largest STOW-RS request body accepted, in bytes (413 above it). */
    maxRequestBytes: z.number().int().positive().default(4 * 1024 ** 3),
  }).strict().prefault({}),
  dimse: z.object({
    enabled: z.boolean().default(true),
    host: z.string().default('127.0.0.1'),
    port: port.default(11112),
    aeTitle: aeTitle.default('OPHGATE'),
    /** Calling AE titles allowed to associate; empty allows any. */
    allowedCallingAeTitles: z.array(aeTitle).default([]),
    /** Settle a study as soon as the association that delivered it is released. */
    settleOnAssociationRelease: z.boolean().default(true),
  }).strict().prefault({}),
  /** DIMSE peers OphGate sends to (later: results back to the PACS), by name. */
  peers: z.record(z.string(), z.object({ host: z.string(), port: port, aeTitle: aeTitle })).default({}),
  assembly: z.object({
    /** A study is complete once no instance arrived for this long. */
    settleSeconds: z.number().positive().default(30),
  }).strict().prefault({}),
  routing: z.object({
    /** Routing rules file (data, not code); relative paths are resolved against the project root. */
    rulesFile: z.string().default('mappings/routing-rules.json'),
  }).strict().prefault({}),
  pipeline: z.object({
    enabled: z.boolean().default(true),
    /** Attempts per stage before the job is dead-lettered. */
    maxAttempts: z.number().int().min(1).default(5),
    backoffSeconds: z.number().positive().default(5),
    maxBackoffSeconds: z.number().positive().default(600),
    /** A running job whose worker has not renewed its lease for this long is taken over (crash recovery). */
    leaseSeconds: z.number().positive().default(120),
    pollMilliseconds: z.number().int().positive().default(500),
    concurrency: z.number().int().min(1).default(1),
    /** Worker threads that decode images (off the event loop), and how long one image may take. */
    decodeWorkers: z.number().int().min(1).max(16).default(1),
    decodeTimeoutSeconds: z.number().positive().default(300),
  }).strict().prefault({}),
  inference: z.object({
    /** Models the gateway runs: each <folder>/manifest.json beside its ONNX file (src/inference/README.md); relative paths are resolved against the project root. */
    modelsDir: z.string().min(1).default('models'),
    /** auto: CUDA, then WebGPU, then the CPU, the first that starts; a named provider that fails stops the start. */
    executionProvider: z.enum(['cpu', 'webgpu', 'cuda', 'auto']).default('auto'),
    /** Threads one model run uses (onnxruntime intra-op threads); runs are one at a time. 2 measured 1.4-1.5x faster than 1 on 2 cores. */
    intraOpThreads: z.number().int().min(1).max(64).default(2),
    /** Most images per model run. 1: on the CPU a larger batch is no faster per image and needs more memory; raise it on a GPU. */
    batchSize: z.number().int().min(1).max(64).default(1),
  }).strict().prefault({}),
  dicom: z.object({
    /** Root under which OphGate mints UIDs for what it creates. */
    uidRoot: uidRoot.default('2.25'),
  }).strict().prefault({}),
  log: z.object({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  }).strict().prefault({}),
}).strict();

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
