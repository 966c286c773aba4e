// A fundus photograph as a DICOM Ophthalmic Photography instance, written with a small explicit/implicit VR little
// endian encoder of its own. scripts/make-fixtures.ts builds the test fixtures with it, and `npm run eval`
// (src/inference/evaluation/dicom-check.ts) wraps each IDRiD test JPEG with it as the source a SEG and an SR point
// at, so both make the same OP instances: every module of the OP 8 Bit Image IOD (PS3.3 A.41) that dciodvfy asks
// for, Synchronization included, with a baseline JPEG kept as it is (JPEG Baseline transfer syntax, YBR_FULL_422).
//
// The output is a function of the inputs only: elements are written in ascending tag order, sequences and items
// with explicit lengths, encapsulated Pixel Data with undefined length (PS3.5 A.4), no clock or random input.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import sharp from 'sharp';

export const SOP_OP_8BIT = '1.2.840.10008.5.1.4.1.1.77.1.5.1';
export const SOP_SECONDARY_CAPTURE = '1.2.840.10008.5.1.4.1.1.7';
export const TS_EXPLICIT_LE = '1.2.840.10008.1.2.1';
export const TS_IMPLICIT_LE = '1.2.840.10008.1.2';
export const TS_JPEG_BASELINE = '1.2.840.10008.1.2.4.50';
/** PS3.6 Annex A well-known UID: synchronisation frame of reference "Universal Coordinated Time". */
const UTC_SYNC_FRAME_OF_REFERENCE = '1.2.840.10008.15.1.1';

/** Implementation Class UID and Version Name of the File Meta Information. */
export interface Implementation { classUid: string; versionName: string }

// ---------------------------------------------------------------------------------------------------------------
// UIDs
// ---------------------------------------------------------------------------------------------------------------

function uuidBytes(text: string): Buffer {
  return Buffer.from(text.replace(/-/g, ''), 'hex');
}

/** "2.25." + the decimal value of the RFC 4122 version-5 UUID of `name` in `namespace` (PS3.5 B.2). */
export function nameBasedUid(namespace: string, name: string): string {
  const digest = createHash('sha1').update(uuidBytes(namespace)).update(name, 'utf8').digest();
  const bytes = Buffer.from(digest.subarray(0, 16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x50; // version 5
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC 4122 variant
  return `2.25.${BigInt('0x' + bytes.toString('hex')).toString(10)}`;
}

// ---------------------------------------------------------------------------------------------------------------
// The encoder
// ---------------------------------------------------------------------------------------------------------------

export type StringVR = 'AE' | 'AS' | 'CS' | 'DA' | 'DS' | 'DT' | 'IS' | 'LO' | 'LT' | 'PN' | 'SH' | 'ST' | 'TM' | 'UI' | 'UT';
export type Element =
  | { tag: number; vr: StringVR; value: string[] }
  | { tag: number; vr: 'US' | 'UL' | 'SS' | 'FL' | 'FD' | 'AT'; value: number[] }
  | { tag: number; vr: 'OB' | 'OW'; value: Uint8Array }
  | { tag: number; vr: 'SQ'; value: Dataset[] }
  | { tag: number; vr: 'OB'; value: Uint8Array[]; encapsulated: true };
export type Dataset = Element[];

const LONG_LENGTH_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT', 'SV', 'UV']);

export function t(group: number, element: number): number {
  return ((group << 16) | element) >>> 0;
}

/** String element; `undefined` or '' gives a zero-length (type 2 "empty") value. */
export function s(tag: number, vr: StringVR, value?: string | string[]): Element {
  const values = value === undefined ? [] : Array.isArray(value) ? value : value === '' ? [] : [value];
  return { tag, vr, value: values };
}
export function us(tag: number, ...value: number[]): Element {
  return { tag, vr: 'US', value };
}
export function sq(tag: number, items: Dataset[]): Element {
  return { tag, vr: 'SQ', value: items };
}
export function code(value: string, scheme: string, meaning: string): Dataset {
  return [s(t(0x0008, 0x0100), 'SH', value), s(t(0x0008, 0x0102), 'SH', scheme), s(t(0x0008, 0x0104), 'LO', meaning)];
}

export function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
}
export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

function elementValueBytes(el: Element, implicit: boolean): Buffer {
  switch (el.vr) {
    case 'US':
      return Buffer.concat(el.value.map(u16));
    case 'UL':
      return Buffer.concat(el.value.map(u32));
    case 'SS':
      return Buffer.concat(el.value.map((n) => { const b = Buffer.alloc(2); b.writeInt16LE(n); return b; }));
    case 'FL':
      return Buffer.concat(el.value.map((n) => { const b = Buffer.alloc(4); b.writeFloatLE(n); return b; }));
    case 'FD':
      return Buffer.concat(el.value.map((n) => { const b = Buffer.alloc(8); b.writeDoubleLE(n); return b; }));
    case 'AT':
      return Buffer.concat(el.value.map((n) => Buffer.concat([u16(n >>> 16), u16(n & 0xffff)])));
    case 'SQ':
      return Buffer.concat(el.value.map((item) => {
        const body = encodeDataset(item, implicit);
        return Buffer.concat([u16(0xfffe), u16(0xe000), u32(body.length), body]);
      }));
    case 'OB':
    case 'OW': {
      if ('encapsulated' in el) throw new Error('encapsulated data has no plain value');
      const b = Buffer.from(el.value);
      return b.length % 2 ? Buffer.concat([b, Buffer.alloc(1)]) : b;
    }
    default: {
      const b = Buffer.from(el.value.join('\\'), 'latin1');
      if (b.length % 2 === 0) return b;
      return Buffer.concat([b, Buffer.from(el.vr === 'UI' ? [0x00] : [0x20])]);
    }
  }
}

function elementHeader(tag: number, vr: string, length: number, implicit: boolean): Buffer {
  const tagBytes = Buffer.concat([u16(tag >>> 16), u16(tag & 0xffff)]);
  if (implicit) return Buffer.concat([tagBytes, u32(length)]);
  if (LONG_LENGTH_VRS.has(vr)) return Buffer.concat([tagBytes, Buffer.from(vr, 'latin1'), u16(0), u32(length)]);
  if (length > 0xffff) throw new Error(`value of ${tag.toString(16)} too long for VR ${vr}`);
  return Buffer.concat([tagBytes, Buffer.from(vr, 'latin1'), u16(length)]);
}

export function encodeElement(el: Element, implicit: boolean): Buffer {
  if ('encapsulated' in el) {
    const parts: Buffer[] = [elementHeader(el.tag, 'OB', 0xffffffff, implicit)];
    // Basic Offset Table with one entry per frame: each frame is a single fragment.
    const offsets: number[] = [];
    let at = 0;
    const fragments = el.value.map((f) => {
      const b = Buffer.from(f);
      return b.length % 2 ? Buffer.concat([b, Buffer.alloc(1)]) : b; // trailing pad byte, PS3.5 A.4
    });
    for (const f of fragments) { offsets.push(at); at += 8 + f.length; }
    parts.push(u16(0xfffe), u16(0xe000), u32(offsets.length * 4), ...offsets.map(u32));
    for (const f of fragments) parts.push(u16(0xfffe), u16(0xe000), u32(f.length), f);
    parts.push(u16(0xfffe), u16(0xe0dd), u32(0));
    return Buffer.concat(parts);
  }
  const value = elementValueBytes(el, implicit);
  return Buffer.concat([elementHeader(el.tag, el.vr, value.length, implicit), value]);
}

export function encodeDataset(ds: Dataset, implicit = false): Buffer {
  const sorted = [...ds].sort((a, b) => a.tag - b.tag);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.tag === sorted[i - 1]!.tag) throw new Error(`duplicate tag ${sorted[i]!.tag.toString(16)}`);
  }
  return Buffer.concat(sorted.map((el) => encodeElement(el, implicit)));
}

export function fileMeta(sopClassUid: string, sopInstanceUid: string | undefined, transferSyntaxUid: string, impl: Implementation): Buffer {
  const elements: Dataset = [
    { tag: t(0x0002, 0x0001), vr: 'OB', value: Uint8Array.from([0x00, 0x01]) },
    s(t(0x0002, 0x0002), 'UI', sopClassUid),
    s(t(0x0002, 0x0010), 'UI', transferSyntaxUid),
    s(t(0x0002, 0x0012), 'UI', impl.classUid),
    s(t(0x0002, 0x0013), 'SH', impl.versionName),
  ];
  if (sopInstanceUid !== undefined) elements.push(s(t(0x0002, 0x0003), 'UI', sopInstanceUid));
  const body = encodeDataset(elements);
  const groupLength = encodeElement({ tag: t(0x0002, 0x0000), vr: 'UL', value: [body.length] }, false);
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM', 'latin1'), groupLength, body]);
}

export function getString(ds: Dataset, tag: number): string | undefined {
  const el = ds.find((e) => e.tag === tag);
  if (!el || !Array.isArray(el.value) || typeof el.value[0] !== 'string') return undefined;
  return (el.value as string[]).join('\\');
}

/** A PS3.10 file: preamble, "DICM", File Meta Information, then the dataset in the given transfer syntax. */
export function part10(ds: Dataset, transferSyntaxUid: string, impl: Implementation): Buffer {
  const sopClass = getString(ds, t(0x0008, 0x0016));
  if (!sopClass) throw new Error('dataset has no SOP Class UID');
  const meta = fileMeta(sopClass, getString(ds, t(0x0008, 0x0018)), transferSyntaxUid, impl);
  return Buffer.concat([meta, encodeDataset(ds, transferSyntaxUid === TS_IMPLICIT_LE)]);
}

// ---------------------------------------------------------------------------------------------------------------
// JPEG
// ---------------------------------------------------------------------------------------------------------------

export interface JpegFrameInfo { process: string; precision: number; width: number; height: number; components: { id: number; h: number; v: number }[] }

/** Reads the SOF marker of a JPEG stream (to check it is baseline, 8 bit, 3 components, and find its subsampling). */
export function readJpegFrameInfo(jpeg: Buffer): JpegFrameInfo {
  let i = 2;
  if (jpeg.readUInt16BE(0) !== 0xffd8) throw new Error('not a JPEG stream');
  while (i + 4 <= jpeg.length) {
    if (jpeg[i] !== 0xff) throw new Error(`bad JPEG marker at ${i}`);
    const marker = jpeg[i + 1]!;
    const length = jpeg.readUInt16BE(i + 2);
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      const n = jpeg[i + 9]!;
      const components = [];
      for (let k = 0; k < n; k++) {
        const sampling = jpeg[i + 11 + 3 * k]!;
        components.push({ id: jpeg[i + 10 + 3 * k]!, h: sampling >> 4, v: sampling & 0x0f });
      }
      return {
        process: marker === 0xc0 ? 'baseline' : `SOF${marker - 0xc0}`,
        precision: jpeg[i + 4]!,
        height: jpeg.readUInt16BE(i + 5),
        width: jpeg.readUInt16BE(i + 7),
        components,
      };
    }
    if (marker === 0xda) break;
    i += 2 + length;
  }
  throw new Error('no SOF marker before the scan');
}

/**
 * The JPEG's frame header, checked to be what the JPEG Baseline transfer syntax with YBR_FULL_422 says: 8-bit
 * baseline, three components, chroma subsampled 2:1 horizontally (4:2:2 or 4:2:0).
 */
export function baselineYbr422FrameInfo(jpeg: Buffer, what: string): JpegFrameInfo {
  const frame = readJpegFrameInfo(jpeg);
  const [y, cb, cr] = frame.components;
  if (frame.process !== 'baseline' || frame.precision !== 8 || frame.components.length !== 3 || !y || !cb || !cr ||
      cb.h !== 1 || cb.v !== 1 || cr.h !== 1 || cr.v !== 1 || y.h !== 2 || (y.v !== 1 && y.v !== 2)) {
    throw new Error(`${what}: expected an 8-bit baseline JPEG with 4:2:2 or 4:2:0 chroma subsampling, got ${JSON.stringify(frame)}`);
  }
  return frame;
}

// ---------------------------------------------------------------------------------------------------------------
// Laterality
// ---------------------------------------------------------------------------------------------------------------

export async function opticDiscCentroid(maskPath: string): Promise<{ x: number; y: number }> {
  const { data, info } = await sharp(readFileSync(maskPath)).greyscale().raw().toBuffer({ resolveWithObject: true });
  let sx = 0, sy = 0, n = 0;
  for (let y = 0; y < info.height; y++) {
    for (let x = 0; x < info.width; x++) {
      if (data[y * info.width + x]! >= 128) { sx += x; sy += y; n++; }
    }
  }
  if (n === 0) throw new Error(`empty optic disc mask ${maskPath}`);
  return { x: Math.round((sx / n) * 10) / 10, y: Math.round((sy / n) * 10) / 10 };
}

/**
 * Laterality from the optic disc: a fundus photograph shows the retina as seen from in front of the patient, so
 * the nasal side of a right eye (towards the nose, the patient's left) lies on the image's right, and the nasal
 * side of a left eye on the image's left. The optic disc is nasal to the fovea, so its side gives the eye.
 */
export function lateralityFromDisc(x: number, width: number): 'R' | 'L' {
  const margin = width * 0.05;
  if (Math.abs(x - width / 2) < margin) throw new Error(`optic disc at x=${x} is too central to decide laterality`);
  return x > width / 2 ? 'R' : 'L';
}

// ---------------------------------------------------------------------------------------------------------------
// The photograph's dataset
// ---------------------------------------------------------------------------------------------------------------

export interface PhotoPatient { name: string; id: string; birthDate: string; sex: string }
export interface PhotoStudy {
  uid: string;
  /** DA; also the content and acquisition date of the photographs. */
  date: string;
  time: string;
  accession: string;
  studyId: string;
  description: string;
  referrer: string;
  patient: PhotoPatient;
}

/** Patient and General Study modules ('' gives an empty type 2 value). */
export function patientAndStudy(st: PhotoStudy): Dataset {
  return [
    s(t(0x0008, 0x0020), 'DA', st.date),
    s(t(0x0008, 0x0030), 'TM', st.time),
    s(t(0x0008, 0x0050), 'SH', st.accession),
    s(t(0x0008, 0x0090), 'PN', st.referrer),
    s(t(0x0008, 0x1030), 'LO', st.description),
    s(t(0x0010, 0x0010), 'PN', st.patient.name),
    s(t(0x0010, 0x0020), 'LO', st.patient.id),
    s(t(0x0010, 0x0030), 'DA', st.patient.birthDate),
    s(t(0x0010, 0x0040), 'CS', st.patient.sex),
    s(t(0x0020, 0x000d), 'UI', st.uid),
    s(t(0x0020, 0x0010), 'SH', st.studyId),
  ];
}

export interface PixelModule {
  photometric: string;
  planarConfiguration: number;
  transferSyntax: string;
  pixelData: Element;
}

/** The JPEG bytes as they are, one fragment of one frame (check them with baselineYbr422FrameInfo first). */
export function jpegBaselinePixels(jpeg: Buffer): PixelModule {
  return {
    photometric: 'YBR_FULL_422', planarConfiguration: 0, transferSyntax: TS_JPEG_BASELINE,
    pixelData: { tag: t(0x7fe0, 0x0010), vr: 'OB', value: [jpeg], encapsulated: true },
  };
}

export interface PhotoInput {
  study: PhotoStudy;
  series: { uid: string; number: number; description: string };
  sopInstanceUid: string;
  instanceNumber: number;
  /** TM of Content Time and Acquisition DateTime (the date is the study's). */
  contentTime: string;
  equipment: { manufacturer: string; modelName: string };
  /** Image Comments (0020,4000): where the photograph came from. */
  comments: string;
  rows: number;
  columns: number;
  /** Image Laterality (0020,0062). */
  laterality: 'R' | 'L' | 'B' | 'U';
  pixels: PixelModule;
  /** Lossy Image Compression Ratio (0028,2112) of the source JPEG (the photograph was a JPEG before any re-encoding). */
  jpegRatio: string;
  /** Secondary Capture with Modality OP instead of the OP IOD (for encodings the OP IOD does not allow). */
  secondaryCapture?: boolean;
}

/**
 * The dataset of one fundus photograph. OP (Ophthalmic Photography 8 Bit Image) for every encoding that IOD allows;
 * the OP IOD only allows Planar Configuration 0 and, uncompressed, only RGB or MONOCHROME2 (PS3.3 A.41, C.8.17.2),
 * so a caller with planar RGB or YBR_FULL pixels asks for a Secondary Capture instance with Modality OP, as older
 * fundus cameras and capture stations send them.
 */
export function photoDataset(p: PhotoInput): Dataset {
  const sc = p.secondaryCapture ?? false;
  const date = p.study.date;
  const common: Dataset = [
    ...patientAndStudy(p.study),
    // SOP Common
    s(t(0x0008, 0x0016), 'UI', sc ? SOP_SECONDARY_CAPTURE : SOP_OP_8BIT),
    s(t(0x0008, 0x0018), 'UI', p.sopInstanceUid),
    s(t(0x0008, 0x0012), 'DA', date),
    s(t(0x0008, 0x0013), 'TM', p.contentTime),
    // General Series (+ Ophthalmic Photography Series: Modality OP)
    s(t(0x0008, 0x0060), 'CS', 'OP'),
    s(t(0x0008, 0x103e), 'LO', p.series.description),
    s(t(0x0018, 0x0015), 'CS', 'EYE'),
    s(t(0x0020, 0x000e), 'UI', p.series.uid),
    s(t(0x0020, 0x0011), 'IS', String(p.series.number)),
    // General Equipment
    s(t(0x0008, 0x0070), 'LO', p.equipment.manufacturer),
    s(t(0x0008, 0x1090), 'LO', p.equipment.modelName),
    // General Image (+ Ophthalmic Photography Image)
    s(t(0x0008, 0x0008), 'CS', ['ORIGINAL', 'PRIMARY']),
    s(t(0x0008, 0x0023), 'DA', date),
    s(t(0x0008, 0x0033), 'TM', p.contentTime),
    s(t(0x0008, 0x002a), 'DT', `${date}${p.contentTime}`),
    s(t(0x0020, 0x0013), 'IS', String(p.instanceNumber)),
    s(t(0x0020, 0x0020), 'CS'),
    s(t(0x0020, 0x4000), 'LT', p.comments),
    s(t(0x0028, 0x0301), 'CS', 'NO'),
    s(t(0x0028, 0x2110), 'CS', '01'),
    s(t(0x0028, 0x2112), 'DS', p.jpegRatio),
    s(t(0x0028, 0x2114), 'CS', 'ISO_10918_1'),
    // Image Pixel
    us(t(0x0028, 0x0002), 3),
    s(t(0x0028, 0x0004), 'CS', p.pixels.photometric),
    us(t(0x0028, 0x0006), p.pixels.planarConfiguration),
    us(t(0x0028, 0x0010), p.rows),
    us(t(0x0028, 0x0011), p.columns),
    us(t(0x0028, 0x0100), 8),
    us(t(0x0028, 0x0101), 8),
    us(t(0x0028, 0x0102), 7),
    us(t(0x0028, 0x0103), 0),
    p.pixels.pixelData,
    // Ocular Region Imaged (for Secondary Capture: the same attributes, so routing by anatomy works)
    s(t(0x0020, 0x0062), 'CS', p.laterality),
    sq(t(0x0008, 0x2218), [code('5665001', 'SCT', 'Retina')]),
  ];
  if (sc) {
    return [...common, s(t(0x0008, 0x0064), 'CS', 'WSD')]; // SC Equipment: Conversion Type "workstation"
  }
  return [
    ...common,
    // Synchronization (no trigger; acquisition time not synchronised to an external clock)
    s(t(0x0020, 0x0200), 'UI', UTC_SYNC_FRAME_OF_REFERENCE),
    s(t(0x0018, 0x106a), 'CS', 'NO TRIGGER'),
    s(t(0x0018, 0x1800), 'CS', 'N'),
    // Multi-frame: a single frame still needs a Frame Increment Pointer; Frame Time 0 (PS3.3 C.7.6.6.1.2)
    s(t(0x0028, 0x0008), 'IS', '1'),
    { tag: t(0x0028, 0x0009), vr: 'AT', value: [t(0x0018, 0x1063)] },
    s(t(0x0018, 0x1063), 'DS', '0'),
    // Acquisition Context
    sq(t(0x0040, 0x0555), []),
    // Ophthalmic Photography Acquisition Parameters (unknown for IDRiD: type 2, left empty)
    s(t(0x0022, 0x0005), 'CS'),
    { tag: t(0x0022, 0x000a), vr: 'FL', value: [] },
    { tag: t(0x0022, 0x000b), vr: 'FL', value: [] },
    { tag: t(0x0022, 0x000c), vr: 'FL', value: [] },
    s(t(0x0022, 0x000d), 'CS'),
    sq(t(0x0022, 0x001b), []),
    // Ophthalmic Photographic Parameters
    sq(t(0x0022, 0x0015), [code('409898007', 'SCT', 'Fundus Camera')]),
    sq(t(0x0022, 0x0016), []),
    sq(t(0x0022, 0x0017), []),
    sq(t(0x0022, 0x0018), []),
    sq(t(0x0022, 0x0019), []),
    s(t(0x0018, 0x7004), 'CS'),
  ];
}
