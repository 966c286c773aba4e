// Stage 3: the findings become DICOM objects a PACS and a viewer understand (IHE AI Results): per source image a
// Segmentation with the lesions the segmenter found (src/dicom/seg/), and per study one Comprehensive SR with
// TID 1500 that carries every finding and measurement and points at the images and segments (src/dicom/sr/).
//
// The objects are kept as derived instances of the source study (served by QIDO-RS and WADO-RS; they never
// re-open the study) for the export stage to send. Their UIDs and bytes are a function of the job and its
// findings (deriveUid, content time = when the findings were made): a retried stage writes the very same objects,
// so whatever a destination already received is never sent again under a new UID.
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { readInstanceHeader } from '../../dicom/part10-header.js';
import { firstNumber, type DicomJson } from '../../dicom/json-model.js';
import { deriveUid } from '../../dicom/uid.js';
import { codedEntryOfRef } from '../../dicom/common/coded-entry.js';
import { buildSegmentation } from '../../dicom/seg/segmentation.js';
import { buildMeasurementReport, type SrImageInput } from '../../dicom/sr/measurement-report.js';
import { findingResultSchema, type FindingResult } from '../../inference/finding-result.js';
import { newInstanceOf } from '../../ingest/accept-instance.js';
import { plannedSegments } from '../../report/segments-of-findings.js';
import { CodeMappingError, CodeRefError, resolveCodeRef } from '../../report/codes.js';
import type { FindingRow, InstanceRow, ResultRow } from '../../store/rows.js';
import type { Stage, StageContext } from '../stage.js';
import { PermanentStageError } from '../stage.js';
import { OPHGATE_VERSION } from '../../version.js';

export const SEGMENTATION_STORAGE = '1.2.840.10008.5.1.4.1.1.66.4';

export interface WrittenResult { kind: 'SEG' | 'SR'; sopInstanceUid: string; seriesUid: string; source?: string; frame?: number; segments?: string[] }

export const resultsStage: Stage = {
  name: 'results',
  async run(ctx: StageContext) {
    const settings = ctx.services.config;
    if (!settings.results.enabled) return { written: [], note: 'results.enabled is false: no SEG or SR written' };
    const rows = ctx.store.findingsOfJob(ctx.job.id);
    if (rows.length === 0) return { written: [], note: 'no findings: nothing to write' };

    // Everything the objects say comes from these rows; their digest makes the UIDs (see the header comment).
    const digest = createHash('sha256').update(JSON.stringify(rows.map((r) => [r.sop_instance_uid, r.frame, r.model_name, r.model_version, r.result]))).digest('hex');
    const uid = (...parts: string[]) => deriveUid(settings.dicom.uidRoot, 'ophgate-result', ctx.study.study_uid, String(ctx.job.id), digest, ...parts);
    const contentDateTime = new Date(Math.max(...rows.map((r) => r.created_at)));
    const equipment = {
      manufacturer: 'OphGate', modelName: 'OphGate', softwareVersions: OPHGATE_VERSION,
      deviceSerialNumber: settings.results.deviceSerialNumber,
      ...(settings.results.institutionName ? { institutionName: settings.results.institutionName } : {}),
    };
    const sources = new Map(ctx.instances.map((i) => [i.sop_instance_uid, i]));
    const segSeriesUid = uid('seg-series');
    const srSeriesUid = uid('sr-series');
    const written: WrittenResult[] = [];
    const images: SrImageInput[] = [];
    const skipped = new Map<string, string>();
    let segNumber = 0;

    for (const group of byImageFrame(rows)) {
      if (ctx.signal.aborted) throw new Error('stopped');
      const first = group[0]!;
      const source = sources.get(first.sop_instance_uid);
      if (!source) throw new PermanentStageError(`findings name instance ${first.sop_instance_uid}, which is not a received instance of the study`);
      const attrs = source.attributes as DicomJson;
      // A model whose labels point at codes OphGate cannot resolve (a site's model without its mapping) cannot be
      // reported in coded DICOM: its findings stay in the API, and the stage result says why they are not here.
      const findings: FindingResult[] = [];
      for (const f of group.map((r) => parseFinding(r))) {
        const missing = unresolvedCodes(f);
        if (missing.length === 0) findings.push(f);
        else skipped.set(f.model.name, `code references that do not resolve (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''})`);
      }
      if (findings.length === 0) continue;
      const image: SrImageInput = {
        source: { sopClassUid: source.sop_class_uid, sopInstanceUid: source.sop_instance_uid, seriesUid: source.series_uid, ...(isMultiFrame(attrs) ? { frame: first.frame } : {}), laterality: laterality(findings), attributes: attrs },
        findings,
        pixelSpacingMm: pixelSpacing(attrs),
      };
      // One SEG per image and segmenting model; the SR points at the first (a second segmenter is unusual).
      for (const finding of findings) {
        const planned = plannedSegments(finding);
        if (planned.length === 0) continue;
        const segments = [];
        for (const p of planned) segments.push(p.describe(await readMask(path.join(ctx.store.dataDir, p.mask), finding.image.width, finding.image.height)));
        segNumber++;
        const sopInstanceUid = uid('seg', source.sop_instance_uid, String(first.frame), finding.model.name);
        const bytes = buildSegmentation({
          source: attrs, sourceFrame: first.frame, segments,
          algorithm: { name: finding.model.name, version: finding.model.version, family: codedEntryOfRef('mappings/dicom-results.json#algorithm-family-ai') },
          seriesInstanceUid: segSeriesUid, sopInstanceUid, seriesNumber: settings.results.segSeriesNumber, instanceNumber: segNumber,
          seriesDescription: 'OphGate lesion segmentation (research use)', contentLabel: 'LESIONS',
          contentDateTime, equipment, compatibility: settings.results.segCompatibility,
        });
        await keep(ctx, bytes, { kind: 'SEG', sourceSopInstanceUid: source.sop_instance_uid, sourceFrame: first.frame });
        written.push({ kind: 'SEG', sopInstanceUid, seriesUid: segSeriesUid, source: source.sop_instance_uid, frame: first.frame, segments: planned.map((p) => p.key) });
        if (!image.seg) {
          image.seg = { sopClassUid: SEGMENTATION_STORAGE, sopInstanceUid, seriesUid: segSeriesUid, segmentNumberOfKey: Object.fromEntries(planned.map((p, i) => [p.key, i + 1])) };
        }
      }
      images.push(image);
    }

    const notReported = Object.fromEntries(skipped);
    if (skipped.size > 0) ctx.logger.warn({ models: notReported }, 'findings of some models are not written as DICOM results');
    if (images.length === 0) return { written, notReported, note: 'no model\'s findings can be coded: no SEG or SR written' };
    const predecessor = ctx.store.previousReport(ctx.study.study_uid, ctx.job.id);
    const srUid = uid('sr');
    const sr = buildMeasurementReport({
      source: (sources.get(images[0]!.source.sopInstanceUid) as InstanceRow).attributes as DicomJson,
      images, seriesInstanceUid: srSeriesUid, sopInstanceUid: srUid, seriesNumber: settings.results.srSeriesNumber, instanceNumber: 1,
      contentDateTime, equipment, algorithmName: 'OphGate fundus pipeline',
      ...(predecessor ? { predecessor: predecessorOf(predecessor) } : {}),
      completion: 'COMPLETE',
    });
    await keep(ctx, sr, { kind: 'SR' });
    written.push({ kind: 'SR', sopInstanceUid: srUid, seriesUid: srSeriesUid });
    ctx.logger.info({ seg: written.filter((w) => w.kind === 'SEG').length, sr: srUid }, 'results written');
    return { written, ...(skipped.size > 0 ? { notReported } : {}), ...(predecessor ? { predecessor: predecessor.sop_instance_uid } : {}) };
  },
};

function predecessorOf(r: ResultRow) {
  return { studyUid: r.study_uid, seriesUid: r.series_uid, sopClassUid: r.sop_class_uid, sopInstanceUid: r.sop_instance_uid };
}

/** Rows grouped by (instance, frame), in the store's order. */
function byImageFrame(rows: FindingRow[]): FindingRow[][] {
  const groups = new Map<string, FindingRow[]>();
  for (const r of rows) {
    const k = `${r.sop_instance_uid}|${r.frame}`;
    const g = groups.get(k);
    if (g) g.push(r); else groups.set(k, [r]);
  }
  return [...groups.values()];
}

function parseFinding(r: FindingRow): FindingResult {
  const parsed = findingResultSchema.safeParse(r.result);
  if (!parsed.success) throw new PermanentStageError(`stored finding of ${r.sop_instance_uid} frame ${r.frame} (${r.model_name}) is not valid: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/** The finding's code references that do not resolve in mappings/ (each named once). */
function unresolvedCodes(f: FindingResult): string[] {
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

/** A mask PNG (0 / 255, source size) as one byte per pixel, 0 / 1. */
async function readMask(file: string, width: number, height: number): Promise<Uint8Array> {
  const { data, info } = await sharp(file).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  if (info.width !== width || info.height !== height) throw new PermanentStageError(`mask ${path.basename(file)} is ${info.width}x${info.height}, the image ${width}x${height}`);
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i]! >= 128 ? 1 : 0;
  return out;
}

/** Writes the object, reads its header back as any received file's, and keeps it as a derived instance. */
async function keep(ctx: StageContext, bytes: Buffer, result: { kind: 'SEG' | 'SR'; sourceSopInstanceUid?: string; sourceFrame?: number }): Promise<void> {
  const tmp = ctx.store.blobs.newTmpPath('.dcm');
  await writeFile(tmp, bytes);
  const file = { path: tmp, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  const header = await readInstanceHeader(tmp, bytes.length);
  const outcome = await ctx.store.recordDerivedInstance(file, newInstanceOf(header, { protocol: 'pipeline' }), { jobId: ctx.job.id, owner: ctx.owner, ...result });
  if (outcome === 'lost-lease') throw new Error('lost the job lease before the results were kept');
}
