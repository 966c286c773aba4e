// Reads the headers of a compressed frame so the decoder can trust the codestream over the DICOM tags: which codec
// really encoded it (baseline vs lossless JPEG, JPEG-LS, J2K, JP2), its true size, precision and sample count, whether
// a colour transform was used, and whether the stream is complete. Nothing here decodes entropy-coded data.
import { PixelDecodeError } from './errors.js';

export type CodestreamKind = 'jpeg-baseline' | 'jpeg-extended' | 'jpeg-progressive' | 'jpeg-lossless' | 'jpeg-ls' | 'j2k' | 'jp2' | 'rle';

/** What the headers say about a frame. */
export interface CodestreamInfo {
  kind: CodestreamKind;
  width: number;
  height: number;
  components: number;
  precision: number;
  /** J2K: sample values are signed (SIZ Ssiz bit 7). JPEG/JPEG-LS samples are always unsigned. */
  signed: boolean;
  /** JPEG: evidence about the colour space of 3-component data (markers, component ids). */
  jpegColour?: 'ycbcr' | 'rgb' | 'unknown';
  /** JPEG-LS: interleave mode of the first scan (0 = one component per scan, so the codec returns planes). */
  jlsInterleave?: number;
  /** J2K/JP2: COD multiple component transform flag; OpenJPEG undoes it itself. */
  mct?: boolean;
  /** J2K Part 15 (HTJ2K) codestream: CAP marker present. */
  htj2k?: boolean;
  /** JP2: enumerated colour space from the colr box (16 sRGB, 17 grey, 18 sYCC). */
  jp2EnumCs?: number;
  /** RLE: segment count from the 64-byte header. */
  rleSegments?: number;
}

const SOF_MARKERS = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

function u16(b: Uint8Array, p: number): number {
  return ((b[p] ?? 0) << 8) | (b[p + 1] ?? 0);
}
function u32(b: Uint8Array, p: number): number {
  return (((b[p] ?? 0) << 24) >>> 0) + ((b[p + 1] ?? 0) << 16) + ((b[p + 2] ?? 0) << 8) + (b[p + 3] ?? 0);
}
function u32le(b: Uint8Array, p: number): number {
  return ((b[p] ?? 0) | ((b[p + 1] ?? 0) << 8) | ((b[p + 2] ?? 0) << 16) | ((b[p + 3] ?? 0) << 24)) >>> 0;
}
function ascii(b: Uint8Array, p: number, n: number): string {
  let s = '';
  for (let i = 0; i < n && p + i < b.length; i++) s += String.fromCharCode(b[p + i] ?? 0);
  return s;
}

/**
 * True when an FF D9 (EOI / EOC) marker follows `from`. Searching back from the end tolerates trailing padding or
 * junk after the marker; FF D9 cannot occur inside JPEG entropy data (FF is byte-stuffed), JPEG-LS data (bit-stuffed
 * after FF) or J2K packet data (no byte above 8F follows FF), so any hit past the headers is the real end marker.
 */
function hasEndMarker(b: Uint8Array, from: number): boolean {
  for (let i = b.length - 2; i >= from; i--) {
    if (b[i] === 0xff && b[i + 1] === 0xd9) return true;
  }
  return false;
}

export function looksLikeJpeg(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
}
export function looksLikeJ2k(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0xff && b[1] === 0x4f && b[2] === 0xff && b[3] === 0x51;
}
export function looksLikeJp2(b: Uint8Array): boolean {
  // Signature box (RFC 3745) or a bare JP2 magic as OpenJPEG accepts.
  return (b.length >= 12 && u32(b, 0) === 12 && ascii(b, 4, 4) === 'jP  ' && u32(b, 8) === 0x0d0a870a) || (b.length >= 4 && u32(b, 0) === 0x0d0a870a);
}
export function looksLikeRle(b: Uint8Array): boolean {
  const n = b.length >= 64 ? u32le(b, 0) : 0;
  return n >= 1 && n <= 15 && u32le(b, 4) === 64;
}
/** A fragment that begins a new frame's codestream (used to split multi-frame data without an offset table). */
export function startsCodestream(b: Uint8Array, rle: boolean): boolean {
  return rle ? looksLikeRle(b) : looksLikeJpeg(b) || looksLikeJ2k(b) || looksLikeJp2(b);
}

/** Inspects one frame and returns its header facts, or throws PixelDecodeError for malformed/truncated streams. */
export function sniffCodestream(b: Uint8Array, transferSyntaxIsRle: boolean, frame: number): CodestreamInfo {
  if (looksLikeJpeg(b)) return sniffJpeg(b, frame);
  if (looksLikeJ2k(b)) return sniffJ2k(b, 0, b.length, 'j2k', frame);
  if (looksLikeJp2(b)) return sniffJp2(b, frame);
  if (transferSyntaxIsRle) return sniffRle(b, frame);
  const head = Array.from(b.subarray(0, 8), (x) => x.toString(16).padStart(2, '0')).join(' ');
  throw new PixelDecodeError('malformed', `unrecognised codestream (starts ${head || 'empty'})`, { frame });
}

function sniffJpeg(b: Uint8Array, frame: number): CodestreamInfo {
  let p = 2;
  let sof: { marker: number; precision: number; height: number; width: number; ids: number[] } | undefined;
  let jfif = false;
  let adobeTransform: number | undefined;
  let jlsInterleave: number | undefined;
  let sawSos = false;
  const truncated = () => new PixelDecodeError('truncated', 'JPEG codestream truncated in its header', { frame });
  while (p < b.length) {
    if (b[p] !== 0xff) throw new PixelDecodeError('malformed', `JPEG codestream malformed: expected a marker at byte ${p}`, { frame });
    while (p < b.length && b[p] === 0xff) p++; // fill bytes
    if (p >= b.length) throw truncated();
    const m = b[p++] as number;
    if (m === 0xd8 || (m >= 0xd0 && m <= 0xd7) || m === 0x01) {
      // Stand-alone markers before the first scan only appear in broken streams; refuse rather than guess
      // (the codec's own bit-depth scan loops forever on TEM, FF01).
      throw new PixelDecodeError('malformed', `JPEG codestream malformed: unexpected marker FF${m.toString(16).toUpperCase()} in header`, { frame });
    }
    if (m === 0xd9) throw new PixelDecodeError('malformed', 'JPEG codestream has no image (EOI before any scan)', { frame });
    if (p + 2 > b.length) throw truncated();
    const len = u16(b, p);
    if (len < 2) throw new PixelDecodeError('malformed', `JPEG codestream malformed: segment FF${m.toString(16).toUpperCase()} has length ${len}`, { frame });
    if (p + len > b.length) throw truncated();
    const seg = p + 2;
    if (SOF_MARKERS.has(m) || m === 0xf7) {
      if (len < 8) throw new PixelDecodeError('malformed', 'JPEG frame header too short', { frame });
      const nf = b[seg + 5] as number;
      const ids: number[] = [];
      for (let i = 0; i < nf && seg + 6 + i * 3 < p + len; i++) ids.push(b[seg + 6 + i * 3] as number);
      sof = { marker: m, precision: b[seg] as number, height: u16(b, seg + 1), width: u16(b, seg + 3), ids };
    } else if (m === 0xe0 && ascii(b, seg, 5) === 'JFIF\0') {
      jfif = true;
    } else if (m === 0xee && ascii(b, seg, 5) === 'Adobe' && len >= 14) {
      adobeTransform = b[seg + 11];
    } else if (m === 0xda) {
      sawSos = true;
      if (sof?.marker === 0xf7) {
        const ns = b[seg] as number;
        jlsInterleave = b[seg + 1 + ns * 2 + 1];
      }
      break;
    }
    p += len;
  }
  if (!sof) throw new PixelDecodeError('malformed', 'JPEG codestream has no frame header (SOF)', { frame });
  if (!sawSos) throw truncated();
  if (!hasEndMarker(b, p)) {
    throw new PixelDecodeError('truncated', `${sof.marker === 0xf7 ? 'JPEG-LS' : 'JPEG'} codestream truncated (no EOI marker at the end)`, { frame });
  }
  let kind: CodestreamKind;
  switch (sof.marker) {
    case 0xc0:
      kind = 'jpeg-baseline';
      break;
    case 0xc1:
      kind = 'jpeg-extended';
      break;
    case 0xc2:
      kind = 'jpeg-progressive';
      break;
    case 0xc3:
      kind = 'jpeg-lossless';
      break;
    case 0xf7:
      kind = 'jpeg-ls';
      break;
    default:
      // Hierarchical and arithmetic-coded processes: real DICOM never uses them; the codec may still cope.
      throw new PixelDecodeError('unsupported', `JPEG process SOF${(sof.marker - 0xc0).toString(16)} (FF${sof.marker.toString(16).toUpperCase()}) not supported`, { frame });
  }
  // Colour evidence in the order libjpeg weighs it: Adobe transform flag, JFIF marker, then component ids.
  let jpegColour: 'ycbcr' | 'rgb' | 'unknown' = 'unknown';
  if (sof.ids.length === 3 && kind !== 'jpeg-ls') {
    if (adobeTransform !== undefined) jpegColour = adobeTransform === 0 ? 'rgb' : 'ycbcr';
    else if (jfif) jpegColour = 'ycbcr';
    else if (sof.ids[0] === 0x52 && sof.ids[1] === 0x47 && sof.ids[2] === 0x42) jpegColour = 'rgb';
  }
  const info: CodestreamInfo = {
    kind,
    width: sof.width,
    height: sof.height,
    components: sof.ids.length,
    precision: sof.precision,
    signed: false,
    jpegColour,
  };
  if (jlsInterleave !== undefined) info.jlsInterleave = jlsInterleave;
  if (info.height === 0) throw new PixelDecodeError('unsupported', 'JPEG with height 0 in SOF (DNL marker) not supported', { frame });
  return info;
}

function sniffJ2k(b: Uint8Array, start: number, end: number, kind: 'j2k' | 'jp2', frame: number): CodestreamInfo {
  const truncated = (what: string) => new PixelDecodeError('truncated', `JPEG 2000 codestream truncated (${what})`, { frame });
  if (end - start < 4 + 38) throw truncated('SIZ marker incomplete');
  let p = start + 4; // after SOC + SIZ marker
  const lsiz = u16(b, p);
  if (p + lsiz > end) throw truncated('SIZ marker incomplete');
  const xsiz = u32(b, p + 4);
  const ysiz = u32(b, p + 8);
  const xo = u32(b, p + 12);
  const yo = u32(b, p + 16);
  const csiz = u16(b, p + 36);
  if (csiz < 1 || 38 + csiz * 3 > lsiz) throw new PixelDecodeError('malformed', `JPEG 2000 SIZ marker malformed (${csiz} components)`, { frame });
  const ssiz = b[p + 38] as number;
  let subsampled = false;
  let mixedDepth = false;
  for (let c = 0; c < csiz; c++) {
    const q = p + 38 + c * 3;
    if (b[q + 1] !== 1 || b[q + 2] !== 1) subsampled = true;
    if (b[q] !== ssiz) mixedDepth = true;
  }
  if (subsampled) throw new PixelDecodeError('unsupported', 'JPEG 2000 with subsampled components not supported', { frame });
  if (mixedDepth) throw new PixelDecodeError('unsupported', 'JPEG 2000 components with different precisions not supported', { frame });
  const info: CodestreamInfo = {
    kind,
    width: xsiz - xo,
    height: ysiz - yo,
    components: csiz,
    precision: (ssiz & 0x7f) + 1,
    signed: (ssiz & 0x80) !== 0,
    mct: false,
    htj2k: false,
  };
  p += lsiz;
  // Main header: look for COD (MCT flag) and CAP (Part 15) until the first tile-part.
  let sawCod = false;
  for (;;) {
    if (p + 4 > end) throw truncated('main header incomplete');
    const m = u16(b, p);
    if (m === 0xff90) break;
    if ((m & 0xff00) !== 0xff00) throw new PixelDecodeError('malformed', `JPEG 2000 main header malformed at byte ${p - start}`, { frame });
    const len = u16(b, p + 2);
    if (p + 2 + len > end) throw truncated('main header incomplete');
    if (m === 0xff52) {
      sawCod = true;
      info.mct = b[p + 8] === 1; // Lcod(2) Scod(1) SGcod: progression(1) layers(2) MCT(1)
    } else if (m === 0xff50) {
      info.htj2k = true;
    }
    p += 2 + len;
  }
  if (!sawCod) throw new PixelDecodeError('malformed', 'JPEG 2000 main header has no COD marker', { frame });
  // Tile-parts: each SOT gives its own length (Psot); data ending inside one is a truncated stream.
  let tileParts = 0;
  for (;;) {
    if (p + 2 > end) throw truncated(tileParts === 0 ? 'no tile data' : 'no EOC marker');
    const m = u16(b, p);
    if (m === 0xffd9) break;
    if (m !== 0xff90) {
      // Some encoders write inconsistent Psot values (e.g. Kakadu 4.4); then only the end marker can be checked.
      if (!hasEndMarker(b.subarray(0, end), p)) throw truncated('no EOC marker');
      break;
    }
    if (p + 12 > end) throw truncated('tile-part header incomplete');
    const psot = u32(b, p + 6);
    tileParts++;
    if (psot === 0) {
      // Last tile-part runs to the EOC.
      if (!hasEndMarker(b.subarray(0, end), p)) throw truncated('no EOC marker');
      break;
    }
    if (p + psot > end) throw truncated(`tile-part ${tileParts} needs ${psot} bytes, ${end - p} left`);
    p += psot;
  }
  return info;
}

function sniffJp2(b: Uint8Array, frame: number): CodestreamInfo {
  // Walk the top-level boxes: jp2h holds colr (colour space), jp2c holds the codestream.
  let p = 0;
  let enumCs: number | undefined;
  while (p + 8 <= b.length) {
    let len = u32(b, p);
    const type = ascii(b, p + 4, 4);
    let header = 8;
    if (len === 1) {
      if (p + 16 > b.length) break;
      len = u32(b, p + 8) * 2 ** 32 + u32(b, p + 12);
      header = 16;
    } else if (len === 0) {
      len = b.length - p;
    }
    if (len < header) throw new PixelDecodeError('malformed', `JP2 box ${type} has length ${len}`, { frame });
    const end = Math.min(b.length, p + len);
    if (type === 'jp2h') {
      let q = p + header;
      while (q + 8 <= end) {
        const l = u32(b, q);
        if (l < 8) break;
        if (ascii(b, q + 4, 4) === 'colr' && b[q + 8] === 1) enumCs = u32(b, q + 11);
        q += l;
      }
    } else if (type === 'jp2c') {
      const start = p + header;
      if (!looksLikeJ2k(b.subarray(start, start + 4))) throw new PixelDecodeError('malformed', 'JP2 jp2c box does not hold a J2K codestream', { frame });
      if (p + len > b.length) throw new PixelDecodeError('truncated', 'JPEG 2000 codestream truncated (jp2c box longer than the data)', { frame });
      const info = sniffJ2k(b, start, end, 'jp2', frame);
      if (enumCs !== undefined) info.jp2EnumCs = enumCs;
      return info;
    }
    p += len;
  }
  throw new PixelDecodeError('truncated', 'JP2 file has no codestream box (jp2c)', { frame });
}

function sniffRle(b: Uint8Array, frame: number): CodestreamInfo {
  if (b.length < 64) throw new PixelDecodeError('truncated', `RLE frame truncated (${b.length} bytes, header needs 64)`, { frame });
  const n = u32le(b, 0);
  if (n < 1 || n > 15) throw new PixelDecodeError('malformed', `RLE header malformed (${n} segments)`, { frame });
  let prev = 64;
  for (let i = 0; i < n; i++) {
    const off = u32le(b, 4 + i * 4);
    if ((i === 0 && off !== 64) || off < prev || off > b.length) {
      throw new PixelDecodeError(off > b.length ? 'truncated' : 'malformed', `RLE segment ${i + 1} offset ${off} invalid for a ${b.length}-byte frame`, { frame });
    }
    prev = off;
  }
  // Dimensions are not in RLE data; the caller fills them from the DICOM attributes.
  return { kind: 'rle', width: 0, height: 0, components: 0, precision: 0, signed: false, rleSegments: n };
}
