// One mapping from an acceptance outcome to the DICOM status both protocols report: the C-STORE response
// status (PS3.4 GG.4 / PS3.7 C) and the STOW-RS FailureReason (PS3.18 Table 10.5.3-? uses the same codes).
import type { AcceptOutcome } from './accept-instance.js';

export const Status = {
  Success: 0x0000,
  ProcessingFailure: 0x0110,
  DuplicateSopInstance: 0x0111,
  SopClassNotSupported: 0x0122,
  OutOfResources: 0xa700,
  DataSetDoesNotMatchSopClass: 0xa900,
  CannotUnderstand: 0xc000,
} as const;

export function statusOf(outcome: AcceptOutcome): number {
  switch (outcome.status) {
    case 'stored':
    case 'duplicate':
      return Status.Success;
    case 'conflict':
      return Status.DuplicateSopInstance;
    case 'rejected':
      switch (outcome.code) {
        case 'unsupported-sop-class': return Status.SopClassNotSupported;
        case 'missing-attribute':
        case 'bad-uid': return Status.DataSetDoesNotMatchSopClass;
        case 'header-too-large': return Status.OutOfResources;
        default: return Status.CannotUnderstand;
      }
  }
}
