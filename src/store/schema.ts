// The embedded index's schema (SQLite). Times are integer milliseconds since the epoch.
// Each migration runs once, in order; user_version records how far a database has come.
export const MIGRATIONS: string[] = [
  `
  CREATE TABLE studies (
    study_uid TEXT PRIMARY KEY,
    patient_id TEXT, patient_name TEXT, patient_birth_date TEXT, patient_sex TEXT,
    study_date TEXT, study_time TEXT, accession_number TEXT, study_id TEXT, study_description TEXT,
    referring_physician_name TEXT,
    attributes TEXT NOT NULL,               -- study- and patient-level attributes, DICOM JSON
    state TEXT NOT NULL CHECK (state IN ('receiving', 'settled')),
    version INTEGER NOT NULL DEFAULT 1,     -- bumped when a late instance re-opens a settled study
    routing TEXT CHECK (routing IN ('ophthalmic', 'ignored')),
    routing_rule TEXT, routing_reason TEXT,
    first_received_at INTEGER NOT NULL, last_received_at INTEGER NOT NULL, settled_at INTEGER
  );
  CREATE INDEX studies_state ON studies (state, last_received_at);
  CREATE INDEX studies_patient ON studies (patient_id);
  CREATE INDEX studies_date ON studies (study_date);

  CREATE TABLE series (
    series_uid TEXT PRIMARY KEY,
    study_uid TEXT NOT NULL REFERENCES studies (study_uid),
    modality TEXT, series_number INTEGER, series_description TEXT,
    attributes TEXT NOT NULL                -- series-level attributes, DICOM JSON
  );
  CREATE INDEX series_study ON series (study_uid);

  CREATE TABLE instances (
    sop_instance_uid TEXT PRIMARY KEY,
    series_uid TEXT NOT NULL REFERENCES series (series_uid),
    study_uid TEXT NOT NULL REFERENCES studies (study_uid),
    sop_class_uid TEXT NOT NULL, transfer_syntax_uid TEXT NOT NULL, instance_number INTEGER,
    sha256 TEXT NOT NULL, size INTEGER NOT NULL, dataset_offset INTEGER NOT NULL,
    attributes TEXT NOT NULL,               -- every attribute but Pixel Data and File Meta, DICOM JSON
    protocol TEXT NOT NULL, calling_ae TEXT, received_at INTEGER NOT NULL,
    study_version INTEGER NOT NULL          -- study version this instance arrived in
  );
  CREATE INDEX instances_series ON instances (series_uid);
  CREATE INDEX instances_study ON instances (study_uid);

  -- Instances refused because their SOP Instance UID was already stored with other bytes; the refused bytes are
  -- kept in quarantine for an operator, never written over the stored ones.
  CREATE TABLE conflicts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sop_instance_uid TEXT NOT NULL, study_uid TEXT,
    stored_sha256 TEXT NOT NULL, received_sha256 TEXT NOT NULL, received_size INTEGER NOT NULL,
    protocol TEXT NOT NULL, calling_ae TEXT, received_at INTEGER NOT NULL
  );

  CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    study_uid TEXT NOT NULL REFERENCES studies (study_uid),
    study_version INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'dead', 'superseded')),
    stage TEXT,                             -- the next stage to run (NULL once done)
    attempts INTEGER NOT NULL DEFAULT 0,    -- failed attempts of the current stage
    last_error TEXT,
    next_run_at INTEGER NOT NULL,
    lease_owner TEXT, lease_until INTEGER,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
    UNIQUE (study_uid, study_version)
  );
  CREATE INDEX jobs_ready ON jobs (state, next_run_at);

  CREATE TABLE stage_results (
    job_id INTEGER NOT NULL REFERENCES jobs (id),
    stage TEXT NOT NULL,
    result TEXT NOT NULL,                   -- JSON written by the stage
    duration_ms INTEGER NOT NULL, completed_at INTEGER NOT NULL,
    PRIMARY KEY (job_id, stage)
  );
  `,
  // 2: indexes for QIDO-RS (AccessionNumber, ModalitiesInStudy, paging over all instances).
  `
  CREATE INDEX studies_accession ON studies (accession_number);
  CREATE INDEX series_study_modality ON series (study_uid, modality);
  CREATE INDEX instances_order ON instances (study_uid, series_uid, instance_number, sop_instance_uid);
  `,
  // 3: findings of the inference stage, one row per image frame and model (src/pipeline/stages/findings.ts).
  `
  CREATE TABLE findings (
    job_id INTEGER NOT NULL REFERENCES jobs (id),
    study_uid TEXT NOT NULL REFERENCES studies (study_uid),
    study_version INTEGER NOT NULL,
    series_uid TEXT NOT NULL,
    sop_instance_uid TEXT NOT NULL,
    frame INTEGER NOT NULL,                 -- 1-based frame number
    model_name TEXT NOT NULL, model_version TEXT NOT NULL,
    provider TEXT NOT NULL,                 -- execution provider that ran it (cpu, cuda, webgpu)
    result TEXT NOT NULL,                   -- JSON: probabilities, decisions, lesion regions, measurements
    created_at INTEGER NOT NULL,
    PRIMARY KEY (job_id, sop_instance_uid, frame, model_name)
  );
  CREATE INDEX findings_study ON findings (study_uid, study_version);
  `,
  // 4: what OphGate itself writes (SEG, SR): kept as instances of the source study (served by QIDO-RS and WADO-RS)
  // with origin 'derived', so that they never re-open the study or enter its pipeline; one row per object in
  // results, and one row per object and destination in deliveries (src/export/).
  `
  ALTER TABLE instances ADD COLUMN origin TEXT NOT NULL DEFAULT 'received' CHECK (origin IN ('received', 'derived'));
  CREATE TABLE results (
    sop_instance_uid TEXT PRIMARY KEY,
    job_id INTEGER NOT NULL REFERENCES jobs (id),
    study_uid TEXT NOT NULL REFERENCES studies (study_uid),
    study_version INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('SEG', 'SR')),
    sop_class_uid TEXT NOT NULL, series_uid TEXT NOT NULL,
    source_sop_instance_uid TEXT, source_frame INTEGER,   -- the image a SEG was made from (NULL for the SR)
    sha256 TEXT NOT NULL, size INTEGER NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX results_job ON results (job_id);
  CREATE INDEX results_study ON results (study_uid, study_version);
  CREATE TABLE deliveries (
    sop_instance_uid TEXT NOT NULL REFERENCES results (sop_instance_uid),
    destination TEXT NOT NULL,              -- a name in the configuration's export.destinations
    job_id INTEGER NOT NULL REFERENCES jobs (id),
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    transfer_syntax_uid TEXT,               -- what the destination received
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, delivered_at INTEGER,
    PRIMARY KEY (sop_instance_uid, destination)
  );
  CREATE INDEX deliveries_job ON deliveries (job_id, state);
  `,
  // 5: the FHIR resources OphGate emits, as served read-only under /fhir (src/store/fhir-resources.ts): the current
  // version of each, every version's JSON, every identifier (token search) and which studies each belongs to
  // (Patient, Device and Endpoint are shared by studies).
  `
  CREATE TABLE fhir_resources (
    resource_type TEXT NOT NULL, id TEXT NOT NULL,
    version_id INTEGER NOT NULL,
    study_uid TEXT,                         -- the study whose save last wrote it
    subject TEXT,                           -- "Patient/<id>" of subject/patient, for patient and subject search
    status TEXT,
    last_updated INTEGER NOT NULL,
    json TEXT NOT NULL,                     -- the resource without meta.versionId and meta.lastUpdated
    PRIMARY KEY (resource_type, id)
  );
  CREATE INDEX fhir_resources_subject ON fhir_resources (resource_type, subject);
  CREATE INDEX fhir_resources_status ON fhir_resources (resource_type, status);
  CREATE TABLE fhir_resource_history (
    resource_type TEXT NOT NULL, id TEXT NOT NULL, version_id INTEGER NOT NULL,
    last_updated INTEGER NOT NULL, json TEXT NOT NULL,
    PRIMARY KEY (resource_type, id, version_id)
  );
  CREATE TABLE fhir_identifiers (
    resource_type TEXT NOT NULL, id TEXT NOT NULL,
    system TEXT NOT NULL DEFAULT '', value TEXT NOT NULL,   -- '' = no system
    PRIMARY KEY (resource_type, id, system, value)
  );
  CREATE INDEX fhir_identifiers_token ON fhir_identifiers (resource_type, value, system);
  CREATE TABLE fhir_study_resources (
    study_uid TEXT NOT NULL, resource_type TEXT NOT NULL, id TEXT NOT NULL,
    PRIMARY KEY (study_uid, resource_type, id)
  );
  CREATE INDEX fhir_study_resources_resource ON fhir_study_resources (resource_type, id);
  `,
  // 6: studies a FHIR notification asked OphGate to retrieve by WADO-RS (src/store/fetch-tasks.ts); a task
  // accepted (202) survives a restart and is retried with backoff, then dead-lettered with its reason.
  `
  CREATE TABLE fetch_tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    study_uid TEXT NOT NULL,
    source TEXT NOT NULL,                   -- a name in sources.dicomweb
    source_url TEXT NOT NULL,               -- its URL when the notification came
    form TEXT NOT NULL CHECK (form IN ('rest-hook', 'backport-full-resource', 'backport-id-only')),
    resource TEXT NOT NULL,                 -- the ImagingStudy as the notification named it
    state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,    -- failed attempts
    last_error TEXT,
    next_run_at INTEGER NOT NULL,
    lease_owner TEXT, lease_until INTEGER,
    stored INTEGER, duplicates INTEGER, refused INTEGER, bytes INTEGER,   -- the successful retrieval's counts
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, completed_at INTEGER
  );
  CREATE INDEX fetch_tasks_ready ON fetch_tasks (state, next_run_at);
  CREATE INDEX fetch_tasks_study ON fetch_tasks (study_uid, source, state);
  `,
  // 7: case dialogues (src/store/conversations.ts): a clinician's conversation about one study with the LLM, every
  // turn kept with how it was produced and whether it passed the grounding guard.
  `
  CREATE TABLE conversations (
    id TEXT PRIMARY KEY,                    -- random UUID, the client's handle
    study_uid TEXT NOT NULL,
    started_by TEXT NOT NULL,               -- the API key's name (never the key)
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
  );
  CREATE INDEX conversations_study ON conversations (study_uid, created_at);
  CREATE TABLE conversation_messages (
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    seq INTEGER NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content TEXT NOT NULL,
    meta TEXT NOT NULL DEFAULT '{}',        -- assistant turns: model, guard verdict, tokens, timing
    created_at INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, seq)
  );
  `,
];
