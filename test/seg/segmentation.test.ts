// buildSegmentation on real fixture photographs (JPEG baseline right eye, JPEG 2000 left eye) and on synthetic
// sources the fixtures cannot provide (Rows*Columns not a multiple of 8; a multi-frame source), in both modes,
// judged by independent readers: dciodvfy and dcentvfy (dicom3tools), GDCM, pydicom, and OphGate's own reader.
//
// dciodvfy warnings that remain, and why they cannot be removed: "Unrecognized defined term <99OPHGATE> for value 1
// of attribute <Coding Scheme Designator>" (once per use). 99OPHGATE is OphGate's private coding scheme for the
// lesions no standard code was found for (mappings/fundus-findings.json, e.g. hard exudate); PS3.16 8.2 allows such
// "99" schemes and the SEG declares it in its Coding Scheme Identification Sequence, but dciodvfy only knows the
// designators PS3.16 Table 8-1 lists. Any other warning fails the test.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import dcmjs from 'dcmjs';
import { buildSegmentation, SegmentationInputError, type SegmentationInput, type SegmentInput } from '../../src/dicom/seg/segmentation.js';
import { readSegmentation } from '../../src/dicom/seg/read-segmentation.js';
import { codedEntryOfRef, type CodedEntry } from '../../src/dicom/common/coded-entry.js';
import type { DicomJson } from '../../src/dicom/json-model.js';
import { mintUid } from '../../src/dicom/uid.js';
import { FIXTURES_DIR } from '../helpers/paths.js';
import {
  dcentvfy, dciodvfy, gdcmconvRaw, gdcminfo, masks, normalized, readWithPydicom, rowsColumns, sha256, sourceAttributes,
  tempDir, writeSyntheticSource, type PyRead,
} from './helpers.js';

const ref = (key: string): CodedEntry => codedEntryOfRef(`mappings/fundus-findings.json#${key}`);
const ALLOWED_WARNING = /^Warning - Unrecognized defined term <99OPHGATE> for value 1 of attribute <Coding Scheme Designator>$/;
const SEG_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.66.4';

interface Case {
  name: string;
  sourceFile: string;
  source: DicomJson;
  sourceFrame: number;
  mode: 'standard' | 'viewer-plane-geometry';
  input: SegmentationInput;
  file: string;
  bytes: Buffer;
}

function segmentsFor(rows: number, columns: number, eye: 'R' | 'L'): SegmentInput[] {
  const laterality = ref(eye === 'R' ? 'laterality-right' : 'laterality-left');
  const r = Math.max(2, Math.floor(Math.min(rows, columns) / 6));
  return [
    // Optic disc: a circle on the nasal side.
    { label: 'Optic disc', category: ref('seg-category-anatomical-structure'), type: ref('optic-disc'), anatomicRegion: ref('retina'), anatomicRegionModifier: laterality,
      colourLab: [49151, 32768, 49151], mask: masks.circle(rows, columns, Math.floor(rows / 2), eye === 'R' ? Math.floor(columns * 0.7) : Math.floor(columns * 0.3), r) },
    // A 1-pixel haemorrhage away from the disc.
    { label: 'Haemorrhages', category: ref('seg-category-abnormal-structure'), type: ref('haemorrhage'), anatomicRegion: ref('retina'), anatomicRegionModifier: laterality,
      colourLab: [30000, 50000, 40000], mask: masks.pixel(rows, columns, 1, Math.floor(columns / 2)), description: 'one pixel' },
    // Hard exudates touching every border (a local 99OPHGATE code).
    { label: 'Hard exudates', category: ref('seg-category-abnormal-structure'), type: ref('hard-exudate'), anatomicRegion: ref('retina'),
      colourLab: [60000, 30000, 60000], mask: masks.border(rows, columns) },
  ];
}

function inputFor(source: DicomJson, sourceFrame: number, mode: Case['mode']): SegmentationInput {
  const { rows, columns } = rowsColumns(source);
  const eye = source['00200062']?.Value?.[0] === 'L' ? 'L' : 'R';
  return {
    source, sourceFrame, segments: segmentsFor(rows, columns, eye),
    algorithm: { name: 'fundus-segmenter', version: '0.1.0', family: { value: '123037004', scheme: 'SCT', meaning: 'Body structure' } },
    seriesInstanceUid: mintUid('2.25'), sopInstanceUid: mintUid('2.25'), seriesNumber: 9001, instanceNumber: 1,
    seriesDescription: 'OphGate fundus lesions', contentLabel: 'FUNDUS_LESIONS', contentDateTime: new Date('2024-03-11T10:15:30.250Z'),
    equipment: { manufacturer: 'OphGate project', modelName: 'OphGate', softwareVersions: '0.1.0', deviceSerialNumber: 'OPHGATE-TEST-1', institutionName: 'OphGate test site' },
    compatibility: mode,
  };
}

function naturalized(bytes: Buffer): Record<string, any> {
  const parsed = dcmjs.data.DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  return dcmjs.data.DicomMetaDictionary.naturalizeDataset(parsed.dict) as Record<string, any>;
}

const dir = tempDir('seg-writer');
const cases: Case[] = [];
let py: Map<string, PyRead>;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(async () => {
  const small = writeSyntheticSource(dir, { rows: 23, columns: 37, laterality: 'L' }); // 851 pixels: frames start mid-byte
  const multi = writeSyntheticSource(dir, { rows: 19, columns: 29, frames: 3, laterality: 'R' }); // 551 pixels, frame 2 segmented
  const sources = [
    { name: 'JPEG baseline OP, right eye', file: path.join(FIXTURES_DIR, 'op-jpeg-baseline-idrid57-R.dcm'), frame: 1 },
    { name: 'JPEG 2000 OP, left eye', file: path.join(FIXTURES_DIR, 'op-j2k-lossless-rct-idrid64-L.dcm'), frame: 1 },
    { name: 'synthetic 23x37 OP, left eye', file: small.file, frame: 1 },
    { name: 'synthetic 3-frame 19x29 OP, frame 2', file: multi.file, frame: 2 },
  ];
  for (const s of sources) {
    const source = await sourceAttributes(s.file);
    for (const mode of ['standard', 'viewer-plane-geometry'] as const) {
      const input = inputFor(source, s.frame, mode);
      const bytes = buildSegmentation(input);
      const file = path.join(dir, `${cases.length}-${mode}.dcm`);
      writeFileSync(file, bytes);
      cases.push({ name: `${s.name}, ${mode}`, sourceFile: s.file, source, sourceFrame: s.frame, mode, input, file, bytes });
    }
  }
  py = new Map(readWithPydicom(cases.map((c) => c.file)).map((r) => [r.path, r]));
}, 180_000);

describe('buildSegmentation on fixture and synthetic sources, both modes', () => {
  it('covers two fixture photographs of different eyes and a source whose Rows*Columns is not a multiple of 8', () => {
    expect(cases).toHaveLength(8);
    const sizes = cases.map((c) => rowsColumns(c.source)).map(({ rows, columns }) => rows * columns);
    expect(sizes.some((n) => n % 8 !== 0)).toBe(true);
    expect(new Set(cases.map((c) => c.source['00200062']?.Value?.[0]))).toEqual(new Set(['R', 'L']));
  });

  it('dciodvfy finds no errors and no warnings beyond the private coding scheme', () => {
    for (const c of cases) {
      const v = dciodvfy(c.file);
      expect(v.errors, `${c.name}:\n${v.output}`).toEqual([]);
      expect(v.warnings.filter((w) => !ALLOWED_WARNING.test(w)), `${c.name}:\n${v.output}`).toEqual([]);
      expect(v.output).toMatch(/^Segmentation$/m);
    }
  });

  it('dcentvfy finds the SEG consistent with its source (same patient and study)', () => {
    for (const c of cases) {
      const v = dcentvfy([c.file, c.sourceFile]);
      expect(v.errors, `${c.name}:\n${v.output}`).toEqual([]);
      expect(v.status, `${c.name}:\n${v.output}`).toBe(0);
    }
  });

  it('GDCM reads every SEG (gdcminfo, gdcmconv --raw) and its rewrite reads back to the same masks', () => {
    for (const c of cases) {
      const info = gdcminfo(c.file);
      expect(info.status, `${c.name}:\n${info.output}`).toBe(0);
      expect(info.output).toMatch(/1\.2\.840\.10008\.5\.1\.4\.1\.1\.66\.4/);
      const out = `${c.file}.gdcm.dcm`;
      const conv = gdcmconvRaw(c.file, out);
      expect(conv.status, `${c.name}:\n${conv.output}`).toBe(0);
      expect(statSync(out).size).toBeGreaterThan(0);
      const back = readSegmentation(readFileSync(out));
      expect(back.frames.map((f) => sha256(f.pixels))).toEqual(c.input.segments.map((s) => sha256(normalized(s.mask))));
    }
  });

  it('pydicom reads each frame equal to its input mask, pixel for pixel', () => {
    for (const c of cases) {
      const r = py.get(c.file)!;
      expect(r.sopClassUid).toBe(SEG_SOP_CLASS);
      expect(r.segmentationType).toBe('BINARY');
      expect({ rows: r.rows, columns: r.columns }).toEqual(rowsColumns(c.source));
      expect(r.frames!.map((f) => f.sha256), c.name).toEqual(c.input.segments.map((s) => sha256(normalized(s.mask))));
      expect(r.frames!.map((f) => f.nonzero)).toEqual(c.input.segments.map((s) => s.mask.filter((v) => v !== 0).length));
    }
  });

  it('pydicom sees the segments, their codes and laterality, and per frame its segment and its source frame', () => {
    for (const c of cases) {
      const r = py.get(c.file)!;
      expect(r.segments!.map((s) => s.number)).toEqual([1, 2, 3]);
      expect(r.segments!.map((s) => s.label)).toEqual(['Optic disc', 'Haemorrhages', 'Hard exudates']);
      expect(r.segments!.every((s) => s.algorithmType === 'AUTOMATIC')).toBe(true);
      expect(r.segments![0]!.type).toEqual({ value: '81016008', scheme: 'SCT', meaning: 'Optic nerve head' });
      expect(r.segments![1]!.type).toEqual({ value: '28998008', scheme: 'SCT', meaning: 'Retinal hemorrhage' });
      expect(r.segments![2]!.type).toEqual({ value: 'HARD-EXUDATE', scheme: '99OPHGATE', meaning: 'Retinal hard exudate' });
      expect(r.segments![1]!.category).toEqual({ value: '49755003', scheme: 'SCT', meaning: 'Morphologically Abnormal Structure' });
      expect(r.segments![0]!.anatomicRegion).toEqual({ value: '5665001', scheme: 'SCT', meaning: 'Retina' });
      const eye = c.source['00200062']!.Value![0];
      expect(r.imageLaterality).toBe(eye);
      expect(r.segments![0]!.anatomicRegionModifier?.value).toBe(eye === 'R' ? '24028007' : '7771000');
      expect(r.segments![2]!.anatomicRegionModifier).toBeNull();
      expect(r.segments![0]!.colourLab).toEqual([49151, 32768, 49151]);
      const sourceUid = String(c.source['00080018']!.Value![0]);
      const multiFrame = Number(c.source['00280008']?.Value?.[0] ?? 1) > 1;
      expect(r.frames!.map((f) => f.segmentNumbers)).toEqual([[1], [2], [3]]);
      for (const f of r.frames!) expect(f.sources).toEqual([{ sopInstanceUid: sourceUid, frameNumbers: multiFrame ? [c.sourceFrame] : [] }]);
    }
  });

  it('readSegmentation gives back the input masks, segments and references (round trip)', () => {
    for (const c of cases) {
      const r = readSegmentation(c.bytes);
      expect(r.sopClassUid).toBe(SEG_SOP_CLASS);
      expect(r.segmentationType).toBe('BINARY');
      expect(r.bitsAllocated).toBe(1);
      expect(r.numberOfFrames).toBe(3);
      // Compared as bytes: deep equality over 763264-element arrays is needlessly slow.
      r.frames.forEach((f, i) => {
        const want = normalized(c.input.segments[i]!.mask);
        expect(f.pixels).toBeInstanceOf(Uint8Array);
        expect(Buffer.compare(Buffer.from(f.pixels as Uint8Array), Buffer.from(want)), `${c.name}, frame ${i + 1}`).toBe(0);
      });
      expect(r.segments.map((s) => ({ number: s.number, label: s.label, type: s.type, category: s.category, algorithmType: s.algorithmType })))
        .toEqual(c.input.segments.map((s, i) => ({ number: i + 1, label: s.label, type: s.type, category: s.category, algorithmType: 'AUTOMATIC' })));
      expect(r.frames.map((f) => f.segmentNumbers)).toEqual([[1], [2], [3]]);
      expect(r.frames[0]!.sources[0]!.sopInstanceUid).toBe(c.source['00080018']!.Value![0]);
    }
  });

  it("'standard' has no Frame of Reference or plane geometry; 'viewer-plane-geometry' adds them and indexes by position", () => {
    for (const c of cases) {
      const ds = naturalized(c.bytes);
      const shared = ds.SharedFunctionalGroupsSequence[0] ?? ds.SharedFunctionalGroupsSequence;
      const perFrame = ds.PerFrameFunctionalGroupsSequence as any[];
      const pointers = (ds.DimensionIndexSequence as any[]).map((d) => d.DimensionIndexPointer);
      // Both: the Derivation Image route to the source (A.51.5.1) and the segment dimension.
      expect(perFrame.every((f) => f.DerivationImageSequence[0].DerivationCodeSequence[0].CodeValue === '113076')).toBe(true);
      expect(perFrame.every((f) => f.DerivationImageSequence[0].SourceImageSequence[0].PurposeOfReferenceCodeSequence[0].CodeValue === '121322')).toBe(true);
      expect(ds.ReferencedSeriesSequence[0].SeriesInstanceUID).toBe(c.source['0020000E']!.Value![0]);
      expect(ds.ReferencedSeriesSequence[0].ReferencedInstanceSequence[0].ReferencedSOPInstanceUID).toBe(c.source['00080018']!.Value![0]);
      expect(ds.ContributingEquipmentSequence[0].PurposeOfReferenceCodeSequence[0]).toMatchObject({ CodeValue: 'Newcode1', CodingSchemeDesignator: '99IHE', CodeMeaning: 'Processing Algorithm' });
      expect((ds.CodingSchemeIdentificationSequence as any[]).map((s) => s.CodingSchemeDesignator).sort()).toEqual(['99IHE', '99OPHGATE']);
      expect(ds.Laterality).toBeUndefined();
      if (c.mode === 'standard') {
        expect(ds.FrameOfReferenceUID).toBeUndefined();
        expect(shared.PlaneOrientationSequence).toBeUndefined();
        expect(shared.PixelMeasuresSequence).toBeUndefined();
        expect(perFrame.some((f) => f.PlanePositionSequence)).toBe(false);
        expect(pointers).toEqual([0x0062000b]);
        expect(perFrame.map((f) => f.FrameContentSequence[0].DimensionIndexValues)).toEqual([1, 2, 3]);
      } else {
        expect(ds.FrameOfReferenceUID).toMatch(/^2\.25\.\d+$/);
        expect(shared.PlaneOrientationSequence[0].ImageOrientationPatient).toEqual([1, 0, 0, 0, 1, 0]);
        expect(shared.PixelMeasuresSequence[0].PixelSpacing).toEqual([1, 1]);
        expect(shared.PixelMeasuresSequence[0].SliceThickness).toBe(1);
        expect(perFrame.every((f) => f.PlanePositionSequence[0].ImagePositionPatient.join() === '0,0,0')).toBe(true);
        expect(pointers).toEqual([0x0062000b, 0x00200032]);
        expect(perFrame.map((f) => f.FrameContentSequence[0].DimensionIndexValues)).toEqual([[1, 1], [2, 1], [3, 1]]);
      }
    }
  });
});

describe('buildSegmentation details', () => {
  let jpegSource: DicomJson;
  beforeAll(async () => { jpegSource = await sourceAttributes(path.join(FIXTURES_DIR, 'op-jpeg-baseline-idrid57-R.dcm')); });

  it('a SEG of a lossy-compressed photograph says so and carries its ratio and method; of an uncompressed one, 00', () => {
    const lossy = naturalized(buildSegmentation(inputFor(jpegSource, 1, 'standard')));
    expect(lossy.LossyImageCompression).toBe('01');
    expect(String(lossy.LossyImageCompressionRatio)).toBe('21.78');
    expect(lossy.LossyImageCompressionMethod).toBe('ISO_10918_1');
    const small = cases.find((c) => c.name.startsWith('synthetic 23x37'))!;
    const plain = naturalized(small.bytes);
    expect(plain.LossyImageCompression).toBe('00');
    expect(plain.LossyImageCompressionRatio).toBeUndefined();
  });

  it('is deterministic: the same input gives the same bytes; viewer mode keeps one Frame of Reference per photograph', () => {
    const input = inputFor(jpegSource, 1, 'viewer-plane-geometry');
    expect(buildSegmentation(input).equals(buildSegmentation(input))).toBe(true);
    const other = { ...input, sopInstanceUid: mintUid('2.25') };
    const a = naturalized(buildSegmentation(input)), b = naturalized(buildSegmentation(other));
    expect(a.FrameOfReferenceUID).toBe(b.FrameOfReferenceUID);
    expect(a.DimensionOrganizationSequence[0].DimensionOrganizationUID).not.toBe(b.DimensionOrganizationSequence[0].DimensionOrganizationUID);
  });

  it("passes on a source's own Frame of Reference in 'standard' mode and refuses the invented viewer geometry for it", () => {
    const small = cases.find((c) => c.name.startsWith('synthetic 23x37') && c.mode === 'standard')!;
    const withFor: DicomJson = { ...small.source, '00200052': { vr: 'UI', Value: ['1.2.826.0.1.3680043.10.543.1'] } };
    const file = path.join(dir, 'with-frame-of-reference.dcm');
    writeFileSync(file, buildSegmentation(inputFor(withFor, 1, 'standard')));
    const ds = naturalized(readFileSync(file));
    expect(ds.FrameOfReferenceUID).toBe('1.2.826.0.1.3680043.10.543.1');
    expect(dciodvfy(file).errors).toEqual([]);
    expect(() => buildSegmentation(inputFor(withFor, 1, 'viewer-plane-geometry'))).toThrow(/has a Frame of Reference of its own/);
  });

  it('says whether segments overlap', () => {
    const input = inputFor(jpegSource, 1, 'standard');
    expect(naturalized(buildSegmentation(input)).SegmentsOverlap).toBe('NO');
    const { rows, columns } = rowsColumns(jpegSource);
    const inside = input.segments[0]!.mask.indexOf(255);
    const overlapping = { ...input, segments: [input.segments[0]!, { ...input.segments[1]!, mask: masks.pixel(rows, columns, Math.floor(inside / columns), inside % columns) }] };
    expect(naturalized(buildSegmentation(overlapping)).SegmentsOverlap).toBe('YES');
  });

  it("keeps the source's Specific Character Set for ASCII content and declares UTF-8 once any text is not ASCII", () => {
    // Read with pydicom: dcmjs reports every character set as ISO_IR 192 after decoding.
    const latin1Source: DicomJson = { ...jpegSource, '00080005': { vr: 'CS', Value: ['ISO_IR 100'] } };
    const ascii = path.join(dir, 'latin1-ascii.dcm');
    writeFileSync(ascii, buildSegmentation(inputFor(latin1Source, 1, 'standard')));
    const input = inputFor(latin1Source, 1, 'standard');
    input.segments[1] = { ...input.segments[1]!, label: 'Hämorrhagien' };
    const utf8 = path.join(dir, 'utf8-label.dcm');
    writeFileSync(utf8, buildSegmentation(input));
    const [a, u] = readWithPydicom([ascii, utf8]);
    expect(a!.specificCharacterSet).toBe('ISO_IR 100');
    expect(u!.specificCharacterSet).toBe('ISO_IR 192');
    expect(u!.segments![1]!.label).toBe('Hämorrhagien');
    expect(dciodvfy(utf8).errors).toEqual([]);
  });

  it('copies a non-ASCII patient name from a UTF-8 source so that pydicom and dcentvfy agree with the source', async () => {
    const src = writeSyntheticSource(dir, { rows: 16, columns: 16, patientName: 'Müller^Jürgen', specificCharacterSet: 'ISO_IR 192' });
    const source = await sourceAttributes(src.file);
    const file = path.join(dir, 'utf8-patient.dcm');
    writeFileSync(file, buildSegmentation(inputFor(source, 1, 'standard')));
    const [r] = readWithPydicom([file]);
    expect(r!.patientName).toBe('Müller^Jürgen');
    expect(r!.specificCharacterSet).toBe('ISO_IR 192');
    expect(dcentvfy([file, src.file]).errors).toEqual([]);
  });
});

describe('buildSegmentation refuses input that cannot make a valid SEG', () => {
  let source: DicomJson;
  beforeAll(async () => { source = await sourceAttributes(path.join(FIXTURES_DIR, 'op-j2k-lossless-rct-idrid64-L.dcm')); });
  const build = (patch: (i: SegmentationInput) => void) => () => {
    const input = inputFor(source, 1, 'standard');
    patch(input);
    return buildSegmentation(input);
  };
  const refused = (patch: (i: SegmentationInput) => void, message: RegExp) => {
    expect(build(patch)).toThrow(SegmentationInputError);
    expect(build(patch)).toThrow(message);
  };

  it('a mask of the wrong length', () => {
    refused((i) => { i.segments[1]!.mask = new Uint8Array(10); }, /segment 2 \("Haemorrhages"\): the mask has 10 pixels but the source is 712 rows x 1072 columns = 763264/);
  });

  it('an empty segment list', () => {
    refused((i) => { i.segments = []; }, /at least one segment; the segment list is empty/);
  });

  it('a source without Rows or Columns', () => {
    refused((i) => { const { '00280010': _, ...rest } = i.source; i.source = rest; }, /the source has no Rows \(0028,0010\)/);
    refused((i) => { const { '00280011': _, ...rest } = i.source; i.source = rest; }, /the source has no Columns \(0028,0011\)/);
  });

  it('a source without its SOP Instance UID, a frame the source does not have, the source series as the SEG series', () => {
    refused((i) => { const { '00080018': _, ...rest } = i.source; i.source = rest; }, /no SOP Instance UID \(0008,0018\)/);
    refused((i) => { i.sourceFrame = 2; }, /sourceFrame 2 is not a frame of the source \(1\.\.1\)/);
    refused((i) => { i.seriesInstanceUid = String(source['0020000E']!.Value![0]); }, /series of its own/);
  });

  it('bad segment attributes: empty or long label, colour out of range, a modifier without a region', () => {
    refused((i) => { i.segments[0]!.label = ''; }, /segment 1: the label is empty/);
    refused((i) => { i.segments[0]!.label = 'x'.repeat(65); }, /longer than 64 characters/);
    refused((i) => { i.segments[0]!.colourLab = [0, 70000, 0]; }, /colourLab must be three integers 0\.\.65535/);
    refused((i) => { delete i.segments[0]!.anatomicRegion; }, /anatomic region modifier needs an anatomic region/);
    refused((i) => { i.contentLabel = 'lesions'; }, /contentLabel "lesions" is not a CS value/);
    refused((i) => { i.equipment.deviceSerialNumber = ''; }, /equipment\.deviceSerialNumber is empty/);
  });
});

it('test material is where the tests expect it', () => {
  expect(existsSync(path.join(FIXTURES_DIR, 'op-jpeg-baseline-idrid57-R.dcm'))).toBe(true);
});
