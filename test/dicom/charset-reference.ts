// pydicom's decoding of the real charset files (test/dicom/charset_reference.py), shared by the header reader's
// tests and the FHIR Patient tests.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/project-root.js';
import { SHARED_DIR } from '../helpers/paths.js';

export const CHARSET_DIR = path.join(SHARED_DIR, 'interop', 'real-dicom', 'charset');
const PYTHON = '/usr/bin/python3';
const SCRIPT = path.join(PROJECT_ROOT, 'test', 'dicom', 'charset_reference.py');

export interface ReferenceFile {
  specificCharacterSet: string[];
  /** Text elements by "TAG" or "SEQ/INDEX/TAG": strings, or PN objects {Alphabetic, Ideographic, Phonetic}. */
  elements: Record<string, { vr: string; values: Array<string | Record<string, string>> }>;
}

export function pydicomAvailable(): boolean {
  return spawnSync(PYTHON, ['-c', 'import pydicom'], { stdio: 'ignore' }).status === 0;
}

/** Runs the reference script once for all files; keys are the paths given. */
export function pydicomReference(files: string[]): Record<string, ReferenceFile> {
  const r = spawnSync(PYTHON, [SCRIPT, ...files], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
  if (r.status !== 0) throw new Error(`charset_reference.py failed (${r.status}): ${r.stderr.slice(0, 2000)}`);
  return JSON.parse(r.stdout) as Record<string, ReferenceFile>;
}
