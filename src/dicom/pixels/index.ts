// Public surface of the pixel decoder: DICOM file -> 8-bit interleaved RGB per frame. See README.md here.
export { decodeFile, decodeFrames, type DecodedFrame, type DecodeOptions } from './decode.js';
export { PixelDecodeError, type PixelDecodeReason } from './errors.js';
export type { CodestreamKind } from './sniff.js';
