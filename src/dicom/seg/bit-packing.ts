// Bits Allocated 1 pixel data (PS3.5 8.1.1): pixels are packed eight to a byte, the first pixel in the least
// significant bit, and frames follow one another with no padding between them, so a frame whose pixel count is not
// a multiple of 8 ends, and the next one starts, in the middle of a byte. Only the whole Pixel Data value is padded
// to an even length (PS3.5 7.1.1).

/** Packs frames of one byte per pixel (nonzero = set) into one Pixel Data value of even length. */
export function packBinaryFrames(frames: readonly Uint8Array[], pixelsPerFrame: number): Uint8Array {
  const totalBits = frames.length * pixelsPerFrame;
  const byteLength = Math.ceil(totalBits / 8);
  const out = new Uint8Array(byteLength + (byteLength % 2));
  let bit = 0;
  for (const frame of frames) {
    if (frame.length !== pixelsPerFrame) throw new RangeError(`a frame has ${frame.length} pixels, expected ${pixelsPerFrame}`);
    for (let p = 0; p < pixelsPerFrame; p++, bit++) {
      if (frame[p] !== 0) out[bit >>> 3]! |= 1 << (bit & 7);
    }
  }
  return out;
}

/** `count` pixels of 0/1 starting at bit `firstBit` of packed Pixel Data. */
export function unpackBits(packed: Uint8Array, firstBit: number, count: number): Uint8Array {
  const lastByte = (firstBit + count + 7) >>> 3;
  if (lastByte > packed.length) {
    throw new RangeError(`packed pixel data has ${packed.length} bytes; bits ${firstBit}..${firstBit + count - 1} need ${lastByte}`);
  }
  const out = new Uint8Array(count);
  let p = 0;
  let bit = firstBit;
  // Head: up to the next byte boundary, then whole bytes eight pixels at a time.
  for (; p < count && (bit & 7) !== 0; p++, bit++) out[p] = (packed[bit >>> 3]! >>> (bit & 7)) & 1;
  for (let byte = bit >>> 3; p + 8 <= count; p += 8, byte++, bit += 8) {
    const v = packed[byte]!;
    if (v === 0) continue;
    for (let k = 0; k < 8; k++) out[p + k] = (v >>> k) & 1;
  }
  for (; p < count; p++, bit++) out[p] = (packed[bit >>> 3]! >>> (bit & 7)) & 1;
  return out;
}
