// Connected components and the cup-to-disc ratio, checked against independent references: a pixel flood fill
// written here, and the training recipe's own metrics.py (vertical_cdr), which the model cards were computed with.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { labelComponents, componentMask } from '../../src/inference/postprocess/components.js';
import { verticalCupToDisc } from '../../src/inference/postprocess/cup-to-disc.js';
import { PROJECT_ROOT as REPO_ROOT } from '../../src/project-root.js';

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

/** Reference: flood fill over every pixel, component areas sorted descending. */
function floodAreas(mask: Uint8Array, w: number, h: number, conn: 4 | 8): number[] {
  const seen = new Uint8Array(w * h);
  const areas: number[] = [];
  const steps = conn === 4 ? [[1, 0], [-1, 0], [0, 1], [0, -1]] : [[1, 0], [-1, 0], [0, 1], [0, -1], [1, 1], [1, -1], [-1, 1], [-1, -1]];
  for (let i = 0; i < w * h; i++) {
    if (!mask[i] || seen[i]) continue;
    let area = 0;
    const stack = [i];
    seen[i] = 1;
    while (stack.length) {
      const p = stack.pop()!;
      area++;
      const x = p % w; const y = (p - x) / w;
      for (const [dx, dy] of steps) {
        const xx = x + dx!; const yy = y + dy!;
        if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
        const q = yy * w + xx;
        if (mask[q] && !seen[q]) { seen[q] = 1; stack.push(q); }
      }
    }
    areas.push(area);
  }
  return areas.sort((a, b) => b - a);
}

function randomMask(w: number, h: number, density: number, seed: number): Uint8Array {
  const r = rng(seed);
  return Uint8Array.from({ length: w * h }, () => (r() < density ? 1 : 0));
}

describe('connected components (run-based labelling)', () => {
  it('agrees with a pixel flood fill on random masks, 4- and 8-connected', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const w = 5 + (seed * 7) % 40; const h = 3 + (seed * 11) % 30;
      const mask = randomMask(w, h, 0.2 + (seed % 5) * 0.12, seed);
      for (const conn of [4, 8] as const) {
        const got = labelComponents(mask, w, h, conn).components.map((c) => c.area);
        expect(got, `seed ${seed}, ${conn}-connected`).toEqual(floodAreas(mask, w, h, conn));
      }
    }
  });

  it('counts diagonal neighbours as one lesion only when 8-connected, and gives boxes and centroids', () => {
    // Two pixels touching at a corner, and a separate 2x3 block.
    const w = 8; const h = 5;
    const mask = new Uint8Array(w * h);
    mask[0 * w + 0] = 1; mask[1 * w + 1] = 1;
    for (let y = 2; y <= 3; y++) for (let x = 4; x <= 6; x++) mask[y * w + x] = 1;
    expect(labelComponents(mask, w, h, 4).components.length).toBe(3);
    const eight = labelComponents(mask, w, h, 8).components;
    expect(eight.length).toBe(2);
    expect(eight[0]).toEqual({ area: 6, x0: 4, y0: 2, x1: 6, y1: 3, cx: 5, cy: 2.5 });
    expect(eight[1]).toMatchObject({ area: 2, x0: 0, y0: 0, x1: 1, y1: 1 });
  });

  it('limits the scan to a box and rebuilds a component as a mask', () => {
    const w = 10; const h = 6;
    const mask = new Uint8Array(w * h).fill(1);
    const l = labelComponents(mask, w, h, 8, { x0: 2, y0: 1, x1: 5, y1: 3 });
    expect(l.components).toHaveLength(1);
    expect(l.components[0]!.area).toBe(12);
    const m = componentMask(l, 0, w, h);
    expect(m.reduce((a, b) => a + b, 0)).toBe(12);
    expect(m[1 * w + 2]).toBe(1);
    expect(m[0]).toBe(0);
  });

  it('refuses a mask whose size does not match', () => {
    expect(() => labelComponents(new Uint8Array(5), 2, 2)).toThrow(/5 pixels, expected 2 x 2/);
  });
});

describe('vertical cup-to-disc ratio', () => {
  it('is null without a disc and 0 without a cup', () => {
    const w = 6; const h = 6;
    expect(verticalCupToDisc(new Uint8Array(36), new Uint8Array(36).fill(1), w, h).ratio).toBeNull();
    const disc = new Uint8Array(36); disc.fill(1, 6, 30);
    expect(verticalCupToDisc(disc, new Uint8Array(36), w, h)).toMatchObject({ ratio: 0, discHeight: 4 });
  });

  it('equals models/train/metrics.py vertical_cdr on random discs and cups (cup outside the disc ignored)', () => {
    const w = 40; const h = 36;
    const cases: Array<{ disc: number[]; cup: number[] }> = [];
    for (let seed = 1; seed <= 12; seed++) {
      const r = rng(seed * 97);
      const disc = new Uint8Array(w * h); const cup = new Uint8Array(w * h);
      const ellipse = (m: Uint8Array, cx: number, cy: number, rx: number, ry: number) => {
        for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1) m[y * w + x] = 1;
      };
      ellipse(disc, 20, 18, 6 + r() * 8, 6 + r() * 10);
      if (seed % 3 === 0) ellipse(disc, 4, 4, 2, 3); // a smaller second disc blob: only the largest counts
      ellipse(cup, 20 + r() * 4 - 2, 18 + r() * 4 - 2, 2 + r() * 5, 2 + r() * 6);
      if (seed % 4 === 0) ellipse(cup, 36, 32, 2, 3); // cup outside the disc
      for (let k = 0; k < 30; k++) cup[Math.floor(r() * w * h)] = 1; // speckle
      cases.push({ disc: Array.from(disc), cup: Array.from(cup) });
    }
    const script = [
      'import json, sys', 'import numpy as np',
      `sys.path.insert(0, ${JSON.stringify(path.join(REPO_ROOT, 'models', 'train'))})`,
      'from metrics import vertical_cdr',
      'cases = json.load(sys.stdin)',
      `print(json.dumps([vertical_cdr(np.array(c["disc"], dtype=bool).reshape(${h}, ${w}), np.array(c["cup"], dtype=bool).reshape(${h}, ${w})) for c in cases]))`,
    ].join('\n');
    const reference = JSON.parse(execFileSync('/usr/bin/python3', ['-c', script], { input: JSON.stringify(cases) }).toString()) as number[];
    const got = cases.map((c) => verticalCupToDisc(Uint8Array.from(c.disc), Uint8Array.from(c.cup), w, h).ratio);
    expect(got).toEqual(reference);
  });
});
