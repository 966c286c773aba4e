// The project's Ophthalmic Photography fixtures (fixtures/manifest.json) decode to the IDRiD source pixels:
// lossless encodings (RGB planar 0/1, JPEG 2000 lossless YBR_RCT) exactly, YBR_FULL within 1 (the generator's
// rounding), and the JPEG baseline files (the IDRiD JPEG encapsulated unchanged, 4:2:0) equal to sharp's decode of
// the same JPEG within a small tolerance. The source is sharp's decode of the IDRiD JPEG named in the manifest.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeFile, PixelDecodeError } from '../../src/dicom/pixels/index.js';
import { diff, REPO_ROOT } from './helpers.js';

interface ManifestEntry {
  path: string;
  valid: boolean;
  encoding: string | null;
  lossless: boolean;
  rows: number;
  columns: number;
  pixelSha256: string | null;
  rgbMaxAbsError: number | null;
  source?: { path: string; rgbSha256?: string } | null;
}

const FIXTURES = path.join(REPO_ROOT, 'fixtures');
const MANIFEST = path.join(FIXTURES, 'manifest.json');
const manifest = fs.existsSync(MANIFEST) ? (JSON.parse(fs.readFileSync(MANIFEST, 'utf8')) as { idridRoot: string; files: ManifestEntry[] }) : undefined;
const IDRID = manifest ? path.resolve(REPO_ROOT, manifest.idridRoot) : '';

/** Allowed difference to the source: 0 for lossless, the generator's stated error for YBR_FULL, and for the JPEG
 * files (where source = sharp decoding the very same JPEG) a small allowance for IDCT/upsampling differences between
 * libjpeg builds. Measured: 0 for every JPEG fixture. */
function tolerance(f: ManifestEntry): number {
  if (f.encoding === 'jpeg-baseline') return 2;
  if (f.lossless) return 0;
  return f.rgbMaxAbsError ?? 1;
}

const figures: string[] = [];

describe('pixel decoder on the OphGate fixtures', () => {
  if (!manifest) {
    it.skip(`fixtures/manifest.json absent at ${MANIFEST}`, () => {});
    return;
  }
  afterAll(() => {
    if (figures.length) console.log(`fixtures vs IDRiD source (sharp decode):\n${figures.join('\n')}`);
  });

  const photographs = manifest.files.filter((f) => f.valid && f.source?.path);
  for (const f of photographs) {
    const sourcePath = path.join(IDRID, f.source?.path ?? '');
    const present = fs.existsSync(sourcePath);
    it.skipIf(!present)(`${f.path} (${f.encoding}) decodes to the IDRiD source pixels${present ? '' : ` [skipped: ${sourcePath} absent]`}`, async () => {
      const frames = await decodeFile(fs.readFileSync(path.join(FIXTURES, f.path)));
      expect(frames).toHaveLength(1);
      const [frame] = frames;
      if (!frame) throw new Error('no frame');
      expect([frame.rows, frame.columns]).toEqual([f.rows, f.columns]);
      const { data, info } = await sharp(sourcePath).raw().toBuffer({ resolveWithObject: true });
      expect([info.height, info.width, info.channels]).toEqual([f.rows, f.columns, 3]);
      const d = diff(frame.rgb, data);
      figures.push(`  ${f.path}: max ${d.max}, ${d.differing} samples differ (tolerance ${tolerance(f)}) [${frame.codestream}]`);
      expect(d.max).toBeLessThanOrEqual(tolerance(f));
      // The manifest's hash of the source's decoded interleaved RGB (pixelSha256 is of the stored bytes, which
      // differ for planar data).
      if (f.lossless && f.source?.rgbSha256) {
        expect(crypto.createHash('sha256').update(frame.rgb).digest('hex')).toBe(f.source.rgbSha256);
      }
      if (f.encoding === 'jpeg-baseline') expect(frame.codestream).toBe('jpeg-baseline');
    });
  }

  it('the malformed fixtures fail with a PixelDecodeError or decode, nothing else', async () => {
    for (const f of manifest.files.filter((x) => !x.valid)) {
      try {
        const frames = await decodeFile(fs.readFileSync(path.join(FIXTURES, f.path)));
        for (const fr of frames) expect(fr.rgb.length).toBe(fr.rows * fr.columns * 3);
        figures.push(`  ${f.path}: decoded (its defect is not in the pixels)`);
      } catch (err) {
        expect(err).toBeInstanceOf(PixelDecodeError);
        figures.push(`  ${f.path}: PixelDecodeError ${(err as Error).message}`);
      }
    }
    const truncated = path.join(FIXTURES, 'malformed/truncated-pixel-data.dcm');
    if (fs.existsSync(truncated)) await expect(decodeFile(fs.readFileSync(truncated))).rejects.toThrow(/^frame 1: JPEG codestream truncated/);
  });
});
