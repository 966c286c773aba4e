// One mapping from an acceptance outcome to the DICOM status both protocols report: the C-STORE response
// status (PS3.4 B.2.3, PS3.7 Annex C) and the STOW-RS FailureReason (PS3.18 Annex I uses the same codes).
import type { AcceptOutcome } from './accept-instance.js';
import { Status } from '../dicom/status.js';

export { Status };

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
