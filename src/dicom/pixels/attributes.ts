// Reads the Image Pixel module (and the bits of the Enhanced functional groups that affect grey-level mapping)
// into plain numbers, with defaults for what sloppy writers omit and checks for what cannot be worked around.
import type { DataSet, Element } from 'dicom-parser';
import { PixelDecodeError } from './errors.js';

export interface Window {
  center: number;
  width: number;
  fn: 'LINEAR' | 'LINEAR_EXACT' | 'SIGMOID';
}

/** Modality and VOI parameters that turn stored values into display levels (monochrome only). */
export interface GreyTransform {
  slope: number;
  intercept: number;
  window?: Window;
}

export interface PixelAttributes {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  bitsStored: number;
  signed: boolean;
  planar: boolean;
  photometric: string;
  numberOfFrames: number;
  pixelData: Element;
  /** Per-frame grey transform (Enhanced objects carry them in functional groups). */
  greyTransform(frameIndex: number): GreyTransform;
}

function num(ds: DataSet, tag: string): number | undefined {
  const el = ds.elements[tag];
  if (!el || el.length === 0) return undefined;
  return ds.uint16(tag);
}

function decimal(ds: DataSet | undefined, tag: string): number | undefined {
  if (!ds?.elements[tag]) return undefined;
  const v = ds.floatString(tag);
  return v !== undefined && Number.isFinite(v) ? v : undefined;
}

function windowFrom(ds: DataSet | undefined): Window | undefined {
  const center = decimal(ds, 'x00281050');
  const width = decimal(ds, 'x00281051');
  if (center === undefined || width === undefined || !ds) return undefined;
  const fnRaw = ds.string('x00281056')?.trim().toUpperCase();
  const fn = fnRaw === 'SIGMOID' || fnRaw === 'LINEAR_EXACT' ? fnRaw : 'LINEAR';
  // Width below 1 is invalid for LINEAR (the formula divides by width - 1); treat the window as absent.
  if (fn === 'LINEAR' ? width < 1 : width <= 0) return undefined;
  return { center, width, fn };
}

function firstItem(ds: DataSet | undefined, tag: string): DataSet | undefined {
  return ds?.elements[tag]?.items?.[0]?.dataSet;
}

/** Applies one functional-group item (Pixel Value Transformation, Frame VOI LUT) over the inherited transform. */
function applyGroups(base: GreyTransform, group: DataSet | undefined): GreyTransform {
  if (!group) return base;
  const out = { ...base };
  const pvt = firstItem(group, 'x00289145');
  const slope = decimal(pvt, 'x00281053');
  const intercept = decimal(pvt, 'x00281052');
  if (slope !== undefined) out.slope = slope;
  if (intercept !== undefined) out.intercept = intercept;
  const voi = windowFrom(firstItem(group, 'x00289132'));
  if (voi) out.window = voi;
  return out;
}

const COLOUR_PHOTOMETRICS = new Set(['RGB', 'YBR_FULL', 'YBR_FULL_422', 'YBR_PARTIAL_422', 'YBR_PARTIAL_420', 'YBR_ICT', 'YBR_RCT']);

export function readPixelAttributes(ds: DataSet): PixelAttributes {
  const pixelData = ds.elements['x7fe00010'];
  if (!pixelData) {
    if (ds.elements['x7fe00008'] || ds.elements['x7fe00009']) {
      throw new PixelDecodeError('unsupported', 'Float/Double Float Pixel Data (7FE0,0008/0009) not supported');
    }
    throw new PixelDecodeError('no-pixel-data', 'no Pixel Data (7FE0,0010)');
  }
  const rows = num(ds, 'x00280010');
  const columns = num(ds, 'x00280011');
  const bitsAllocated = num(ds, 'x00280100');
  if (!rows || !columns) throw new PixelDecodeError('invalid-attributes', `Rows/Columns missing or zero (${rows ?? '-'} x ${columns ?? '-'})`);
  if (!bitsAllocated) throw new PixelDecodeError('invalid-attributes', 'Bits Allocated (0028,0100) missing');
  const photometric = (ds.string('x00280004') ?? '').trim().toUpperCase() || (num(ds, 'x00280002') === 3 ? 'RGB' : 'MONOCHROME2');
  const samplesPerPixel = num(ds, 'x00280002') ?? (COLOUR_PHOTOMETRICS.has(photometric) ? 3 : 1);
  if (samplesPerPixel !== 1 && samplesPerPixel !== 3) {
    throw new PixelDecodeError('unsupported', `Samples per Pixel ${samplesPerPixel} not supported (${photometric})`);
  }
  let bitsStored = num(ds, 'x00280101') ?? bitsAllocated;
  if (bitsStored < 1 || bitsStored > bitsAllocated) bitsStored = bitsAllocated;
  const nfRaw = ds.elements['x00280008'] ? ds.string('x00280008') : undefined;
  let numberOfFrames = 1;
  if (nfRaw !== undefined && nfRaw.trim() !== '') {
    const n = Number.parseInt(nfRaw.trim(), 10);
    if (!Number.isFinite(n) || n < 0) throw new PixelDecodeError('invalid-attributes', `Number of Frames "${nfRaw}" is not a number`);
    numberOfFrames = Math.max(1, n);
  }

  const base: GreyTransform = {
    slope: decimal(ds, 'x00281053') ?? 1,
    intercept: decimal(ds, 'x00281052') ?? 0,
  };
  const topWindow = windowFrom(ds);
  if (topWindow) base.window = topWindow;
  const shared = applyGroups(base, firstItem(ds, 'x52009229'));
  const perFrame = ds.elements['x52009230']?.items;

  return {
    rows,
    columns,
    samplesPerPixel,
    bitsAllocated,
    bitsStored,
    signed: num(ds, 'x00280103') === 1,
    planar: num(ds, 'x00280006') === 1,
    photometric,
    numberOfFrames,
    pixelData,
    greyTransform: (i) => applyGroups(shared, perFrame?.[i]?.dataSet),
  };
}
