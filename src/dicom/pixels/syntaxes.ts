// Transfer syntax names for messages, and which ones this decoder refuses outright (video and other codecs that
// the installed WASM codecs do not cover). Compressed syntaxes not listed as unsupported are decoded by sniffing
// the codestream, so a mislabelled or private syntax carrying JPEG/J2K data still works.

export const RLE_LOSSLESS = '1.2.840.10008.1.2.5';

const NAMES: Record<string, string> = {
  '1.2.840.10008.1.2': 'Implicit VR Little Endian',
  '1.2.840.10008.1.2.1': 'Explicit VR Little Endian',
  '1.2.840.10008.1.2.1.98': 'Encapsulated Uncompressed Explicit VR Little Endian',
  '1.2.840.10008.1.2.1.99': 'Deflated Explicit VR Little Endian',
  '1.2.840.10008.1.2.2': 'Explicit VR Big Endian',
  '1.2.840.10008.1.2.4.50': 'JPEG Baseline',
  '1.2.840.10008.1.2.4.51': 'JPEG Extended',
  '1.2.840.10008.1.2.4.53': 'JPEG Spectral Selection (retired)',
  '1.2.840.10008.1.2.4.55': 'JPEG Full Progression (retired)',
  '1.2.840.10008.1.2.4.57': 'JPEG Lossless',
  '1.2.840.10008.1.2.4.70': 'JPEG Lossless SV1',
  '1.2.840.10008.1.2.4.80': 'JPEG-LS Lossless',
  '1.2.840.10008.1.2.4.81': 'JPEG-LS Near-Lossless',
  '1.2.840.10008.1.2.4.90': 'JPEG 2000 Lossless',
  '1.2.840.10008.1.2.4.91': 'JPEG 2000',
  '1.2.840.10008.1.2.4.92': 'JPEG 2000 Part 2 Lossless',
  '1.2.840.10008.1.2.4.93': 'JPEG 2000 Part 2',
  '1.2.840.10008.1.2.4.94': 'JPIP Referenced',
  '1.2.840.10008.1.2.4.95': 'JPIP Referenced Deflate',
  '1.2.840.10008.1.2.4.100': 'MPEG2',
  '1.2.840.10008.1.2.4.100.1': 'MPEG2 Fragmentable',
  '1.2.840.10008.1.2.4.101': 'MPEG2 High Level',
  '1.2.840.10008.1.2.4.101.1': 'MPEG2 High Level Fragmentable',
  '1.2.840.10008.1.2.4.102': 'MPEG-4 AVC/H.264',
  '1.2.840.10008.1.2.4.102.1': 'MPEG-4 AVC/H.264 Fragmentable',
  '1.2.840.10008.1.2.4.103': 'MPEG-4 AVC/H.264 BD',
  '1.2.840.10008.1.2.4.103.1': 'MPEG-4 AVC/H.264 BD Fragmentable',
  '1.2.840.10008.1.2.4.104': 'MPEG-4 AVC/H.264 2D',
  '1.2.840.10008.1.2.4.104.1': 'MPEG-4 AVC/H.264 2D Fragmentable',
  '1.2.840.10008.1.2.4.105': 'MPEG-4 AVC/H.264 3D',
  '1.2.840.10008.1.2.4.105.1': 'MPEG-4 AVC/H.264 3D Fragmentable',
  '1.2.840.10008.1.2.4.106': 'MPEG-4 AVC/H.264 Stereo',
  '1.2.840.10008.1.2.4.106.1': 'MPEG-4 AVC/H.264 Stereo Fragmentable',
  '1.2.840.10008.1.2.4.107': 'HEVC/H.265 Main',
  '1.2.840.10008.1.2.4.108': 'HEVC/H.265 Main 10',
  '1.2.840.10008.1.2.4.110': 'JPEG XL Lossless',
  '1.2.840.10008.1.2.4.111': 'JPEG XL JPEG Recompression',
  '1.2.840.10008.1.2.4.112': 'JPEG XL',
  '1.2.840.10008.1.2.4.201': 'High-Throughput JPEG 2000 Lossless',
  '1.2.840.10008.1.2.4.202': 'High-Throughput JPEG 2000 RPCL Lossless',
  '1.2.840.10008.1.2.4.203': 'High-Throughput JPEG 2000',
  '1.2.840.10008.1.2.4.204': 'High-Throughput JPEG 2000 Lossless (JPIP)',
  '1.2.840.10008.1.2.5': 'RLE Lossless',
  '1.2.840.10008.1.2.6.1': 'RFC 2557 MIME Encapsulation',
  '1.2.840.10008.1.2.6.2': 'XML Encoding',
  '1.2.840.10008.1.2.7.1': 'SMPTE ST 2110-20 Uncompressed Progressive Active Video',
  '1.2.840.10008.1.2.8.1': 'Deflated Image Frame Compression',
};

const NATIVE = new Set(['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.1.99', '1.2.840.10008.1.2.2']);

export function describeTransferSyntax(uid: string): string {
  return NAMES[uid] ?? 'unknown';
}

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
