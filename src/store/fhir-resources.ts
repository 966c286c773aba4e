// The FHIR resources OphGate emits, kept with their versions so that /fhir can serve read, vread, history and
// search (src/http/fhir/). A save that changes nothing keeps the version: re-running a study's report stage does
// not grow the history. Rows are checked as they leave the database (as in rows.ts).
import type Database from 'better-sqlite3';
import type { ExtractResource, Resource, ResourceType } from '@medplum/fhirtypes';
import { z } from 'zod';

/** The resource types OphGate emits, the only ones this store keeps and /fhir serves. */
export const FHIR_TYPES = [
  'Patient', 'ImagingStudy', 'Endpoint', 'Device', 'Observation', 'DiagnosticReport', 'Provenance', 'Practitioner',
] as const satisfies readonly ResourceType[];
export type FhirType = (typeof FHIR_TYPES)[number];
export const isFhirType = (t: string): t is FhirType => (FHIR_TYPES as readonly string[]).includes(t);

/** R4 id: 1-64 of [A-Za-z0-9-.]. */
export const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

export type SaveOutcome = 'created' | 'updated' | 'unchanged';
export interface SavedResource<T extends Resource = Resource> {
  resourceType: T['resourceType'];
  id: string;
  versionId: number;
  outcome: SaveOutcome;
  /** As served: with meta.versionId and meta.lastUpdated. */
  resource: T;
}

/** A token criterion: system undefined = any system; '' = no system; value undefined = any value of the system. */
export interface TokenValue { system?: string; value?: string }

/**
 * One search criterion; criteria are ANDed, the values inside one ORed (R4: repeated parameters AND, commas OR).
 * References are local "Type/id".
 */
export type SearchCriterion =
  | { kind: '_id'; values: string[] }
  | { kind: 'identifier'; values: TokenValue[] }
  | { kind: 'subject'; values: string[] }
  | { kind: 'status'; values: string[] }
  | { kind: 'imagingStudy'; values: string[] };

export interface SearchResult { total: number; resources: Resource[] }

export class FhirStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FhirStoreError';
  }
}

const resourceJson = z.string().transform((s, ctx) => {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    ctx.addIssue({ code: 'custom', message: 'not JSON' });
    return z.NEVER;
  }
}).pipe(z.looseObject({ resourceType: z.string(), id: z.string() }));

const currentRow = z.object({
  resource_type: z.enum(FHIR_TYPES), id: z.string().regex(FHIR_ID), version_id: z.number().int().min(1),
  study_uid: z.string().nullable(), subject: z.string().nullable(), status: z.string().nullable(),
  last_updated: z.number().int(), json: resourceJson,
});
const historyRow = z.object({
  resource_type: z.enum(FHIR_TYPES), id: z.string().regex(FHIR_ID), version_id: z.number().int().min(1),
  last_updated: z.number().int(), json: resourceJson,
});
type VersionRow = Pick<z.infer<typeof currentRow>, 'resource_type' | 'id' | 'version_id' | 'last_updated' | 'json'>;

/** The row as a served resource: meta.versionId and meta.lastUpdated from the row, after the stored meta. */
function served(schema: typeof currentRow | typeof historyRow, raw: unknown): Resource {
  const row = schema.parse(raw) as VersionRow;
  if (row.json.resourceType !== row.resource_type || row.json.id !== row.id) {
    throw new FhirStoreError(`stored ${row.resource_type}/${row.id} holds ${row.json.resourceType}/${row.json.id}`);
  }
  const r = row.json as unknown as Resource;
  return { ...r, meta: { ...r.meta, versionId: String(row.version_id), lastUpdated: new Date(row.last_updated).toISOString() } } as Resource;
}

/** The resource without what the store itself sets (meta.versionId, meta.lastUpdated; meta dropped when empty). */
function content(r: Resource): Resource {
  if (!r.meta) return r;
  const { versionId: _v, lastUpdated: _l, ...meta } = r.meta;
  const { meta: _m, ...rest } = r;
  return (Object.keys(meta).length ? { ...rest, meta } : rest) as Resource;
}

/** JSON with object keys sorted, so that key order never counts as a change. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** "Patient/<id>" that subject and patient search match on: the subject (or patient) reference when it is local. */
function subjectOf(r: Resource): string | null {
  const ref = (r as { subject?: { reference?: string }; patient?: { reference?: string } }).subject?.reference
    ?? (r as { patient?: { reference?: string } }).patient?.reference;
  return typeof ref === 'string' ? ref : null;
}

function statusOf(r: Resource): string | null {
  const s = (r as { status?: unknown }).status;
  return typeof s === 'string' ? s : null;
}

function identifiersOf(r: Resource): Array<{ system: string; value: string }> {
  const ids = (r as { identifier?: Array<{ system?: string; value?: string }> }).identifier ?? [];
  return ids.flatMap((i) => (i.value ? [{ system: i.system ?? '', value: i.value }] : []));
}

export class FhirResourceStore {
  private readonly statements = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {}

  private stmt(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) this.statements.set(sql, (st = this.db.prepare(sql)));
    return st;
  }

  /**
   * Saves a study's resources in one transaction (BEGIN IMMEDIATE, as the rest of the store). Each resource needs
   * a type this store keeps and a valid id. Unchanged content (meta.versionId/lastUpdated aside) keeps its
   * version and time; changed content gets the next version and a history row. Every resource is linked to the
   * study, so ofStudy finds shared ones (Patient, Device, Endpoint) for each study that saved them.
   */
  save(studyUid: string, resources: Resource[], now = Date.now()): SavedResource[] {
    for (const r of resources) {
      if (!isFhirType(r.resourceType)) throw new FhirStoreError(`cannot keep a ${r.resourceType}: /fhir serves ${FHIR_TYPES.join(', ')}`);
      if (!r.id || !FHIR_ID.test(r.id)) throw new FhirStoreError(`${r.resourceType} id ${JSON.stringify(r.id)} is not a FHIR id ([A-Za-z0-9-.]{1,64})`);
    }
    const seen = new Set<string>();
    for (const r of resources) {
      const key = `${r.resourceType}/${r.id}`;
      if (seen.has(key)) throw new FhirStoreError(`${key} is given twice`);
      seen.add(key);
    }
    return this.db.transaction(() => resources.map((r) => this.saveOne(studyUid, content(r), now))).immediate();
  }

  private saveOne(studyUid: string, r: Resource, now: number): SavedResource {
    const type = r.resourceType;
    const id = r.id!;
    const current = this.stmt('SELECT * FROM fhir_resources WHERE resource_type = ? AND id = ?').get(type, id);
    this.stmt('INSERT OR IGNORE INTO fhir_study_resources (study_uid, resource_type, id) VALUES (?, ?, ?)').run(studyUid, type, id);
    if (current) {
      const stored = served(currentRow, current);
      if (canonical(content(stored)) === canonical(r)) {
        return { resourceType: type, id, versionId: Number(stored.meta!.versionId), outcome: 'unchanged', resource: stored };
      }
    }
    const version = current ? Number((current as { version_id: number }).version_id) + 1 : 1;
    const json = JSON.stringify(r);
    this.stmt(`INSERT INTO fhir_resources (resource_type, id, version_id, study_uid, subject, status, last_updated, json)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (resource_type, id) DO UPDATE SET version_id = excluded.version_id, study_uid = excluded.study_uid,
        subject = excluded.subject, status = excluded.status, last_updated = excluded.last_updated, json = excluded.json`)
      .run(type, id, version, studyUid, subjectOf(r), statusOf(r), now, json);
    this.stmt('INSERT INTO fhir_resource_history (resource_type, id, version_id, last_updated, json) VALUES (?, ?, ?, ?, ?)').run(type, id, version, now, json);
    this.stmt('DELETE FROM fhir_identifiers WHERE resource_type = ? AND id = ?').run(type, id);
    for (const i of identifiersOf(r)) {
      this.stmt('INSERT OR IGNORE INTO fhir_identifiers (resource_type, id, system, value) VALUES (?, ?, ?, ?)').run(type, id, i.system, i.value);
    }
    const resource = { ...r, meta: { ...r.meta, versionId: String(version), lastUpdated: new Date(now).toISOString() } } as Resource;
    return { resourceType: type, id, versionId: version, outcome: current ? 'updated' : 'created', resource };
  }

  /** The current version, or undefined. */
  read<K extends FhirType>(type: K, id: string): ExtractResource<K> | undefined {
    const row = this.stmt('SELECT * FROM fhir_resources WHERE resource_type = ? AND id = ?').get(type, id);
    return row ? (served(currentRow, row) as ExtractResource<K>) : undefined;
  }

  /** One version (1, 2, ...), or undefined. */
  vread<K extends FhirType>(type: K, id: string, versionId: number): ExtractResource<K> | undefined {
    const row = this.stmt('SELECT * FROM fhir_resource_history WHERE resource_type = ? AND id = ? AND version_id = ?').get(type, id, versionId);
    return row ? (served(historyRow, row) as ExtractResource<K>) : undefined;
  }

  /** Every version, newest first (as an R4 history Bundle lists them); empty when the resource is unknown. */
  history<K extends FhirType>(type: K, id: string): Array<ExtractResource<K>> {
    return this.stmt('SELECT * FROM fhir_resource_history WHERE resource_type = ? AND id = ? ORDER BY version_id DESC')
      .all(type, id).map((row) => served(historyRow, row) as ExtractResource<K>);
  }

  /**
   * The current version of every resource any save of the study included, in the order first saved. A resource a
   * later save left out (an output a newer model no longer has) stays linked, as it stays on an EHR.
   */
  ofStudy(studyUid: string): Resource[] {
    return this.stmt(`SELECT r.* FROM fhir_study_resources l JOIN fhir_resources r ON r.resource_type = l.resource_type AND r.id = l.id
      WHERE l.study_uid = ? ORDER BY l.rowid`).all(studyUid).map((row) => served(currentRow, row));
  }

  /** Current resources of a type matching every criterion, ordered by id (stable for paging), with the total. */
  search(type: FhirType, criteria: SearchCriterion[], page: { count: number; offset: number } = { count: 50, offset: 0 }): SearchResult {
    const where = ['r.resource_type = ?'];
    const args: unknown[] = [type];
    for (const c of criteria) {
      if (c.values.length === 0) throw new FhirStoreError(`search criterion ${c.kind} has no values`);
      const or: string[] = [];
      for (const v of c.values) {
        switch (c.kind) {
          case '_id': or.push('r.id = ?'); args.push(v); break;
          case 'subject': or.push('r.subject = ?'); args.push(v); break;
          case 'status': or.push('r.status = ?'); args.push(v); break;
          case 'imagingStudy':
            or.push(`EXISTS (SELECT 1 FROM json_each(r.json, '$.imagingStudy') s WHERE json_extract(s.value, '$.reference') = ?)`);
            args.push(v);
            break;
          case 'identifier': {
            const t = v as TokenValue;
            const parts = ['i.resource_type = r.resource_type', 'i.id = r.id'];
            if (t.system !== undefined) { parts.push('i.system = ?'); args.push(t.system); }
            if (t.value !== undefined) { parts.push('i.value = ?'); args.push(t.value); }
            or.push(`EXISTS (SELECT 1 FROM fhir_identifiers i WHERE ${parts.join(' AND ')})`);
            break;
          }
        }
      }
      where.push(`(${or.join(' OR ')})`);
    }
    const sqlWhere = where.join(' AND ');
    // Built from fixed fragments only (values are bound), so these are prepared per shape, not cached.
    const total = (this.db.prepare(`SELECT count(*) AS n FROM fhir_resources r WHERE ${sqlWhere}`).get(...args) as { n: number }).n;
    const rows = page.count > 0
      ? this.db.prepare(`SELECT r.* FROM fhir_resources r WHERE ${sqlWhere} ORDER BY r.id LIMIT ? OFFSET ?`).all(...args, page.count, page.offset)
      : [];
    return { total, resources: rows.map((row) => served(currentRow, row)) };
  }
}
