// Rendered resources (PS3.18 10.4.1.1.3 and 8.3.5): one frame decoded by the pixel decoder (src/dicom/pixels, 8-bit
// RGB after the instance's own VOI/palette/colour handling) and encoded by sharp as image/jpeg (default) or
// image/png. Query parameters: quality (1-100, JPEG only), viewport=vw,vh (scaled to fit, aspect ratio kept, no
// enlargement). window, annotation and iccprofile are accepted but not applied (a Warning header says so).
import type { Request } from 'express';
import sharp from 'sharp';
import { PixelDecodeError, type DecodedFrame } from '../../dicom/pixels/index.js';
import { HttpError } from './common.js';
import { acceptOf, covers, parseAccept } from './media-types.js';

export type RenderedType = 'image/jpeg' | 'image/png';

export interface RenderParams { quality: number; viewport?: { width: number; height: number }; ignored: string[] }

const KNOWN = new Set(['quality', 'viewport', 'window', 'annotation', 'iccprofile', 'accept', 'charset']);

export function negotiateRendered(req: Request): RenderedType {
  const ranges = parseAccept(acceptOf(req));
  if (ranges.length === 0) return 'image/jpeg';
  for (const r of ranges) {
    if (covers(r, 'image', 'jpeg')) return 'image/jpeg';
    if (covers(r, 'image', 'png')) return 'image/png';
  }
  throw new HttpError(406, 'rendered images are offered as image/jpeg (default) or image/png; the Accept header allows neither');
}

function one(query: Record<string, unknown>, name: string): string | undefined {
  const v = query[name];
  if (v === undefined) return undefined;
  if (Array.isArray(v)) {
    if (v.length !== 1) throw new HttpError(400, `query parameter ${name} appears ${v.length} times; it takes one value`);
    return String(v[0]);
  }
  return String(v);
}

export function parseRenderParams(query: Record<string, unknown>): RenderParams {
  for (const k of Object.keys(query)) {
    if (!KNOWN.has(k.toLowerCase())) throw new HttpError(400, `unknown query parameter "${k.slice(0, 60)}" for a rendered resource; known: quality, viewport, window, annotation, iccprofile`);
  }
  const params: RenderParams = { quality: 90, ignored: [] };
  const quality = one(query, 'quality');
  if (quality !== undefined) {
    if (!/^\d{1,3}$/.test(quality) || Number(quality) < 1 || Number(quality) > 100) throw new HttpError(400, `quality: "${quality.slice(0, 20)}" is not an integer from 1 to 100`);
    params.quality = Number(quality);
  }
  const viewport = one(query, 'viewport');
  if (viewport !== undefined) {
    const parts = viewport.split(',').map((s) => s.trim());
    if (parts.length > 2) throw new HttpError(400, 'viewport: only vw,vh is supported (no source cropping sx,sy,sw,sh)');
    if (parts.length !== 2 || parts.some((p) => !/^\d{1,5}$/.test(p) || Number(p) < 1)) throw new HttpError(400, `viewport: "${viewport.slice(0, 40)}" is not vw,vh (two positive integers)`);
    params.viewport = { width: Number(parts[0]), height: Number(parts[1]) };
  }
  for (const k of ['window', 'annotation', 'iccprofile']) if (query[k] !== undefined) params.ignored.push(k);
  return params;
}

function decodeStatus(err: PixelDecodeError): number {
  switch (err.reason) {
    case 'no-pixel-data': return 404;
    case 'unsupported': return 406;
    case 'too-large': return 413;
    case 'timeout': return 503;
    default: return 422;
  }
}

/** Decodes frame `frameNumber` (1-based) of a stored file (in the decode workers) and encodes it. */
export async function renderFrame(decode: (file: string) => Promise<DecodedFrame[]>, file: string, frameNumber: number, type: RenderedType, params: RenderParams, sopInstanceUid: string): Promise<Buffer> {
  let n = 0;
  try {
    const frames = await decode(file);
    n = frames.length;
    const frame = frames[frameNumber - 1];
    if (frame) {
      let img = sharp(frame.rgb, { raw: { width: frame.columns, height: frame.rows, channels: 3 } });
      if (params.viewport) img = img.resize(params.viewport.width, params.viewport.height, { fit: 'inside', withoutEnlargement: true });
      return type === 'image/png' ? await img.png().toBuffer() : await img.jpeg({ quality: params.quality }).toBuffer();
    }
  } catch (err) {
    if (err instanceof PixelDecodeError) throw new HttpError(decodeStatus(err), `instance ${sopInstanceUid} cannot be rendered: ${err.message}`);
    throw err;
  }
  throw new HttpError(404, `instance ${sopInstanceUid} has ${n} frame(s); there is no frame ${frameNumber}`);
}
