// The configuration schema: the single place that says what OphGate can be told and what each value may be.
// Validated once at start (see load.ts); everything downstream receives a typed, defaulted Config.
import { z } from 'zod';

const port = z.number().int().min(0).max(65535);
const aeTitle = z.string().min(1).max(16).regex(/^[\x20-\x5b\x5d-\x7e]+$/, 'AE title: printable ASCII without backslash');
const uidRoot = z.string().regex(/^(0|[1-9]\d*)(\.(0|[1-9]\d*))*$/, 'a UID root of digits and dots').max(40);

/** The chat model OphGate ships (models/llm/, trained by its recipe). */
export const DEFAULT_LLM_MODEL = 'models/llm/ophgate-chat.gguf';
export const DEFAULT_SCOPE_GATE = 'models/llm/scope-gate.json';
export const DEFAULT_QUESTION_ROUTER = 'models/llm/question-router.json';

/** Scopes an API key may hold (auth.apiKeys). */
/**
 * report:read: GET /api/studies/{study}/report; report:sign: POST .../report/sign (the key's practitioner signs);
 * case:dialogue: the case dialogue (POST and GET /api/cases/{study}/dialogue).
 */
export const apiScopes = ['report:read', 'report:sign', 'case:dialogue'] as const;
export type ApiScope = (typeof apiScopes)[number];

/** How OphGate authenticates to a FHIR server: none, a fixed bearer token, or SMART Backend Services. */
const fhirAuth = z.discriminatedUnion('type', [
  z.object({ type: z.literal('none') }).strict(),
  z.object({ type: z.literal('bearer'), token: z.string().min(1) }).strict(),
  z.object({
    /** SMART Backend Services: client_credentials grant with a private_key_jwt client assertion (RFC 7523). */
    type: z.literal('smart-backend'),
    tokenUrl: z.string().url(),
    clientId: z.string().min(1),
    /** PEM file of the private key (RSA for RS384, EC P-384 for ES384). */
    privateKeyFile: z.string().min(1),
    /** The key's "kid" as registered with the authorization server. */
    keyId: z.string().min(1),
    algorithm: z.enum(['RS384', 'ES384']).default('RS384'),
    scope: z.string().min(1).default('system/*.write'),
  }).strict(),
]);
export type FhirAuthConfig = z.infer<typeof fhirAuth>;

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
  /** The DICOM objects OphGate writes for each analysed study (src/pipeline/stages/results.ts). */
  results: z.object({
    enabled: z.boolean().default(true),
    /**
     * standard: SEG as PS3.3 has it for images without a Frame of Reference (the default). viewer-plane-geometry:
     * adds a frame of reference and plane geometry the photograph does not have, for viewers that refuse SEG
     * without them (@cornerstonejs/adapters 5.14, OHIF); see docs/conformance.md.
     */
    segCompatibility: z.enum(['standard', 'viewer-plane-geometry']).default('standard'),
    /** Series Number of the SEG and SR series OphGate adds to a study. */
    segSeriesNumber: z.number().int().min(0).default(9901),
    srSeriesNumber: z.number().int().min(0).default(9902),
    /** Institution Name written in the objects' equipment modules (empty: none). */
    institutionName: z.string().max(64).default(''),
    /** Device Serial Number of this installation, written in the equipment modules. */
    deviceSerialNumber: z.string().min(1).max(64).default('ophgate-1'),
  }).strict().prefault({}),
  /** Where the results go (src/export/): each destination gets every SEG and SR exactly once. */
  export: z.object({
    destinations: z.record(z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'a destination name of letters, digits, _ and -'), z.discriminatedUnion('type', [
      z.object({
        type: z.literal('stow-rs'),
        /** The DICOMweb service root (STOW-RS goes to {url}/studies/{study}). */
        url: z.string().url(),
        /** Sent as "Authorization: Bearer ..." when set. */
        bearerToken: z.string().optional(),
        timeoutSeconds: z.number().positive().default(120),
      }).strict(),
      z.object({
        type: z.literal('dimse'),
        /** A name in peers. */
        peer: z.string().min(1),
        /** Calling AE title for this destination (default: dimse.aeTitle). */
        callingAeTitle: aeTitle.optional(),
        timeoutSeconds: z.number().positive().default(300),
      }).strict(),
    ])).default({}),
  }).strict().prefault({}),
  /** The FHIR R4 report (src/report/fhir/) and where it goes. */
  fhir: z.object({
    /** Patient.identifier system when a study has no usable IssuerOfPatientID. */
    defaultPatientIdentifierSystem: z.string().min(1).default('urn:ophgate:patient-id'),
    /** Prefix for IssuerOfPatientID values that are local names (neither URI nor OID). */
    issuerNamespace: z.string().min(1).default('urn:ophgate:issuer:'),
    /** Exact IssuerOfPatientID value -> identifier system URI; wins over every other rule. */
    issuerSystems: z.record(z.string(), z.string().min(1)).default({}),
    /** The EHR's FHIR server that receives each report as a transaction Bundle; absent: reports are only served under /fhir. */
    destination: z.object({
      /** The FHIR base URL (the transaction is POSTed to it). */
      url: z.string().url(),
      auth: fhirAuth.default({ type: 'none' }),
      timeoutSeconds: z.number().positive().default(60),
    }).strict().optional(),
  }).strict().prefault({}),
  /**
   * Where OphGate may fetch from when a FHIR notification names a study (src/ingest/fhir-notification/). Nothing
   * else is ever fetched: an ImagingStudy whose endpoint is not one of these is refused (422).
   */
  sources: z.object({
    /** DICOMweb services, by name: a study is retrieved by WADO-RS from {url}/studies/{study}. */
    dicomweb: z.record(z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'a source name of letters, digits, _ and -'), z.object({
      url: z.string().url(),
      bearerToken: z.string().optional(),
      timeoutSeconds: z.number().positive().default(300),
    }).strict()).default({}),
    /** FHIR servers whose id-only notifications OphGate reads the ImagingStudy back from, by name. */
    fhir: z.record(z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'a source name of letters, digits, _ and -'), z.object({
      url: z.string().url(),
      auth: fhirAuth.default({ type: 'none' }),
      timeoutSeconds: z.number().positive().default(60),
    }).strict()).default({}),
  }).strict().prefault({}),
  /** Who may call what. API keys are given by their SHA-256 (hex), never in clear; each has scopes. */
  auth: z.object({
    apiKeys: z.array(z.object({
      /** Shown in logs and audit (never the key). */
      name: z.string().min(1).max(64),
      sha256: z.string().regex(/^[0-9a-f]{64}$/, 'the SHA-256 of the key, 64 lowercase hex digits'),
      scopes: z.array(z.enum(apiScopes)).min(1),
      /** The clinician this key signs as (report:sign): written to DiagnosticReport.resultsInterpreter and the Provenance. */
      practitioner: z.object({
        name: z.string().min(1),
        identifierSystem: z.string().min(1).default('urn:ophgate:practitioner'),
        identifierValue: z.string().min(1),
      }).strict().optional(),
    }).strict()).default([]),
  }).strict().prefault({}),
  /**
   * The local language model (node-llama-cpp) that writes the report narrative and answers the case dialogue
   * (src/llm/). Without it the deterministic narrative is used and the dialogue answers 503.
   */
  llm: z.object({
    /**
     * Off by default: the bundled model misses its evaluation targets (models/llm/MODEL_CARD.md), so it is for
     * development until a better one passes; a site turns this on with its own GGUF or, knowingly, the bundled one.
     */
    enabled: z.boolean().default(false),
    /** GGUF chat model; relative paths are resolved against the project root. The bundled model by default: when it
     * is absent the gateway runs without an LLM (and says so); a model path set by the site must exist. */
    modelPath: z.string().min(1).default(DEFAULT_LLM_MODEL),
    /** auto: CUDA or Vulkan where a prebuilt binary finds a device, else the CPU; off: the CPU only. */
    gpu: z.enum(['auto', 'off']).default('off'),
    /**
     * Threads for generation. 1 by measurement on the 2-core build machine (bench/llm-threads.ts, 2 M model: 696
     * tokens/s with 1 thread, 27 with 2, 0.8 with node-llama-cpp's default of 4); raise it on a larger machine.
     */
    threads: z.number().int().min(1).max(64).default(1),
    /** Tokens of prompt and answer together. */
    contextSize: z.number().int().min(256).max(131072).default(2048),
    temperature: z.number().min(0).max(2).default(0),
    /** Longest answer, in tokens. */
    maxTokens: z.number().int().min(16).max(8192).default(512),
    /** One generation's limit; past it the narrative falls back and a dialogue answer fails with 504. */
    timeoutSeconds: z.number().positive().default(120),
    /** Requests waiting for the model beyond this are refused (503) rather than queued without end. */
    maxQueue: z.number().int().min(0).default(16),
    /**
     * json-schema: the model's answer is held to a JSON-schema grammar built from the case and rendered to prose
     * (what the bundled model is trained on). prose: the model writes the narrative as free text (a site's model).
     */
    narrativeFormat: z.enum(['prose', 'json-schema']).default('json-schema'),
    /**
     * The scope gate's weights (scripts/llm-train-scope-gate.ts): which dialogue questions reach the model; the rest
     * get the gateway's refusal, same-day-care or crisis reply. null lets every question through to the model.
     */
    scopeGate: z.string().min(1).nullable().default(DEFAULT_SCOPE_GATE),
    /**
     * The question router's weights (scripts/llm-train-question-router.ts): the model is asked the canonical question
     * of the intent it recognises (what the bundled model was trained on) instead of the question as typed. null
     * gives the model the typed question (a site's instruct model reads free questions itself).
     */
    questionRouter: z.string().min(1).nullable().default(DEFAULT_QUESTION_ROUTER),
    /**
     * knowledge-base: a general question the router recognises and that names a knowledge-base entry (or is about the
     * case's main finding) gets that entry's cited passage, not a generation. model: the model answers it.
     */
    knowledgeAnswers: z.enum(['knowledge-base', 'model']).default('knowledge-base'),
  }).strict().prefault({}),
  log: z.object({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  }).strict().prefault({}),
}).strict().superRefine((c, ctx) => {
  for (const [name, d] of Object.entries(c.export.destinations)) {
    if (d.type === 'dimse' && !c.peers[d.peer]) ctx.addIssue({ code: 'custom', path: ['export', 'destinations', name, 'peer'], message: `no peer named "${d.peer}" in peers` });
  }
  const names = new Set<string>();
  c.auth.apiKeys.forEach((k, i) => {
    if (names.has(k.name)) ctx.addIssue({ code: 'custom', path: ['auth', 'apiKeys', i, 'name'], message: `two API keys are named "${k.name}"` });
    names.add(k.name);
    if (k.scopes.includes('report:sign') && !k.practitioner) ctx.addIssue({ code: 'custom', path: ['auth', 'apiKeys', i, 'practitioner'], message: 'a key with report:sign needs the practitioner it signs as' });
  });
});

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
