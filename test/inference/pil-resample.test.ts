// src/inference/pil-resample.ts against Pillow itself (/usr/bin/python3, Debian's Pillow: what trained the models),
// byte for byte: random RGB of odd sizes shrunk, enlarged and both at once, one dimension unchanged, the three
// filters, and a real photograph (fixtures/op-jpeg-baseline-idrid55-L.dcm through the gateway's DICOM decoder) at
// the models' input sizes. And the model input (toModelInput, kernel lanczos3) is PIL's resize, normalised.
// Skipped with a message when /usr/bin/python3 cannot import PIL.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeFile } from '../../src/dicom/pixels/index.js';
import { pilResize, type PilFilter, type Rgb8 } from '../../src/inference/pil-resample.js';
import { toModelInput, type PreprocessSpec } from '../../src/inference/preprocess.js';
import { PROJECT_ROOT } from '../../src/project-root.js';
import { brightNoise, lcg } from './helpers.js';

const PYTHON = '/usr/bin/python3';
const HELPER = path.join(PROJECT_ROOT, 'test', 'inference', 'pil_resize.py');

const havePil = existsSync(PYTHON)
  && spawnSync(PYTHON, ['-c', 'import PIL'], { encoding: 'utf8', timeout: 60_000 }).status === 0;
if (!havePil) console.warn(`[test] ${PYTHON} cannot import PIL: the PIL resize comparisons are skipped (apt-get install python3-pil)`);

const dir = mkdtempSync(path.join(os.tmpdir(), 'ophgate-pil-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Job { img: Rgb8; width: number; height: number; filter: PilFilter }

/** PIL's resize of each job's image (one python run for all). */
function pilReference(jobs: Job[]): Uint8Array[] {
  const list = jobs.map((j, i) => {
    const input = path.join(dir, `in-${i}.rgb`);
    writeFileSync(input, j.img.data);
    return {
      input, width: j.img.width, height: j.img.height, out_width: j.width, out_height: j.height, filter: j.filter,
      output: path.join(dir, `out-${i}.rgb`),
    };
  });
  const jobsFile = path.join(dir, 'jobs.json');
  writeFileSync(jobsFile, JSON.stringify(list));
  const run = spawnSync(PYTHON, [HELPER, jobsFile], { encoding: 'utf8', timeout: 120_000 });
  expect(run.status, `${run.stdout}${run.stderr}`).toBe(0);
  return list.map((j) => new Uint8Array(readFileSync(j.output)));
}

function randomRgb(width: number, height: number, seed: number): Rgb8 {
  const rnd = lcg(seed);
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(rnd() * 256);
  return { data, width, height };
}

/** Number of differing bytes and the largest difference (0, 0 when equal). */
function difference(a: Uint8Array, b: Uint8Array): { bytes: number; max: number } {
  let bytes = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (d) { bytes++; max = Math.max(max, d); }
  }
  return { bytes, max };
}

function expectSameAsPil(jobs: Job[]): void {
  const ref = pilReference(jobs);
  const got = jobs.map((j, i) => {
    const out = pilResize(j.img, j.width, j.height, j.filter);
    const name = `${j.img.width}x${j.img.height} -> ${j.width}x${j.height} ${j.filter}`;
    expect(out.data.length, name).toBe(ref[i]!.length);
    return { name, diff: difference(out.data, ref[i]!) };
  });
  expect(got).toEqual(got.map((g) => ({ name: g.name, diff: { bytes: 0, max: 0 } })));
}

describe('PIL resize in TypeScript', () => {
  it.skipIf(!havePil)('equals Pillow byte for byte on random RGB of odd sizes', () => {
    const a = randomRgb(97, 61, 1);
    const b = randomRgb(13, 29, 2);
    const c = randomRgb(301, 199, 3);
    const d = randomRgb(1, 1, 4);
    const jobs: Job[] = [];
    for (const filter of ['lanczos', 'bilinear', 'box'] as const) {
      jobs.push(
        { img: a, width: 31, height: 17, filter }, // down
        { img: a, width: 200, height: 135, filter }, // up
        { img: a, width: 40, height: 90, filter }, // down across, up along
        { img: a, width: 97, height: 23, filter }, // vertical pass only
        { img: a, width: 55, height: 61, filter }, // horizontal pass only
        { img: b, width: 71, height: 43, filter },
        { img: c, width: 64, height: 64, filter },
        { img: c, width: 7, height: 5, filter }, // large factor: wide kernels
        { img: d, width: 5, height: 3, filter },
      );
    }
    expectSameAsPil(jobs);
  });

  it.skipIf(!havePil)('equals Pillow byte for byte on a fundus photograph at the models\' input sizes', async () => {
    const [frame] = await decodeFile(readFileSync(path.join(PROJECT_ROOT, 'fixtures', 'op-jpeg-baseline-idrid55-L.dcm')));
    const photo: Rgb8 = { data: new Uint8Array(frame!.rgb), width: frame!.columns, height: frame!.rows };
    // The photograph as the models see it: padded to a square (black above and below), and as it is.
    const side = Math.max(photo.width, photo.height);
    const square = new Uint8Array(side * side * 3);
    const top = Math.floor((side - photo.height) / 2);
    for (let y = 0; y < photo.height; y++) {
      square.set(photo.data.subarray(y * photo.width * 3, (y + 1) * photo.width * 3), ((y + top) * side + Math.floor((side - photo.width) / 2)) * 3);
    }
    const padded: Rgb8 = { data: square, width: side, height: side };
    expectSameAsPil([
      { img: padded, width: 256, height: 256, filter: 'lanczos' },
      { img: padded, width: 768, height: 768, filter: 'lanczos' },
      { img: photo, width: 256, height: 256, filter: 'lanczos' },
      { img: photo, width: 768, height: 768, filter: 'lanczos' },
      { img: photo, width: 1500, height: 999, filter: 'lanczos' },
    ]);
  });

  it.skipIf(!havePil)('gives the model input PIL\'s lanczos resize (kernel lanczos3)', async () => {
    const img = brightNoise(150, 7); // bright everywhere: no crop, no padding, so the region is the whole image
    const spec: PreprocessSpec = {
      width: 64, height: 64, crop: { threshold: 25, minFraction: 0.02, minSide: 0.25 }, pad: [0, 0, 0], kernel: 'lanczos3',
      scale: 1 / 255, mean: [0.5, 0.4, 0.3], std: [0.25, 0.2, 0.1], channelOrder: 'RGB',
    };
    const tensor = new Float32Array(3 * 64 * 64);
    await toModelInput(img, spec, tensor);
    const [ref] = pilReference([{ img, width: 64, height: 64, filter: 'lanczos' }]);
    const expected = new Float32Array(3 * 64 * 64);
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < 64 * 64; p++) expected[c * 64 * 64 + p] = (ref![p * 3 + c]! * spec.scale - spec.mean[c]!) / spec.std[c]!;
    }
    const differing = expected.reduce((n, v, i) => n + (tensor[i] === v ? 0 : 1), 0);
    expect(differing).toBe(0);
  });

  it('refuses sizes that are not positive integers and data of the wrong length', () => {
    const img = randomRgb(4, 4, 5);
    expect(() => pilResize(img, 0, 4)).toThrow(/positive integers/);
    expect(() => pilResize(img, 2.5, 4)).toThrow(/positive integers/);
    expect(() => pilResize({ ...img, width: 5 }, 2, 2)).toThrow(/bytes for 5x4x3/);
    const same = pilResize(img, 4, 4);
    expect(same.data).toEqual(img.data);
    expect(same.data).not.toBe(img.data);
  });
});
