// readSegmentation against pydicom on SEGs other writers made (../shared/interop/seg-reference: highdicom, dcmqi,
// dcmjs, Orthanc's TCIA sample, pydicom's test files; BINARY, FRACTIONAL, LABELMAP; explicit and implicit VR little
// endian, explicit big endian, frames that start mid-byte), on re-encodings of them and of an OphGate SEG (deflated,
// implicit, big endian by DCMTK's dcmconv; RLE Lossless by dcmcrle), and on input that is not a SEG it can read.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { readSegmentation, SegReadError, type ReadSegmentation } from '../../src/dicom/seg/read-segmentation.js';
import { buildSegmentation } from '../../src/dicom/seg/segmentation.js';
import { codedEntryOfRef } from '../../src/dicom/common/coded-entry.js';
import { mintUid } from '../../src/dicom/uid.js';
import { FIXTURES_DIR, SHARED_DIR } from '../helpers/paths.js';
import { masks, normalized, readWithPydicom, sha256, sourceAttributes, tempDir, writeSyntheticSource, type PyRead } from './helpers.js';

const REFERENCE = path.join(SHARED_DIR, 'interop', 'seg-reference');
const haveReference = existsSync(REFERENCE);
const referenceFiles = haveReference ? readdirSync(REFERENCE).filter((f) => f.endsWith('.dcm')).sort().map((f) => path.join(REFERENCE, f)) : [];
const SEG_CLASSES = new Set(['1.2.840.10008.5.1.4.1.1.66.4', '1.2.840.10008.5.1.4.1.1.66.7']);

const dir = tempDir('seg-reader');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function dcmtk(tool: string, args: string[]): void {
  const r = spawnSync(tool, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${tool} ${args.join(' ')} failed: ${r.stdout}${r.stderr}`);
}

function nonzero(pixels: Uint8Array | Uint16Array): number {
  let n = 0;
  for (let i = 0; i < pixels.length; i++) if (pixels[i] !== 0) n++;
  return n;
}

/** readSegmentation's view in the shape read_seg.py reports, to compare the two readers field by field. */
function asPy(r: ReadSegmentation) {
  return {
    rows: r.rows,
    columns: r.columns,
    segmentationType: r.segmentationType,
    segments: r.segments.map((s) => ({ number: s.number, label: s.label, algorithmType: s.algorithmType, category: s.category ?? null, type: s.type ?? null })),
    frames: r.frames.map((f) => ({
      segmentNumbers: f.segmentNumbers,
      sources: f.sources.map((s) => ({ sopInstanceUid: s.sopInstanceUid, frameNumbers: s.frameNumbers })),
      sha256: sha256(f.pixels),
      nonzero: nonzero(f.pixels),
    })),
  };
}

function pyView(p: PyRead) {
  return {
    rows: p.rows,
    columns: p.columns,
    segmentationType: p.segmentationType,
    segments: p.segments!.map((s) => ({ number: s.number, label: s.label, algorithmType: s.algorithmType, category: s.category, type: s.type })),
    frames: p.frames,
  };
}

function expectSameAsPydicom(files: string[]): void {
  const py = readWithPydicom(files);
  for (const p of py) {
    const r = readSegmentation(readFileSync(p.path));
    expect(r.transferSyntaxUid, p.path).toBe(p.transferSyntaxUid);
    expect(asPy(r), p.path).toEqual(pyView(p));
  }
}

describe.skipIf(!haveReference)(`reference SEGs of other writers${haveReference ? '' : ` (skipped: ${REFERENCE} is absent)`}`, () => {
  let py: PyRead[];
  beforeAll(() => { py = readWithPydicom(referenceFiles); }, 120_000);

  it('finds SEGs of each type and encoding the corpus is meant to have', () => {
    const segs = py.filter((p) => SEG_CLASSES.has(p.sopClassUid));
    expect(segs.length).toBeGreaterThanOrEqual(10);
    expect(new Set(segs.map((p) => p.segmentationType))).toEqual(new Set(['BINARY', 'FRACTIONAL', 'LABELMAP']));
    expect(new Set(segs.map((p) => p.transferSyntaxUid))).toEqual(new Set(['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.2']));
    expect(segs.some((p) => (p.rows! * p.columns!) % 8 !== 0 && p.frames!.length > 1)).toBe(true);
  });

  it("reads every SEG's frames, segments and per-frame segment numbers and sources as pydicom does", () => {
    for (const p of py.filter((x) => SEG_CLASSES.has(x.sopClassUid))) {
      const r = readSegmentation(readFileSync(p.path));
      expect(r.sopClassUid).toBe(p.sopClassUid);
      expect(r.transferSyntaxUid, p.path).toBe(p.transferSyntaxUid);
      expect(r.numberOfFrames, p.path).toBe(p.frames!.length);
      expect(asPy(r), p.path).toEqual(pyView(p));
    }
  });

  it('refuses the files that are not SEGs (the sources in the corpus) with SegReadError', () => {
    const others = py.filter((p) => !SEG_CLASSES.has(p.sopClassUid));
    expect(others.map((p) => path.basename(p.path))).toContain('highdicom__ct_image.dcm');
    for (const p of others) {
      expect(() => readSegmentation(readFileSync(p.path)), p.path).toThrow(SegReadError);
      expect(() => readSegmentation(readFileSync(p.path)), p.path).toThrow(new RegExp(`not a Segmentation: SOP Class UID is ${p.sopClassUid.replace(/\./g, '\\.')}`));
    }
  });

  it('reads 8-bit FRACTIONAL and LABELMAP SEGs re-encoded as RLE Lossless (dcmcrle) as pydicom does', () => {
    const eightBit = py.filter((p) => SEG_CLASSES.has(p.sopClassUid) && p.segmentationType !== 'BINARY');
    expect(eightBit.length).toBeGreaterThanOrEqual(2);
    const files = eightBit.map((p) => {
      const out = path.join(dir, `rle-${path.basename(p.path)}`);
      dcmtk('dcmcrle', [p.path, out]);
      return out;
    });
    const rle = readWithPydicom(files);
    expect(rle.every((p) => p.transferSyntaxUid === '1.2.840.10008.1.2.5')).toBe(true);
    expectSameAsPydicom(files);
    // And the same pixels as the native original.
    eightBit.forEach((p, i) => expect(rle[i]!.frames!.map((f) => f.sha256)).toEqual(p.frames!.map((f) => f.sha256)));
  });

  it('refuses a SEG in a transfer syntax it does not decode, naming it', () => {
    const fractional = py.find((p) => p.segmentationType === 'FRACTIONAL')!;
    const out = path.join(dir, 'jpeg-lossless.dcm');
    dcmtk('dcmcjpeg', ['+e1', fractional.path, out]);
    expect(() => readSegmentation(readFileSync(out))).toThrow(SegReadError);
    expect(() => readSegmentation(readFileSync(out))).toThrow(/transfer syntax 1\.2\.840\.10008\.1\.2\.4\.70 \(JPEG Lossless SV1\) is not supported/);
  });
});

describe('an OphGate SEG re-encoded by DCMTK (implicit VR, big endian, deflated)', () => {
  let files: string[];
  let expected: Uint8Array[];
  beforeAll(async () => {
    // 21 x 23 = 483 pixels per frame: every frame after the first starts mid-byte.
    const src = writeSyntheticSource(dir, { rows: 21, columns: 23, laterality: 'L' });
    const source = await sourceAttributes(src.file);
    const ref = (k: string) => codedEntryOfRef(`mappings/fundus-findings.json#${k}`);
    const segments = [masks.circle(21, 23, 10, 8, 5), masks.pixel(21, 23, 20, 22), masks.border(21, 23)].map((mask, i) => ({
      label: `Segment ${i + 1}`, category: ref('seg-category-abnormal-structure'), type: ref(['haemorrhage', 'microaneurysm', 'hard-exudate'][i]!),
      colourLab: [1000 * i, 32768, 32768] as [number, number, number], mask,
    }));
    expected = segments.map((s) => normalized(s.mask));
    const seg = path.join(dir, 'ophgate.dcm');
    writeFileSync(seg, buildSegmentation({
      source, sourceFrame: 1, segments,
      algorithm: { name: 'test-algorithm', version: '1', family: { value: '123037004', scheme: 'SCT', meaning: 'Body structure' } },
      seriesInstanceUid: mintUid('2.25'), sopInstanceUid: mintUid('2.25'), seriesNumber: 1, instanceNumber: 1, contentDateTime: new Date(0),
      equipment: { manufacturer: 'OphGate project', modelName: 'OphGate', softwareVersions: '0', deviceSerialNumber: '1' },
    }));
    files = [seg];
    for (const [flag, name] of [['+ti', 'implicit'], ['+tb', 'big-endian'], ['+td', 'deflated']] as const) {
      const out = path.join(dir, `ophgate-${name}.dcm`);
      dcmtk('dcmconv', [flag, seg, out]);
      files.push(out);
    }
  });

  it('reads each encoding as pydicom does, and gives back the masks', () => {
    const py = readWithPydicom(files);
    expect(py.map((p) => p.transferSyntaxUid)).toEqual(['1.2.840.10008.1.2.1', '1.2.840.10008.1.2', '1.2.840.10008.1.2.2', '1.2.840.10008.1.2.1.99']);
    expectSameAsPydicom(files);
    for (const f of files) {
      const r = readSegmentation(readFileSync(f));
      expect(r.frames.map((fr) => [...fr.pixels]), f).toEqual(expected.map((m) => [...m]));
    }
  });
});

describe('readSegmentation refuses what it cannot read, with SegReadError', () => {
  it('bytes that are not a DICOM file', () => {
    expect(() => readSegmentation(Buffer.from('not dicom at all'))).toThrow(SegReadError);
    expect(() => readSegmentation(Buffer.alloc(300))).toThrow(/not a DICOM PS3\.10 file: no "DICM" prefix/);
  });

  it('a non-SEG image (a fixture photograph)', () => {
    const op = readFileSync(path.join(FIXTURES_DIR, 'op-jpeg-baseline-idrid56-L.dcm'));
    expect(() => readSegmentation(op)).toThrow(/not a Segmentation: SOP Class UID is 1\.2\.840\.10008\.5\.1\.4\.1\.1\.77\.1\.5\.1, Modality OP/);
  });

  it('a SEG whose pixel data are cut short', async () => {
    const src = writeSyntheticSource(dir, { rows: 16, columns: 16 });
    const source = await sourceAttributes(src.file);
    const bytes = buildSegmentation({
      source, sourceFrame: 1,
      segments: [{ label: 'A', category: codedEntryOfRef('mappings/fundus-findings.json#lesion'), type: codedEntryOfRef('mappings/fundus-findings.json#lesion'), colourLab: [0, 0, 0], mask: masks.circle(16, 16, 8, 8, 4) }],
      algorithm: { name: 'a', version: '1', family: { value: '123037004', scheme: 'SCT', meaning: 'Body structure' } },
      seriesInstanceUid: mintUid('2.25'), sopInstanceUid: mintUid('2.25'), seriesNumber: 1, instanceNumber: 1, contentDateTime: new Date(0),
      equipment: { manufacturer: 'm', modelName: 'n', softwareVersions: 's', deviceSerialNumber: 'd' },
    });
    // Pixel Data is the last element: 16x16 bits = 32 bytes; drop 20 and fix its length so the parse succeeds.
    const cut = Buffer.from(bytes.subarray(0, bytes.length - 20));
    cut.writeUInt32LE(12, cut.length - 12 - 4);
    expect(() => readSegmentation(cut)).toThrow(/Pixel Data has 12 bytes; 1 frames of 256 pixels at 1 bits need 32/);
  });
});
