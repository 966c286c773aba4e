// Stage 1: decode every image of the study to 8-bit RGB and keep it as lossless PNG for the stages after
// (inference reads these, never the DICOM codecs). An image that cannot be decoded fails the job for good,
// with the decoder's reason.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { PixelDecodeError } from '../../dicom/pixels/index.js';
import { PermanentStageError, type Stage, type StageContext } from '../stage.js';

export interface DecodedImage {
  sopInstanceUid: string;
  seriesUid: string;
  frames: Array<{ file: string; rows: number; columns: number }>;
  sourcePhotometric: string;
  sourceTransferSyntax: string;
  codestream?: string;
}

function isImage(attributes: Record<string, unknown>): boolean {
  return '00280010' in attributes && '00280011' in attributes; // Rows and Columns: the Image Pixel module
}

export const decodeStage: Stage = {
  name: 'decode',
  async run(ctx: StageContext) {
    const images: DecodedImage[] = [];
    const skipped: Array<{ sopInstanceUid: string; reason: string }> = [];
    for (const inst of ctx.instances) {
      if (!isImage(inst.attributes)) {
        skipped.push({ sopInstanceUid: inst.sop_instance_uid, reason: 'not an image (no Image Pixel module)' });
        continue;
      }
      let frames;
      try {
        frames = await ctx.services.decode(ctx.store.blobPath(inst));
      } catch (err) {
        const reason = err instanceof PixelDecodeError ? err.message : `decoder failed: ${(err as Error).message}`;
        throw new PermanentStageError(`instance ${inst.sop_instance_uid} cannot be decoded: ${reason}`);
      }
      const dir = path.join(ctx.derivedDir, 'decoded', inst.sop_instance_uid);
      await mkdir(dir, { recursive: true });
      const out: DecodedImage = {
        sopInstanceUid: inst.sop_instance_uid, seriesUid: inst.series_uid, frames: [],
        sourcePhotometric: frames[0]?.sourcePhotometric ?? '', sourceTransferSyntax: inst.transfer_syntax_uid, codestream: frames[0]?.codestream,
      };
      for (const [i, f] of frames.entries()) {
        const file = path.join(dir, `frame-${i + 1}.png`);
        await sharp(f.rgb, { raw: { width: f.columns, height: f.rows, channels: 3 } }).png({ compressionLevel: 3 }).toFile(file);
        out.frames.push({ file: path.relative(ctx.store.dataDir, file), rows: f.rows, columns: f.columns });
      }
      images.push(out);
      ctx.logger.debug({ sopInstanceUid: inst.sop_instance_uid, frames: frames.length }, 'image decoded');
    }
    if (images.length === 0) throw new PermanentStageError(`study has no decodable image (${skipped.length} non-image instances)`);
    return { images, skipped };
  },
};
