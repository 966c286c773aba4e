// SOP class and transfer syntax UIDs the DIMSE code needs by name.
export const VERIFICATION_SOP_CLASS = '1.2.840.10008.1.1';
export const SEGMENTATION_STORAGE = '1.2.840.10008.5.1.4.1.1.66.4';
export const COMPREHENSIVE_SR_STORAGE = '1.2.840.10008.5.1.4.1.1.88.33';

export const IMPLICIT_VR_LE = '1.2.840.10008.1.2';
export const EXPLICIT_VR_LE = '1.2.840.10008.1.2.1';
export const DEFLATED_EXPLICIT_VR_LE = '1.2.840.10008.1.2.1.99';
export const EXPLICIT_VR_BE = '1.2.840.10008.1.2.2';

/** Native (not encapsulated, not deflated) encodings: these can be rewritten from one to another without codecs. */
export const NATIVE_TRANSFER_SYNTAXES: ReadonlySet<string> = new Set([IMPLICIT_VR_LE, EXPLICIT_VR_LE, EXPLICIT_VR_BE]);

/** DIMSE status values used by the C-STORE and C-ECHO code (PS3.4 B.2.3, PS3.7 C). */
export const STATUS_SUCCESS = 0x0000;
export const STATUS_SOP_CLASS_NOT_SUPPORTED = 0x0122;
export const STATUS_OUT_OF_RESOURCES = 0xa700;
export const STATUS_DATASET_MISMATCH = 0xa900;
export const STATUS_CANNOT_UNDERSTAND = 0xc000;

/** True for success and for the warning statuses of C-STORE (B000, B006, B007; 0001 is a generic warning). */
export function isStoreSuccessOrWarning(status: number): boolean {
  return status === STATUS_SUCCESS || status === 0x0001 || (status >= 0xb000 && status <= 0xbfff);
}
