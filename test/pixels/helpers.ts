// Shared pieces of the pixel decoder tests: where the interop corpus lives, the pydicom reference runner, optional
// DCMTK decompression (a second reference for syntaxes pydicom cannot decode here), and a DICOM writer for
// synthetic objects.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT as REPO_ROOT } from '../../src/project-root.js';
import { SHARED_DIR } from '../helpers/paths.js';
import dcmjs from 'dcmjs';

export { REPO_ROOT };
export const INTEROP = path.join(SHARED_DIR, 'interop');
export const INTEROP_PRESENT = fs.existsSync(INTEROP);
export const INTEROP_ABSENT_MESSAGE = `interop corpus absent at ${INTEROP}: real-file pixel tests skipped`;

export function listFiles(sub: string): string[] {
  const dir = path.join(INTEROP, sub);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => fs.statSync(path.join(dir, f)).isFile())
    .sort()
    .map((f) => path.join(dir, f));
}

export interface Diff {
  max: number;
  differing: number;
  mean: number;
}

export function diff(a: Uint8Array, b: Uint8Array): Diff {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let max = 0;
  let differing = 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number));
    if (d) {
      differing++;
      sum += d;
      if (d > max) max = d;
    }
  }
  return { max, differing, mean: a.length ? sum / a.length : 0 };
}

export interface Reference {
  file: string;
  status: 'ok' | 'unavailable';
  frames?: number;
  rows?: number;
  columns?: number;
  photometric?: string;
  detail?: string;
  /** Where the reference RGB bytes (all frames) were written; read lazily to keep memory down. */
  rgbPath?: string;
}

const PYTHON = '/usr/bin/python3';

export function pydicomAvailable(): boolean {
  return spawnSync(PYTHON, ['-c', 'import pydicom, numpy'], { stdio: 'ignore' }).status === 0;
}

/** Runs test/pixels/pydicom_reference.py once over `files`, writing into `outDir`; one record per file path. */
export function pydicomReference(files: string[], outDir: string): Map<string, Reference> {
  const out = new Map<string, Reference>();
  if (files.length === 0) return out;
  const res = spawnSync(PYTHON, [path.join(REPO_ROOT, 'test/pixels/pydicom_reference.py'), outDir, ...files], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 300_000,
  });
  if (res.status !== 0) throw new Error(`pydicom reference failed: ${res.stderr || res.error?.message}`);
  for (const line of res.stdout.trim().split('\n')) {
    if (!line) continue;
    const rec = JSON.parse(line) as Reference & { out?: string };
    if (rec.out) rec.rgbPath = path.join(outDir, rec.out);
    out.set(rec.file, rec);
  }
  return out;
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Decompresses with DCMTK (dcmdjpeg / dcmdjpls) when installed; returns the output path or undefined. */
export function dcmtkDecompress(file: string, transferSyntax: string, outDir: string): string | undefined {
  const tool = transferSyntax.startsWith('1.2.840.10008.1.2.4.8') ? 'dcmdjpls' : /^1\.2\.840\.10008\.1\.2\.4\.(5\d|70)$/.test(transferSyntax) ? 'dcmdjpeg' : undefined;
  if (!tool) return undefined;
  const out = path.join(outDir, path.basename(file));
  const res = spawnSync(tool, [file, out], { stdio: 'ignore', timeout: 60_000 });
  return res.status === 0 && fs.existsSync(out) ? out : undefined;
}

const { DicomDict, DicomMetaDictionary } = dcmjs.data;

/** Writes a Part 10 file with dcmjs; `PixelData` is one ArrayBuffer (native) or one per frame (encapsulated). */
export function writeDicom(transferSyntax: string, dataset: Record<string, unknown>): Buffer {
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: '1.2.840.10008.5.1.4.1.1.77.1.5.1',
    MediaStorageSOPInstanceUID: '2.25.1234567890',
    TransferSyntaxUID: transferSyntax,
    ImplementationClassUID: '2.25.99',
  };
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = DicomMetaDictionary.denaturalizeDataset({
    SOPClassUID: '1.2.840.10008.5.1.4.1.1.77.1.5.1',
    SOPInstanceUID: '2.25.1234567890',
    ...dataset,
  });
  return Buffer.from(dict.write());
}
