// QIDO-RS query parameters (PS3.18 8.3.4 and 10.6.1.2) turned into parameterised SQL conditions over the index
// (aliases st = studies, se = series, i = instances; see src/store/queries.ts). Matching follows PS3.4 C.2.2.2:
// single value, universal (empty value or "*"), wildcard (* and ?), range (dates and times) and UID list matching.
// Values never reach the SQL text: every value is a bound parameter; JSON paths are bound too.
import { resolveKey, keywordOf, T } from './attribute-keys.js';
import { HttpError } from './common.js';

export type QidoLevel = 'study' | 'series' | 'instance';
const LEVEL_RANK: Record<QidoLevel, number> = { study: 0, series: 1, instance: 2 };

type MatchKind = 'uid' | 'string' | 'pn' | 'date' | 'time' | 'int' | 'modalities' | 'code';

/** Where a matching key's value lives: a column, or a JSON path into a level's attributes. */
interface KeyDef { tag: string; level: QidoLevel; kind: MatchKind; column?: string; json?: { column: string; tag: string } }

/** The matching keys OphGate supports (PS3.18 Tables 10.6.1-5 .. -7 and the ones ophthalmic workflows use). */
const KEYS: KeyDef[] = [
  { tag: T.StudyInstanceUID, level: 'study', kind: 'uid', column: 'st.study_uid' },
  { tag: T.PatientID, level: 'study', kind: 'string', column: 'st.patient_id' },
  { tag: T.PatientName, level: 'study', kind: 'pn', json: { column: 'st.attributes', tag: T.PatientName } },
  { tag: T.PatientBirthDate, level: 'study', kind: 'date', column: 'st.patient_birth_date' },
  { tag: T.PatientSex, level: 'study', kind: 'string', column: 'st.patient_sex' },
  { tag: T.StudyDate, level: 'study', kind: 'date', column: 'st.study_date' },
  { tag: T.StudyTime, level: 'study', kind: 'time', column: 'st.study_time' },
  { tag: T.AccessionNumber, level: 'study', kind: 'string', column: 'st.accession_number' },
  { tag: T.StudyID, level: 'study', kind: 'string', column: 'st.study_id' },
  { tag: T.StudyDescription, level: 'study', kind: 'string', column: 'st.study_description' },
  { tag: T.ReferringPhysicianName, level: 'study', kind: 'pn', json: { column: 'st.attributes', tag: T.ReferringPhysicianName } },
  { tag: T.ModalitiesInStudy, level: 'study', kind: 'modalities' },
  { tag: T.SeriesInstanceUID, level: 'series', kind: 'uid', column: 'se.series_uid' },
  { tag: T.Modality, level: 'series', kind: 'code', column: 'se.modality' },
  { tag: T.SeriesNumber, level: 'series', kind: 'int', column: 'se.series_number' },
  { tag: T.SeriesDescription, level: 'series', kind: 'string', column: 'se.series_description' },
  { tag: T.PerformedProcedureStepStartDate, level: 'series', kind: 'date', json: { column: 'se.attributes', tag: T.PerformedProcedureStepStartDate } },
  { tag: T.PerformedProcedureStepStartTime, level: 'series', kind: 'time', json: { column: 'se.attributes', tag: T.PerformedProcedureStepStartTime } },
  { tag: T.Laterality, level: 'series', kind: 'code', json: { column: 'se.attributes', tag: T.Laterality } },
  { tag: T.BodyPartExamined, level: 'series', kind: 'code', json: { column: 'se.attributes', tag: T.BodyPartExamined } },
  { tag: T.SOPInstanceUID, level: 'instance', kind: 'uid', column: 'i.sop_instance_uid' },
  { tag: T.SOPClassUID, level: 'instance', kind: 'uid', column: 'i.sop_class_uid' },
  { tag: T.InstanceNumber, level: 'instance', kind: 'int', column: 'i.instance_number' },
  { tag: T.ImageLaterality, level: 'instance', kind: 'code', json: { column: 'i.attributes', tag: T.ImageLaterality } },
];
const KEY_BY_TAG = new Map(KEYS.map((k) => [k.tag, k]));

/** Query parameters that are not matching keys (PS3.18 Table 8.3.4-1, plus accept/charset of 8.3.3.1). */
const RESERVED = new Set(['includefield', 'limit', 'offset', 'fuzzymatching', 'accept', 'charset']);

/** Largest page the gateway returns; a larger or absent limit is capped and the response says so (Warning 299). */
export const MAX_RESULTS = 5000;

export interface QidoQuery {
  level: QidoLevel;
  clauses: string[];
  params: unknown[];
  /** Tags of the matching keys present in the request: PS3.18 returns them in every result. */
  matchedTags: string[];
  includeAll: boolean;
  includeTags: string[];
  limit: number;
  /** True when the client gave no limit or one above MAX_RESULTS. */
  limitCapped: boolean;
  offset: number;
  fuzzyRequested: boolean;
}

export interface QidoScope { study?: string; series?: string }

function values(v: unknown): string[] {
  if (v === undefined) return [];
  if (Array.isArray(v)) return v.map((x) => String(x));
  return [String(v)];
}

function single(name: string, v: unknown): string {
  const vs = values(v);
  if (vs.length > 1) throw new HttpError(400, `query parameter ${name} appears ${vs.length} times; it takes one value`);
  return vs[0] ?? '';
}

const UID_RE = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$/;

function uidList(name: string, raw: string[]): string[] {
  const uids = raw.flatMap((v) => v.split(/[,\\]/)).map((u) => u.trim()).filter((u) => u !== '');
  for (const u of uids) if (!UID_RE.test(u) || u.length > 64) throw new HttpError(400, `${name}: "${u.slice(0, 70)}" is not a UID`);
  return uids;
}

function hasWildcard(v: string): boolean {
  return v.includes('*') || v.includes('?');
}

/** A DICOM wildcard pattern as a SQLite GLOB pattern ('[' is GLOB's only other special character). */
function toGlob(pattern: string): string {
  return pattern.replace(/\[/g, '[[]');
}

function placeholders(n: number): string {
  return Array.from({ length: n }, () => '?').join(', ');
}

const DATE_RE = /^\d{8}$/;

function checkDate(name: string, d: string): void {
  if (!DATE_RE.test(d)) throw new HttpError(400, `${name}: "${d.slice(0, 40)}" is not a date (YYYYMMDD)`);
  const m = Number(d.slice(4, 6)), day = Number(d.slice(6, 8));
  if (m < 1 || m > 12 || day < 1 || day > 31) throw new HttpError(400, `${name}: "${d}" is not a valid date (YYYYMMDD)`);
}

/** A TM value (HH, HHMM, HHMMSS, HHMMSS.F..., colons tolerated) as HHMMSS, lower or upper end of what it means. */
function normTime(name: string, t: string, end: 'lower' | 'upper'): string {
  const m = /^(\d{2})(?::?(\d{2}))?(?::?(\d{2}))?(?:\.\d{1,6})?$/.exec(t);
  if (!m || Number(m[1]) > 23 || Number(m[2] ?? 0) > 59 || Number(m[3] ?? 0) > 60) {
    throw new HttpError(400, `${name}: "${t.slice(0, 40)}" is not a time (HHMMSS)`);
  }
  const fill = end === 'lower' ? '00' : '59';
  return m[1]! + (m[2] ?? fill) + (m[3] ?? fill);
}

/** SQL for a stored TM value normalised to HHMMSS (extra precision ignored). */
function timeExpr(expr: string): string {
  return `substr(replace(${expr}, ':', '') || '000000', 1, 6)`;
}

/** Builds the query for one QIDO-RS request; throws HttpError(400) naming the offending key or value. */
export function parseQidoQuery(query: Record<string, unknown>, level: QidoLevel, scope: QidoScope): QidoQuery {
  const q: QidoQuery = {
    level, clauses: [], params: [], matchedTags: [], includeAll: false, includeTags: [],
    limit: MAX_RESULTS, limitCapped: true, offset: 0, fuzzyRequested: false,
  };
  if (scope.study) { q.clauses.push(`${uidColumn('st.study_uid', level)} = ?`); q.params.push(scope.study); }
  if (scope.series) { q.clauses.push(`${uidColumn('se.series_uid', level)} = ?`); q.params.push(scope.series); }

  for (const [name, raw] of Object.entries(query)) {
    const lname = name.toLowerCase();
    if (RESERVED.has(lname)) {
      if (lname === 'includefield') {
        for (const item of values(raw).flatMap((v) => v.split(','))) {
          const f = item.trim();
          if (f === '') continue;
          if (f.toLowerCase() === 'all') { q.includeAll = true; continue; }
          const k = resolveKey(f);
          if (!k) throw new HttpError(400, `includefield: "${f.slice(0, 64)}" is neither a DICOM keyword nor a tag (ggggeeee)`);
          if (!q.includeTags.includes(k.tag)) q.includeTags.push(k.tag);
        }
      } else if (lname === 'limit') {
        const v = single(name, raw).trim();
        if (!/^\d{1,9}$/.test(v) || Number(v) < 1) throw new HttpError(400, `limit: "${v.slice(0, 20)}" is not a positive integer`);
        q.limit = Math.min(Number(v), MAX_RESULTS);
        q.limitCapped = Number(v) > MAX_RESULTS;
      } else if (lname === 'offset') {
        const v = single(name, raw).trim();
        if (!/^\d{1,9}$/.test(v)) throw new HttpError(400, `offset: "${v.slice(0, 20)}" is not a non-negative integer`);
        q.offset = Number(v);
      } else if (lname === 'fuzzymatching') {
        const v = single(name, raw).trim().toLowerCase();
        if (v !== 'true' && v !== 'false') throw new HttpError(400, `fuzzymatching: "${v.slice(0, 20)}" is neither true nor false`);
        q.fuzzyRequested = v === 'true';
      }
      continue;
    }
    if (name.includes('.')) {
      throw new HttpError(400, `query key ${name.slice(0, 80)}: sequence (nested attribute) matching is not supported`);
    }
    const resolved = resolveKey(name);
    if (!resolved) throw new HttpError(400, `unknown query key "${name.slice(0, 80)}": neither a DICOM keyword nor a tag, nor one of includefield, limit, offset, fuzzymatching`);
    const def = KEY_BY_TAG.get(resolved.tag);
    const label = `${resolved.keyword ?? name} (${resolved.tag})`;
    if (!def) {
      throw new HttpError(400, `query key ${label} is not a supported matching key; supported: ${KEYS.filter((k) => LEVEL_RANK[k.level] <= LEVEL_RANK[level]).map((k) => keywordOf(k.tag)).join(', ')}`);
    }
    if (LEVEL_RANK[def.level] > LEVEL_RANK[level]) {
      const hint = def.tag === T.Modality ? '; use ModalitiesInStudy' : '';
      throw new HttpError(400, `query key ${label} is a ${def.level}-level attribute and cannot narrow a ${level} search${hint}`);
    }
    if (!q.matchedTags.includes(def.tag)) q.matchedTags.push(def.tag);
    addCondition(q, def, label, raw);
  }
  return q;
}

/** The study and series UIDs from the lowest joined table, so that SQLite can use that table's index. */
function uidColumn(column: string, level: QidoLevel): string {
  if (level === 'instance' && column === 'st.study_uid') return 'i.study_uid';
  if (level === 'instance' && column === 'se.series_uid') return 'i.series_uid';
  if (level === 'series' && column === 'st.study_uid') return 'se.study_uid';
  return column;
}

function valueExpr(def: KeyDef, q: QidoQuery): string {
  if (def.column) return def.column;
  q.params.push(`$."${def.json!.tag}".Value[0]`);
  return `json_extract(${def.json!.column}, ?)`;
}

function addCondition(q: QidoQuery, def: KeyDef, label: string, raw: unknown): void {
  if (def.kind === 'uid') {
    const uids = uidList(label, values(raw));
    if (uids.length === 0) return; // universal matching
    q.clauses.push(`${uidColumn(def.column!, q.level)} IN (${placeholders(uids.length)})`);
    q.params.push(...uids);
    return;
  }
  const v = single(label, raw).trim();
  if (v === '' || v === '*') return; // universal matching (PS3.4 C.2.2.2.3, and "*" alone)
  switch (def.kind) {
    case 'pn': {
      q.params.push(`$."${def.json!.tag}".Value`);
      q.clauses.push(`ophgate_pn_match(json_extract(${def.json!.column}, ?), ?)`);
      q.params.push(v);
      return;
    }
    case 'modalities': {
      const list = v.split(/[,\\]/).map((s) => s.trim()).filter(Boolean);
      q.clauses.push(`EXISTS (SELECT 1 FROM series ms WHERE ms.study_uid = st.study_uid AND ms.modality IN (${placeholders(list.length)}))`);
      q.params.push(...list);
      return;
    }
    case 'code': {
      const list = v.split(/[,\\]/).map((s) => s.trim()).filter(Boolean);
      if (list.length > 1 || !hasWildcard(v)) {
        const expr = valueExpr(def, q);
        q.clauses.push(`${expr} IN (${placeholders(list.length)})`);
        q.params.push(...list);
        return;
      }
      const expr = valueExpr(def, q);
      q.clauses.push(`${expr} GLOB ?`);
      q.params.push(toGlob(v));
      return;
    }
    case 'string': {
      const expr = valueExpr(def, q);
      if (hasWildcard(v)) {
        q.clauses.push(`${expr} GLOB ?`);
        q.params.push(toGlob(v));
      } else {
        q.clauses.push(`${expr} = ?`);
        q.params.push(v);
      }
      return;
    }
    case 'int': {
      if (!/^[+-]?\d{1,10}$/.test(v)) throw new HttpError(400, `${label}: "${v.slice(0, 20)}" is not an integer`);
      const expr = valueExpr(def, q);
      q.clauses.push(`${expr} = ?`);
      q.params.push(Number(v));
      return;
    }
    case 'date': {
      const m = /^(\d*)(-?)(\d*)$/.exec(v.replace(/\s+/g, ''));
      if (!m || (m[1] === '' && m[3] === '')) throw new HttpError(400, `${label}: "${v.slice(0, 40)}" is neither a date (YYYYMMDD) nor a range (YYYYMMDD-YYYYMMDD, -YYYYMMDD, YYYYMMDD-)`);
      const [, from, dash, to] = m as unknown as [string, string, string, string];
      if (from) checkDate(label, from);
      if (to) checkDate(label, to);
      const expr = valueExpr(def, q);
      if (!dash) {
        q.clauses.push(`${expr} = ?`);
        q.params.push(from);
      } else if (from && to) {
        if (from > to) throw new HttpError(400, `${label}: range ${v} starts after it ends`);
        q.clauses.push(`${expr} BETWEEN ? AND ?`);
        q.params.push(from, to);
      } else if (from) {
        q.clauses.push(`${expr} >= ?`);
        q.params.push(from);
      } else {
        q.clauses.push(`${expr} <= ?`);
        q.params.push(to);
      }
      return;
    }
    case 'time': {
      const parts = v.replace(/\s+/g, '').split('-');
      if (parts.length > 2 || parts.every((p) => p === '')) throw new HttpError(400, `${label}: "${v.slice(0, 40)}" is neither a time (HHMMSS) nor a range (HHMMSS-HHMMSS)`);
      const [from = '', to] = parts;
      const lower = from ? normTime(label, from, 'lower') : '000000';
      const upper = to === undefined ? normTime(label, from, 'upper') : to ? normTime(label, to, 'upper') : '235960';
      if (lower > upper) throw new HttpError(400, `${label}: range ${v} starts after it ends`);
      const expr = timeExpr(valueExpr(def, q));
      q.clauses.push(`(${expr} BETWEEN ? AND ?)`);
      q.params.push(lower, upper);
      return;
    }
  }
}

// ---- PN matching (run inside SQLite as ophgate_pn_match) ---------------------------------------------------------

const patternCache = new Map<string, RegExp>();

function pnPattern(pattern: string): RegExp {
  let re = patternCache.get(pattern);
  if (!re) {
    const body = [...cleanPn(pattern)].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('');
    re = new RegExp(`^${body}$`, 'isu');
    if (patternCache.size > 500) patternCache.clear();
    patternCache.set(pattern, re);
  }
  return re;
}

/** PN values compare without trailing empty components and padding, in Unicode NFC. */
function cleanPn(v: string): string {
  return v.normalize('NFC').trim().replace(/[\^ ]+$/, '').replace(/\^+=/g, '=');
}

/**
 * PS3.18 10.6.1.2 / PS3.4 C.2.2.2: a Person Name matches when any of its component groups (Alphabetic, Ideographic,
 * Phonetic) of any of its values matches the pattern, case-insensitively (PS3.4 allows literal PN matching that
 * ignores case), with * and ? wildcards.
 */
export function pnMatches(valueJson: unknown, pattern: unknown): number {
  if (typeof valueJson !== 'string' || typeof pattern !== 'string') return 0;
  let vals: unknown;
  try {
    vals = JSON.parse(valueJson);
  } catch {
    return 0;
  }
  if (!Array.isArray(vals)) return 0;
  const re = pnPattern(pattern);
  for (const v of vals) {
    const groups = typeof v === 'string' ? [v] : v && typeof v === 'object' ? Object.values(v as Record<string, unknown>) : [];
    for (const g of groups) if (typeof g === 'string' && re.test(cleanPn(g))) return 1;
  }
  return 0;
}

const registered = new WeakSet<object>();

/** Makes ophgate_pn_match available on a connection (once per connection). */
export function registerSqlFunctions(db: { function(name: string, options: { deterministic: boolean }, fn: (...args: unknown[]) => unknown): unknown }): void {
  if (registered.has(db)) return;
  db.function('ophgate_pn_match', { deterministic: true }, (v, p) => pnMatches(v, p));
  registered.add(db);
}
