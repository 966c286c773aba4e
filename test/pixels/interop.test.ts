// The pixel decoder against real third-party files (../shared/interop): every file in transfer-syntax/, color/,
// ophthalmic-vl/ and multiframe/ decodes to the right size (or, where there is genuinely nothing to decode, fails
// with a clear PixelDecodeError), and matches pydicom where pydicom can decode it here (numpy, RLE and Pillow
// handlers). For syntaxes pydicom cannot decode without extra plugins (JPEG lossless, JPEG-LS, 12-bit JPEG), the
// file is first decompressed with DCMTK (dcmdjpeg / dcmdjpls) when installed, then mapped by the same script.
import fs from 'node:fs';
import path from 'node:path';
import dicomParser from 'dicom-parser';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDataset } from '../../src/dicom/pixels/dataset.js';
import { decodeFile, PixelDecodeError, type DecodedFrame } from '../../src/dicom/pixels/index.js';
import {
  dcmtkDecompress,
  diff,
  INTEROP,
  INTEROP_ABSENT_MESSAGE,
  INTEROP_PRESENT,
  listFiles,
  pydicomAvailable,
  pydicomReference,
  tempDir,
  type Reference,
} from './helpers.js';

const GROUPS = ['real-dicom/transfer-syntax', 'real-dicom/color', 'real-dicom/ophthalmic-vl', 'real-dicom/multiframe'];

/** Files with nothing to decode, and the message they must fail with. */
const NOT_DECODABLE: Record<string, RegExp> = {
  dicomParser__report_dfl: /no Pixel Data \(7FE0,0010\)/, // a deflated Enhanced SR: no image at all
};

/** pydicom 2.3 reads 8-bit OW Pixel Data in Big Endian files without undoing the 16-bit word swap; compare these
 * with their little-endian twin instead. */
const PYDICOM_WRONG: Record<string, string> = {
  'pydicom__SC_rgb_small_odd_big_endian.dcm': 'real-dicom/color/pydicom__SC_rgb_small_odd.dcm',
};

/** Pairs that hold the same picture in different encodings: [a, b, max allowed difference]. */
const SAME_IMAGE: [string, string, number][] = [
  ['color/pydicom-data__JLSL_RGB_ILV0.dcm', 'color/pydicom-data__JLSL_RGB_ILV2.dcm', 0], // JPEG-LS planes vs sample-interleaved
  ['color/pydicom-data__JLSN_RGB_ILV0.dcm', 'color/pydicom-data__JLSL_RGB_ILV0.dcm', 3], // near-lossless NEAR=3
  ['color/pydicom__SC_rgb_jpeg_gdcm.dcm', 'color/pydicom-data__SC_rgb.dcm', 0], // JPEG lossless RGB
  ['color/pydicom__SC_rgb_jls_lossy_sample.dcm', 'color/pydicom-data__SC_rgb.dcm', 2], // JPEG-LS near-lossless
  ['color/pydicom__SC_rgb_gdcm_KY.dcm', 'color/pydicom-data__SC_rgb.dcm', 0],
  ['color/pydicom__SC_rgb_rle_16bit.dcm', 'color/pydicom-data__SC_rgb.dcm', 0], // 16-bit RLE scaled to 8 bits
  ['color/pydicom__SC_rgb_rle_2frame.dcm', 'color/pydicom-data__SC_rgb_2frame.dcm', 0],
  ['transfer-syntax/orthanc-tests__1.2.840.10008.1.2.4.80.dcm', 'transfer-syntax/orthanc-tests__1.2.840.10008.1.2.5.dcm', 0], // WG04 NM1 JPEG-LS vs RLE
  ['color/dcm4che__US-RGB-8-esopecho', 'transfer-syntax/orthanc-tests__1.2.840.10008.1.2.1.dcm', 0],
];

/** Largest difference accepted against the reference: a YCbCr->RGB step (float in numpy vs fixed point here)
 * may round differently by one; everything else must be exact. */
function tolerance(ref: Reference): number {
  return /^YBR_(FULL|PARTIAL)/.test(ref.photometric ?? '') ? 1 : 0;
}

function concatRgb(frames: DecodedFrame[]): Buffer {
  return Buffer.concat(frames.map((f) => f.rgb));
}

function transferSyntaxOf(file: string): string {
  try {
    return parseDataset(fs.readFileSync(file)).transferSyntax;
  } catch {
    return '';
  }
}

if (!INTEROP_PRESENT) {
  describe('pixel decoder on the interop corpus', () => {
    it.skip(INTEROP_ABSENT_MESSAGE, () => {});
  });
  console.warn(INTEROP_ABSENT_MESSAGE);
} else {
  describe('pixel decoder on the interop corpus', () => {
    const files = GROUPS.flatMap(listFiles);
    const refs = new Map<string, Reference & { via: string }>();
    const figures: string[] = [];
    let workDir = '';
    let havePydicom = false;

    beforeAll(() => {
      havePydicom = pydicomAvailable();
      if (!havePydicom) {
        console.warn('pydicom (/usr/bin/python3) not available: reference comparisons skipped');
        return;
      }
      workDir = tempDir('ophgate-pixref-');
      for (const [file, rec] of pydicomReference(files, workDir)) refs.set(file, { ...rec, via: 'pydicom' });
      // Second chance through DCMTK for what pydicom cannot decode here.
      const dcmtkDir = path.join(workDir, 'dcmtk');
      fs.mkdirSync(dcmtkDir);
      const map = new Map<string, string>();
      for (const [file, rec] of refs) {
        if (rec.status === 'ok' || PYDICOM_WRONG[path.basename(file)]) continue;
        const out = dcmtkDecompress(file, transferSyntaxOf(file), dcmtkDir);
        if (out) map.set(out, file);
      }
      for (const [out, rec] of pydicomReference([...map.keys()], dcmtkDir)) {
        const original = map.get(out) as string;
        if (rec.status === 'ok') refs.set(original, { ...rec, file: original, via: 'DCMTK+pydicom' });
      }
    }, 600_000);

    afterAll(() => {
      if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
      if (figures.length) console.log(`pixel decoder vs reference (max abs difference per file):\n${figures.join('\n')}`);
    });

    for (const file of files) {
      const name = path.basename(file);
      const expectedFailure = NOT_DECODABLE[name];
      it(`${name}: ${expectedFailure ? 'fails with a clear PixelDecodeError' : 'decodes to 8-bit RGB of the right size'}`, async () => {
        const bytes = fs.readFileSync(file);
        if (expectedFailure) {
          const err = await decodeFile(bytes).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(err).toBeInstanceOf(PixelDecodeError);
          expect((err as Error).message).toMatch(expectedFailure);
          return;
        }
        const frames = await decodeFile(bytes);
        expect(frames.length).toBeGreaterThan(0);
        for (const f of frames) {
          expect(f.rgb.length).toBe(f.rows * f.columns * 3);
          expect(f.sourceTransferSyntax).toMatch(/^1\.2\.840\.10008\.1\.2/);
        }
        // Not a blank decode: some variation across the first frame.
        const first = frames[0] as DecodedFrame;
        expect(first.rgb.some((v) => v !== first.rgb[0])).toBe(true);

        const twin = PYDICOM_WRONG[name];
        if (twin) {
          const other = concatRgb(await decodeFile(fs.readFileSync(path.join(INTEROP, twin))));
          const d = diff(concatRgb(frames), other);
          figures.push(`  ${name}: ${d.max} vs its little-endian twin (pydicom mis-reads 8-bit OW big endian)`);
          expect(d.max).toBe(0);
          return;
        }
        const ref = refs.get(file);
        if (!havePydicom || !ref || ref.status !== 'ok' || !ref.rgbPath) {
          figures.push(`  ${name}: no reference (${ref?.detail?.slice(0, 70) ?? 'pydicom unavailable'})`);
          return;
        }
        expect(frames.length).toBe(ref.frames);
        expect(first.rows).toBe(ref.rows);
        expect(first.columns).toBe(ref.columns);
        const d = diff(concatRgb(frames), fs.readFileSync(ref.rgbPath));
        const tol = tolerance(ref);
        figures.push(`  ${name}: max ${d.max} (${d.differing} samples differ) vs ${ref.via} [${ref.photometric}, ${first.codestream}], tolerance ${tol}`);
        expect(d.max).toBeLessThanOrEqual(tol);
      });
    }

    it('decodes the Heidelberg OP object by its codestream (baseline JPEG) although its transfer syntax says JPEG Lossless', async () => {
      const file = path.join(INTEROP, 'real-dicom/ophthalmic-vl/dcmjs__sample-op.dcm');
      const bytes = fs.readFileSync(file);
      const [frame, ...rest] = await decodeFile(bytes);
      expect(rest).toHaveLength(0);
      expect(frame?.sourceTransferSyntax).toBe('1.2.840.10008.1.2.4.70');
      expect(frame?.codestream).toBe('jpeg-baseline');
      expect(frame?.warnings?.join(' ')).toMatch(/JPEG Lossless.*codestream is JPEG baseline/);
      // Independent decode of the same codestream with sharp (libjpeg-turbo).
      const ds = dicomParser.parseDicom(bytes);
      const fr = ds.elements['x7fe00010']?.fragments?.[0];
      if (!fr || !frame) throw new Error('no fragment');
      const { data, info } = await sharp(bytes.subarray(fr.position, fr.position + fr.length)).raw().toBuffer({ resolveWithObject: true });
      expect([info.height, info.width]).toEqual([frame.rows, frame.columns]);
      // sharp may hand a greyscale JPEG back as one channel or expanded to three.
      const ours = info.channels === 3 ? frame.rgb : Buffer.from(frame.rgb.filter((_, i) => i % 3 === 0));
      const d = diff(ours, data);
      figures.push(`  dcmjs__sample-op.dcm: max ${d.max} vs sharp decode of the same baseline codestream`);
      expect(d.max).toBe(0);
    });

    for (const [a, b, tol] of SAME_IMAGE) {
      it(`${path.basename(a)} and ${path.basename(b)} hold the same picture (max difference ${tol})`, async () => {
        const ra = concatRgb(await decodeFile(fs.readFileSync(path.join(INTEROP, 'real-dicom', a))));
        const rb = concatRgb(await decodeFile(fs.readFileSync(path.join(INTEROP, 'real-dicom', b))));
        const d = diff(ra, rb);
        figures.push(`  ${path.basename(a)} vs ${path.basename(b)}: max ${d.max}`);
        expect(d.max).toBeLessThanOrEqual(tol);
      });
    }

    it('takes the colour space from the JPEG 2000 codestream, not the tag', async () => {
      // VL5_J2KI says YBR_ICT and the codestream uses MCT: OpenJPEG already returns RGB, no second conversion.
      const [vl5] = await decodeFile(fs.readFileSync(path.join(INTEROP, 'real-dicom/ophthalmic-vl/fo-dicom__VL5_J2KI.dcm')));
      expect(vl5?.codestream).toBe('j2k');
      expect(vl5?.warnings).toBeUndefined();
      // HTJ2K_08_RGB says RGB on MCT data: decoded as RGB with a warning naming the disagreement.
      const [ht] = await decodeFile(fs.readFileSync(path.join(INTEROP, 'real-dicom/color/pydicom-data__HTJ2K_08_RGB.dcm')));
      expect(ht?.warnings?.join(' ')).toMatch(/multiple component transform/);
    });
  });
}
