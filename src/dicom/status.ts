// DICOM status codes OphGate sends: C-STORE response statuses (PS3.4 B.2.3, PS3.7 Annex C), which STOW-RS also
// uses as FailureReason (PS3.18 Annex I).
export const Status = {
  Success: 0x0000,
  Warning: 0x0001,
  ProcessingFailure: 0x0110,
  DuplicateSopInstance: 0x0111,
  SopClassNotSupported: 0x0122,
  OutOfResources: 0xa700,
  DataSetDoesNotMatchSopClass: 0xa900,
  CannotUnderstand: 0xc000,
} as const;

/** True for success and for the warning statuses of C-STORE (B000, B006, B007; 0001 is a generic warning). */
export function isStoreSuccessOrWarning(status: number): boolean {
  return status === Status.Success || status === Status.Warning || (status >= 0xb000 && status <= 0xbfff);
}
