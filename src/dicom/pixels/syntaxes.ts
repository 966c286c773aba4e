import { TRANSFER_SYNTAX_NAMES as NAMES, describeTransferSyntax } from '../transfer-syntaxes.js';

export { describeTransferSyntax };

// Which transfer syntaxes this decoder refuses outright (video and other codecs that
// the installed WASM codecs do not cover). Compressed syntaxes not listed as unsupported are decoded by sniffing
// the codestream, so a mislabelled or private syntax carrying JPEG/J2K data still works.

export const RLE_LOSSLESS = '1.2.840.10008.1.2.5';


const NATIVE = new Set(['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.1.99', '1.2.840.10008.1.2.2']);

export function isCompressedTransferSyntax(uid: string): boolean {
  return !NATIVE.has(uid) && uid in NAMES;
}

/** A message naming why this syntax cannot be decoded, or undefined when decoding should be attempted. */
export function unsupportedReason(uid: string): string | undefined {
  const name = NAMES[uid];
  const refuse =
    uid.startsWith('1.2.840.10008.1.2.4.10') || // MPEG-2, MPEG-4, HEVC video
    uid.startsWith('1.2.840.10008.1.2.4.11') || // JPEG XL
    uid === '1.2.840.10008.1.2.4.94' ||
    uid === '1.2.840.10008.1.2.4.95' ||
    uid === '1.2.840.10008.1.2.4.204' ||
    uid === '1.2.840.10008.1.2.1.98' ||
    uid.startsWith('1.2.840.10008.1.2.6.') ||
    uid.startsWith('1.2.840.10008.1.2.7.') ||
    uid.startsWith('1.2.840.10008.1.2.8.');
  return refuse ? `unsupported transfer syntax ${uid} (${name ?? 'unknown'})` : undefined;
}
