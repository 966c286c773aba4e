// Hostile and broken files (../shared/interop/malformed): each one either decodes to correctly sized RGB or is
// rejected with a PixelDecodeError whose message names the problem. Nothing else may escape (no raw WASM errors,
// no strings thrown by the parser, no crash, no hang, no giant allocation). Where pydicom can decode a file, the
// result must match it like the real-file tests do.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeFile, PixelDecodeError } from '../../src/dicom/pixels/index.js';
import { diff, INTEROP_ABSENT_MESSAGE, INTEROP_PRESENT, listFiles, pydicomAvailable, pydicomReference, tempDir, type Reference } from './helpers.js';

/** Expected outcome for files whose behaviour is known: an error message pattern, or 'decodes'. */
const EXPECTED: Record<string, RegExp | 'decodes'> = {
  'dcm4che__3gb-bulk-data-truncated': /DICOM file truncated/,
  'orthanc-tests__2026-05-26-oob-monochrome-65535.dcm': /65535x65535 frames exceed the \d+-pixel limit/,
  'orthanc-tests__Issue22-NoPixelData.dcm': /^no Pixel Data \(7FE0,0010\)$/,
  'orthanc-tests__Issue56-NoPixelData.dcm': /^no Pixel Data \(7FE0,0010\)$/,
  'pydicom__MR_truncated.dcm': /DICOM file truncated/,
  'pydicom__zipMR.gz': /not a DICOM file: gzip/,
  'fo-dicom__GH340.dcm': /Bits Allocated 12 not supported/,
  'pydicom__badVR.dcm': /Bits Allocated 32 not supported/,
  'pylibjpeg-data__966.dcm': /^frame 1: JPEG 2000 codestream truncated/,
  // Its SIZ marker was overwritten with the bytes of a Sequence Delimiter: the codestream claims 3.7e9 columns.
  'pydicom__JPEG2000-embedded-sequence-delimiter.dcm': /^frame 1: 1024x3722445056 frame exceeds/,
  // Ten complete J2K fragments, only the Sequence Delimitation Item is missing at the end of the file.
  'pydicom-data__emri_small_jpeg_2k_lossless_too_short.dcm': 'decodes',
  'pydicom__GDCMJ2K_TextGBR.dcm': 'decodes',
  'pylibjpeg-data__TOSHIBA_J2K_SIZ0_PixRep1.dcm': 'decodes',
  'pylibjpeg-data__NM_Kakadu44_SOTmarkerincons.dcm': 'decodes',
  'pylibjpeg-data__RG2_JPLY.dcm': 'decodes',
  'pydicom-data__OT-PAL-8-face.dcm': 'decodes',
  'fo-dicom__CR-MONO1-10-chest': 'decodes',
  'dcmjs__sample-op.lei': 'decodes',
};

if (!INTEROP_PRESENT) {
  describe('pixel decoder on malformed files', () => {
    it.skip(INTEROP_ABSENT_MESSAGE, () => {});
  });
  console.warn(INTEROP_ABSENT_MESSAGE);
} else {
  describe('pixel decoder on malformed files', () => {
    const files = listFiles('malformed');
    let refs = new Map<string, Reference>();
    let workDir = '';
    const outcomes: string[] = [];

    beforeAll(() => {
      if (!pydicomAvailable()) return;
      workDir = tempDir('ophgate-pixref-');
      refs = pydicomReference(files, workDir);
    }, 600_000);

    afterAll(() => {
      if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
      console.log(`malformed corpus outcomes:\n${outcomes.join('\n')}`);
    });

    for (const file of files) {
      const name = path.basename(file);
      it(`${name}: decodes or fails with a PixelDecodeError`, async () => {
        const started = Date.now();
        let result: Awaited<ReturnType<typeof decodeFile>> | undefined;
        let error: unknown;
        try {
          result = await decodeFile(fs.readFileSync(file));
        } catch (err) {
          error = err;
        }
        const ms = Date.now() - started;
        if (error !== undefined) {
          expect(error).toBeInstanceOf(PixelDecodeError);
          const e = error as PixelDecodeError;
          outcomes.push(`  ${name}: PixelDecodeError [${e.reason}] ${e.message} (${ms} ms)`);
          expect(e.message.length).toBeGreaterThan(10);
          const expected = EXPECTED[name];
          if (expected === 'decodes') throw new Error(`expected to decode, got: ${e.message}`);
          if (expected) expect(e.message).toMatch(expected);
          return;
        }
        const frames = result ?? [];
        for (const f of frames) expect(f.rgb.length).toBe(f.rows * f.columns * 3);
        const expected = EXPECTED[name];
        if (expected instanceof RegExp) throw new Error(`expected a PixelDecodeError matching ${expected}, but it decoded`);
        const ref = refs.get(file);
        let note = 'no pydicom reference';
        if (ref?.status === 'ok' && ref.rgbPath) {
          const d = diff(Buffer.concat(frames.map((f) => f.rgb)), fs.readFileSync(ref.rgbPath));
          note = `max ${d.max} vs pydicom [${ref.photometric}]`;
          expect(d.max).toBeLessThanOrEqual(/^YBR_(FULL|PARTIAL)/.test(ref.photometric ?? '') ? 1 : 0);
        }
        outcomes.push(`  ${name}: decoded ${frames.length} frame(s) ${frames[0]?.rows}x${frames[0]?.columns} ${frames[0]?.codestream}; ${note} (${ms} ms)`);
      });
    }

    it('emri_small_jpeg_2k_lossless_too_short: all ten frames come out', async () => {
      const frames = await decodeFile(fs.readFileSync(files.find((f) => f.endsWith('emri_small_jpeg_2k_lossless_too_short.dcm')) as string));
      expect(frames).toHaveLength(10);
      expect(frames.every((f) => f.rows === 64 && f.columns === 64)).toBe(true);
    });
  });
}
