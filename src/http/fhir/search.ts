// Search (R4 search.html) over the resources OphGate keeps: which parameters each type supports, how their values
// parse (token: system|value, |value, value, system|; reference: Type/id, id, or an absolute URL on this server),
// paging with _count and _offset, and the searchset Bundle. Unknown parameters and modifiers are refused (400)
// unless the client sends Prefer: handling=lenient (search.html#errors), which ignores them.
import type { Bundle, BundleEntry, BundleLink, CapabilityStatementRestResourceSearchParam, Resource } from '@medplum/fhirtypes';
import { FHIR_ID, FHIR_TYPES, type FhirType, type SearchCriterion, type TokenValue } from '../../store/fhir-resources.js';
import { FhirHttpError, operationOutcome } from './respond.js';

export const DEFAULT_COUNT = 50;
export const MAX_COUNT = 500;

interface ParamDef {
  name: string;
  type: 'token' | 'reference';
  /** The types it applies to, each with the R4 SearchParameter it implements (none for OphGate's own `study`). */
  definitions: Partial<Record<FhirType, string | undefined>>;
  documentation: string;
  criterion: (values: string[], ctx: ParseContext) => SearchCriterion;
}

interface ParseContext { name: string; fhirBase: string }

const SP = 'http://hl7.org/fhir/SearchParameter/';
const CLINICAL = ['ImagingStudy', 'Observation', 'DiagnosticReport'] as const;
const IDENTIFIED = ['Patient', 'ImagingStudy', 'Endpoint', 'Device', 'Observation', 'DiagnosticReport', 'Practitioner'] as const;

/** Splits on an unescaped separator and removes the escapes (search.html#escaping: \, \| \$ \\). */
function splitEscaped(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length) cur += s[++i]!;
    else if (c === sep) { out.push(cur); cur = ''; } else cur += c;
  }
  out.push(cur);
  return out;
}

/** Comma-separated alternatives; a comma escaped as \, stays inside a value (and its other escapes stay too). */
function alternatives(value: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '\\' && i + 1 < value.length) { cur += c + value[++i]!; } else if (c === ',') { out.push(cur); cur = ''; } else cur += c;
  }
  out.push(cur);
  return out;
}

function token(raw: string, name: string): TokenValue {
  const parts = splitEscaped(raw, '|');
  if (parts.length > 2) throw new FhirHttpError(400, 'invalid', `${name}: a token is [system|]value, with | inside a value escaped as \\|`);
  if (parts.length === 1) {
    if (!parts[0]) throw new FhirHttpError(400, 'invalid', `${name}: empty value`);
    return { value: parts[0] };
  }
  const [system, value] = parts as [string, string];
  if (!system && !value) throw new FhirHttpError(400, 'invalid', `${name}: "|" alone names no system and no value`);
  return { system, ...(value ? { value } : {}) };
}

/** A reference parameter's value as the local "Type/id" it matches. */
function reference(raw: string, target: FhirType, ctx: ParseContext): string {
  let v = raw.trim();
  if (v.startsWith(`${ctx.fhirBase}/`)) v = v.slice(ctx.fhirBase.length + 1);
  const m = /^(?:([A-Za-z]+)\/)?([^/]+)$/.exec(v);
  if (!m || !FHIR_ID.test(m[2]!)) throw new FhirHttpError(400, 'invalid', `${ctx.name}: expected ${target}/<id> or a bare id, got "${raw.slice(0, 100)}"`);
  const type = m[1] ?? target;
  if (type !== target) throw new FhirHttpError(400, 'invalid', `${ctx.name}: refers to ${target} resources only, not ${type}`);
  return `${type}/${m[2]}`;
}

const PARAMS: ParamDef[] = [
  {
    name: '_id', type: 'token', definitions: Object.fromEntries(FHIR_TYPES.map((t) => [t, `${SP}Resource-id`])),
    documentation: 'Logical id; comma-separated ids match any',
    criterion: (values, ctx) => ({ kind: '_id', values: values.map((v) => { if (!FHIR_ID.test(v)) throw new FhirHttpError(400, 'invalid', `${ctx.name}: "${v.slice(0, 100)}" is not a FHIR id`); return v; }) }),
  },
  {
    name: 'identifier', type: 'token',
    definitions: {
      Patient: `${SP}Patient-identifier`, Endpoint: `${SP}Endpoint-identifier`, Device: `${SP}Device-identifier`, Practitioner: `${SP}Practitioner-identifier`,
      ImagingStudy: `${SP}clinical-identifier`, Observation: `${SP}clinical-identifier`, DiagnosticReport: `${SP}clinical-identifier`,
    } satisfies Record<(typeof IDENTIFIED)[number], string>,
    documentation: 'Any identifier of the resource: system|value, |value (no system), value (any system) or system| (any value); e.g. ImagingStudy?identifier=urn:dicom:uid|urn:oid:<StudyInstanceUID>',
    criterion: (values, ctx) => ({ kind: 'identifier', values: values.map((v) => token(v, ctx.name)) }),
  },
  {
    name: 'patient', type: 'reference', definitions: Object.fromEntries(CLINICAL.map((t) => [t, `${SP}clinical-patient`])),
    documentation: 'The subject Patient: Patient/<id> or <id>',
    criterion: (values, ctx) => ({ kind: 'subject', values: values.map((v) => reference(v, 'Patient', ctx)) }),
  },
  {
    name: 'subject', type: 'reference', definitions: Object.fromEntries(CLINICAL.map((t) => [t, `${SP}${t}-subject`])),
    documentation: 'The subject: Patient/<id>, or a bare id taken as a Patient (OphGate\'s subjects are Patients)',
    criterion: (values, ctx) => ({ kind: 'subject', values: values.map((v) => reference(v, 'Patient', ctx)) }),
  },
  {
    name: 'status', type: 'token', definitions: Object.fromEntries(CLINICAL.map((t) => [t, `${SP}${t}-status`])),
    documentation: 'Status code (e.g. DiagnosticReport preliminary, final, amended); a system before | is ignored',
    criterion: (values, ctx) => ({ kind: 'status', values: values.map((v) => { const t = token(v, ctx.name); if (!t.value) throw new FhirHttpError(400, 'invalid', `${ctx.name}: a status code is needed`); return t.value; }) }),
  },
  {
    name: 'study', type: 'reference', definitions: { DiagnosticReport: undefined },
    documentation: 'OphGate parameter (not in R4 core): the DiagnosticReport of an ImagingStudy, DiagnosticReport.imagingStudy = ImagingStudy/<id> or <id>',
    criterion: (values, ctx) => ({ kind: 'imagingStudy', values: values.map((v) => reference(v, 'ImagingStudy', ctx)) }),
  },
];

/** Result parameters accepted besides the search parameters (search.html#count; _offset is OphGate's paging). */
const CONTROL = new Set(['_count', '_offset', '_format']);

export function paramsOf(type: FhirType): ParamDef[] {
  return PARAMS.filter((p) => type in p.definitions);
}

/** The searchParam list of a type's CapabilityStatement entry. */
export function capabilitySearchParams(type: FhirType): CapabilityStatementRestResourceSearchParam[] {
  return paramsOf(type).map((p) => {
    const definition = p.definitions[type];
    return { name: p.name, ...(definition ? { definition } : {}), type: p.type, documentation: p.documentation };
  });
}

export interface ParsedSearch {
  criteria: SearchCriterion[];
  count: number;
  offset: number;
  /** The parameters used, in order, for the self and paging links (ignored ones left out). */
  used: Array<[string, string]>;
  /** Parameters ignored under Prefer: handling=lenient. */
  ignored: string[];
}

function intParam(name: string, values: string[], min: number): number {
  if (values.length > 1) throw new FhirHttpError(400, 'invalid', `${name} is given ${values.length} times`);
  const v = values[0]!;
  if (!/^\d+$/.test(v) || Number(v) < min) throw new FhirHttpError(400, 'invalid', `${name} must be an integer >= ${min}, got "${v.slice(0, 40)}"`);
  return Number(v);
}

/**
 * Parses a type's search parameters (name, value pairs in request order). Repeated parameters AND, commas OR
 * (search.html#combining). `_count` defaults to 50 and is capped at 500 (search.html#count: a server may return
 * fewer); `_count=0` answers the total only.
 */
export function parseSearch(type: FhirType, pairs: Array<[string, string]>, opts: { lenient: boolean; fhirBase: string }): ParsedSearch {
  const defs = new Map(paramsOf(type).map((p) => [p.name, p]));
  const criteria: SearchCriterion[] = [];
  const used: Array<[string, string]> = [];
  const ignored: string[] = [];
  const control = new Map<string, string[]>();
  const refuse = (name: string, why: string) => {
    if (opts.lenient) { ignored.push(name); return; }
    throw new FhirHttpError(400, 'not-supported', `${why}; ${type} supports ${[...defs.keys()].join(', ')} and _count, _offset, _format (send Prefer: handling=lenient to ignore unknown parameters)`);
  };
  for (const [name, value] of pairs) {
    if (CONTROL.has(name)) { control.set(name, [...(control.get(name) ?? []), value]); continue; }
    const [base, modifier] = name.split(':', 2) as [string, string?];
    const def = defs.get(base);
    if (!def) { refuse(name, `unknown search parameter "${name.slice(0, 80)}" for ${type}`); continue; }
    if (modifier !== undefined) { refuse(name, `modifier ":${modifier.slice(0, 40)}" of ${base} is not supported`); continue; }
    if (!value) throw new FhirHttpError(400, 'invalid', `${name}: empty value`);
    criteria.push(def.criterion(alternatives(value), { name, fhirBase: opts.fhirBase }));
    used.push([name, value]);
  }
  const count = control.has('_count') ? Math.min(intParam('_count', control.get('_count')!, 0), MAX_COUNT) : DEFAULT_COUNT;
  const offset = control.has('_offset') ? intParam('_offset', control.get('_offset')!, 0) : 0;
  return { criteria, count, offset, used, ignored };
}

function pageUrl(fhirBase: string, type: string, used: Array<[string, string]>, count: number, offset: number): string {
  const q = new URLSearchParams(used);
  q.set('_count', String(count));
  if (offset) q.set('_offset', String(offset));
  return `${fhirBase}/${type}?${q.toString()}`;
}

/** The searchset Bundle (search.html#return): total, self/next/previous links, entries with fullUrl and mode. */
export function searchsetBundle(fhirBase: string, type: FhirType, parsed: ParsedSearch, total: number, resources: Resource[]): Bundle {
  const { used, count, offset } = parsed;
  const link: BundleLink[] = [{ relation: 'self', url: pageUrl(fhirBase, type, used, count, offset) }];
  if (count > 0 && offset + count < total) link.push({ relation: 'next', url: pageUrl(fhirBase, type, used, count, offset + count) });
  if (count > 0 && offset > 0) link.push({ relation: 'previous', url: pageUrl(fhirBase, type, used, count, Math.max(0, offset - count)) });
  const entry: BundleEntry[] = resources.map((r) => ({ fullUrl: `${fhirBase}/${r.resourceType}/${r.id}`, resource: r, search: { mode: 'match' } }));
  // Under handling=lenient the client learns what was ignored from an outcome entry (search.html#errors).
  if (parsed.ignored.length) {
    entry.push({ resource: operationOutcome('not-supported', `ignored search parameters: ${parsed.ignored.map((n) => n.slice(0, 80)).join(', ')}`, 'warning'), search: { mode: 'outcome' } });
  }
  return { resourceType: 'Bundle', type: 'searchset', total, link, entry };
}
