// What the report builders need from the store, gathered in one place: the study's attributes, its received
// series and instances (not OphGate's own SEG/SR), and the findings of one job per image frame, each with its
// eye. The pipeline's report stage and the sign-off both start from here.
import type { DicomJson } from '../dicom/json-model.js';
import { findingResultSchema, type FindingResult } from '../inference/finding-result.js';
import type { FindingRow, InstanceRow, SeriesRow, StudyRow } from '../store/rows.js';
import type { StudyImage } from './eye-summary.js';
import type { StudyInput } from './fhir/imaging-study.js';
import type { ImageFindings } from './fhir/observations.js';

const IMAGE_LATERALITY = '00200062';
const LATERALITY = '00200060';

/** A stored finding that no longer parses is an error naming the image and model, never silently skipped. */
export class StoredFindingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoredFindingError';
  }
}

export function parseStoredFinding(r: FindingRow): FindingResult {
  const parsed = findingResultSchema.safeParse(r.result);
  if (!parsed.success) throw new StoredFindingError(`stored finding of ${r.sop_instance_uid} frame ${r.frame} (${r.model_name}) is not valid: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/** The study, its series and their received instances as the FHIR ImagingStudy builder takes them. */
export function studyInputOf(study: StudyRow, series: SeriesRow[], instances: InstanceRow[]): StudyInput {
  const received = instances.filter((i) => i.origin === 'received');
  return {
    study: study.attributes as DicomJson,
    series: series
      .map((s) => ({ attributes: s.attributes as DicomJson, instances: received.filter((i) => i.series_uid === s.series_uid).map((i) => i.attributes as DicomJson) }))
      .filter((s) => s.instances.length > 0),
  };
}

function eyeOfInstance(instance: InstanceRow | undefined, series: SeriesRow | undefined): 'R' | 'L' | null {
  const pick = (json: unknown, tag: string) => {
    const v = (json as DicomJson | undefined)?.[tag]?.Value?.[0];
    return typeof v === 'string' ? v.trim().toUpperCase() : '';
  };
  const eye = pick(instance?.attributes, IMAGE_LATERALITY) || pick(instance?.attributes, LATERALITY) || pick(series?.attributes, LATERALITY);
  return eye === 'R' || eye === 'L' ? eye : null;
}

export interface JobImages {
  /** For the FHIR Observations: per image frame, every model's findings. */
  images: ImageFindings[];
  /** For the eye summary: the same frames with their eye and the study date. */
  studyImages: StudyImage[];
}

/** Findings rows of one job grouped per (instance, frame), in the store's order. */
export function imagesOfJob(rows: FindingRow[], instances: InstanceRow[], series: SeriesRow[], studyDate: string | null): JobImages {
  const byUid = new Map(instances.map((i) => [i.sop_instance_uid, i]));
  const seriesByUid = new Map(series.map((s) => [s.series_uid, s]));
  const groups = new Map<string, FindingRow[]>();
  for (const r of rows) {
    const k = `${r.sop_instance_uid}|${r.frame}`;
    const g = groups.get(k);
    if (g) g.push(r); else groups.set(k, [r]);
  }
  const images: ImageFindings[] = [];
  const studyImages: StudyImage[] = [];
  for (const group of groups.values()) {
    const first = group[0]!;
    const findings = group.map(parseStoredFinding);
    images.push({ seriesUid: first.series_uid, sopInstanceUid: first.sop_instance_uid, frame: first.frame, findings });
    const instance = byUid.get(first.sop_instance_uid);
    studyImages.push({
      sopInstanceUid: first.sop_instance_uid,
      laterality: eyeOfInstance(instance, seriesByUid.get(first.series_uid)),
      findings,
      ...(studyDate ? { studyDate } : {}),
    });
  }
  return { images, studyImages };
}
