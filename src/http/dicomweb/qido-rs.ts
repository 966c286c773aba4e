// QIDO-RS, the DICOMweb search service (PS3.18 10.6): studies, series and instances, answered from the SQLite index
// as application/dicom+json (PS3.18 Annex F). Matching: see qido-query.ts; SQL: src/store/queries.ts.
// Empty results are 200 with [] (CP-2473 aligns PS3.18 8.3.4.4.1 with RFC 9110; see README.md).
import type { Request, Response, NextFunction, Router } from 'express';
import type { GatewayContext } from '../../gateway-context.js';
import type { DicomJson } from '../../dicom/json-model.js';
import { STUDY_LEVEL_TAGS, SERIES_LEVEL_TAGS } from '../../dicom/attribute-levels.js';
import { searchStudies, searchSeries, searchInstances, type StudyMatch, type SeriesMatch, type InstanceMatch } from '../../store/queries.js';
import { parseQidoQuery, registerSqlFunctions, MAX_RESULTS, type QidoLevel, type QidoQuery, type QidoScope } from './qido-query.js';
import { HttpError, baseUrl, studyUrl, seriesUrl, instanceUrl, pathUid } from './common.js';
import { parseAccept, acceptOf, covers } from './media-types.js';
import { T, vrOf } from './attribute-keys.js';
import { element, sortByTag, rewriteBulkDataUris, parseAttributes } from './dicom-json.js';

/** Study attributes every study result carries (PS3.18 Table 10.6.3-3); computed ones are added per result. */
const STUDY_REQUIRED = [
  T.StudyDate, T.StudyTime, T.AccessionNumber, T.InstanceAvailability, T.ModalitiesInStudy, T.ReferringPhysicianName,
  T.RetrieveURL, T.PatientName, T.PatientID, T.PatientBirthDate, T.PatientSex, T.StudyInstanceUID, T.StudyID,
  T.NumberOfStudyRelatedSeries, T.NumberOfStudyRelatedInstances,
];
/** Returned when present. */
const STUDY_OPTIONAL = [T.StudyDescription, T.TimezoneOffsetFromUTC];
/** The stored subset of the study attributes, carried by series and instance results of searches across studies. */
const STUDY_STORED_REQUIRED = STUDY_REQUIRED.filter((t) => !([T.InstanceAvailability, T.ModalitiesInStudy, T.RetrieveURL, T.NumberOfStudyRelatedSeries, T.NumberOfStudyRelatedInstances] as string[]).includes(t));

/** PS3.18 Table 10.6.3-4, plus StudyInstanceUID so that results of a search across studies can be placed. */
const SERIES_REQUIRED = [
  T.Modality, T.SeriesInstanceUID, T.SeriesNumber, T.NumberOfSeriesRelatedInstances, T.PerformedProcedureStepStartDate,
  T.PerformedProcedureStepStartTime, T.RetrieveURL, T.StudyInstanceUID,
];
const SERIES_OPTIONAL = [T.SeriesDescription, T.RequestAttributesSequence, T.TimezoneOffsetFromUTC, T.Laterality, T.BodyPartExamined];
const SERIES_STORED = [T.Modality, T.SeriesInstanceUID, T.SeriesNumber, T.PerformedProcedureStepStartDate, T.PerformedProcedureStepStartTime];

/** PS3.18 Table 10.6.3-5, plus the study and series UIDs. */
const INSTANCE_REQUIRED = [T.SOPClassUID, T.SOPInstanceUID, T.InstanceAvailability, T.RetrieveURL, T.StudyInstanceUID, T.SeriesInstanceUID];
const INSTANCE_OPTIONAL = [T.TimezoneOffsetFromUTC, T.InstanceNumber, T.Rows, T.Columns, T.BitsAllocated, T.NumberOfFrames, T.ImageLaterality];

const STUDY_TAG_SET = new Set<string>(STUDY_LEVEL_TAGS);
const SERIES_TAG_SET = new Set<string>(SERIES_LEVEL_TAGS);
const COMPUTED_STUDY = new Set<string>([T.InstanceAvailability, T.ModalitiesInStudy, T.RetrieveURL, T.NumberOfStudyRelatedSeries, T.NumberOfStudyRelatedInstances]);
const COMPUTED_SERIES = new Set<string>([T.RetrieveURL, T.NumberOfSeriesRelatedInstances, T.InstanceAvailability, T.StudyInstanceUID]);

type Negotiated = 'application/dicom+json' | 'application/json';

function negotiate(req: Request): Negotiated {
  const ranges = parseAccept(acceptOf(req));
  if (ranges.length === 0) return 'application/dicom+json';
  for (const r of ranges) {
    if (covers(r, 'application', 'dicom+json')) return 'application/dicom+json';
    if (covers(r, 'application', 'json')) return 'application/json';
  }
  throw new HttpError(406, 'QIDO-RS answers application/dicom+json (or application/json); the Accept header allows neither');
}

/** Picks the wanted tags from `source`, emitting required ones empty when absent (PS3.18 10.6.3.3). */
function assemble(source: DicomJson, required: readonly string[], optional: readonly string[], q: QidoQuery): DicomJson {
  const out: DicomJson = {};
  if (q.includeAll) Object.assign(out, source);
  for (const t of [...required, ...q.matchedTags]) out[t] = source[t] ?? element(vrOf(t));
  for (const t of [...optional, ...q.includeTags]) if (source[t]) out[t] = source[t]!;
  return sortByTag(out);
}

/** Tags asked for that the level's stored attributes and computed values cannot give (read from an instance). */
function extraTags(q: QidoQuery, covered: (t: string) => boolean): string[] {
  return [...q.includeTags, ...q.matchedTags].filter((t) => !covered(t));
}

function studyResult(row: StudyMatch, base: string, q: QidoQuery): DicomJson {
  const source: DicomJson = { ...parseAttributes(row.extra), ...parseAttributes(row.attributes) };
  source[T.InstanceAvailability] = element('CS', ['ONLINE']);
  source[T.ModalitiesInStudy] = element('CS', row.modalities ? row.modalities.split(',').filter(Boolean).sort() : []);
  source[T.NumberOfStudyRelatedSeries] = element('IS', [row.n_series]);
  source[T.NumberOfStudyRelatedInstances] = element('IS', [row.n_instances]);
  source[T.RetrieveURL] = element('UR', [studyUrl(base, row.study_uid)]);
  source[T.StudyInstanceUID] = element('UI', [row.study_uid]);
  return assemble(source, STUDY_REQUIRED, STUDY_OPTIONAL, q);
}

function seriesResult(row: SeriesMatch, base: string, q: QidoQuery, acrossStudies: boolean): DicomJson {
  const source: DicomJson = { ...parseAttributes(row.extra), ...parseAttributes(row.study_attributes), ...parseAttributes(row.series_attributes) };
  source[T.InstanceAvailability] = element('CS', ['ONLINE']);
  source[T.NumberOfSeriesRelatedInstances] = element('IS', [row.n_instances]);
  source[T.RetrieveURL] = element('UR', [seriesUrl(base, row.study_uid, row.series_uid)]);
  source[T.StudyInstanceUID] = element('UI', [row.study_uid]);
  source[T.SeriesInstanceUID] = element('UI', [row.series_uid]);
  const required = acrossStudies ? [...SERIES_REQUIRED, ...STUDY_STORED_REQUIRED] : SERIES_REQUIRED;
  const optional = acrossStudies ? [...SERIES_OPTIONAL, ...STUDY_OPTIONAL] : SERIES_OPTIONAL;
  return assemble(source, required, optional, q);
}

function instanceResult(row: InstanceMatch, base: string, q: QidoQuery, scope: QidoScope): DicomJson {
  const url = instanceUrl(base, row.study_uid, row.series_uid, row.sop_instance_uid);
  const inst = rewriteBulkDataUris(parseAttributes(row.attributes), url);
  const source: DicomJson = { ...parseAttributes(row.study_attributes), ...parseAttributes(row.series_attributes), ...inst };
  source[T.InstanceAvailability] = element('CS', ['ONLINE']);
  source[T.RetrieveURL] = element('UR', [url]);
  source[T.StudyInstanceUID] = element('UI', [row.study_uid]);
  source[T.SeriesInstanceUID] = element('UI', [row.series_uid]);
  source[T.SOPInstanceUID] = element('UI', [row.sop_instance_uid]);
  const required: string[] = [...INSTANCE_REQUIRED];
  const optional: string[] = [...INSTANCE_OPTIONAL];
  if (!scope.series) { required.push(...SERIES_STORED); optional.push(...SERIES_OPTIONAL.filter((t) => t !== T.TimezoneOffsetFromUTC)); }
  if (!scope.study) { required.push(...STUDY_STORED_REQUIRED); optional.push(...STUDY_OPTIONAL); }
  return assemble(source, required, optional, q);
}

/** The instance-level tags to read from instances.attributes for a page of instance results. */
function instanceTags(q: QidoQuery): string[] | 'all' {
  if (q.includeAll) return 'all';
  const tags = new Set<string>([...INSTANCE_REQUIRED, ...INSTANCE_OPTIONAL, ...q.matchedTags, ...q.includeTags]);
  for (const t of [T.InstanceAvailability, T.RetrieveURL, T.StudyInstanceUID, T.SeriesInstanceUID]) tags.delete(t);
  return [...tags];
}

function search(ctx: GatewayContext, level: QidoLevel, scopeOf: (req: Request) => QidoScope) {
  return (req: Request, res: Response, next: NextFunction): void => {
    try {
      const mediaType = negotiate(req);
      const scope = scopeOf(req);
      const q = parseQidoQuery(req.query as Record<string, unknown>, level, scope);
      const filter = { clauses: q.clauses, params: q.params };
      const page = { limit: q.limit + 1, offset: q.offset };
      const base = baseUrl(ctx, req);
      let results: DicomJson[];
      let more: boolean;
      if (level === 'study') {
        const extra = q.includeAll ? [] : extraTags(q, (t) => STUDY_TAG_SET.has(t) || COMPUTED_STUDY.has(t));
        const rows = searchStudies(ctx.store, filter, page, extra);
        more = rows.length > q.limit;
        results = rows.slice(0, q.limit).map((row) => studyResult(row, base, q));
      } else if (level === 'series') {
        const extra = q.includeAll ? [] : extraTags(q, (t) => SERIES_TAG_SET.has(t) || STUDY_TAG_SET.has(t) || COMPUTED_SERIES.has(t));
        const rows = searchSeries(ctx.store, filter, page, extra);
        more = rows.length > q.limit;
        results = rows.slice(0, q.limit).map((row) => seriesResult(row, base, q, !scope.study));
      } else {
        const rows = searchInstances(ctx.store, filter, page, instanceTags(q));
        more = rows.length > q.limit;
        results = rows.slice(0, q.limit).map((row) => instanceResult(row, base, q, scope));
      }
      const service = req.get('host') ?? 'ophgate';
      if (q.fuzzyRequested) {
        res.append('Warning', `299 ${service}: "The fuzzymatching parameter is not supported. Only literal matching has been performed."`);
      }
      if (more && q.limitCapped) {
        res.append('Warning', `299 ${service}: "The number of results exceeded the maximum supported by the server (${MAX_RESULTS}). Additional results can be requested."`);
      }
      res.status(200).type(mediaType).send(JSON.stringify(results));
    } catch (err) {
      if (err instanceof HttpError) {
        res.status(err.status).set(err.headers).json({ error: err.message });
        return;
      }
      next(err);
    }
  };
}

export function qidoRoutes(r: Router, ctx: GatewayContext): void {
  registerSqlFunctions(ctx.store.db);
  const study = (req: Request) => pathUid(req.params.study, 'Study Instance UID', 400);
  const series = (req: Request) => pathUid(req.params.series, 'Series Instance UID', 400);
  r.get('/studies', search(ctx, 'study', () => ({})));
  r.get('/series', search(ctx, 'series', () => ({})));
  r.get('/instances', search(ctx, 'instance', () => ({})));
  r.get('/studies/:study/series', search(ctx, 'series', (req) => ({ study: study(req) })));
  r.get('/studies/:study/instances', search(ctx, 'instance', (req) => ({ study: study(req) })));
  r.get('/studies/:study/series/:series/instances', search(ctx, 'instance', (req) => ({ study: study(req), series: series(req) })));
}
