// Regenerates the DICOM test fixtures in fixtures/ from IDRiD fundus photographs (CC BY 4.0).
//
//   npx tsx scripts/make-fixtures.ts [--out DIR] [--data DIR]
//
//   --out   where to write (default: <repo>/fixtures). Only the generator's own files and manifest.json are
//           written; fixtures/README.md is hand-written and left alone.
//   --data  the IDRiD folder (default: <repo>/../shared/data/idrid).
//
// The output is deterministic: every UID is a name-based UUID (RFC 4122 version 5) under the 2.25 root, all dates
// and times are fixed, and the DICOM encoder (src/dicom/op-wrapper.ts, shared with `npm run eval`) writes elements
// in a fixed order with no clock or random input.
// See fixtures/README.md for what each file is and why.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import dcmjsCodecs from 'dcmjs-codecs';
import {
  SOP_OP_8BIT, SOP_SECONDARY_CAPTURE, TS_EXPLICIT_LE, TS_IMPLICIT_LE, baselineYbr422FrameInfo, encodeDataset, encodeElement,
  fileMeta, getString, jpegBaselinePixels, lateralityFromDisc, nameBasedUid, opticDiscCentroid, part10, patientAndStudy,
  photoDataset as opPhotoDataset, s, t, u16, u32, us, type Dataset, type Implementation, type JpegFrameInfo,
  type PixelModule, type PhotoStudy,
} from '../src/dicom/op-wrapper.js';

// ---------------------------------------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------------------------------------

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const TS_J2K_LOSSLESS = '1.2.840.10008.1.2.4.90';

/**
 * Namespace of the name-based UUIDs behind every fixture UID. It is an arbitrary, fixed UUID chosen once for
 * OphGate's fixtures; changing it changes every UID (and every committed file).
 */
const UID_NAMESPACE = '6f0e6d5c-2a43-4b8e-9d1a-0c4f3b7e5a21';
const IMPLEMENTATION_VERSION = 'OPHGATE_FIX_1';

const STUDY_DATE = '20240311';
const IDRID_ATTRIBUTION =
  'IDRiD (c) Prasanna Porwal, Samiksha Pachade and Manesh Kokare, CC BY 4.0 ' +
  '(https://creativecommons.org/licenses/by/4.0/). Porwal P. et al., "Indian Diabetic Retinopathy Image Dataset ' +
  '(IDRiD): A Database for Diabetic Retinopathy Screening Research", Data 3(3):25, 2018. Quarter-size (1072x712) ' +
  'copies, converted to DICOM by OphGate scripts/make-fixtures.ts.';

// ---------------------------------------------------------------------------------------------------------------
// UIDs
// ---------------------------------------------------------------------------------------------------------------

/** "2.25." + the decimal value of the RFC 4122 version-5 UUID of `name` (PS3.5 B.2). */
export function fixtureUid(name: string): string {
  return nameBasedUid(UID_NAMESPACE, name);
}

const IMPLEMENTATION: Implementation = { classUid: fixtureUid('implementation-class'), versionName: IMPLEMENTATION_VERSION };

// ---------------------------------------------------------------------------------------------------------------
// Pixel helpers
// ---------------------------------------------------------------------------------------------------------------

interface Rgb { width: number; height: number; data: Buffer }

async function decodeJpegToRgb(jpeg: Buffer): Promise<Rgb> {
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`expected 3 channels, got ${info.channels}`);
  return { width: info.width, height: info.height, data };
}

function toPlanar(rgb: Buffer): Buffer {
  const n = rgb.length / 3;
  const out = Buffer.alloc(rgb.length);
  for (let p = 0; p < n; p++) {
    out[p] = rgb[3 * p]!;
    out[n + p] = rgb[3 * p + 1]!;
    out[2 * n + p] = rgb[3 * p + 2]!;
  }
  return out;
}

function clampByte(x: number): number {
  return x < 0 ? 0 : x > 255 ? 255 : x;
}

/** RGB -> YBR_FULL with the PS3.3 C.7.6.3.1.2 equations, rounded to nearest and clamped to 0..255. */
function rgbToYbrFull(rgb: Buffer): Buffer {
  const out = Buffer.alloc(rgb.length);
  for (let i = 0; i < rgb.length; i += 3) {
    const r = rgb[i]!, g = rgb[i + 1]!, b = rgb[i + 2]!;
    out[i] = clampByte(Math.round(0.299 * r + 0.587 * g + 0.114 * b));
    out[i + 1] = clampByte(Math.round(-0.1687 * r - 0.3313 * g + 0.5 * b + 128));
    out[i + 2] = clampByte(Math.round(0.5 * r - 0.4187 * g - 0.0813 * b + 128));
  }
  return out;
}

/** Largest per-sample difference between `rgb` and the usual inverse (ITU-R BT.601 full range) of `ybr`. */
function ybrRoundTripMaxError(rgb: Buffer, ybr: Buffer): number {
  let max = 0;
  for (let i = 0; i < rgb.length; i += 3) {
    const y = ybr[i]!, cb = ybr[i + 1]! - 128, cr = ybr[i + 2]! - 128;
    const back = [y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb];
    for (let c = 0; c < 3; c++) {
      const d = Math.abs(clampByte(Math.round(back[c]!)) - rgb[i + c]!);
      if (d > max) max = d;
    }
  }
  return max;
}

const { NativeCodecs, Context } = dcmjsCodecs;

/** Lossless JPEG 2000 (5/3 wavelet) with the reversible colour transform; verified by decoding it again. */
function encodeJ2kLosslessRct(img: Rgb): Buffer {
  const ctx = new Context({
    width: img.width, height: img.height, bitsAllocated: 8, bitsStored: 8, samplesPerPixel: 3,
    pixelRepresentation: 0, planarConfiguration: 0, photometricInterpretation: 'RGB',
    decodedBuffer: new Uint8Array(img.data),
  });
  const params = { lossy: false, allowMct: true } as Parameters<typeof NativeCodecs.encodeJpeg2000>[1];
  const encoded = Buffer.from(NativeCodecs.encodeJpeg2000(ctx, params).getEncodedBuffer() ?? new Uint8Array());
  // The COD marker segment must say: multiple component transform on, 5/3 reversible wavelet.
  const cod = encoded.indexOf(Buffer.from([0xff, 0x52]));
  if (cod < 0 || encoded[cod + 8] !== 1 || encoded[cod + 13] !== 1) {
    throw new Error('JPEG 2000 encoder did not use the reversible colour transform with the 5/3 wavelet');
  }
  const back = NativeCodecs.decodeJpeg2000(new Context({
    width: img.width, height: img.height, bitsAllocated: 8, bitsStored: 8, samplesPerPixel: 3,
    pixelRepresentation: 0, planarConfiguration: 0, photometricInterpretation: 'YBR_RCT', encodedBuffer: new Uint8Array(encoded),
  })).getDecodedBuffer();
  if (!back || Buffer.compare(Buffer.from(back), img.data) !== 0) throw new Error('JPEG 2000 round trip is not lossless');
  return encoded;
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

// ---------------------------------------------------------------------------------------------------------------
// Fixture descriptions
// ---------------------------------------------------------------------------------------------------------------

type Laterality = 'R' | 'L';
type Encoding = 'jpeg-baseline' | 'rgb-planar0' | 'rgb-planar1' | 'ybr-full' | 'j2k-lossless-rct';

interface Patient { name: string; id: string; birthDate: string; sex: 'F' | 'M' | 'O' }
interface Study { key: string; patient: Patient; accession: string; studyId: string; description: string; time: string }
interface Series { key: string; number: number; description: string }

interface SourceImage {
  /** Relative to the IDRiD folder (../shared/data/idrid from the repo root). */
  path: string;
  /** Optic disc position in the 1072x712 image, and where it came from. */
  opticDisc: { x: number; y: number; from: string };
  drGrade?: number;
  dmeRisk?: number;
}

interface OpSpec {
  file: string;
  study: Study;
  series: Series;
  instanceNumber: number;
  encoding: Encoding;
  source: string; // key into the source list: "seg:NN" or "grading:NNN"
}

const PATIENTS: Record<string, Patient> = {
  one: { name: 'OPHGATE^FIXTURE^ONE', id: 'OPHGATE-FIX-0001', birthDate: '19580417', sex: 'F' },
  two: { name: 'OPHGATE^FIXTURE^TWO', id: 'OPHGATE-FIX-0002', birthDate: '19630902', sex: 'M' },
  three: { name: 'OPHGATE^FIXTURE^THREE', id: 'OPHGATE-FIX-0003', birthDate: '19700125', sex: 'F' },
  four: { name: 'OPHGATE^FIXTURE^FOUR', id: 'OPHGATE-FIX-0004', birthDate: '19491130', sex: 'M' },
  five: { name: 'OPHGATE^FIXTURE^FIVE', id: 'OPHGATE-FIX-0005', birthDate: '19811208', sex: 'F' },
  six: { name: 'OPHGATE^FIXTURE^SIX', id: 'OPHGATE-FIX-0006', birthDate: '19550614', sex: 'M' },
  chest: { name: 'OPHGATE^FIXTURE^CHEST', id: 'OPHGATE-FIX-0007', birthDate: '19670321', sex: 'O' },
  truncated: { name: 'OPHGATE^MALFORMED^TRUNCATED', id: 'OPHGATE-BAD-0001', birthDate: '19600101', sex: 'O' },
  noSop: { name: 'OPHGATE^MALFORMED^NOSOPUID', id: 'OPHGATE-BAD-0002', birthDate: '19600101', sex: 'O' },
  huge: { name: 'OPHGATE^MALFORMED^LENGTH2GB', id: 'OPHGATE-BAD-0003', birthDate: '19600101', sex: 'O' },
  noMeta: { name: 'OPHGATE^MALFORMED^NOMETA', id: 'OPHGATE-BAD-0004', birthDate: '19600101', sex: 'O' },
};

function study(key: string, patient: Patient, n: number, description: string): Study {
  return { key, patient, accession: `OPHFIX${String(n).padStart(4, '0')}`, studyId: `FIX${n}`, description, time: `09${String(10 + n).padStart(2, '0')}00` };
}

const STUDIES = {
  jpeg: study('study-jpeg-baseline', PATIENTS.one!, 1, 'OphGate fixture: fundus photographs, JPEG baseline'),
  rgb0: study('study-rgb-planar0', PATIENTS.two!, 2, 'OphGate fixture: fundus photograph, RGB interleaved'),
  rgb1: study('study-rgb-planar1', PATIENTS.three!, 3, 'OphGate fixture: fundus photograph, RGB planar'),
  ybr: study('study-ybr-full', PATIENTS.four!, 4, 'OphGate fixture: fundus photograph, YBR_FULL'),
  j2k: study('study-j2k-lossless', PATIENTS.five!, 5, 'OphGate fixture: fundus photographs, JPEG 2000 lossless'),
  grade0: study('study-grade0', PATIENTS.six!, 6, 'OphGate fixture: fundus photograph, no DR (grade 0)'),
  chest: study('study-chest-sc', PATIENTS.chest!, 7, 'OphGate fixture: chest secondary capture (not ophthalmic)'),
  truncated: study('study-malformed-truncated', PATIENTS.truncated!, 11, 'OphGate malformed fixture: truncated'),
  noSop: study('study-malformed-no-sop-uid', PATIENTS.noSop!, 12, 'OphGate malformed fixture: no SOP Instance UID'),
  huge: study('study-malformed-length-2gb', PATIENTS.huge!, 13, 'OphGate malformed fixture: 2 GB element length'),
  noMeta: study('study-malformed-no-meta', PATIENTS.noMeta!, 14, 'OphGate malformed fixture: no File Meta'),
};

function op(file: string, st: Study, seriesNumber: number, seriesDescription: string, instanceNumber: number, encoding: Encoding, source: string): OpSpec {
  return { file, study: st, series: { key: `${st.key}/series-${seriesNumber}`, number: seriesNumber, description: seriesDescription }, instanceNumber, encoding, source };
}

/** The valid ophthalmic fixtures. Image numbers are IDRiD segmentation-test images found in no grading set. */
const OP_FIXTURES: OpSpec[] = [
  op('op-jpeg-baseline-idrid57-R.dcm', STUDIES.jpeg, 1, 'Right eye', 1, 'jpeg-baseline', 'seg:57'),
  op('op-jpeg-baseline-idrid66-R.dcm', STUDIES.jpeg, 1, 'Right eye', 2, 'jpeg-baseline', 'seg:66'),
  op('op-jpeg-baseline-idrid55-L.dcm', STUDIES.jpeg, 2, 'Left eye', 1, 'jpeg-baseline', 'seg:55'),
  op('op-jpeg-baseline-idrid56-L.dcm', STUDIES.jpeg, 2, 'Left eye', 2, 'jpeg-baseline', 'seg:56'),
  op('op-rgb-planar0-idrid70-R.dcm', STUDIES.rgb0, 1, 'Right eye', 1, 'rgb-planar0', 'seg:70'),
  op('sc-op-rgb-planar1-idrid60-L.dcm', STUDIES.rgb1, 1, 'Left eye', 1, 'rgb-planar1', 'seg:60'),
  op('sc-op-ybr-full-idrid61-L.dcm', STUDIES.ybr, 1, 'Left eye', 1, 'ybr-full', 'seg:61'),
  op('op-j2k-lossless-rct-idrid75-R.dcm', STUDIES.j2k, 1, 'Both eyes', 1, 'j2k-lossless-rct', 'seg:75'),
  op('op-j2k-lossless-rct-idrid64-L.dcm', STUDIES.j2k, 1, 'Both eyes', 2, 'j2k-lossless-rct', 'seg:64'),
  op('op-jpeg-baseline-grade0-idrid029-L.dcm', STUDIES.grade0, 1, 'Left eye', 1, 'jpeg-baseline', 'grading:029'),
];

// ---------------------------------------------------------------------------------------------------------------
// Sources
// ---------------------------------------------------------------------------------------------------------------

interface LoadedSource {
  info: SourceImage;
  jpeg: Buffer;
  frame: JpegFrameInfo;
  rgb: Rgb;
  laterality: Laterality;
}

function readCsv(file: string): string[][] {
  return readFileSync(file, 'utf8').trim().split(/\r?\n/).slice(1).map((line) => line.split(','));
}

async function loadSource(dataDir: string, key: string): Promise<LoadedSource> {
  const [set, number] = key.split(':') as [string, string];
  let info: SourceImage;
  if (set === 'seg') {
    const rel = `segmentation/quarter/images/test/IDRiD_${number}.jpg`;
    const mask = path.join(dataDir, `segmentation/quarter/masks/test/OD/IDRiD_${number}_OD.png`);
    const c = await opticDiscCentroid(mask);
    info = { path: rel, opticDisc: { ...c, from: `centroid of segmentation/quarter/masks/test/OD/IDRiD_${number}_OD.png` } };
  } else {
    const name = `IDRiD_${number}`;
    const rel = `grading/images_quarter/test/${name}.jpg`;
    const labels = readCsv(path.join(dataDir, 'grading/labels/test_labels.csv')).find((r) => r[0] === name);
    if (!labels) throw new Error(`${name} not in test_labels.csv`);
    const disc = readCsv(path.join(dataDir, 'localization/optic_disc_center_test_fullres.csv')).find((r) => r[0] === name);
    if (!disc) throw new Error(`${name} not in optic_disc_center_test_fullres.csv`);
    info = {
      path: rel,
      opticDisc: { x: Number(disc[1]) / 4, y: Number(disc[2]) / 4, from: 'localization/optic_disc_center_test_fullres.csv divided by 4' },
      drGrade: Number(labels[1]),
      dmeRisk: Number(labels[2]),
    };
  }
  const jpeg = readFileSync(path.join(dataDir, info.path));
  const frame = baselineYbr422FrameInfo(jpeg, info.path);
  const rgb = await decodeJpegToRgb(jpeg);
  if (rgb.width !== frame.width || rgb.height !== frame.height) throw new Error(`${info.path}: decoded size mismatch`);
  return { info, jpeg, frame, rgb, laterality: lateralityFromDisc(info.opticDisc.x, rgb.width) };
}

// ---------------------------------------------------------------------------------------------------------------
// Datasets
// ---------------------------------------------------------------------------------------------------------------

/** The fixture study as the OP wrapper takes it. */
function studyOf(st: Study): PhotoStudy {
  return {
    uid: fixtureUid(st.key), date: STUDY_DATE, time: st.time, accession: st.accession, studyId: st.studyId,
    description: st.description, referrer: 'OPHGATE^REFERRER', patient: st.patient,
  };
}

function pixelModule(src: LoadedSource, encoding: Encoding): PixelModule & { pixelSha256: string | null; rgbMaxAbsError: number | null } {
  const pixelTag = t(0x7fe0, 0x0010);
  switch (encoding) {
    case 'jpeg-baseline':
      return { ...jpegBaselinePixels(src.jpeg), pixelSha256: null, rgbMaxAbsError: null };
    case 'rgb-planar0':
      return {
        photometric: 'RGB', planarConfiguration: 0, transferSyntax: TS_EXPLICIT_LE,
        pixelData: { tag: pixelTag, vr: 'OB', value: src.rgb.data },
        pixelSha256: sha256(src.rgb.data), rgbMaxAbsError: 0,
      };
    case 'rgb-planar1': {
      const planar = toPlanar(src.rgb.data);
      return {
        photometric: 'RGB', planarConfiguration: 1, transferSyntax: TS_EXPLICIT_LE,
        pixelData: { tag: pixelTag, vr: 'OB', value: planar },
        pixelSha256: sha256(planar), rgbMaxAbsError: 0,
      };
    }
    case 'ybr-full': {
      const ybr = rgbToYbrFull(src.rgb.data);
      return {
        photometric: 'YBR_FULL', planarConfiguration: 0, transferSyntax: TS_EXPLICIT_LE,
        pixelData: { tag: pixelTag, vr: 'OB', value: ybr },
        pixelSha256: sha256(ybr), rgbMaxAbsError: ybrRoundTripMaxError(src.rgb.data, ybr),
      };
    }
    case 'j2k-lossless-rct':
      return {
        photometric: 'YBR_RCT', planarConfiguration: 0, transferSyntax: TS_J2K_LOSSLESS,
        pixelData: { tag: pixelTag, vr: 'OB', value: [encodeJ2kLosslessRct(src.rgb)], encapsulated: true },
        pixelSha256: sha256(src.rgb.data), rgbMaxAbsError: 0,
      };
  }
}

/** The dataset of one fixture photograph (see src/dicom/op-wrapper.ts photoDataset for when it is Secondary Capture). */
function photoDataset(spec: OpSpec, src: LoadedSource, px: PixelModule): Dataset {
  const minute = String(Number(spec.study.time.slice(2, 4)) + 1).padStart(2, '0');
  return opPhotoDataset({
    study: studyOf(spec.study),
    series: { uid: fixtureUid(spec.series.key), number: spec.series.number, description: spec.series.description },
    sopInstanceUid: fixtureUid(`${spec.series.key}/instance-${spec.instanceNumber}`),
    instanceNumber: spec.instanceNumber,
    contentTime: `${spec.study.time.slice(0, 2)}${minute}${String(spec.instanceNumber * 7).padStart(2, '0')}`,
    equipment: { manufacturer: 'OphGate test fixtures', modelName: 'make-fixtures' },
    comments: `Fundus photograph from ${IDRID_ATTRIBUTION}`,
    rows: src.rgb.height, columns: src.rgb.width, laterality: src.laterality, pixels: px,
    jpegRatio: (src.rgb.data.length / src.jpeg.length).toFixed(2),
    secondaryCapture: usesSecondaryCapture(spec.encoding),
  });
}

function usesSecondaryCapture(encoding: Encoding): boolean {
  return encoding === 'rgb-planar1' || encoding === 'ybr-full';
}

// ---------------------------------------------------------------------------------------------------------------
// Non-ophthalmic and malformed files
// ---------------------------------------------------------------------------------------------------------------

/** A synthetic 8-bit greyscale "radiograph": two dark lung fields inside a brighter body outline, plus a ramp. */
function syntheticChest(width: number, height: number): Buffer {
  const out = Buffer.alloc(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const nx = (x - width / 2) / (width / 2), ny = (y - height / 2) / (height / 2);
      let v = 20;
      if (nx * nx / 0.8 + ny * ny / 0.95 < 1) v = 170; // body
      for (const cx of [-0.38, 0.38]) {
        const lx = (nx - cx) / 0.28, ly = (ny + 0.05) / 0.62;
        if (lx * lx + ly * ly < 1) v = 60 + Math.round(30 * (ly + 1)); // lungs
      }
      if (Math.abs(nx) < 0.06 && ny > -0.8 && ny < 0.7) v = 200; // spine
      out[y * width + x] = Math.min(255, v + (x >> 5));
    }
  }
  return out;
}

function chestDataset(st: Study, size: number, sopKey: string): Dataset {
  const pixels = syntheticChest(size, size);
  return [
    ...patientAndStudy(studyOf(st)),
    s(t(0x0008, 0x0016), 'UI', SOP_SECONDARY_CAPTURE),
    s(t(0x0008, 0x0018), 'UI', fixtureUid(sopKey)),
    s(t(0x0008, 0x0008), 'CS', ['DERIVED', 'SECONDARY']),
    s(t(0x0008, 0x0060), 'CS', 'OT'),
    s(t(0x0008, 0x0064), 'CS', 'WSD'),
    s(t(0x0008, 0x0070), 'LO', 'OphGate test fixtures'),
    s(t(0x0008, 0x103e), 'LO', 'Synthetic chest image'),
    s(t(0x0018, 0x0015), 'CS', 'CHEST'),
    s(t(0x0020, 0x000e), 'UI', fixtureUid(`${st.key}/series-1`)),
    s(t(0x0020, 0x0011), 'IS', '1'),
    s(t(0x0020, 0x0013), 'IS', '1'),
    s(t(0x0020, 0x0020), 'CS', ['L', 'F']),
    s(t(0x0020, 0x4000), 'LT', 'Synthetic pixels drawn by OphGate scripts/make-fixtures.ts; not a real radiograph.'),
    s(t(0x0028, 0x0004), 'CS', 'MONOCHROME2'),
    us(t(0x0028, 0x0002), 1),
    us(t(0x0028, 0x0010), size),
    us(t(0x0028, 0x0011), size),
    us(t(0x0028, 0x0100), 8),
    us(t(0x0028, 0x0101), 8),
    us(t(0x0028, 0x0102), 7),
    us(t(0x0028, 0x0103), 0),
    { tag: t(0x7fe0, 0x0010), vr: 'OB', value: pixels },
  ];
}

/** A small, valid PNG (stored, uncompressed deflate blocks so the bytes never depend on the zlib build). */
function tinyPng(): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => { let c = 0xffffffff; for (const x of b) c = crcTable[(c ^ x) & 0xff]! ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const chunk = (type: string, data: Buffer) => {
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    return Buffer.concat([u32be(data.length), td, u32be(crc(td))]);
  };
  const u32be = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
  const w = 16, h = 16;
  const raw = Buffer.alloc(h * (w + 1));
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) raw[y * (w + 1) + 1 + x] = (x ^ y) * 16;
  const ihdr = Buffer.concat([u32be(w), u32be(h), Buffer.from([8, 0, 0, 0, 0])]);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 0 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// ---------------------------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------------------------

export interface ManifestEntry {
  path: string;
  valid: boolean;
  ophthalmic: boolean;
  description: string;
  sopClassUid: string | null;
  studyInstanceUid: string | null;
  seriesInstanceUid: string | null;
  sopInstanceUid: string | null;
  patientName: string | null;
  patientId: string | null;
  accessionNumber: string | null;
  transferSyntaxUid: string | null;
  photometricInterpretation: string | null;
  planarConfiguration: number | null;
  rows: number | null;
  columns: number | null;
  samplesPerPixel: number | null;
  laterality: Laterality | null;
  encoding: Encoding | 'native-monochrome' | null;
  lossless: boolean;
  pixelSha256: string | null;
  rgbMaxAbsError: number | null;
  source: (SourceImage & { rgbSha256: string; jpegSha256: string; jpegSampling: string }) | null;
  expectedRejection: string | null;
  sizeBytes: number;
  sha256: string;
}

const MANIFEST_KEYS: (keyof ManifestEntry)[] = [
  'path', 'valid', 'ophthalmic', 'description', 'expectedRejection', 'sopClassUid', 'studyInstanceUid',
  'seriesInstanceUid', 'sopInstanceUid', 'patientName', 'patientId', 'accessionNumber', 'transferSyntaxUid',
  'photometricInterpretation', 'planarConfiguration', 'rows', 'columns', 'samplesPerPixel', 'laterality', 'encoding',
  'lossless', 'pixelSha256', 'rgbMaxAbsError', 'source', 'sizeBytes', 'sha256',
];

/** The entry with its keys in one fixed order, so the manifest reads the same for every file. */
function ordered(entry: ManifestEntry): ManifestEntry {
  return Object.fromEntries(MANIFEST_KEYS.map((k) => [k, entry[k]])) as unknown as ManifestEntry;
}

function parseArgs(argv: string[]): { out: string; data: string } {
  let out = path.join(REPO_ROOT, 'fixtures');
  let data = path.join(REPO_ROOT, '..', 'shared', 'data', 'idrid');
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--out') out = path.resolve(argv[++i] ?? '');
    else if (a === '--data') data = path.resolve(argv[++i] ?? '');
    else throw new Error(`unknown argument ${a} (use --out DIR, --data DIR)`);
  }
  return { out, data };
}

async function main(): Promise<void> {
  const { out, data } = parseArgs(process.argv.slice(2));
  sharp.concurrency(1);
  sharp.cache(false);
  await NativeCodecs.initializeAsync();
  mkdirSync(path.join(out, 'malformed'), { recursive: true });

  const entries: ManifestEntry[] = [];
  const write = (rel: string, bytes: Buffer, entry: Omit<ManifestEntry, 'path' | 'sizeBytes' | 'sha256'>) => {
    writeFileSync(path.join(out, rel), bytes);
    entries.push(ordered({ path: rel, ...entry, sizeBytes: bytes.length, sha256: sha256(bytes) }));
  };
  const sources = new Map<string, LoadedSource>();
  const source = async (key: string) => {
    let src = sources.get(key);
    if (!src) { src = await loadSource(data, key); sources.set(key, src); }
    return src;
  };
  const sourceEntry = (src: LoadedSource) => ({
    ...src.info,
    rgbSha256: sha256(src.rgb.data),
    jpegSha256: sha256(src.jpeg),
    jpegSampling: src.frame.components.map((c) => `${c.h}x${c.v}`).join(','),
  });
  const headerOf = (ds: Dataset) => ({
    sopClassUid: getString(ds, t(0x0008, 0x0016)) ?? null,
    studyInstanceUid: getString(ds, t(0x0020, 0x000d)) ?? null,
    seriesInstanceUid: getString(ds, t(0x0020, 0x000e)) ?? null,
    sopInstanceUid: getString(ds, t(0x0008, 0x0018)) ?? null,
    patientName: getString(ds, t(0x0010, 0x0010)) ?? null,
    patientId: getString(ds, t(0x0010, 0x0020)) ?? null,
    accessionNumber: getString(ds, t(0x0008, 0x0050)) ?? null,
  });

  // Valid ophthalmic photographs.
  for (const spec of OP_FIXTURES) {
    const src = await source(spec.source);
    const px = pixelModule(src, spec.encoding);
    const ds = photoDataset(spec, src, px);
    write(spec.file, part10(ds, px.transferSyntax, IMPLEMENTATION), {
      valid: true, ophthalmic: true,
      description: `${usesSecondaryCapture(spec.encoding) ? 'Secondary Capture (Modality OP)' : 'Ophthalmic Photography 8 Bit'}, ${spec.encoding}, ${src.laterality === 'R' ? 'right' : 'left'} eye, from IDRiD ${src.info.path}`,
      ...headerOf(ds),
      transferSyntaxUid: px.transferSyntax, photometricInterpretation: px.photometric, planarConfiguration: px.planarConfiguration,
      rows: src.rgb.height, columns: src.rgb.width, samplesPerPixel: 3, laterality: src.laterality, encoding: spec.encoding,
      lossless: px.rgbMaxAbsError === 0, pixelSha256: px.pixelSha256, rgbMaxAbsError: px.rgbMaxAbsError,
      source: sourceEntry(src), expectedRejection: null,
    });
  }

  // Non-ophthalmic: a synthetic chest Secondary Capture.
  {
    const ds = chestDataset(STUDIES.chest, 256, `${STUDIES.chest.key}/series-1/instance-1`);
    const pixels = (ds.find((e) => e.tag === t(0x7fe0, 0x0010))!.value) as Uint8Array;
    write('sc-chest-ot.dcm', part10(ds, TS_EXPLICIT_LE, IMPLEMENTATION), {
      valid: true, ophthalmic: false,
      description: 'Secondary Capture, Modality OT, Body Part Examined CHEST, synthetic 256x256 MONOCHROME2 pixels',
      ...headerOf(ds),
      transferSyntaxUid: TS_EXPLICIT_LE, photometricInterpretation: 'MONOCHROME2', planarConfiguration: null,
      rows: 256, columns: 256, samplesPerPixel: 1, laterality: null, encoding: 'native-monochrome',
      lossless: true, pixelSha256: sha256(pixels), rgbMaxAbsError: null, source: null, expectedRejection: null,
    });
  }

  // Malformed files. Each has its own patient and UIDs so a log line names the file it came from.
  const malformedOp = async (st: Study, sourceKey: string): Promise<{ spec: OpSpec; src: LoadedSource; px: PixelModule; ds: Dataset }> => {
    const spec = op('', st, 1, 'Malformed', 1, 'jpeg-baseline', sourceKey);
    const src = await source(sourceKey);
    const px = pixelModule(src, 'jpeg-baseline');
    return { spec, src, px, ds: photoDataset(spec, src, px) };
  };
  const malformedCommon = (ds: Dataset, src: LoadedSource | null, ts: string | null) => ({
    valid: false, ...headerOf(ds), transferSyntaxUid: ts,
    photometricInterpretation: src ? 'YBR_FULL_422' : null, planarConfiguration: src ? 0 : null,
    rows: src?.rgb.height ?? null, columns: src?.rgb.width ?? null, samplesPerPixel: src ? 3 : null,
    laterality: src?.laterality ?? null, encoding: src ? 'jpeg-baseline' as const : null,
    lossless: false, pixelSha256: null, rgbMaxAbsError: null, source: src ? sourceEntry(src) : null,
  });

  {
    // Truncated: a complete JPEG baseline OP file cut half-way through its only Pixel Data fragment.
    const { src, px, ds } = await malformedOp(STUDIES.truncated, 'seg:68');
    const full = part10(ds, px.transferSyntax, IMPLEMENTATION);
    const fragment = src.jpeg.length + (src.jpeg.length % 2);
    const cut = full.length - 8 /* sequence delimiter */ - Math.floor(fragment / 2);
    write('malformed/truncated-pixel-data.dcm', full.subarray(0, cut), {
      ...malformedCommon(ds, src, px.transferSyntax), ophthalmic: true,
      description: `Valid JPEG baseline OP file (IDRiD ${src.info.path}) cut at byte ${cut} of ${full.length}, half-way through the Pixel Data fragment`,
      expectedRejection: 'truncated: the Pixel Data fragment and its sequence delimiter run past the end of the file',
    });
  }
  {
    // Not DICOM at all: a PNG image given a .dcm name.
    const png = tinyPng();
    writeFileSync(path.join(out, 'malformed/not-dicom-png.dcm'), png);
    entries.push(ordered({
      path: 'malformed/not-dicom-png.dcm', valid: false, ophthalmic: false,
      description: 'A 16x16 greyscale PNG with a .dcm file name: no preamble, no "DICM" prefix',
      sopClassUid: null, studyInstanceUid: null, seriesInstanceUid: null, sopInstanceUid: null, patientName: null,
      patientId: null, accessionNumber: null, transferSyntaxUid: null, photometricInterpretation: null,
      planarConfiguration: null, rows: null, columns: null, samplesPerPixel: null, laterality: null, encoding: null,
      lossless: false, pixelSha256: null, rgbMaxAbsError: null, source: null,
      expectedRejection: 'not-dicom: no "DICM" at byte 128 (the file starts with the PNG signature)',
      sizeBytes: png.length, sha256: sha256(png),
    }));
  }
  {
    // No SOP Instance UID: neither (0008,0018) in the dataset nor (0002,0003) in the File Meta.
    const { src, px, ds } = await malformedOp(STUDIES.noSop, 'seg:80');
    const without = ds.filter((e) => e.tag !== t(0x0008, 0x0018));
    write('malformed/missing-sop-instance-uid.dcm', part10(without, px.transferSyntax, IMPLEMENTATION), {
      ...malformedCommon(without, src, px.transferSyntax), ophthalmic: true,
      description: `JPEG baseline OP file (IDRiD ${src.info.path}) without SOP Instance UID (0008,0018) and without Media Storage SOP Instance UID (0002,0003)`,
      expectedRejection: 'missing-attribute: SOP Instance UID (0008,0018) is absent',
    });
  }
  {
    // An element claiming 2 GB: private OB element (0009,1001) with length 0x80000000, followed by the rest of a
    // valid dataset, so the declared length runs far past the end of the file.
    const { src, px, ds } = await malformedOp(STUDIES.huge, 'seg:65');
    const before = ds.filter((e) => e.tag < t(0x0009, 0x0000));
    const after = ds.filter((e) => e.tag >= t(0x0009, 0x0000));
    const creator = encodeElement(s(t(0x0009, 0x0010), 'LO', 'OPHGATE FIXTURE'), false);
    const bogus = Buffer.concat([u16(0x0009), u16(0x1001), Buffer.from('OB', 'latin1'), u16(0), u32(0x80000000)]);
    const meta = fileMeta(SOP_OP_8BIT, getString(ds, t(0x0008, 0x0018)), px.transferSyntax, IMPLEMENTATION);
    const bytes = Buffer.concat([meta, encodeDataset(before), creator, bogus, Buffer.from('OPHGATE'.repeat(2)), encodeDataset(after)]);
    write('malformed/element-length-2gb.dcm', bytes, {
      ...malformedCommon(ds, src, px.transferSyntax), ophthalmic: true,
      description: `JPEG baseline OP file (IDRiD ${src.info.path}) with a private element (0009,1001) OB whose length field is 0x80000000 (2 GiB), inserted after group 0008`,
      expectedRejection: 'bad-length: element (0009,1001) declares 2147483648 bytes, more than the file holds; must not allocate it',
    });
  }
  {
    // No File Meta: the bare dataset (implicit VR little endian, as a DIMSE peer would send it), no preamble.
    const ds = chestDataset(STUDIES.noMeta, 64, `${STUDIES.noMeta.key}/series-1/instance-1`);
    const bytes = encodeDataset(ds, true);
    write('malformed/no-file-meta.dcm', bytes, {
      ...malformedCommon(ds, null, null), ophthalmic: false,
      transferSyntaxUid: TS_IMPLICIT_LE, photometricInterpretation: 'MONOCHROME2', rows: 64, columns: 64, samplesPerPixel: 1,
      description: 'A Secondary Capture dataset (synthetic 64x64 pixels) in implicit VR little endian with no preamble, no "DICM" and no File Meta Information',
      expectedRejection: 'no-file-meta (or not-dicom): no "DICM" at byte 128, the file starts with (0008,0005)/(0008,0008)',
    });
  }

  entries.sort((a, b) => a.path.localeCompare(b.path));
  const manifest = {
    $comment: 'Generated by scripts/make-fixtures.ts; see fixtures/README.md. Paths are relative to fixtures/, source paths relative to ../shared/data/idrid from the repo root.',
    generator: 'scripts/make-fixtures.ts',
    idridRoot: '../shared/data/idrid',
    attribution: IDRID_ATTRIBUTION,
    uidScheme: `2.25.<decimal RFC 4122 v5 UUID of a fixed name in namespace ${UID_NAMESPACE}>`,
    implementationClassUid: IMPLEMENTATION.classUid,
    files: entries,
  };
  writeFileSync(path.join(out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  const total = entries.reduce((n, e) => n + e.sizeBytes, 0);
  console.log(`wrote ${entries.length} fixtures (${(total / 1e6).toFixed(2)} MB) and manifest.json to ${out}`);
}

await main();
