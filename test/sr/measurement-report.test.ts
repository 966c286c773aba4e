// The TID 1500 Measurement Report writer, checked from outside: dciodvfy (IOD and SR relationship rules) and
// dcentvfy (patient/study consistency with the source photographs) from dicom3tools, and pydicom (read_sr.py),
// an independent parser, reading every measurement back to compare it with the findings it came from.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildMeasurementReport, COMPREHENSIVE_SR_STORAGE, MeasurementReportError, type MeasurementReportInput, type SrImageInput,
} from '../../src/dicom/sr/measurement-report.js';
import { decimalString } from '../../src/dicom/sr/content-items.js';
import { resolveCodeRef } from '../../src/report/codes.js';
import type { FindingResult } from '../../src/inference/finding-result.js';
import { classifierFinding, fixtureHeader, segmenterFinding } from './samples.js';

const SEG_CLASS = '1.2.840.10008.5.1.4.1.1.66.4';
const READER = path.join(path.dirname(new URL(import.meta.url).pathname), 'read_sr.py');
const code = (ref: string) => { const r = resolveCodeRef(ref); return `${r.dicomScheme}:${r.code}`; };
const PRESENT = 'SCT:52101004', ABSENT = 'SCT:272519000';
const LEFT = 'SCT:7771000', RIGHT = 'SCT:24028007';

// What read_sr.py prints (see its docstring).
interface ImageRefJson { sopClassUid: string; sopInstanceUid: string; frames: number[] | null; segments: number[] | null }
interface NumJson { concept: string; value: number | null; unit: string | null; text: string | null; qualifier: string | null; modifiers: Array<{ concept: string; value: string }> }
interface GroupJson {
  template: string; trackingId: string; trackingUid: string; finding: string | null; findingSite: string; laterality: string | null;
  algorithm: { name?: string; version?: string }; source: ImageRefJson | null; segment: ImageRefJson | null; segmentationSource: ImageRefJson | null;
  nums: NumJson[]; codes: Array<{ concept: string; value: string }>; other?: string[];
}
interface ReportJson {
  sopClassUid: string; sopInstanceUid: string; studyUid: string; seriesUid: string; modality: string; patientId: string;
  specificCharacterSet: string | null; completion: string; verification: string;
  verifyingObservers: Array<{ name: string; organization: string; dateTime: string }>;
  predecessors: Array<Record<string, string>>; evidence: Array<Record<string, string>>; performedProcedureCodes: number;
  codingSchemes: string[]; title: string; template: string; language: string; procedure: string; observer: Record<string, string>;
  library: Array<ImageRefJson & { modality?: string; laterality?: string }>; libraryTemplate: string; groups: GroupJson[];
  narrative: { concept: string; text: string; observer: Record<string, string> } | null; other: string[];
}

let dir: string;
let L: Awaited<ReturnType<typeof fixtureHeader>>;
let R: Awaited<ReturnType<typeof fixtureHeader>>;
let base: MeasurementReportInput;
const variants: Record<string, { input: MeasurementReportInput; file: string }> = {};
let read: Record<string, ReportJson>;

// Spacing with many digits: the mm2 areas need Floating Point Value next to the 16-character DS.
const SPACING: [number, number] = [0.0123456789, 0.0111111111];
const SEG_UID = '2.25.301234567890123456789012345678901234';
const SEG_SERIES = '2.25.301234567890123456789012345678901235';

function inputFor(): MeasurementReportInput {
  const left: SrImageInput = {
    source: { sopClassUid: L.sopClassUid, sopInstanceUid: L.sopInstanceUid, seriesUid: L.seriesInstanceUid, frame: 1, laterality: 'L', attributes: L.attributes },
    findings: [classifierFinding('L', 1, 2), segmenterFinding('L', { MA: 120, HE: 0, EX: 800, SE: 15, OD: 9000, cup: 2500 }, 0.4167)],
    pixelSpacingMm: SPACING,
    seg: { sopClassUid: SEG_CLASS, sopInstanceUid: SEG_UID, seriesUid: SEG_SERIES, segmentNumberOfKey: { MA: 1, EX: 2, SE: 3, OD: 4, cup: 5 } },
  };
  const right: SrImageInput = {
    source: { sopClassUid: R.sopClassUid, sopInstanceUid: R.sopInstanceUid, seriesUid: R.seriesInstanceUid, laterality: 'R', attributes: R.attributes },
    findings: [classifierFinding('R', 2, 0), segmenterFinding('R', { HE: 40, OD: 8000 }, null)],
  };
  return {
    source: L.attributes,
    images: [left, right],
    seriesInstanceUid: '2.25.311111111111111111111111111111111111', sopInstanceUid: '2.25.322222222222222222222222222222222222',
    seriesNumber: 9001, instanceNumber: 1,
    contentDateTime: new Date('2026-01-02T03:04:05.678Z'),
    equipment: { manufacturer: 'OphGate project', modelName: 'OphGate', softwareVersions: '0.1.0', deviceSerialNumber: 'test-node-1', institutionName: 'Test Eye Clinic' },
    algorithmName: 'OphGate fundus pipeline',
  };
}

function runTool(tool: string, args: string[]): { errors: string[]; warnings: string[]; output: string } {
  const r = spawnSync(tool, args, { encoding: 'utf8' });
  expect(r.error, `${tool} (dicom3tools) must be installed`).toBeUndefined();
  const output = `${r.stdout}${r.stderr}`;
  const lines = output.split('\n');
  return { errors: lines.filter((l) => /^\s*Error/.test(l)), warnings: lines.filter((l) => /^\s*Warning/.test(l)), output };
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ophgate-sr-'));
  L = await fixtureHeader('op-jpeg-baseline-idrid55-L.dcm');
  R = await fixtureHeader('op-jpeg-baseline-idrid57-R.dcm');
  expect(L.studyInstanceUid).toBe(R.studyInstanceUid);
  base = inputFor();
  const all: Record<string, MeasurementReportInput> = {
    base,
    narrative: { ...inputFor(), sopInstanceUid: '2.25.322222222222222222222222222222222223', narrative: { text: 'Moderate non-proliferative DR, left eye; naïve reading — review.', producedBy: 'ophgate-narrator 0.1 (test)' } },
    predecessor: {
      ...inputFor(), sopInstanceUid: '2.25.322222222222222222222222222222222224', instanceNumber: 2,
      predecessor: { studyUid: L.studyInstanceUid, seriesUid: base.seriesInstanceUid, sopClassUid: COMPREHENSIVE_SR_STORAGE, sopInstanceUid: base.sopInstanceUid },
    },
    verified: {
      ...inputFor(), sopInstanceUid: '2.25.322222222222222222222222222222222225',
      verification: { observerName: 'Reader^Rita', organization: 'Test Eye Clinic', dateTime: new Date('2026-01-03T10:00:00Z') },
    },
    partial: { ...inputFor(), sopInstanceUid: '2.25.322222222222222222222222222222222226', completion: 'PARTIAL' },
  };
  for (const [name, input] of Object.entries(all)) {
    const file = path.join(dir, `${name}.dcm`);
    writeFileSync(file, buildMeasurementReport(input));
    variants[name] = { input, file };
  }
  const r = spawnSync('/usr/bin/python3', [READER, ...Object.values(variants).map((v) => v.file)], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const byPath = JSON.parse(r.stdout) as Record<string, ReportJson>;
  read = Object.fromEntries(Object.entries(variants).map(([name, v]) => [name, byPath[v.file]!]));
});

afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

describe('dicom3tools', () => {
  it('dciodvfy finds no errors; its only warnings are about the private coding scheme', () => {
    for (const [name, { file }] of Object.entries(variants)) {
      const { errors, warnings, output } = runTool('dciodvfy', [file]);
      expect(output, name).toMatch(/ComprehensiveSR/);
      expect(errors, `${name}:\n${output}`).toEqual([]);
      // dciodvfy knows only PS3.16's designators; 99OPHGATE is declared in Coding Scheme Identification Sequence.
      expect(warnings.filter((w) => !/Unrecognized defined term <99OPHGATE> for value 1 of attribute <Coding Scheme Designator>/.test(w)), name).toEqual([]);
    }
  });

  it('dcentvfy finds the SR consistent with the photographs it references', () => {
    for (const [name, { file }] of Object.entries(variants)) {
      const { errors, warnings, output } = runTool('dcentvfy', [file, L.path, R.path]);
      expect(errors, `${name}:\n${output}`).toEqual([]);
      // dicom3tools files Accession Number under the Series IE for OP images and under Study for SR; the values are equal.
      expect(warnings.filter((w) => !/Element=<AccessionNumber> IE <(Study|Series)> versus <(Study|Series)>/.test(w)), `${name}:\n${output}`).toEqual([]);
    }
  });
});

describe('document', () => {
  it('is a Comprehensive SR of the source study with TID 1500 and the SR Document General attributes', () => {
    const r = read.base!;
    expect(r).toMatchObject({
      sopClassUid: COMPREHENSIVE_SR_STORAGE, sopInstanceUid: base.sopInstanceUid, seriesUid: base.seriesInstanceUid, modality: 'SR',
      studyUid: L.studyInstanceUid, patientId: 'OPHGATE-FIX-0001', completion: 'COMPLETE', verification: 'UNVERIFIED',
      title: 'DCM:126000', template: '1500', language: 'RFC5646:en-US', procedure: code('mappings/fundus-findings.json#fundus-photography'),
      libraryTemplate: '1600', performedProcedureCodes: 0, narrative: null, other: [],
    });
    expect(r.verifyingObservers).toEqual([]);
    expect(r.predecessors).toEqual([]);
    expect(r.observer).toMatchObject({
      'DCM:121005': 'DCM:121007', 'DCM:121013': 'OphGate fundus pipeline', 'DCM:121014': 'OphGate project',
      'DCM:121015': 'OphGate', 'DCM:121016': 'test-node-1',
    });
    expect(r.observer['DCM:121012']).toMatch(/^2\.25\.\d+$/);
    expect(r.codingSchemes).toEqual(['99OPHGATE']);
    expect(r.specificCharacterSet).not.toBe('ISO_IR 192'); // all ASCII: the source's character set is kept
  });

  it('lists every source photograph and the SEG as evidence (hierarchical, by series) and in the Image Library', () => {
    const r = read.base!;
    const expected = [
      { studyUid: L.studyInstanceUid, seriesUid: L.seriesInstanceUid, sopClassUid: L.sopClassUid, sopInstanceUid: L.sopInstanceUid },
      { studyUid: L.studyInstanceUid, seriesUid: SEG_SERIES, sopClassUid: SEG_CLASS, sopInstanceUid: SEG_UID },
      { studyUid: L.studyInstanceUid, seriesUid: R.seriesInstanceUid, sopClassUid: R.sopClassUid, sopInstanceUid: R.sopInstanceUid },
    ];
    expect([...r.evidence].sort((a, b) => a.sopInstanceUid!.localeCompare(b.sopInstanceUid!))).toEqual(expected.sort((a, b) => a.sopInstanceUid.localeCompare(b.sopInstanceUid)));
    expect(r.library).toEqual([
      { sopClassUid: L.sopClassUid, sopInstanceUid: L.sopInstanceUid, frames: [1], segments: null, modality: 'DCM:OP', laterality: LEFT },
      { sopClassUid: SEG_CLASS, sopInstanceUid: SEG_UID, frames: null, segments: null, modality: 'DCM:SEG', laterality: LEFT },
      { sopClassUid: R.sopClassUid, sopInstanceUid: R.sopInstanceUid, frames: null, segments: null, modality: 'DCM:OP', laterality: RIGHT },
    ]);
  });

  it('writes the narrative as a TEXT under Qualitative Evaluations, attributed to what produced it', () => {
    const r = read.narrative!;
    const n = variants.narrative!.input.narrative!;
    expect(r.narrative).toEqual({
      concept: 'DCM:121073', text: n.text,
      observer: { 'DCM:121005': 'DCM:121007', 'DCM:121012': expect.stringMatching(/^2\.25\.\d+$/), 'DCM:121013': n.producedBy },
    });
    expect(r.narrative!.observer['DCM:121012']).not.toBe(r.observer['DCM:121012']);
    // "naïve" and the dash are not ASCII: the SR declares UTF-8, which is what dcmjs writes.
    expect(r.specificCharacterSet).toBe('ISO_IR 192');
  });

  it('references its predecessor and keeps every Tracking UID, so findings are tracked across the two reports', () => {
    const r = read.predecessor!;
    expect(r.predecessors).toEqual([{ studyUid: L.studyInstanceUid, seriesUid: base.seriesInstanceUid, sopClassUid: COMPREHENSIVE_SR_STORAGE, sopInstanceUid: base.sopInstanceUid }]);
    expect(r.groups.map((g) => g.trackingUid)).toEqual(read.base!.groups.map((g) => g.trackingUid));
  });

  it('records verification, and a partial completion (which cannot be verified)', () => {
    const r = read.verified!;
    expect(r).toMatchObject({ verification: 'VERIFIED', completion: 'COMPLETE' });
    expect(r.verifyingObservers).toEqual([{ name: 'Reader^Rita', organization: 'Test Eye Clinic', dateTime: '20260103100000.000+0000' }]);
    expect(read.partial).toMatchObject({ verification: 'UNVERIFIED', completion: 'PARTIAL', verifyingObservers: [] });
    expect(() => buildMeasurementReport({ ...variants.verified!.input, completion: 'PARTIAL' })).toThrow(/PARTIAL report cannot be verified/);
  });
});

describe('measurements read back by pydicom', () => {
  const groupsOf = (r: ReportJson, img: SrImageInput, f: FindingResult) => r.groups.filter((g) =>
    (g.source ?? g.segmentationSource)?.sopInstanceUid === img.source.sopInstanceUid && g.algorithm.name === f.model.name);
  const numOf = (g: GroupJson, concept: string, unit?: string) => g.nums.filter((n) => n.concept === concept && (unit === undefined || n.unit === unit));

  it('has one group per label, derived score, grade, measurement and mask channel, with unique Tracking UIDs', () => {
    const r = read.base!;
    const expected = base.images.flatMap((img) => img.findings).reduce((n, f) => n + f.labels.length + f.derived.length + f.grades.length + f.measurements.length + f.lesions.length, 0);
    expect(r.groups).toHaveLength(expected);
    expect(new Set(r.groups.map((g) => g.trackingUid)).size).toBe(expected);
    for (const g of r.groups) {
      expect(g.other, g.trackingId).toBeUndefined();
      expect(g.findingSite).toBe(code('mappings/fundus-findings.json#retina'));
      expect(g.algorithm.version).toBe('0.1.0');
    }
  });

  it('gives every label and derived score its probability, threshold and decision', () => {
    const r = read.base!;
    for (const img of base.images) {
      for (const f of img.findings) {
        const groups = groupsOf(r, img, f);
        for (const s of [...f.labels, ...f.derived]) {
          const finding = code(s.code);
          const g = groups.filter((x) => x.finding === finding);
          expect(g, finding).toHaveLength(1);
          const group = g[0]!;
          expect(group.template).toBe('1501');
          expect(group.laterality).toBe(img.source.laterality === 'L' ? LEFT : RIGHT);
          expect(group.source).toEqual({ sopClassUid: img.source.sopClassUid, sopInstanceUid: img.source.sopInstanceUid, frames: img.source.frame ? [img.source.frame] : null, segments: null });
          expect(numOf(group, 'DCM:122157')).toMatchObject([{ value: s.probability, unit: 'UCUM:1', modifiers: [] }]);
          expect(numOf(group, 'DCM:122411')).toMatchObject([{ value: s.threshold, unit: 'UCUM:1' }]);
          expect(group.codes).toEqual([{ concept: finding, value: s.positive ? PRESENT : ABSENT }]);
        }
      }
    }
  });

  it('gives the DR grade and DME risk as coded grades with every class probability', () => {
    const r = read.base!;
    for (const img of base.images) {
      const f = img.findings.find((x) => x.grades.length > 0)!;
      const gradeGroups = groupsOf(r, img, f).filter((g) => g.codes.some((c) => c.concept === 'SCT:246112005'));
      expect(gradeGroups).toHaveLength(f.grades.length);
      for (const grade of f.grades) {
        const g = gradeGroups.find((x) => x.codes[0]!.value === code(grade.predicted.code))!;
        expect(g, grade.output).toBeDefined();
        expect(g.nums.map((n) => [n.value, n.unit, n.modifiers])).toEqual(grade.probabilities.map((p) => [p.probability, 'UCUM:1', [{ concept: 'SCT:246112005', value: code(p.code) }]]));
      }
    }
    // The DR grades are the LOINC answers of mappings (dr-grade-2 for the left image, dr-grade-0 for the right).
    expect(read.base!.groups.filter((g) => g.codes[0]?.concept === 'SCT:246112005').map((g) => g.codes[0]!.value))
      .toEqual(['LN:LA18645-4', '99OPHGATE:DME-RISK-0', 'LN:LA18643-9', '99OPHGATE:DME-RISK-0']);
  });

  it('gives the cup-to-disc ratio, or a measurement failure when no disc was found', () => {
    const r = read.base!;
    for (const img of base.images) {
      const f = img.findings.find((x) => x.measurements.length > 0)!;
      const m = f.measurements[0]!;
      const g = groupsOf(r, img, f).filter((x) => x.nums.some((n) => n.concept === 'DCM:131257'));
      expect(g).toHaveLength(1);
      expect(g[0]!.finding).toBe(code('mappings/fundus-findings.json#optic-disc'));
      expect(g[0]!.nums).toEqual([m.value === null
        ? { concept: 'DCM:131257', value: null, unit: null, text: null, qualifier: 'DCM:114006', modifiers: [] }
        : { concept: 'DCM:131257', value: m.value, unit: 'UCUM:{ratio}', text: String(m.value), qualifier: null, modifiers: [] }]);
    }
    expect(base.images[1]!.findings[1]!.measurements[0]!.value).toBeNull();
  });

  it('gives every mask channel its area in pixels (and mm2 with a pixel spacing), lesion count and SEG segment', () => {
    const r = read.base!;
    for (const img of base.images) {
      const f = img.findings.find((x) => x.lesions.length > 0)!;
      const groups = groupsOf(r, img, f).filter((g) => g.nums.some((n) => n.concept === 'SCT:42798000'));
      expect(groups).toHaveLength(f.lesions.length);
      for (const les of f.lesions) {
        const finding = code(les.code);
        const g = groups.find((x) => x.finding === finding)!;
        expect(g, les.key).toBeDefined();
        expect(g.codes).toEqual([{ concept: finding, value: les.areaPx > 0 ? PRESENT : ABSENT }]);
        expect(numOf(g, 'SCT:42798000', 'UCUM:{pixels}').map((n) => n.value)).toEqual([les.areaPx]);
        const mm2 = numOf(g, 'SCT:42798000', 'UCUM:mm2');
        if (img.pixelSpacingMm) {
          expect(mm2.map((n) => n.value)).toEqual([les.areaPx * img.pixelSpacingMm[0] * img.pixelSpacingMm[1]]);
          expect(mm2[0]!.text!.length).toBeLessThanOrEqual(16);
        } else {
          expect(mm2).toEqual([]);
        }
        const anatomy = les.key === 'OD' || les.key === 'cup';
        expect(numOf(g, 'SCT:246206008').map((n) => [n.value, n.unit])).toEqual(anatomy ? [] : [[les.components, 'UCUM:1']]);
        const segment = img.seg?.segmentNumberOfKey[les.key];
        if (les.areaPx > 0 && img.seg) {
          expect(g.template).toBe('1410');
          expect(g.segment).toEqual({ sopClassUid: SEG_CLASS, sopInstanceUid: img.seg.sopInstanceUid, frames: null, segments: [segment!] });
          expect(g.segmentationSource).toEqual({ sopClassUid: img.source.sopClassUid, sopInstanceUid: img.source.sopInstanceUid, frames: img.source.frame ? [img.source.frame] : null, segments: null });
          expect(g.source).toBeNull();
        } else {
          expect(g.template).toBe('1501');
          expect(g.segment).toBeNull();
          expect(g.source?.sopInstanceUid).toBe(img.source.sopInstanceUid);
        }
      }
    }
    // The fixtures exercise both paths: a lesion without pixels beside a SEG, and an image without SEG.
    expect(r.groups.filter((g) => g.template === '1410')).toHaveLength(5);
  });

  it('references only images and segments that exist', () => {
    const sources = new Set(base.images.map((i) => i.source.sopInstanceUid));
    const segs = new Map(base.images.filter((i) => i.seg).map((i) => [i.seg!.sopInstanceUid, new Set(Object.values(i.seg!.segmentNumberOfKey))]));
    for (const r of Object.values(read)) {
      for (const ref of [...r.library, ...r.groups.flatMap((g) => [g.source, g.segment, g.segmentationSource])]) {
        if (!ref) continue;
        if (ref.sopClassUid === SEG_CLASS) {
          expect(segs.has(ref.sopInstanceUid), ref.sopInstanceUid).toBe(true);
          for (const n of ref.segments ?? []) expect(segs.get(ref.sopInstanceUid)!.has(n)).toBe(true);
        } else {
          expect(sources.has(ref.sopInstanceUid), ref.sopInstanceUid).toBe(true);
        }
      }
    }
  });
});

describe('bad input', () => {
  const build = (change: (i: MeasurementReportInput) => void) => () => {
    const input = inputFor();
    change(input);
    return buildMeasurementReport(input);
  };

  it('refuses a report without images', () => {
    expect(build((i) => { i.images = []; })).toThrow(/at least one image/);
  });

  it('names the finding whose code reference cannot be resolved', () => {
    expect(build((i) => { i.images[0]!.findings[0]!.labels[1]!.code = 'mappings/fundus-findings.json#no-such-code'; }))
      .toThrow(/image 1 .*fundus-classifier 0\.1\.0, label D: code reference "mappings\/fundus-findings\.json#no-such-code": .*no code with the key "no-such-code"/);
  });

  it('refuses a SEG that disagrees with the findings', () => {
    expect(build((i) => { i.images[0]!.seg!.segmentNumberOfKey.HE = 6; })).toThrow(/segment for "HE", which is not a mask channel with pixels/);
    expect(build((i) => { i.images[0]!.seg!.segmentNumberOfKey.EX = 1; })).toThrow(/segment number 1 is given to two keys/);
  });

  it('reports a channel with pixels but no segment without ROI (TID 1501), not as an error', async () => {
    const input = inputFor();
    delete input.images[0]!.seg!.segmentNumberOfKey.EX;
    const file = path.join(dir, 'no-ex-segment.dcm');
    writeFileSync(file, buildMeasurementReport(input));
    const r = spawnSync('/usr/bin/python3', [READER, file], { encoding: 'utf8' });
    const groups = (JSON.parse(r.stdout) as Record<string, ReportJson>)[file]!.groups;
    const ex = groups.find((g) => g.finding === code('mappings/fundus-findings.json#hard-exudate'))!;
    expect(ex).toMatchObject({ template: '1501', segment: null, codes: [{ value: PRESENT }] });
    expect(ex.source?.sopInstanceUid).toBe(L.sopInstanceUid);
    expect(groups.filter((g) => g.template === '1410')).toHaveLength(4);
  });

  it('refuses findings that are not FindingResults, or that disagree with the image', () => {
    expect(build((i) => { (i.images[1]!.findings[0] as { labels: unknown }).labels = 'none'; })).toThrow(MeasurementReportError);
    expect(build((i) => { i.images[1]!.findings[0]!.laterality = 'L'; })).toThrow(/saw laterality L, the image says R/);
    expect(build((i) => { i.images[1]!.findings = []; })).toThrow(/image 2 .* has no findings/);
    expect(build((i) => { i.images[0]!.findings[1]!.measurements[0]!.name = 'rim_area'; })).toThrow(/measurement "rim_area" has no known unit/);
  });

  it('refuses bad UIDs, another study, a repeated image and a bad pixel spacing', () => {
    expect(build((i) => { i.images[0]!.source.sopInstanceUid = '1.2.03'; })).toThrow(/SOP Instance UID "1\.2\.03" is not a valid UID/);
    expect(build((i) => { i.images[1]!.source.attributes = { ...R.attributes, '0020000D': { vr: 'UI', Value: ['1.2.3'] } }; })).toThrow(/belongs to study 1\.2\.3/);
    expect(build((i) => { i.images.push(i.images[1]!); })).toThrow(/listed twice/);
    expect(build((i) => { i.images[0]!.pixelSpacingMm = [0, 0.01]; })).toThrow(/pixelSpacingMm/);
    expect(build((i) => { i.predecessor = { studyUid: 'x', seriesUid: '1.2', sopClassUid: '1.2', sopInstanceUid: '1.2' }; })).toThrow(/predecessor studyUid "x"/);
  });
});

describe('decimalString (DS)', () => {
  it('keeps short numbers exact and long ones within 16 characters', () => {
    expect(decimalString(0.4167)).toBe('0.4167');
    expect(decimalString(120)).toBe('120');
    expect(decimalString(1e-7)).toBe('1e-7');
    for (const v of [120 * SPACING[0] * SPACING[1], Math.PI * 1e6, 1 / 3, -2 / 3 * 1e-12, 123456789012345680000]) {
      const s = decimalString(v);
      expect(s.length, s).toBeLessThanOrEqual(16);
      expect(Math.abs(Number(s) - v) / Math.abs(v)).toBeLessThan(1e-9);
    }
  });
});
