// What the SEG tests share: the Debian peers that judge a SEG (dciodvfy, dcentvfy, GDCM, pydicom through
// read_seg.py), source attributes read the way OphGate stores them, small synthetic sources, and masks.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writePart10 } from '../../src/dicom/common/part10-writer.js';
import { readInstanceHeader } from '../../src/dicom/part10-header.js';
import type { DicomJson } from '../../src/dicom/json-model.js';
import { mintUid } from '../../src/dicom/uid.js';
import { PROJECT_ROOT } from '../../src/project-root.js';

export const PYTHON = '/usr/bin/python3';
const READ_SEG = path.join(PROJECT_ROOT, 'test', 'seg', 'read_seg.py');

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `ophgate-${prefix}-`));
}

function run(cmd: string, args: string[]): { status: number | null; output: string; stdout: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw new Error(`${cmd} could not run: ${r.error.message} (the test set-up installs the Debian peers)`);
  return { status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}`, stdout: r.stdout ?? '' };
}

/** dciodvfy's verdict: its Error and Warning lines. */
export function dciodvfy(file: string): { errors: string[]; warnings: string[]; output: string } {
  const { output } = run('dciodvfy', [file]);
  const lines = output.split('\n');
  return { errors: lines.filter((l) => l.startsWith('Error')), warnings: lines.filter((l) => l.startsWith('Warning')), output };
}

/** dcentvfy over several files (entity consistency: same patient, study, series attributes). */
export function dcentvfy(files: string[]): { status: number | null; errors: string[]; output: string } {
  const r = run('dcentvfy', files);
  return { status: r.status, errors: r.output.split('\n').filter((l) => l.startsWith('Error')), output: r.output };
}

export function gdcminfo(file: string): { status: number | null; output: string } {
  return run('gdcminfo', [file]);
}

export function gdcmconvRaw(file: string, out: string): { status: number | null; output: string } {
  return run('gdcmconv', ['--raw', file, out]);
}

export interface PyCode { value: string; scheme: string; meaning: string }
export interface PyFrame { segmentNumbers: number[]; sources: Array<{ sopInstanceUid: string; frameNumbers: number[] }>; sha256: string; nonzero: number }
export interface PyRead {
  path: string;
  sopClassUid: string;
  modality: string;
  transferSyntaxUid?: string;
  rows?: number;
  columns?: number;
  segmentationType?: string;
  patientName?: string;
  imageLaterality?: string;
  specificCharacterSet?: string;
  segments?: Array<{ number: number; label: string; algorithmType: string; category: PyCode | null; type: PyCode | null; anatomicRegion: PyCode | null; anatomicRegionModifier: PyCode | null; colourLab: number[] }>;
  frames?: PyFrame[];
}

/** pydicom's reading of `files` (one Python process for all of them). */
export function readWithPydicom(files: string[]): PyRead[] {
  const r = run(PYTHON, [READ_SEG, ...files]);
  if (r.status !== 0) throw new Error(`read_seg.py failed (status ${r.status}):\n${r.output.slice(-4000)}`);
  return JSON.parse(r.stdout) as PyRead[];
}

export function sha256(pixels: Uint8Array | Uint16Array): string {
  // Uint16Array bytes in the platform order, little endian on every machine Node runs this on, as read_seg.py hashes.
  return createHash('sha256').update(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength)).digest('hex');
}

/** A mask as 0/1 (what a reader gives back for a BINARY segment). */
export function normalized(mask: Uint8Array): Uint8Array {
  return mask.map((v) => (v !== 0 ? 1 : 0));
}

/** The source's attributes as OphGate stores them (the PS3.10 header gate's DICOM JSON Model). */
export async function sourceAttributes(file: string): Promise<DicomJson> {
  return (await readInstanceHeader(file, statSync(file).size)).attributes;
}

export function rowsColumns(json: DicomJson): { rows: number; columns: number } {
  return { rows: Number(json['00280010']!.Value![0]), columns: Number(json['00280011']!.Value![0]) };
}

export const masks = {
  circle(rows: number, columns: number, cy: number, cx: number, r: number): Uint8Array {
    const m = new Uint8Array(rows * columns);
    for (let y = 0; y < rows; y++) for (let x = 0; x < columns; x++) if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) m[y * columns + x] = 255;
    return m;
  },
  pixel(rows: number, columns: number, y: number, x: number): Uint8Array {
    const m = new Uint8Array(rows * columns);
    m[y * columns + x] = 1;
    return m;
  },
  /** The first row, the last column and the bottom-left corner: every edge a frame can be cut at. */
  border(rows: number, columns: number): Uint8Array {
    const m = new Uint8Array(rows * columns);
    for (let x = 0; x < columns; x++) m[x] = 7;
    for (let y = 0; y < rows; y++) m[y * columns + columns - 1] = 1;
    m[(rows - 1) * columns] = 1;
    return m;
  },
};

export interface SyntheticSourceOptions {
  rows: number;
  columns: number;
  frames?: number;
  laterality?: 'R' | 'L';
  patientName?: string;
  specificCharacterSet?: string;
}

/**
 * A small Ophthalmic Photography 8 Bit instance (monochrome, uncompressed), single- or multi-frame, written to
 * `dir`; fictitious patient. For sizes the IDRiD fixtures do not have (Rows*Columns not a multiple of 8).
 */
export function writeSyntheticSource(dir: string, o: SyntheticSourceOptions): { file: string; sopInstanceUid: string } {
  const frames = o.frames ?? 1;
  const sopInstanceUid = mintUid('2.25');
  const pixels = new Uint8Array(o.rows * o.columns * frames).map((_, i) => (i * 7) & 0xff);
  const ds: Record<string, unknown> = {
    ...(o.specificCharacterSet ? { SpecificCharacterSet: o.specificCharacterSet } : {}),
    SOPClassUID: '1.2.840.10008.5.1.4.1.1.77.1.5.1', SOPInstanceUID: sopInstanceUid,
    StudyInstanceUID: mintUid('2.25'), SeriesInstanceUID: mintUid('2.25'),
    PatientName: o.patientName ?? 'OPHGATE^SEGTEST', PatientID: 'OPHGATE-SEG-0001', PatientBirthDate: '19700101', PatientSex: 'O',
    StudyDate: '20260101', StudyTime: '101010', AccessionNumber: 'SEGTEST1', ReferringPhysicianName: '', StudyID: '1',
    Modality: 'OP', SeriesNumber: 1, InstanceNumber: 1, ImageLaterality: o.laterality ?? 'R', Manufacturer: 'OphGate tests',
    ContentDate: '20260101', ContentTime: '101010', ImageType: ['ORIGINAL', 'PRIMARY'], PatientOrientation: '',
    Rows: o.rows, Columns: o.columns, SamplesPerPixel: 1, PhotometricInterpretation: 'MONOCHROME2',
    BitsAllocated: 8, BitsStored: 8, HighBit: 7, PixelRepresentation: 0, BurnedInAnnotation: 'NO',
    ...(frames > 1 ? { NumberOfFrames: frames, FrameIncrementPointer: 0x00181063, FrameTime: 100 } : {}),
    PixelData: [pixels.buffer],
    _vrMap: { PixelData: 'OB' },
  };
  const file = path.join(dir, `synthetic-${o.rows}x${o.columns}x${frames}-${sopInstanceUid.slice(-8)}.dcm`);
  writeFileSync(file, writePart10(ds));
  return { file, sopInstanceUid };
}
