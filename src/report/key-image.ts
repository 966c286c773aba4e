// Key images for the report: per eye, one photograph with the segmenter's lesion masks drawn over it, as a PNG the
// DiagnosticReport carries (inline in its HTML form and as an image/png attachment).
//
// COLOURS. Each lesion type is drawn in the colour OphGate's SEG recommends for it (Recommended Display CIELab
// Value, written by src/report/segments-of-findings.ts), converted back to sRGB here, so that the key image and a
// viewer showing the SEG agree, and a change of colour is made in one place. The mapping file has no colours of
// its own. Those colours were chosen to stand out on the orange-red fundus, not for colour-vision deficiencies
// (magenta microaneurysms and blue haemorrhages are close for protan and deutan readers), so the HTML names each
// colour in a legend and every region also gets a solid outline, which keeps small lesions visible.
import path from 'node:path';
import sharp from 'sharp';
import type { DecodedFrame } from '../dicom/pixels/index.js';
import type { FindingResult } from '../inference/finding-result.js';
import { imageGradability, type EyeSide, type SummaryOptions } from './eye-summary.js';
import type { KeyImage } from './fhir/diagnostic-report.js';
import { plannedSegments } from './segments-of-findings.js';

export type { KeyImage } from './fhir/diagnostic-report.js';
export type Rgb = [number, number, number];

const FINDINGS = 'mappings/fundus-findings.json';
/** Anatomy the segmenter outlines; not lesions, and left off the overlay (the narrative gives the cup-to-disc ratio). */
const ANATOMY = new Set([`${FINDINGS}#optic-disc`, `${FINDINGS}#optic-cup`]);
const EYE_TEXT: Record<EyeSide, string> = { R: 'Right eye', L: 'Left eye', unknown: 'Eye not stated' };
const EYE_ORDER: EyeSide[] = ['R', 'L', 'unknown'];

export class KeyImageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyImageError';
  }
}

// ---- Choosing ----

export interface KeyImageCandidate {
  /** Stable id of the image frame (e.g. "<file>#<frame>"): breaks ties, so the choice does not depend on order. */
  id: string;
  laterality: string | null;
  findings: FindingResult[];
}

export interface KeyImageChoice<T extends KeyImageCandidate = KeyImageCandidate> {
  eye: EyeSide;
  image: T;
  /** Worst predicted DR grade on this image, null when no classifier graded it. */
  drGrade: number | null;
  /** Pixels of all lesion types together (anatomy not counted), summed over the image's findings. */
  lesionAreaPx: number;
}

function eyeOfCandidate(c: KeyImageCandidate): EyeSide {
  const l = (c.laterality ?? c.findings.find((f) => f.laterality)?.laterality ?? '').trim().toUpperCase();
  return l === 'R' || l === 'L' ? l : 'unknown';
}

function drGradeOf(findings: FindingResult[]): number | null {
  let worst: number | null = null;
  for (const g of findings.flatMap((f) => f.grades).filter((x) => x.output === 'dr_grade')) {
    const grade = Number.parseInt(g.predicted.key, 10);
    if (Number.isFinite(grade) && (worst === null || grade > worst)) worst = grade;
  }
  return worst;
}

const lesionAreaOf = (findings: FindingResult[]) =>
  findings.flatMap((f) => f.lesions).filter((l) => !ANATOMY.has(l.code) && l.key !== 'OD' && l.key !== 'cup')
    .reduce((sum, l) => sum + Math.max(0, l.areaPx), 0);

/**
 * One key image per eye (right, left, then eye not stated), chosen among that eye's GRADABLE images (gradability
 * exactly as the eye summary decides it) by:
 *   1. the worst DR grade: the photograph that gave the eye its grade is the one a reader checks first;
 *   2. then the largest total lesion area (all lesion types together, optic disc and cup not counted): among
 *      equally graded photographs, the one that shows the most of what the segmenter found;
 *   3. then the smallest id, so the same study always gives the same choice.
 * An image without a DR grade ranks below grade 0. An eye with no gradable image gets no key image: the report
 * calls it ungradable, and an overlay on that photograph would read as a finding.
 */
export function chooseKeyImages<T extends KeyImageCandidate>(images: T[], options: SummaryOptions = {}): Array<KeyImageChoice<T>> {
  const best = new Map<EyeSide, KeyImageChoice<T>>();
  for (const image of images) {
    const gradable = imageGradability({ sopInstanceUid: image.id, laterality: null, findings: image.findings }, options).gradable;
    if (!gradable) continue;
    const c: KeyImageChoice<T> = { eye: eyeOfCandidate(image), image, drGrade: drGradeOf(image.findings), lesionAreaPx: lesionAreaOf(image.findings) };
    const prev = best.get(c.eye);
    const rank = (x: KeyImageChoice<T>) => x.drGrade ?? -1;
    if (!prev || rank(c) > rank(prev) || (rank(c) === rank(prev)
      && (c.lesionAreaPx > prev.lesionAreaPx || (c.lesionAreaPx === prev.lesionAreaPx && c.image.id < prev.image.id)))) {
      best.set(c.eye, c);
    }
  }
  return EYE_ORDER.flatMap((e) => (best.has(e) ? [best.get(e)!] : []));
}

// ---- Colours ----

const D65 = [0.95047, 1.0, 1.08883] as const;

/** DICOM-scaled CIELab (PS3.3 C.10.7.1.1, 0..65535) back to sRGB 0..255: the inverse of srgbToDicomLab. */
export function dicomLabToSrgb([lv, av, bv]: readonly [number, number, number]): Rgb {
  const L = (lv * 100) / 65535;
  const a = (av * 255) / 65535 - 128;
  const b = (bv * 255) / 65535 - 128;
  const fy = (L + 16) / 116;
  const finv = (t: number) => (t > 6 / 29 ? t ** 3 : 3 * (6 / 29) ** 2 * (t - 4 / 29));
  const [x, y, z] = [D65[0] * finv(fy + a / 500), D65[1] * finv(fy), D65[2] * finv(fy - b / 200)];
  const lin = [
    3.2404542 * x - 1.5371385 * y - 0.4985314 * z,
    -0.969266 * x + 1.8760108 * y + 0.041556 * z,
    0.0556434 * x - 0.2040259 * y + 1.0572252 * z,
  ];
  const gamma = (v: number) => (v <= 0.0031308 ? 12.92 * v : 1.055 * v ** (1 / 2.4) - 0.055);
  return lin.map((v) => Math.max(0, Math.min(255, Math.round(gamma(Math.max(0, v)) * 255)))) as Rgb;
}

// ---- Rendering ----

export interface RgbImage {
  /** width * height * 3 bytes, interleaved R,G,B. */
  rgb: Buffer | Uint8Array;
  width: number;
  height: number;
}

export interface Overlay {
  /** width * height bytes of the source image, nonzero inside. */
  mask: Uint8Array;
  colour: Rgb;
  label: string;
}

export interface RenderOptions {
  /** Widest output in pixels; smaller photographs keep their size (default 1024). */
  maxWidth?: number;
}

/** Fill opacity inside a region; the one-pixel outline is opaque. */
const FILL_ALPHA = 0.35;

/** Output size: at most maxWidth wide, aspect ratio kept, never enlarged. */
export function keyImageSize(width: number, height: number, maxWidth = 1024): { width: number; height: number } {
  if (width <= maxWidth) return { width, height };
  return { width: maxWidth, height: Math.max(1, Math.round((height * maxWidth) / width)) };
}

/**
 * Downscales a mask by "any pixel inside": an output pixel is inside when any source pixel it covers is. A
 * filtering resize would average a microaneurysm of a few pixels away on a 4x reduction.
 */
function shrinkMask(mask: Uint8Array, sw: number, sh: number, w: number, h: number): Uint8Array {
  if (sw === w && sh === h) return mask;
  const out = new Uint8Array(w * h);
  const col = new Uint32Array(sw);
  for (let x = 0; x < sw; x++) col[x] = Math.min(w - 1, Math.floor((x * w) / sw));
  for (let y = 0; y < sh; y++) {
    const row = Math.min(h - 1, Math.floor((y * h) / sh)) * w;
    const src = y * sw;
    for (let x = 0; x < sw; x++) if (mask[src + x]) out[row + col[x]!] = 1;
  }
  return out;
}

/**
 * The photograph, downscaled to at most maxWidth (aspect kept), with each overlay drawn in its colour: a
 * semi-transparent fill inside and an opaque one-pixel outline on the region's edge; later overlays on top.
 * Returns a PNG (8-bit RGB).
 */
export async function renderKeyImage(image: RgbImage, overlays: Overlay[], options: RenderOptions = {}): Promise<Buffer> {
  const { width: sw, height: sh } = image;
  const maxWidth = options.maxWidth ?? 1024;
  if (!Number.isInteger(sw) || !Number.isInteger(sh) || sw < 1 || sh < 1) throw new KeyImageError(`image size ${sw}x${sh} is not a positive integer size`);
  if (!Number.isInteger(maxWidth) || maxWidth < 1) throw new KeyImageError(`maxWidth must be a positive integer, got ${maxWidth}`);
  if (image.rgb.length !== sw * sh * 3) throw new KeyImageError(`image has ${image.rgb.length} bytes, ${sw}x${sh} RGB needs ${sw * sh * 3}`);
  overlays.forEach((o, i) => {
    if (o.mask.length !== sw * sh) throw new KeyImageError(`overlay ${i} ("${o.label}"): mask has ${o.mask.length} bytes, the image ${sw}x${sh} needs ${sw * sh}`);
    if (o.colour.length !== 3 || o.colour.some((c) => !Number.isInteger(c) || c < 0 || c > 255)) throw new KeyImageError(`overlay ${i} ("${o.label}"): colour must be three integers 0..255`);
  });
  const { width: w, height: h } = keyImageSize(sw, sh, maxWidth);
  const src = Buffer.from(image.rgb.buffer, image.rgb.byteOffset, image.rgb.byteLength);
  const out = w === sw && h === sh
    ? Buffer.from(src)
    : await sharp(src, { raw: { width: sw, height: sh, channels: 3 } }).resize(w, h, { fit: 'fill' }).raw().toBuffer();
  for (const o of overlays) {
    const m = shrinkMask(o.mask, sw, sh, w, h);
    const [r, g, b] = o.colour;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = y * w + x;
        if (!m[i]) continue;
        // Outline where a 4-neighbour is outside (the image border counts as outside).
        const edge = x === 0 || y === 0 || x === w - 1 || y === h - 1 || !m[i - 1] || !m[i + 1] || !m[i - w] || !m[i + w];
        const a = edge ? 1 : FILL_ALPHA;
        const p = i * 3;
        out[p] = Math.round(out[p]! * (1 - a) + r * a);
        out[p + 1] = Math.round(out[p + 1]! * (1 - a) + g * a);
        out[p + 2] = Math.round(out[p + 2]! * (1 - a) + b * a);
      }
    }
  }
  return sharp(out, { raw: { width: w, height: h, channels: 3 } }).png({ compressionLevel: 9 }).toBuffer();
}

// ---- Loading for a study ----

export interface KeyImageSource {
  /** The stored DICOM file of the image. */
  dicomPath: string;
  /** 1-based frame number, as the findings rows store it. */
  frame: number;
  laterality: string | null;
  /** Every model's findings on this frame (the masks are read from their `mask` paths). */
  findings: FindingResult[];
}

export interface KeyImagesInput {
  images: KeyImageSource[];
  /** The data directory the findings' mask paths are relative to (store.dataDir). */
  dataDir: string;
  /** Decodes a stored DICOM file to 8-bit RGB frames (e.g. decodeFile on the file's bytes, or the decode pool). */
  decode: (dicomPath: string) => Promise<DecodedFrame[]>;
  maxWidth?: number;
  qualityThreshold?: number;
}

/** A mask PNG as the findings stage wrote it (0/255, source size), one byte per pixel. */
async function readMask(dataDir: string, relative: string, width: number, height: number): Promise<Uint8Array> {
  const root = path.resolve(dataDir);
  const file = path.resolve(root, relative);
  if (!file.startsWith(root + path.sep)) throw new KeyImageError(`mask path ${JSON.stringify(relative)} is outside the data directory`);
  const { data, info } = await sharp(file).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  if (info.width !== width || info.height !== height) throw new KeyImageError(`mask ${relative} is ${info.width}x${info.height}, the image ${width}x${height}`);
  return data;
}

const describeGrade = (g: number | null) => (g === null ? 'no DR grade' : `DR grade ${g}`);

/**
 * The key images of a study, in eye order (right, left, eye not stated), for ReportInput.keyImages: chooses the
 * images (chooseKeyImages), decodes each chosen file with `decode`, reads the lesion masks from `dataDir` and
 * renders the overlay in the SEG's colours. Captions and labels carry no identifiers.
 */
export async function keyImagesForStudy(input: KeyImagesInput): Promise<KeyImage[]> {
  const candidates = input.images.map((img) => ({ ...img, id: `${img.dicomPath}#${String(img.frame).padStart(6, '0')}` }));
  const choices = chooseKeyImages(candidates, input.qualityThreshold !== undefined ? { qualityThreshold: input.qualityThreshold } : {});
  const out: KeyImage[] = [];
  for (const choice of choices) {
    const { dicomPath, frame: frameNumber, findings } = choice.image;
    const frames = await input.decode(dicomPath);
    const frame = frames[frameNumber - 1];
    if (!frame) throw new KeyImageError(`frame ${frameNumber} of ${path.basename(dicomPath)} not found (${frames.length} decoded)`);
    const overlays: Overlay[] = [];
    const models = new Set<string>();
    for (const finding of findings) {
      for (const seg of plannedSegments(finding)) {
        const lesion = finding.lesions.find((l) => l.key === seg.key);
        if (!lesion || ANATOMY.has(lesion.code) || seg.key === 'OD' || seg.key === 'cup') continue;
        const mask = await readMask(input.dataDir, seg.mask, frame.columns, frame.rows);
        // The same description the SEG writer gets: its label and recommended display colour.
        const d = seg.describe(mask);
        overlays.push({ mask, colour: dicomLabToSrgb(d.colourLab), label: d.label });
        models.add(`${finding.model.name} ${finding.model.version}`);
      }
    }
    const png = await renderKeyImage({ rgb: frame.rgb, width: frame.columns, height: frame.rows }, overlays, input.maxWidth !== undefined ? { maxWidth: input.maxWidth } : {});
    const legend = [...new Map(overlays.map((o) => [o.label, { label: o.label, colour: o.colour }])).values()];
    const what = overlays.length
      ? `lesions outlined by ${[...models].sort().join(', ')}: ${legend.map((l) => l.label.toLowerCase()).join(', ')}`
      : 'no lesions segmented on this photograph';
    out.push({
      eye: choice.eye,
      caption: `${EYE_TEXT[choice.eye]}: the gradable photograph with the most serious finding (${describeGrade(choice.drGrade)}), ${what}. AI overlay, not for clinical use.`,
      png, legend,
    });
  }
  return out;
}
