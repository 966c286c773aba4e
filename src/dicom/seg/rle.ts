// RLE Lossless (PS3.5 Annex G) for one frame: a 64-byte header (number of segments, then up to 15 segment offsets,
// little endian), then the segments, each a PackBits byte stream (G.3.1). A pixel of B bytes is split over B
// segments, most significant byte first (G.2), so for 16-bit samples segment 1 holds the high bytes.

export class RleDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RleDecodeError';
  }
}

function unpackBitsSegment(src: Uint8Array, out: Uint8Array): void {
  let i = 0;
  let o = 0;
  while (i < src.length && o < out.length) {
    const n = (src[i++]! << 24) >> 24; // signed byte
    if (n >= 0) {
      const count = Math.min(n + 1, out.length - o, src.length - i);
      out.set(src.subarray(i, i + count), o);
      i += n + 1;
      o += count;
    } else if (n !== -128) {
      const count = Math.min(1 - n, out.length - o);
      if (i >= src.length) break;
      out.fill(src[i++]!, o, o + count);
      o += count;
    }
  }
  if (o < out.length) throw new RleDecodeError(`an RLE segment decodes to ${o} bytes, the frame needs ${out.length}`);
}

/** Decodes one RLE frame of `pixels` single-sample pixels of `bytesPerPixel` bytes, into little-endian bytes. */
export function decodeRleFrame(frame: Uint8Array, pixels: number, bytesPerPixel: 1 | 2): Uint8Array {
  if (frame.length < 64) throw new RleDecodeError(`an RLE frame of ${frame.length} bytes is shorter than its 64-byte header`);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const segments = view.getUint32(0, true);
  if (segments !== bytesPerPixel) {
    throw new RleDecodeError(`an RLE frame has ${segments} segments; ${bytesPerPixel}-byte single-sample pixels need ${bytesPerPixel}`);
  }
  const offsets: number[] = [];
  for (let s = 0; s < segments; s++) offsets.push(view.getUint32(4 + 4 * s, true));
  offsets.push(frame.length);
  const out = new Uint8Array(pixels * bytesPerPixel);
  const plane = new Uint8Array(pixels);
  for (let s = 0; s < segments; s++) {
    const start = offsets[s]!, end = offsets[s + 1]!;
    if (start < 64 || end > frame.length || end < start) throw new RleDecodeError(`RLE segment ${s + 1} has a bad offset (${start}..${end} in ${frame.length} bytes)`);
    unpackBitsSegment(frame.subarray(start, end), plane);
    // Segment s holds byte (bytesPerPixel - 1 - s) of each little-endian pixel.
    const byte = bytesPerPixel - 1 - s;
    for (let p = 0; p < pixels; p++) out[p * bytesPerPixel + byte] = plane[p]!;
  }
  return out;
}
