// Stage 4: the findings become DICOM objects a PACS and a viewer understand (IHE AI Results): per source image a
// Segmentation with the lesions the segmenter found (src/dicom/seg/), and per study one Comprehensive SR with
// TID 1500 that carries every finding and measurement and points at the images and segments (src/dicom/sr/).
//
// The objects are kept as derived instances of the source study (served by QIDO-RS and WADO-RS; they never
// re-open the study) for the export stage to send. Their UIDs and bytes are a function of the job and its
// findings (deriveUid, content time = when the findings were made): a retried stage writes the very same objects,
// so whatever a destination already received is never sent again under a new UID.
//
// The objects are built by src/report/dicom-results.ts, which `npm run eval` also uses to check every SEG and SR
// against dciodvfy; this stage adds what is the store's: the stored findings, the UIDs, the predecessor, keeping.
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { readInstanceHeader } from '../../dicom/part10-header.js';
import type { DicomJson } from '../../dicom/json-model.js';
import { deriveUid } from '../../dicom/uid.js';
import type { FindingResult } from '../../inference/finding-result.js';
import { parseStoredFinding, StoredFindingError } from '../../report/study-input.js';
import { newInstanceOf } from '../../ingest/accept-instance.js';
import { buildDicomResults, type ResultImage, type WrittenResult } from '../../report/dicom-results.js';
import type { FindingRow, ResultRow } from '../../store/rows.js';
import type { Stage, StageContext } from '../stage.js';
import { PermanentStageError } from '../stage.js';

export type { WrittenResult };

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
    const sources = new Map(ctx.instances.map((i) => [i.sop_instance_uid, i]));
    const images: ResultImage[] = byImageFrame(rows).map((group) => {
      const first = group[0]!;
      const source = sources.get(first.sop_instance_uid);
      if (!source) throw new PermanentStageError(`findings name instance ${first.sop_instance_uid}, which is not a received instance of the study`);
      return {
        source: { sopClassUid: source.sop_class_uid, sopInstanceUid: source.sop_instance_uid, seriesUid: source.series_uid, attributes: source.attributes as DicomJson },
        frame: first.frame, findings: group.map((r) => parseFinding(r)),
      };
    });
    const predecessor = ctx.store.previousReport(ctx.study.study_uid, ctx.job.id);
    const { written, notReported } = await buildDicomResults({
      images, uid, settings: settings.results, signal: ctx.signal,
      contentDateTime: new Date(Math.max(...rows.map((r) => r.created_at))),
      readMask: (mask, width, height) => readMask(path.join(ctx.store.dataDir, mask), width, height),
      ...(predecessor ? { predecessor: predecessorOf(predecessor) } : {}),
      ...narrativeOf(ctx),
    }, (o) => keep(ctx, o.bytes, o.kind === 'SEG' ? { kind: 'SEG', sourceSopInstanceUid: o.source!, sourceFrame: o.frame! } : { kind: 'SR' }));

    const skipped = Object.keys(notReported).length > 0;
    if (skipped) ctx.logger.warn({ models: notReported }, 'findings of some models are not written as DICOM results');
    const sr = written.find((w) => w.kind === 'SR');
    if (!sr) return { written, notReported, note: 'no model\'s findings can be coded: no SEG or SR written' };
    ctx.logger.info({ seg: written.filter((w) => w.kind === 'SEG').length, sr: sr.sopInstanceUid }, 'results written');
    return { written, ...(skipped ? { notReported } : {}), ...(predecessor ? { predecessor: predecessor.sop_instance_uid } : {}) };
  },
};

/** The narrative the report stage wrote (it runs first), for the SR; none when it wrote no report. */
function narrativeOf(ctx: StageContext): { narrative?: { text: string; producedBy: string } } {
  const n = (ctx.previous.report as { narrative?: { text?: unknown; producedBy?: unknown } } | undefined)?.narrative;
  return typeof n?.text === 'string' && n.text.trim() && typeof n.producedBy === 'string' ? { narrative: { text: n.text, producedBy: n.producedBy } } : {};
}

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
  try {
    return parseStoredFinding(r);
  } catch (err) {
    if (err instanceof StoredFindingError) throw new PermanentStageError(err.message);
    throw err;
  }
}

/**
 * A mask PNG (0 / 255, source size, as the findings stage wrote it) as one byte per pixel. The SEG writer takes
 * nonzero as inside, so the bytes go as decoded: no per-pixel pass over a 12-megapixel mask on the event loop.
 */
async function readMask(file: string, width: number, height: number): Promise<Uint8Array> {
  const { data, info } = await sharp(file).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  if (info.width !== width || info.height !== height) throw new PermanentStageError(`mask ${path.basename(file)} is ${info.width}x${info.height}, the image ${width}x${height}`);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
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
