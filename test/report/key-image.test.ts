// Key images (src/report/key-image.ts) on a real fixture photograph (IDRiD 70, decoded by OphGate's pixel decoder)
// with drawn lesion masks, and, when ../shared holds it, IDRiD's own hard-exudate mask of that photograph; and the
// DiagnosticReport that carries them (validated with the R4 validator of test/report/fhir/).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { srgbToDicomLab } from '../../src/dicom/common/cielab.js';
import { decodeFile, type DecodedFrame } from '../../src/dicom/pixels/index.js';
import type { FindingResult } from '../../src/inference/finding-result.js';
import { buildDiagnosticReport, renderReportHtml, type KeyImage } from '../../src/report/fhir/diagnostic-report.js';
import { FhirBuildError } from '../../src/report/fhir/common.js';
import { chooseKeyImages, dicomLabToSrgb, keyImageSize, keyImagesForStudy, KeyImageError, renderKeyImage, type Rgb } from '../../src/report/key-image.js';
import { plannedSegments } from '../../src/report/segments-of-findings.js';
import { FIXTURES_DIR, SHARED_DIR } from '../helpers/paths.js';
import { classifierFinding, segmenterFinding } from '../sr/samples.js';
import { validate } from './fhir/validator.js';

const RIGHT = path.join(FIXTURES_DIR, 'op-rgb-planar0-idrid70-R.dcm');
const LEFT = path.join(FIXTURES_DIR, 'sc-op-rgb-planar1-idrid60-L.dcm');
const decode = async (file: string): Promise<DecodedFrame[]> => decodeFile(readFileSync(file));

let photo: DecodedFrame;
beforeAll(async () => { [photo] = await decode(RIGHT) as [DecodedFrame]; });

/** A circle and a rectangle, the way a haemorrhage and an exudate patch might lie. */
function drawnMask(w: number, h: number, circle: { cx: number; cy: number; r: number }, rect?: { x0: number; y0: number; x1: number; y1: number }): Uint8Array {
  const m = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const inCircle = (x - circle.cx) ** 2 + (y - circle.cy) ** 2 <= circle.r ** 2;
      const inRect = rect && x >= rect.x0 && x < rect.x1 && y >= rect.y0 && y < rect.y1;
      if (inCircle || inRect) m[y * w + x] = 255;
    }
  }
  return m;
}

async function raw(png: Buffer) {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

const dist = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!, a[2]! - b[2]!);

describe('renderKeyImage', () => {
  it('tints the pixels inside a mask towards its colour and leaves the others as the downscaled photograph', async () => {
    expect([photo.columns, photo.rows]).toEqual([1072, 712]);
    const circle = { cx: 600, cy: 300, r: 90 };
    const mask = drawnMask(1072, 712, circle, { x0: 200, y0: 400, x1: 320, y1: 480 });
    const colour: Rgb = [0, 90, 255];
    const png = await renderKeyImage({ rgb: photo.rgb, width: 1072, height: 712 }, [{ mask, colour, label: 'Haemorrhages' }], { maxWidth: 536 });
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    const out = await raw(png);
    expect([out.width, out.height, out.channels]).toEqual([536, 356, 3]);
    const ref = await sharp(photo.rgb, { raw: { width: 1072, height: 712, channels: 3 } }).resize(536, 356, { fit: 'fill' }).raw().toBuffer();

    // Output pixel (x, y) covers source pixels (2x..2x+1, 2y..2y+1): classify by the circle in output units.
    let inside = 0; let outside = 0; let edge = 0;
    let fillError = 0; let notTowards = 0; let outsideError = 0;
    for (let y = 0; y < 356; y++) {
      for (let x = 0; x < 536; x++) {
        const d = Math.hypot(x + 0.5 - circle.cx / 2, y + 0.5 - circle.cy / 2) - circle.r / 2;
        const inRect = x >= 98 && x < 162 && y >= 198 && y < 242;
        const p = (y * 536 + x) * 3;
        const got = out.data.subarray(p, p + 3);
        const was = ref.subarray(p, p + 3);
        if (d < -3) {
          inside++;
          // Fill: 35% of the colour over the photograph.
          for (let c = 0; c < 3; c++) fillError = Math.max(fillError, Math.abs(got[c]! - (was[c]! * 0.65 + colour[c]! * 0.35)));
          if (dist(was, colour) > 20 && dist(got, colour) >= dist(was, colour)) notTowards++;
        } else if (d > 3 && !inRect && !(x >= 96 && x < 164 && y >= 196 && y < 244)) {
          outside++;
          for (let c = 0; c < 3; c++) outsideError = Math.max(outsideError, Math.abs(got[c]! - was[c]!));
        } else if (got[0] === colour[0] && got[1] === colour[1] && got[2] === colour[2]) {
          edge++;
        }
      }
    }
    // Per-pixel checks gathered into maxima: one expect per pixel takes seconds.
    expect({ fillError, notTowards, outsideError }).toEqual({ fillError: expect.any(Number), notTowards: 0, outsideError: 0 });
    expect(fillError).toBeLessThanOrEqual(1);
    expect(inside).toBeGreaterThan(5000);
    expect(outside).toBeGreaterThan(150_000);
    // The outline is drawn in the full colour: at least the circle's circumference in output pixels.
    expect(edge).toBeGreaterThan(2 * Math.PI * 45 * 0.8);
  });

  it('keeps the aspect ratio, never enlarges, and keeps a one-pixel lesion visible after a 4x reduction', async () => {
    expect(keyImageSize(1072, 712)).toEqual({ width: 1024, height: 680 });
    expect(keyImageSize(4288, 2848)).toEqual({ width: 1024, height: 680 });
    expect(keyImageSize(800, 600)).toEqual({ width: 800, height: 600 });
    const whole = await raw(await renderKeyImage({ rgb: photo.rgb, width: 1072, height: 712 }, []));
    expect([whole.width, whole.height]).toEqual([1024, 680]);
    expect(Math.abs(whole.width / whole.height - 1072 / 712)).toBeLessThan(1 / 680);
    const small = await raw(await renderKeyImage({ rgb: photo.rgb, width: 1072, height: 712 }, [], { maxWidth: 2000 }));
    expect([small.width, small.height]).toEqual([1072, 712]);
    // Unscaled and without overlays: the photograph's own pixels.
    expect(Buffer.compare(small.data, photo.rgb)).toBe(0);

    const dot = new Uint8Array(1072 * 712);
    dot[401 * 1072 + 601] = 255;
    const out = await raw(await renderKeyImage({ rgb: photo.rgb, width: 1072, height: 712 }, [{ mask: dot, colour: [255, 0, 255], label: 'Microaneurysms' }], { maxWidth: 268 }));
    expect([out.width, out.height]).toEqual([268, 178]);
    const p = (100 * 268 + 150) * 3;
    expect([...out.data.subarray(p, p + 3)]).toEqual([255, 0, 255]);
  });

  it('refuses a mask or image of the wrong size with a message naming it', async () => {
    await expect(renderKeyImage({ rgb: photo.rgb, width: 1072, height: 712 }, [{ mask: new Uint8Array(10), colour: [1, 2, 3], label: 'Hard exudates' }]))
      .rejects.toThrow(/overlay 0 \("Hard exudates"\): mask has 10 bytes, the image 1072x712 needs 763264/);
    await expect(renderKeyImage({ rgb: photo.rgb, width: 100, height: 100 }, [])).rejects.toThrow(KeyImageError);
    await expect(renderKeyImage({ rgb: photo.rgb, width: 1072, height: 712 }, [{ mask: new Uint8Array(1072 * 712), colour: [300, 0, 0], label: 'x' }])).rejects.toThrow(/colour/);
  });

  const idridEx = path.join(SHARED_DIR, 'data/idrid/segmentation/quarter/masks/test/EX/IDRiD_70_EX.png');
  it.skipIf(!existsSync(idridEx))('draws IDRiD\'s own hard-exudate annotation of this photograph', async () => {
    const { data } = await sharp(idridEx).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    const colour: Rgb = [255, 255, 0];
    const out = await raw(await renderKeyImage({ rgb: photo.rgb, width: 1072, height: 712 }, [{ mask: data, colour, label: 'Hard exudates' }], { maxWidth: 1072 }));
    let changed = 0; let towards = 0; let outsideChanged = 0;
    for (let i = 0; i < 1072 * 712; i++) {
      const got = out.data.subarray(i * 3, i * 3 + 3);
      const was = photo.rgb.subarray(i * 3, i * 3 + 3);
      if (data[i]) { changed++; if (dist(got, colour) < dist(was, colour) || dist(was, colour) === 0) towards++; } else if (dist(got, was) > 0) outsideChanged++;
    }
    expect(changed).toBeGreaterThan(3000);
    expect(towards).toBe(changed);
    expect(outsideChanged).toBe(0);
  });
});

describe('SEG colours', () => {
  it('reads back the SEG\'s recommended display colours as the sRGB they were chosen in', () => {
    const f = segmenterFinding('R', { MA: 10, HE: 10, EX: 10, SE: 10, OD: 10, cup: 10 }, 0.3);
    const seen = plannedSegments(f).map((s) => dicomLabToSrgb(s.describe(new Uint8Array(0)).colourLab));
    expect(seen.slice(0, 4)).toEqual([[255, 0, 255], [0, 90, 255], [255, 255, 0], [0, 255, 255]]);
    for (const c of [[0, 0, 0], [255, 255, 255], [12, 200, 77], [250, 128, 3]] as Rgb[]) {
      const back = dicomLabToSrgb(srgbToDicomLab(c));
      for (let k = 0; k < 3; k++) expect(Math.abs(back[k]! - c[k]!)).toBeLessThanOrEqual(1);
    }
  });
});

/** The classifier's result with a chosen DR grade and quality-issue decision (the sample's threshold is 0.42). */
function classifier(eye: 'R' | 'L', dr: number, quality = 0.1): FindingResult {
  const f = structuredClone(classifierFinding(eye, 1, dr));
  const q = f.labels.find((l) => l.key === 'quality_issue')!;
  q.probability = quality;
  q.positive = quality >= q.threshold!;
  return f;
}

describe('chooseKeyImages', () => {
  const images = [
    // Right: the grade-4 photograph is ungradable, so the grade-3 one wins over the grade-2 with more lesions.
    { id: 'r1', laterality: 'R', findings: [classifier('R', 2), segmenterFinding('R', { MA: 300, HE: 900 }, 0.3)] },
    { id: 'r2', laterality: 'R', findings: [classifier('R', 3), segmenterFinding('R', { MA: 20 }, 0.3)] },
    { id: 'r3', laterality: 'R', findings: [classifier('R', 4, 0.9), segmenterFinding('R', { HE: 5000 }, 0.3)] },
    // Left: equal grades; the larger lesion area wins, the optic disc's area does not count.
    { id: 'l1', laterality: 'L', findings: [classifier('L', 1), segmenterFinding('L', { EX: 100, OD: 90_000 }, 0.3)] },
    { id: 'l2', laterality: 'L', findings: [classifier('L', 1), segmenterFinding('L', { EX: 150, SE: 20 }, 0.3)] },
    { id: 'l3', laterality: 'L', findings: [classifier('L', 0), segmenterFinding('L', { EX: 9000 }, 0.3)] },
    // Side not stated, segmenter only: no quality assessment, so not gradable, so no key image.
    { id: 'u1', laterality: null, findings: [{ ...segmenterFinding('R', { HE: 50 }, 0.3), laterality: null }] },
  ];

  it('picks per eye the gradable image with the worst DR grade, then the largest lesion area', () => {
    const picked = chooseKeyImages(images);
    expect(picked.map((p) => [p.eye, p.image.id, p.drGrade, p.lesionAreaPx])).toEqual([['R', 'r2', 3, 20], ['L', 'l2', 1, 170]]);
    expect(chooseKeyImages([...images].reverse()).map((p) => p.image.id)).toEqual(['r2', 'l2']);
    // A site threshold that makes r3 gradable makes it the right eye's key image.
    expect(chooseKeyImages(images, { qualityThreshold: 0.95 }).map((p) => p.image.id)).toEqual(['r3', 'l2']);
  });

  it('breaks a full tie by id and takes the eye from the findings when the image has none', () => {
    const a = { id: 'b', laterality: null, findings: [classifier('L', 2)] };
    const b = { id: 'a', laterality: null, findings: [classifier('L', 2)] };
    expect(chooseKeyImages([a, b]).map((p) => [p.eye, p.image.id])).toEqual([['L', 'a']]);
    expect(chooseKeyImages([])).toEqual([]);
  });
});

describe('keyImagesForStudy and the DiagnosticReport', () => {
  let dataDir: string;
  beforeAll(() => { dataDir = mkdtempSync(path.join(os.tmpdir(), 'ophgate-key-image-')); });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  async function writeMask(rel: string, mask: Uint8Array) {
    mkdirSync(path.dirname(path.join(dataDir, rel)), { recursive: true });
    await sharp(Buffer.from(mask), { raw: { width: 1072, height: 712, channels: 1 } }).png().toFile(path.join(dataDir, rel));
  }

  /** The segmenter's finding with its masks written where the findings stage would write them. */
  async function segmenter(eye: 'R' | 'L', name: string, masks: Record<string, Uint8Array>): Promise<FindingResult> {
    const areas = Object.fromEntries(Object.entries(masks).map(([k, m]) => [k, m.reduce((n, v) => n + (v ? 1 : 0), 0)]));
    const f = structuredClone(segmenterFinding(eye, areas, 0.3));
    for (const l of f.lesions) {
      if (!masks[l.key]) continue;
      l.mask = `derived/masks/${name}/frame-1/fundus-segmenter/masks-${l.key}.png`;
      await writeMask(l.mask, masks[l.key]!);
    }
    return f;
  }

  it('renders one overlay per eye from the stored masks, in the SEG colours, and the report carries them', async () => {
    const he = drawnMask(1072, 712, { cx: 600, cy: 300, r: 60 });
    const ex = drawnMask(1072, 712, { cx: 300, cy: 420, r: 25 }, { x0: 700, y0: 500, x1: 760, y1: 540 });
    const od = drawnMask(1072, 712, { cx: 900, cy: 350, r: 80 });
    const right = [classifier('R', 2), await segmenter('R', 'r', { HE: he, EX: ex, OD: od })];
    const left = [classifier('L', 0), await segmenter('L', 'l', {})];
    const decoded: string[] = [];
    const keyImages = await keyImagesForStudy({
      images: [
        { dicomPath: LEFT, frame: 1, laterality: 'L', findings: left },
        { dicomPath: RIGHT, frame: 1, laterality: 'R', findings: right },
        // Ungradable: never decoded.
        { dicomPath: path.join(FIXTURES_DIR, 'op-jpeg-baseline-idrid57-R.dcm'), frame: 1, laterality: 'R', findings: [classifier('R', 4, 0.99)] },
      ],
      dataDir, decode: async (p) => { decoded.push(path.basename(p)); return decode(p); }, maxWidth: 536,
    });
    expect(decoded.sort()).toEqual([path.basename(RIGHT), path.basename(LEFT)].sort());
    expect(keyImages.map((k) => k.eye)).toEqual(['R', 'L']);
    const [r, l] = keyImages as [KeyImage, KeyImage];
    // Lesions only, in the SEG's colours; the optic disc is anatomy and not drawn.
    expect(r.legend).toEqual([{ label: 'Haemorrhages', colour: [0, 90, 255] }, { label: 'Hard exudates', colour: [255, 255, 0] }]);
    expect(r.caption).toBe('Right eye: the gradable photograph with the most serious finding (DR grade 2), lesions outlined by fundus-segmenter 0.1.0: haemorrhages, hard exudates. AI overlay, not for clinical use.');
    expect(l.legend).toEqual([]);
    expect(l.caption).toContain('no lesions segmented');
    const img = await raw(r.png);
    expect([img.width, img.height]).toEqual([536, 356]);
    const ref = await sharp(photo.rgb, { raw: { width: 1072, height: 712, channels: 3 } }).resize(536, 356, { fit: 'fill' }).raw().toBuffer();
    const at = (buf: Buffer, x: number, y: number) => buf.subarray((y * 536 + x) * 3, (y * 536 + x) * 3 + 3);
    expect(dist(at(img.data, 300, 150), [0, 90, 255])).toBeLessThan(dist(at(ref, 300, 150), [0, 90, 255]));
    expect(dist(at(img.data, 450, 175), at(ref, 450, 175))).toBeLessThanOrEqual(2); // optic disc: untouched
    expect(dist(at(img.data, 50, 50), at(ref, 50, 50))).toBeLessThanOrEqual(2);

    // The report: HTML with each image inline, its alt text, caption and legend; one image/png attachment each.
    const hostile = { ...r, caption: 'Right eye <script>alert(1)</script> & "quotes"', legend: [{ label: '<b>Haemorrhages</b>', colour: [0, 90, 255] as Rgb }] };
    const input = { studyUid: '1.2.3', effective: '2024-03-15', issued: '2024-03-15T14:40:00.000Z', narrative: 'Right eye: <DR> & more.', narrativeSource: 'deterministic', findings: [...right, ...left], keyImages: [hostile, l] };
    const report = buildDiagnosticReport(input, { patient: 'urn:uuid:00000000-0000-4000-8000-000000000001', imagingStudy: 'urn:uuid:00000000-0000-4000-8000-000000000002', observations: [] });
    validate(report);
    const forms = report.presentedForm!;
    expect(forms.map((f) => f.contentType)).toEqual(['text/plain; charset=utf-8', 'text/html; charset=utf-8', 'image/png', 'image/png']);
    expect(forms[2]).toMatchObject({ title: 'Key image, right eye: AI lesion overlay (not for clinical use)', data: r.png.toString('base64'), size: r.png.length, creation: input.issued });
    expect(forms[3]!.title).toContain('left eye');
    const page = Buffer.from(forms[1]!.data!, 'base64').toString('utf8');
    expect(page).toBe(renderReportHtml(input));
    expect(page).toContain(`<img src="data:image/png;base64,${r.png.toString('base64')}" alt="Fundus photograph of the right eye with the AI lesion overlay" width="536" height="356"`);
    expect(page).toContain('alt="Fundus photograph of the left eye with the AI lesion overlay"');
    expect(page).toContain('<figcaption>Right eye &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;</figcaption>');
    expect(page).toContain('background:#005aff"></span> &lt;b&gt;Haemorrhages&lt;/b&gt;</li>');
    expect(page).not.toMatch(/<script|<b>|<DR>/);
    // Self-contained: nothing is fetched from elsewhere.
    expect(page).not.toMatch(/(src|href)="(?!data:)/);
    // Without key images the report is as before.
    expect(buildDiagnosticReport({ ...input, keyImages: undefined }, { patient: 'urn:uuid:00000000-0000-4000-8000-000000000001', imagingStudy: 'urn:uuid:00000000-0000-4000-8000-000000000002', observations: [] }).presentedForm).toHaveLength(2);
  });

  it('refuses a key image that is not a PNG, and a mask of another size than the photograph', async () => {
    const bad = { eye: 'R' as const, caption: 'x', png: Buffer.from('<svg onload=alert(1)>'), legend: [] };
    expect(() => renderReportHtml({ studyUid: '1', issued: '2024-03-15T14:40:00.000Z', narrative: 'x', findings: [], keyImages: [bad] })).toThrow(FhirBuildError);
    const f = await segmenter('R', 'wrong', { HE: drawnMask(1072, 712, { cx: 10, cy: 10, r: 5 }) });
    f.lesions.find((l) => l.key === 'HE')!.mask = 'derived/small.png';
    await sharp({ create: { width: 10, height: 10, channels: 3, background: { r: 0, g: 0, b: 0 } } }).png().toFile(path.join(dataDir, 'derived/small.png'));
    await expect(keyImagesForStudy({ images: [{ dicomPath: RIGHT, frame: 1, laterality: 'R', findings: [classifier('R', 1), f] }], dataDir, decode }))
      .rejects.toThrow('mask derived/small.png is 10x10, the image 1072x712');
    f.lesions.find((l) => l.key === 'HE')!.mask = '../../etc/passwd';
    await expect(keyImagesForStudy({ images: [{ dicomPath: RIGHT, frame: 1, laterality: 'R', findings: [classifier('R', 1), f] }], dataDir, decode }))
      .rejects.toThrow(/outside the data directory/);
    await expect(keyImagesForStudy({ images: [{ dicomPath: RIGHT, frame: 2, laterality: 'R', findings: [classifier('R', 1)] }], dataDir, decode }))
      .rejects.toThrow('frame 2 of op-rgb-planar0-idrid70-R.dcm not found (1 decoded)');
  });
});
