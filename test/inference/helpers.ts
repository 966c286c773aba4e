// Shared material of the inference tests: the two TEST models (scripts/make-test-models.py), copies of them to
// break on purpose, and synthetic fundus-like images whose expected outputs the tests compute on their own.
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/project-root.js';
import type { RgbImage } from '../../src/inference/preprocess.js';

export const TEST_MODELS_DIR = path.join(PROJECT_ROOT, 'test', 'inference', 'models');
export const CLASSIFIER = 'ophgate-test-classifier';
export const SEGMENTER = 'ophgate-test-segmenter';

/** The classifier's fixed weights (they must equal scripts/make-test-models.py's). */
export const CLS = {
  mean: [0.5, 0.4, 0.3], std: [0.25, 0.2, 0.1],
  wScores: [[1, 0, 0], [0, -1, 0.5], [0.3, 0.3, 0.3]], bScores: [0, 0.25, -0.5],
  wGrade: [[0, 0, 0], [1, 1, 0], [0, 1, 1]], bGrade: [0.5, 0, -0.5],
  thresholds: [0.5, 0.3, 0.7],
};

/** A temporary models directory holding copies of the named test models (to be edited by the test). */
export function modelsCopy(...names: string[]): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ophgate-models-'));
  for (const n of names) cpSync(path.join(TEST_MODELS_DIR, n), path.join(dir, n), { recursive: true });
  return dir;
}

export function editManifest(dir: string, name: string, edit: (m: Record<string, any>) => void): string {
  const file = path.join(dir, name, 'manifest.json');
  const m = JSON.parse(readFileSync(file, 'utf8')) as Record<string, any>;
  edit(m);
  writeFileSync(file, JSON.stringify(m, null, 2));
  return file;
}

/** Small deterministic pseudo-random generator (tests must not depend on Math.random). */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** A square image whose every pixel is bright enough to be inside the field of view (so no crop, no padding). */
export function brightNoise(side: number, seed: number): RgbImage {
  const rnd = lcg(seed);
  const data = new Uint8Array(side * side * 3);
  for (let i = 0; i < data.length; i++) data[i] = 26 + Math.floor(rnd() * 230);
  return { data, width: side, height: side };
}

export interface Rect { x0: number; y0: number; x1: number; y1: number }

/**
 * A fundus-like test image: black, with an orange camera field (a disc of radius 100 centred at (170, 95),
 * clipped by the top and bottom edges, so the field of view is off-centre and not square), a saturated red
 * patch and a saturated green patch inside it.
 */
export const FUNDUS = {
  width: 320, height: 180, cx: 170, cy: 95, r: 100,
  field: [150, 90, 40], red: { x0: 120, y0: 60, x1: 150, y1: 90 } as Rect, green: { x0: 200, y0: 100, x1: 230, y1: 130 } as Rect,
};

export function syntheticFundus(): RgbImage {
  const { width, height, cx, cy, r } = FUNDUS;
  const data = new Uint8Array(width * height * 3);
  const inside = (rect: Rect, x: number, y: number) => x >= rect.x0 && x < rect.x1 && y >= rect.y0 && y < rect.y1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const dx = x + 0.5 - cx;
      const dy = y + 0.5 - cy;
      if (dx * dx + dy * dy > r * r) continue;
      const colour = inside(FUNDUS.red, x, y) ? [230, 40, 30] : inside(FUNDUS.green, x, y) ? [40, 210, 60] : FUNDUS.field;
      data.set(colour, (y * width + x) * 3);
    }
  }
  return { data, width, height };
}

/** True where a GPU device node exists (then 'auto' may rightly pick a GPU provider). */
export function gpuPresent(): boolean {
  return existsSync('/dev/nvidia0') || existsSync('/dev/dri/renderD128');
}
