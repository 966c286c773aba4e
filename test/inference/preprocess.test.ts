// Preprocessing and its inverse, checked against values computed here: the border crop finds an off-centre,
// clipped field of view; the input tensor is (pixel * scale - mean) / std in NCHW; padding and masks land where
// the geometry says.
import { describe, expect, it } from 'vitest';
import { fundusBox, geometryOf, maskToSource, toModelInput, type PreprocessSpec, type RgbImage } from '../../src/inference/preprocess.js';
import { FUNDUS, brightNoise, syntheticFundus } from './helpers.js';

const RULE = { threshold: 25, minFraction: 0.02, minSide: 0.25 };

/** The crop rule written out directly (rows and columns of the image whose share of bright pixels is large enough). */
function expectedBox(img: RgbImage): { x0: number; y0: number; x1: number; y1: number } {
  const bright = (x: number, y: number) => {
    const i = (y * img.width + x) * 3;
    return Math.max(img.data[i]!, img.data[i + 1]!, img.data[i + 2]!) > RULE.threshold;
  };
  const rows: number[] = [];
  const cols: number[] = [];
  for (let y = 0; y < img.height; y++) {
    let n = 0;
    for (let x = 0; x < img.width; x++) n += bright(x, y) ? 1 : 0;
    if (n > RULE.minFraction * img.width) rows.push(y);
  }
  for (let x = 0; x < img.width; x++) {
    let n = 0;
    for (let y = 0; y < img.height; y++) n += bright(x, y) ? 1 : 0;
    if (n > RULE.minFraction * img.height) cols.push(x);
  }
  return { x0: cols[0]!, y0: rows[0]!, x1: cols.at(-1)! + 1, y1: rows.at(-1)! + 1 };
}

const spec = (over: Partial<PreprocessSpec> = {}): PreprocessSpec => ({
  width: 64, height: 64, crop: RULE, pad: [0, 0, 0], kernel: 'lanczos3', scale: 1 / 255,
  mean: [0.5, 0.4, 0.3], std: [0.25, 0.2, 0.1], channelOrder: 'RGB', ...over,
});

describe('fundus border crop', () => {
  it('finds the camera field of an off-centre disc clipped by the image edges', () => {
    const img = syntheticFundus();
    const box = fundusBox(img, RULE);
    expect(box).toEqual(expectedBox(img));
    // The disc spans x 70..270 and is clipped at the top and bottom: the box is 200 x 180, not the whole image.
    expect(box).toEqual({ x0: FUNDUS.cx - FUNDUS.r, y0: 0, x1: FUNDUS.cx + FUNDUS.r, y1: FUNDUS.height });
  });

  it('ignores a little text in the black border', () => {
    const img = syntheticFundus();
    for (let x = 2; x < 5; x++) img.data.set([255, 255, 255], (170 * img.width + x) * 3); // a 3-pixel "label" bottom left
    expect(fundusBox(img, RULE)).toEqual({ x0: 70, y0: 0, x1: 270, y1: 180 });
  });

  it('keeps the whole image when there is no field of view or it is too small', () => {
    const black = { data: new Uint8Array(100 * 80 * 3), width: 100, height: 80 };
    expect(fundusBox(black, RULE)).toEqual({ x0: 0, y0: 0, x1: 100, y1: 80 });
    const spot = { data: new Uint8Array(100 * 80 * 3), width: 100, height: 80 };
    for (let y = 10; y < 20; y++) for (let x = 10; x < 20; x++) spot.data.set([200, 200, 200], (y * 100 + x) * 3);
    expect(fundusBox(spot, RULE)).toEqual({ x0: 0, y0: 0, x1: 100, y1: 80 }); // 10 px < 25% of the image
  });
});

describe('model input', () => {
  it('is (pixel * scale - mean) / std per channel, NCHW, when the image already has the model size', async () => {
    const img = brightNoise(64, 7);
    const t = new Float32Array(2 * 3 * 64 * 64).fill(Number.NaN);
    const g = await toModelInput(img, spec(), t, 1);
    expect(g.box).toEqual({ x0: 0, y0: 0, x1: 64, y1: 64 });
    expect(t.subarray(0, 3 * 64 * 64).every(Number.isNaN)).toBe(true); // slot 0 untouched
    const s = spec();
    for (const p of [0, 1, 777, 64 * 64 - 1]) {
      for (let c = 0; c < 3; c++) {
        const want = (img.data[p * 3 + c]! / 255 - s.mean[c]!) / s.std[c]!;
        expect(t[3 * 64 * 64 + c * 64 * 64 + p]).toBeCloseTo(want, 5);
      }
    }
  });

  it('reverses the channels for a BGR model', async () => {
    const img = brightNoise(64, 8);
    const t = new Float32Array(3 * 64 * 64);
    await toModelInput(img, spec({ channelOrder: 'BGR', mean: [0, 0, 0], std: [1, 1, 1] }), t);
    expect(t[0]).toBeCloseTo(img.data[2]! / 255, 6); // model channel 0 is blue
    expect(t[2 * 64 * 64]).toBeCloseTo(img.data[0]! / 255, 6);
  });

  it('pads the field of view to a centred square with the fill colour, then resizes', async () => {
    const img = syntheticFundus();
    const s = spec({ width: 100, height: 100, mean: [0, 0, 0], std: [1, 1, 1], pad: [0, 0, 0] });
    const t = new Float32Array(3 * 100 * 100);
    const g = await toModelInput(img, s, t);
    // box 200 x 180 -> square 200, 10 rows of padding above and below; 200 -> 100 halves everything.
    expect(g.region).toEqual({ left: 70, top: -10, width: 200, height: 200 });
    const px = (c: number, x: number, y: number) => t[c * 10000 + y * 100 + x]! * 255;
    expect(px(0, 50, 1)).toBeLessThan(1); // padding row (source y -8): black
    expect(px(0, 50, 98)).toBeLessThan(1);
    expect(px(0, 50, 50)).toBeCloseTo(150, 0); // the field's orange at the centre of the disc
    expect(px(1, 50, 50)).toBeCloseTo(90, 0);
    // the red patch (source x 120..150, y 60..90) lands at model x 25..40, y 35..50
    expect(px(0, 32, 42)).toBeCloseTo(230, 0);
    expect(px(1, 32, 42)).toBeCloseTo(40, 0);
  });
});

describe('masks back to the source', () => {
  it('fills exactly the field-of-view box, not the padding, for a map that is 1 everywhere', () => {
    const g = geometryOf(320, 180, { x0: 70, y0: 0, x1: 270, y1: 180 }, true);
    const { mask, area } = maskToSource(new Float32Array(96 * 96).fill(1), 96, 96, g, 0.5);
    expect(mask.length).toBe(320 * 180);
    expect(area).toBe(200 * 180);
    expect(mask[0 * 320 + 69]).toBe(0);
    expect(mask[0 * 320 + 70]).toBe(1);
    expect(mask[179 * 320 + 269]).toBe(1);
    expect(mask[179 * 320 + 270]).toBe(0);
  });

  it('puts an edge of the model map at the matching source column and row', () => {
    // region 160 x 160 at (20, -30) over a 200 x 100 source; model 8 x 8, left half and bottom half on
    const g = geometryOf(200, 100, { x0: 20, y0: 0, x1: 180, y1: 100 }, true);
    expect(g.region).toEqual({ left: 20, top: -30, width: 160, height: 160 });
    const prob = new Float32Array(64);
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) prob[y * 8 + x] = x < 4 && y >= 4 ? 1 : 0;
    const { mask } = maskToSource(prob, 8, 8, g, 0.5);
    // the 0.5 crossing is halfway: region x 80 -> source x 100; region y 80 -> source y 50
    const at = (x: number, y: number) => mask[y * 200 + x];
    expect([at(99, 60), at(100, 60)]).toEqual([1, 0]);
    expect([at(50, 49), at(50, 50)]).toEqual([0, 1]);
    expect([at(19, 60), at(20, 60)]).toEqual([0, 1]); // nothing left of the box
  });
});
