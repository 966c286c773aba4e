// Read queries for the DICOMweb services (QIDO-RS searches, WADO-RS retrieval), beside SqliteStore rather than in
// it. Filters arrive as parameterised SQL conditions over the aliases st (studies), se (series) and i (instances),
// built by src/http/dicomweb/qido-query.ts; every value is a bound parameter. Large JSON columns are only read for
// the rows of the requested page, and only the attributes asked for (json_extract), so a search stays cheap with
// ~100k instances.
import type Database from 'better-sqlite3';
import type { SqliteStore } from './sqlite-store.js';

export interface SqlFilter { clauses: string[]; params: unknown[] }
export interface Page { limit: number; offset: number }

const statementCache = new WeakMap<Database.Database, Map<string, Database.Statement>>();

function prepare(db: Database.Database, sql: string): Database.Statement {
  let cache = statementCache.get(db);
  if (!cache) {
    cache = new Map();
    statementCache.set(db, cache);
  }
  let stmt = cache.get(sql);
  if (!stmt) {
    stmt = db.prepare(sql);
    if (cache.size > 200) cache.clear();
    cache.set(sql, stmt);
  }
  return stmt;
}

function where(filter: SqlFilter): string {
  return filter.clauses.length ? `WHERE ${filter.clauses.map((c) => `(${c})`).join(' AND ')}` : '';
}

/** Above this many tags a row's whole attributes column is read instead of a json_object of the tags. */
export const MAX_EXTRACTED_TAGS = 60;

/**
 * SQL (and its parameters) for a JSON object holding only the listed tags of a DICOM JSON column. json_extract
 * results keep SQLite's JSON subtype, so json_object embeds them as objects, not strings.
 */
function jsonSubset(column: string, tags: readonly string[]): { sql: string; params: string[] } {
  if (tags.length === 0) return { sql: `'{}'`, params: [] };
  const params: string[] = [];
  const args: string[] = [];
  for (const t of tags) {
    args.push('?', `json_extract(${column}, ?)`);
    params.push(t, `$."${t}"`);
  }
  return { sql: `json_object(${args.join(', ')})`, params };
}

// ---- QIDO-RS --------------------------------------------------------------------------------------------------
// Each search picks the page's rowids first (filter, order, limit, offset: index work only), then reads the counts
// and JSON of those rows alone, so a deep offset does not pay for the attributes of the rows it skips.

const STUDY_ORDER = 'st.study_date IS NULL, st.study_date DESC, st.study_time DESC, st.study_uid';
const SERIES_ORDER = 'st.study_date IS NULL, st.study_date DESC, se.study_uid, se.series_number IS NULL, se.series_number, se.series_uid';
const INSTANCE_ORDER = 'i.study_uid, i.series_uid, i.instance_number IS NULL, i.instance_number, i.sop_instance_uid';

export interface StudyMatch {
  study_uid: string;
  attributes: string;
  n_series: number;
  n_instances: number;
  modalities: string | null;
  /** Attributes asked for that are not kept at study level, from the study's first instance. */
  extra: string | null;
}

/** Studies matching the filter (conditions on st only), newest study date first, one page. */
export function searchStudies(store: SqliteStore, filter: SqlFilter, page: Page, extraTags: readonly string[] = []): StudyMatch[] {
  const extra = extraTags.length
    ? jsonSubset('x.attributes', extraTags.slice(0, MAX_EXTRACTED_TAGS))
    : undefined;
  const sql = `SELECT st.study_uid, st.attributes,
      (SELECT count(*) FROM series x WHERE x.study_uid = st.study_uid) AS n_series,
      (SELECT count(*) FROM instances x WHERE x.study_uid = st.study_uid) AS n_instances,
      (SELECT group_concat(DISTINCT x.modality) FROM series x WHERE x.study_uid = st.study_uid) AS modalities,
      ${extra ? `(SELECT ${extra.sql} FROM instances x WHERE x.study_uid = st.study_uid LIMIT 1)` : 'NULL'} AS extra
    FROM studies st
    WHERE st.rowid IN (SELECT st.rowid FROM studies st ${where(filter)} ORDER BY ${STUDY_ORDER} LIMIT ? OFFSET ?)
    ORDER BY ${STUDY_ORDER}`;
  return prepare(store.db, sql).all(...(extra?.params ?? []), ...filter.params, page.limit, page.offset) as StudyMatch[];
}

export interface SeriesMatch {
  series_uid: string;
  study_uid: string;
  series_attributes: string;
  study_attributes: string;
  n_instances: number;
  extra: string | null;
}

/** Series matching the filter (conditions on st and se), one page. */
export function searchSeries(store: SqliteStore, filter: SqlFilter, page: Page, extraTags: readonly string[] = []): SeriesMatch[] {
  const extra = extraTags.length ? jsonSubset('x.attributes', extraTags.slice(0, MAX_EXTRACTED_TAGS)) : undefined;
  const sql = `SELECT se.series_uid, se.study_uid, se.attributes AS series_attributes, st.attributes AS study_attributes,
      (SELECT count(*) FROM instances x WHERE x.series_uid = se.series_uid) AS n_instances,
      ${extra ? `(SELECT ${extra.sql} FROM instances x WHERE x.series_uid = se.series_uid LIMIT 1)` : 'NULL'} AS extra
    FROM series se JOIN studies st ON st.study_uid = se.study_uid
    WHERE se.rowid IN (SELECT se.rowid FROM series se JOIN studies st ON st.study_uid = se.study_uid ${where(filter)}
      ORDER BY ${SERIES_ORDER} LIMIT ? OFFSET ?)
    ORDER BY ${SERIES_ORDER}`;
  return prepare(store.db, sql).all(...(extra?.params ?? []), ...filter.params, page.limit, page.offset) as SeriesMatch[];
}

export interface InstanceMatch {
  sop_instance_uid: string;
  series_uid: string;
  study_uid: string;
  transfer_syntax_uid: string;
  /** DICOM JSON of the asked-for instance attributes (or all of them). */
  attributes: string;
  series_attributes: string;
  study_attributes: string;
}

/** Instances matching the filter (conditions on st, se and i), one page. */
export function searchInstances(store: SqliteStore, filter: SqlFilter, page: Page, tags: readonly string[] | 'all'): InstanceMatch[] {
  const subset = tags === 'all' || tags.length > MAX_EXTRACTED_TAGS ? undefined : jsonSubset('i.attributes', tags);
  const sql = `SELECT i.sop_instance_uid, i.series_uid, i.study_uid, i.transfer_syntax_uid,
      ${subset ? subset.sql : 'i.attributes'} AS attributes, se.attributes AS series_attributes, st.attributes AS study_attributes
    FROM instances i JOIN series se ON se.series_uid = i.series_uid JOIN studies st ON st.study_uid = i.study_uid
    WHERE i.rowid IN (SELECT i.rowid FROM instances i JOIN series se ON se.series_uid = i.series_uid JOIN studies st ON st.study_uid = i.study_uid
      ${where(filter)} ORDER BY ${INSTANCE_ORDER} LIMIT ? OFFSET ?)
    ORDER BY ${INSTANCE_ORDER}`;
  return prepare(store.db, sql).all(...(subset?.params ?? []), ...filter.params, page.limit, page.offset) as InstanceMatch[];
}

// ---- WADO-RS --------------------------------------------------------------------------------------------------

/** What retrieval needs of an instance: where its bytes are and how they are encoded, no attributes. */
export interface InstanceFile {
  sop_instance_uid: string;
  series_uid: string;
  study_uid: string;
  transfer_syntax_uid: string;
  sha256: string;
  size: number;
}

const FILE_COLUMNS = 'sop_instance_uid, series_uid, study_uid, transfer_syntax_uid, sha256, size';

export function studyExists(store: SqliteStore, studyUid: string): boolean {
  return prepare(store.db, 'SELECT 1 FROM studies WHERE study_uid = ?').get(studyUid) !== undefined;
}

/** The study a series belongs to, or undefined when the series is unknown. */
export function studyOfSeries(store: SqliteStore, seriesUid: string): string | undefined {
  const row = prepare(store.db, 'SELECT study_uid FROM series WHERE series_uid = ?').get(seriesUid) as { study_uid: string } | undefined;
  return row?.study_uid;
}

export function instanceFile(store: SqliteStore, sopInstanceUid: string): InstanceFile | undefined {
  return prepare(store.db, `SELECT ${FILE_COLUMNS} FROM instances WHERE sop_instance_uid = ?`).get(sopInstanceUid) as InstanceFile | undefined;
}

/** The instances of a study, or of one of its series, in series and instance-number order. */
export function instanceFiles(store: SqliteStore, scope: { study: string; series?: string }): InstanceFile[] {
  if (scope.series) {
    return prepare(store.db, `SELECT ${FILE_COLUMNS} FROM instances WHERE series_uid = ? AND study_uid = ?
        ORDER BY instance_number IS NULL, instance_number, sop_instance_uid`).all(scope.series, scope.study) as InstanceFile[];
  }
  return prepare(store.db, `SELECT i.sop_instance_uid, i.series_uid, i.study_uid, i.transfer_syntax_uid, i.sha256, i.size
      FROM instances i JOIN series se ON se.series_uid = i.series_uid WHERE i.study_uid = ?
      ORDER BY se.series_number IS NULL, se.series_number, i.series_uid, i.instance_number IS NULL, i.instance_number, i.sop_instance_uid`)
    .all(scope.study) as InstanceFile[];
}

/** Full stored attributes (DICOM JSON text) of the given instances, keyed by SOP Instance UID. */
export function instanceAttributes(store: SqliteStore, sopInstanceUids: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < sopInstanceUids.length; i += 200) {
    const chunk = sopInstanceUids.slice(i, i + 200);
    const rows = prepare(store.db, `SELECT sop_instance_uid, attributes FROM instances WHERE sop_instance_uid IN (${chunk.map(() => '?').join(', ')})`)
      .all(...chunk) as Array<{ sop_instance_uid: string; attributes: string }>;
    for (const r of rows) out.set(r.sop_instance_uid, r.attributes);
  }
  return out;
}

/** One attribute of an instance (its DICOM JSON element), or undefined. */
export function instanceAttribute(store: SqliteStore, sopInstanceUid: string, tag: string): unknown {
  const row = prepare(store.db, 'SELECT json_extract(attributes, ?) AS v FROM instances WHERE sop_instance_uid = ?')
    .get(`$."${tag}"`, sopInstanceUid) as { v: string | null } | undefined;
  return row?.v ? JSON.parse(row.v) : undefined;
}
