// Stage 2: every decoded image frame goes through every loaded model (the fundus classifier and segmenter, or
// a site's own); what comes out is kept as findings: probabilities and decisions by the manifest's thresholds,
// lesion areas and connected components, the cup-to-disc ratio, with the model's name and version. Masks are
// written beside the decoded frames (PNG, 0/255, source size) for the SEG writer that follows.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { DicomJson } from '../../dicom/json-model.js';
import { firstString } from '../../dicom/json-model.js';
import type { ImageInference, OutputResult } from '../../inference/model-registry.js';
import type { NewFinding } from '../../store/rows.js';
import type { Stage, StageContext } from '../stage.js';
import type { DecodedImage } from './decode.js';
import { toFindingResult } from '../../inference/finding-result.js';

export const findingsStage: Stage = {
  name: 'findings',
  async run(ctx: StageContext) {
    const inference = ctx.services.inference;
    const decoded = (ctx.previous.decode?.images ?? []) as DecodedImage[];
    if (!inference || inference.models.length === 0) {
      ctx.logger.warn('no models are loaded (inference.modelsDir): the study gets no findings');
      return { models: [], images: [], note: 'no models loaded' };
    }
    const rows: NewFinding[] = [];
    const summary: Array<Record<string, unknown>> = [];
    const attributesOf = new Map(ctx.instances.map((i) => [i.sop_instance_uid, i.attributes as DicomJson]));
    const seriesAttributes = new Map(ctx.store.seriesOfStudy(ctx.study.study_uid).map((s) => [s.series_uid, s.attributes as DicomJson]));
    for (const image of decoded) {
      const attrs = attributesOf.get(image.sopInstanceUid) ?? {};
      // Image Laterality (0020,0062) is the image's own; Laterality (0020,0060) the series'.
      const laterality = firstString(attrs, '00200062') ?? firstString(seriesAttributes.get(image.seriesUid) ?? {}, '00200060') ?? null;
      for (const [i, frame] of image.frames.entries()) {
        if (ctx.signal.aborted) throw new Error('stopped');
        const file = path.join(ctx.store.dataDir, frame.file);
        const perModel: Array<Record<string, unknown>> = [];
        for (const model of inference.models) {
          // One image per call: a 12-megapixel photograph's six source-sized masks are ~70 MB.
          const [result] = await inference.run(model.name, [file]);
          const masks = await writeMasks(ctx, image.sopInstanceUid, i + 1, result!);
          const finding = toFindingResult(result!, masks, laterality);
          rows.push({
            series_uid: image.seriesUid, sop_instance_uid: image.sopInstanceUid, frame: i + 1,
            model_name: result!.model.name, model_version: result!.model.version, provider: result!.provider, result: finding,
          });
          perModel.push({ model: `${result!.model.name} ${result!.model.version}`, positive: finding.positive.map((p) => p.key), measurements: finding.measurements.map((m) => ({ [m.name]: m.value })) });
        }
        summary.push({ sopInstanceUid: image.sopInstanceUid, frame: i + 1, laterality, results: perModel });
        ctx.logger.debug({ sopInstanceUid: image.sopInstanceUid, frame: i + 1, models: inference.models.length }, 'findings made');
      }
    }
    if (!ctx.store.saveFindings(ctx.job.id, ctx.owner, rows)) throw new Error('lost the job lease before the findings were saved');
    return { models: inference.models.map((m) => ({ name: m.name, version: m.version, provider: m.provider })), images: summary };
  },
};

/** Writes each mask channel as a greyscale PNG (0 outside, 255 inside); returns the paths by output and channel key. */
async function writeMasks(ctx: StageContext, sop: string, frame: number, r: ImageInference): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  const masks = Object.values(r.outputs).filter((o): o is Extract<OutputResult, { kind: 'masks' }> => o.kind === 'masks');
  if (masks.length === 0) return files;
  const dir = path.join(ctx.derivedDir, 'masks', sop, `frame-${frame}`, r.model.name);
  await mkdir(dir, { recursive: true });
  for (const o of masks) {
    for (const c of o.channels) {
      const file = path.join(dir, `${o.name}-${c.key}.png`);
      // 0/1 to 0/255 in sharp's thread pool, not a 12-megapixel loop on the event loop.
      const bits = Buffer.from(c.mask.buffer, c.mask.byteOffset, c.mask.byteLength);
      await sharp(bits, { raw: { width: o.width, height: o.height, channels: 1 } }).linear(255, 0).png({ compressionLevel: 6 }).toFile(file);
      files[`${o.name}/${c.key}`] = path.relative(ctx.store.dataDir, file);
    }
  }
  return files;
}
