// Bits Allocated 1 packing (PS3.5 8.1.1) against hand-worked bytes, including frames that start mid-byte.
import { describe, it, expect } from 'vitest';
import { packBinaryFrames, unpackBits } from '../../src/dicom/seg/bit-packing.js';

describe('packBinaryFrames', () => {
  it('puts the first pixel in the least significant bit', () => {
    const frame = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
    expect([...packBinaryFrames([frame], 16)]).toEqual([0b1000_0001, 0b0000_0011]);
  });

  it('treats any nonzero value as set', () => {
    expect([...packBinaryFrames([new Uint8Array([255, 2, 0, 0, 0, 0, 0, 0])], 8)]).toEqual([0b11, 0]);
  });

  it('continues the next frame mid-byte when a frame is not a multiple of 8 pixels, and pads the whole to even length', () => {
    // Two frames of 5 pixels (e.g. 1 row x 5 columns): bits 0-4 and 5-9.
    const a = new Uint8Array([1, 1, 0, 0, 1]);
    const b = new Uint8Array([1, 0, 0, 0, 1]);
    const packed = packBinaryFrames([a, b], 5);
    // Byte 0: a0 a1 . . a4 b0 . . -> bits 0,1,4,5; byte 1: b4 is bit 9 -> bit 1 of byte 1.
    expect([...packed]).toEqual([0b0011_0011, 0b0000_0010]);
    // Three frames of 3 pixels = 9 bits = 2 bytes, already even; one frame of 9 pixels = 2 bytes; 17 pixels -> 3 -> 4.
    expect(packBinaryFrames([new Uint8Array(3), new Uint8Array(3), new Uint8Array(3)], 3)).toHaveLength(2);
    expect(packBinaryFrames([new Uint8Array(17)], 17)).toHaveLength(4);
  });

  it('refuses a frame of the wrong size', () => {
    expect(() => packBinaryFrames([new Uint8Array(4)], 5)).toThrow(/4 pixels, expected 5/);
  });
});

describe('unpackBits', () => {
  it('inverts packing for frames at every bit offset', () => {
    // 3 frames of 13 pixels: offsets 0, 13 and 26 bits, none byte aligned after the first.
    const frames = [0, 1, 2].map((f) => new Uint8Array(13).map((_, i) => ((i * 5 + f * 3) % 7 < 3 ? 1 : 0)));
    const packed = packBinaryFrames(frames, 13);
    frames.forEach((f, i) => expect([...unpackBits(packed, i * 13, 13)]).toEqual([...f]));
  });

  it('reads long aligned runs and a tail', () => {
    const frame = new Uint8Array(1000).map((_, i) => (i % 3 === 0 || i > 990 ? 1 : 0));
    const shifted = new Uint8Array(1003);
    shifted.set(frame, 3);
    const packed = packBinaryFrames([shifted], 1003);
    expect([...unpackBits(packed, 3, 1000)]).toEqual([...frame]);
  });

  it('says when the data are too short', () => {
    expect(() => unpackBits(new Uint8Array(2), 10, 8)).toThrow(/need 3/);
  });
});
