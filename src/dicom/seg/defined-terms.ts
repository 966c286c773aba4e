// Values the Segmentation IOD (PS3.3 A.51) fixes or enumerates, and the coded concepts its references carry, in one
// place so that writer, reader and tests agree on them.
import { dcm, type CodedEntry } from '../common/coded-entry.js';
import { SEGMENTATION_STORAGE } from '../dimse/uids.js';

export { SEGMENTATION_STORAGE };
/** Label Map Segmentation Storage (Supplement 243): read, never written. */
export const LABEL_MAP_SEGMENTATION_STORAGE = '1.2.840.10008.5.1.4.1.1.66.7';
export const SEGMENTATION_SOP_CLASSES: ReadonlySet<string> = new Set([SEGMENTATION_STORAGE, LABEL_MAP_SEGMENTATION_STORAGE]);

/** Segmentation Type (0062,0001), PS3.3 C.8.20.2: enumerated values. */
export const SEGMENTATION_TYPES = ['BINARY', 'FRACTIONAL', 'LABELMAP'] as const;
export type SegmentationType = (typeof SEGMENTATION_TYPES)[number];

/** Segment Algorithm Type (0062,0008), PS3.3 Table C.8.20-4: enumerated values. */
export const SEGMENT_ALGORITHM_TYPES = ['AUTOMATIC', 'SEMIAUTOMATIC', 'MANUAL'] as const;
export type SegmentAlgorithmType = (typeof SEGMENT_ALGORITHM_TYPES)[number];

/**
 * Purpose of Reference of a source image in the Derivation Image Functional Group: PS3.3 A.51.5.1 fixes it for
 * segmentations (PS3.16 CID 7202 member).
 */
export const PURPOSE_SOURCE_IMAGE: CodedEntry = dcm('121322', 'Source image for image processing operation');
/** Derivation Code Sequence value A.51.5.1 fixes (PS3.16 CID 7203 member). */
export const DERIVATION_SEGMENTATION: CodedEntry = dcm('113076', 'Segmentation');

/**
 * IHE Radiology AI Results (AIR) profile: the Contributing Equipment item that names the algorithm carries this
 * Purpose of Reference. 99IHE is a private scheme, so the SEG declares it in its Coding
 * Scheme Identification Sequence.
 */
export const IHE_PROCESSING_ALGORITHM: CodedEntry = { value: 'Newcode1', scheme: '99IHE', meaning: 'Processing Algorithm' };

/** Image Orientation (Patient) of the viewer-compatibility geometry: rows along +x, columns along +y. */
export const IDENTITY_ORIENTATION = [1, 0, 0, 0, 1, 0] as const;
