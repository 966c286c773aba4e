// From findings to the DICOM objects OphGate writes (IHE AI Results): per source image frame a Segmentation of the
// lesions each segmenting model found (src/dicom/seg/), and one Comprehensive SR with TID 1500 over all the images
// (src/dicom/sr/). Pure apart from reading masks: no store, no files, no clock. The UIDs come from the caller's
// `uid` function, so the pipeline's results stage (src/pipeline/stages/results.ts: UIDs derived from the job and
// its findings) and `npm run eval` (src/inference/evaluation/dicom-check.ts: UIDs derived from the test image)
// build the very same objects from the same findings.
import { codedEntryOfRef } from '../dicom/common/coded-entry.js';
import { firstNumber, type DicomJson } from '../dicom/json-model.js';
import { SEGMENTATION_STORAGE } from '../dicom/seg/defined-terms.js';
import { buildSegmentation } from '../dicom/seg/segmentation.js';
import { buildMeasurementReport, type SrImageInput } from '../dicom/sr/measurement-report.js';
import type { FindingResult } from '../inference/finding-result.js';
import { OPHGATE_VERSION } from '../version.js';
import { CodeMappingError, CodeRefError, resolveCodeRef } from './codes.js';
import { plannedSegments } from './segments-of-findings.js';

export interface WrittenResult { kind: 'SEG' | 'SR'; sopInstanceUid: string; seriesUid: string; source?: string; frame?: number; segments?: string[] }

/** One object as built: its bytes and what the results list says of it. */
export interface ResultObject extends WrittenResult { bytes: Buffer }

/** One analysed image frame: the source instance as received and every model's findings on it. */
export interface ResultImage {
  source: { sopClassUid: string; sopInstanceUid: string; seriesUid: string; attributes: DicomJson };
  /** 1-based frame of the source. */
  frame: number;
  findings: FindingResult[];
}

export interface ResultsSettings {
  segSeriesNumber: number;
  srSeriesNumber: number;
  segCompatibility: 'standard' | 'viewer-plane-geometry';
  deviceSerialNumber: string;
  institutionName?: string;
}

export interface DicomResultsInput {
  images: ResultImage[];
  /** A lesion's mask (FindingResult lesions[].mask) as one byte per source pixel, nonzero inside. */
  readMask(mask: string, width: number, height: number): Promise<Uint8Array>;
  /** The UID of each object and series: called with ('seg-series'), ('sr-series'), ('seg', sop, frame, model), ('sr'). */
  uid(...parts: string[]): string;
  contentDateTime: Date;
  settings: ResultsSettings;
  predecessor?: { studyUid: string; seriesUid: string; sopClassUid: string; sopInstanceUid: string };
  /** The report's narrative and what wrote it (the report stage's), carried in the SR's Qualitative Evaluations. */
  narrative?: { text: string; producedBy: string };
  /** Checked between images: an aborted signal throws Error('stopped'). */
  signal?: AbortSignal;
}

export interface DicomResultsOutcome {
  written: WrittenResult[];
  /** Models whose findings are not in the objects, and why (code references that do not resolve). */
  notReported: Record<string, string>;
}

export function resultsEquipment(settings: ResultsSettings) {
  return {
    manufacturer: 'OphGate', modelName: 'OphGate', softwareVersions: OPHGATE_VERSION,
    deviceSerialNumber: settings.deviceSerialNumber,
    ...(settings.institutionName ? { institutionName: settings.institutionName } : {}),
  };
}

/**
 * Builds the SEGs and the SR, handing each to `emit` as soon as it is built (in the order: each image's SEGs, then
 * the SR), so a caller that keeps them does not hold every SEG of a large study at once. No SR when no image has
 * findings that can be coded.
 */
export async function buildDicomResults(input: DicomResultsInput, emit: (o: ResultObject) => Promise<void>): Promise<DicomResultsOutcome> {
  const { settings, uid } = input;
  const equipment = resultsEquipment(settings);
  const segSeriesUid = uid('seg-series');
  const srSeriesUid = uid('sr-series');
  const written: WrittenResult[] = [];
  const images: SrImageInput[] = [];
  const skipped = new Map<string, string>();
  let segNumber = 0;

  for (const { source, frame, findings: all } of input.images) {
    if (input.signal?.aborted) throw new Error('stopped');
    const attrs = source.attributes;
    // A model whose labels point at codes OphGate cannot resolve (a site's model without its mapping) cannot be
    // reported in coded DICOM: its findings stay in the API, and the outcome says why they are not here.
    const findings: FindingResult[] = [];
    for (const f of all) {
      const missing = unresolvedCodes(f);
      if (missing.length === 0) findings.push(f);
      else skipped.set(f.model.name, `code references that do not resolve (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''})`);
    }
    if (findings.length === 0) continue;
    const image: SrImageInput = {
      source: { sopClassUid: source.sopClassUid, sopInstanceUid: source.sopInstanceUid, seriesUid: source.seriesUid, ...(isMultiFrame(attrs) ? { frame } : {}), laterality: laterality(findings), attributes: attrs },
      findings,
      pixelSpacingMm: pixelSpacing(attrs),
    };
    // One SEG per image and segmenting model; the SR points at the first (a second segmenter is unusual).
    for (const finding of findings) {
      const planned = plannedSegments(finding);
      if (planned.length === 0) continue;
      const segments = [];
      for (const p of planned) segments.push(p.describe(await input.readMask(p.mask, finding.image.width, finding.image.height)));
      segNumber++;
      const sopInstanceUid = uid('seg', source.sopInstanceUid, String(frame), finding.model.name);
      const bytes = buildSegmentation({
        source: attrs, sourceFrame: frame, segments,
        algorithm: { name: finding.model.name, version: finding.model.version, family: codedEntryOfRef('mappings/dicom-results.json#algorithm-family-ai') },
        seriesInstanceUid: segSeriesUid, sopInstanceUid, seriesNumber: settings.segSeriesNumber, instanceNumber: segNumber,
        seriesDescription: 'OphGate lesion segmentation (research use)', contentLabel: 'LESIONS',
        contentDateTime: input.contentDateTime, equipment, compatibility: settings.segCompatibility,
      });
      const seg: WrittenResult = { kind: 'SEG', sopInstanceUid, seriesUid: segSeriesUid, source: source.sopInstanceUid, frame, segments: planned.map((p) => p.key) };
      await emit({ ...seg, bytes });
      written.push(seg);
      if (!image.seg) {
        image.seg = { sopClassUid: SEGMENTATION_STORAGE, sopInstanceUid, seriesUid: segSeriesUid, segmentNumberOfKey: Object.fromEntries(planned.map((p, i) => [p.key, i + 1])) };
      }
    }
    images.push(image);
  }

  const notReported = Object.fromEntries(skipped);
  if (images.length === 0) return { written, notReported };
  const srUid = uid('sr');
  const bytes = buildMeasurementReport({
    source: images[0]!.source.attributes!,
    images, seriesInstanceUid: srSeriesUid, sopInstanceUid: srUid, seriesNumber: settings.srSeriesNumber, instanceNumber: 1,
    contentDateTime: input.contentDateTime, equipment, algorithmName: 'OphGate fundus pipeline',
    ...(input.predecessor ? { predecessor: input.predecessor } : {}),
    ...(input.narrative ? { narrative: input.narrative } : {}),
    completion: 'COMPLETE',
  });
  const sr: WrittenResult = { kind: 'SR', sopInstanceUid: srUid, seriesUid: srSeriesUid };
  await emit({ ...sr, bytes });
  written.push(sr);
  return { written, notReported };
}

/** The finding's code references that do not resolve in mappings/ (each named once). */
export function unresolvedCodes(f: FindingResult): string[] {
  const refs = [
    ...f.labels.map((l) => l.code), ...f.grades.flatMap((g) => [g.predicted.code, ...g.probabilities.map((p) => p.code)]),
    ...f.derived.map((d) => d.code), ...f.lesions.map((l) => l.code), ...f.measurements.flatMap((m) => (m.code ? [m.code] : [])),
  ];
  const bad = new Set<string>();
  for (const ref of new Set(refs)) {
    try { resolveCodeRef(ref); } catch (err) {
      if (err instanceof CodeRefError || err instanceof CodeMappingError) bad.add(ref); else throw err;
    }
  }
  return [...bad];
}

function laterality(findings: FindingResult[]): 'R' | 'L' | null {
  const l = findings.find((f) => f.laterality)?.laterality?.toUpperCase();
  return l === 'R' || l === 'L' ? l : null;
}

function isMultiFrame(attrs: DicomJson): boolean {
  return (firstNumber(attrs, '00280008') ?? 1) > 1;
}

/** Pixel Spacing (0028,0030), else Imager Pixel Spacing (0018,1164): [row, column] in mm, when both are positive. */
function pixelSpacing(attrs: DicomJson): [number, number] | null {
  for (const tag of ['00280030', '00181164']) {
    const v = attrs[tag]?.Value?.map(Number);
    if (v && v.length >= 2 && v[0]! > 0 && v[1]! > 0) return [v[0]!, v[1]!];
  }
  return null;
}
