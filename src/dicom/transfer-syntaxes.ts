// Transfer syntaxes OphGate accepts (PS3.5 section 10 and Annex A), with what the rest of the code needs to know.
export interface TransferSyntax {
  uid: string;
  name: string;
  encapsulated: boolean;
  lossy: boolean;
}

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
