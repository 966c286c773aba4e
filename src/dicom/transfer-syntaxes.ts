// Transfer syntaxes: the names of those PS3.6 Table A-1 defines (for messages), and the ones OphGate accepts
// (PS3.5 section 10 and Annex A) with what the rest of the code needs to know.
export interface TransferSyntax {
  uid: string;
  name: string;
  encapsulated: boolean;
  lossy: boolean;
}

/** Every transfer syntax PS3.6 Table A-1 names, accepted or not. */
export const TRANSFER_SYNTAX_NAMES: Readonly<Record<string, string>> = {
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

export function describeTransferSyntax(uid: string): string {
  return TRANSFER_SYNTAX_NAMES[uid] ?? 'unknown';
}

/** Accepted by every ingest path. */
const list: TransferSyntax[] = [
  { uid: '1.2.840.10008.1.2', name: 'Implicit VR Little Endian', encapsulated: false, lossy: false },
  { uid: '1.2.840.10008.1.2.1', name: 'Explicit VR Little Endian', encapsulated: false, lossy: false },
  { uid: '1.2.840.10008.1.2.1.99', name: 'Deflated Explicit VR Little Endian', encapsulated: false, lossy: false },
  { uid: '1.2.840.10008.1.2.2', name: 'Explicit VR Big Endian (retired)', encapsulated: false, lossy: false },
  { uid: '1.2.840.10008.1.2.4.50', name: 'JPEG Baseline (Process 1)', encapsulated: true, lossy: true },
  { uid: '1.2.840.10008.1.2.4.51', name: 'JPEG Extended (Process 2 & 4)', encapsulated: true, lossy: true },
  { uid: '1.2.840.10008.1.2.4.57', name: 'JPEG Lossless, Non-Hierarchical (Process 14)', encapsulated: true, lossy: false },
  { uid: '1.2.840.10008.1.2.4.70', name: 'JPEG Lossless, First-Order Prediction (Process 14 SV1)', encapsulated: true, lossy: false },
  { uid: '1.2.840.10008.1.2.4.80', name: 'JPEG-LS Lossless', encapsulated: true, lossy: false },
  { uid: '1.2.840.10008.1.2.4.81', name: 'JPEG-LS Lossy (Near-Lossless)', encapsulated: true, lossy: true },
  { uid: '1.2.840.10008.1.2.4.90', name: 'JPEG 2000 (Lossless Only)', encapsulated: true, lossy: false },
  { uid: '1.2.840.10008.1.2.4.91', name: 'JPEG 2000', encapsulated: true, lossy: true },
  { uid: '1.2.840.10008.1.2.5', name: 'RLE Lossless', encapsulated: true, lossy: false },
];

export const TRANSFER_SYNTAXES: ReadonlyMap<string, TransferSyntax> = new Map(list.map((t) => [t.uid, t]));
export const DEFLATED_EXPLICIT_LE = '1.2.840.10008.1.2.1.99';
export const IMPLICIT_LE = '1.2.840.10008.1.2';
export const EXPLICIT_LE = '1.2.840.10008.1.2.1';

/** Storage SOP classes all live under this root (PS3.4 Annex B); OphGate stores any of them. */
export const STORAGE_SOP_CLASS_ROOT = '1.2.840.10008.5.1.4.1.1.';
