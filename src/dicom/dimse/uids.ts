// SOP class and transfer syntax UIDs the DIMSE code needs by name.
import { Status, isStoreSuccessOrWarning } from '../status.js';

export const VERIFICATION_SOP_CLASS = '1.2.840.10008.1.1';
export const SEGMENTATION_STORAGE = '1.2.840.10008.5.1.4.1.1.66.4';
export const COMPREHENSIVE_SR_STORAGE = '1.2.840.10008.5.1.4.1.1.88.33';

export const IMPLICIT_VR_LE = '1.2.840.10008.1.2';
export const EXPLICIT_VR_LE = '1.2.840.10008.1.2.1';
export const DEFLATED_EXPLICIT_VR_LE = '1.2.840.10008.1.2.1.99';
export const EXPLICIT_VR_BE = '1.2.840.10008.1.2.2';

/** Native (not encapsulated, not deflated) encodings: these can be rewritten from one to another without codecs. */
export const NATIVE_TRANSFER_SYNTAXES: ReadonlySet<string> = new Set([IMPLICIT_VR_LE, EXPLICIT_VR_LE, EXPLICIT_VR_BE]);

/** DIMSE status values used by the C-STORE and C-ECHO code (one table for the whole project: ../status.ts). */
export const STATUS_SUCCESS = Status.Success;
export const STATUS_SOP_CLASS_NOT_SUPPORTED = Status.SopClassNotSupported;
export const STATUS_OUT_OF_RESOURCES = Status.OutOfResources;
export const STATUS_DATASET_MISMATCH = Status.DataSetDoesNotMatchSopClass;
export const STATUS_CANNOT_UNDERSTAND = Status.CannotUnderstand;
export { isStoreSuccessOrWarning };
