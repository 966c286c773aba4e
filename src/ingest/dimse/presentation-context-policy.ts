// Which presentation contexts the OphGate SCP accepts (PS3.8 9.3.2.2, PS3.7 D.3.3).
//
// - Abstract syntaxes: Verification, and every storage SOP class (any UID under 1.2.840.10008.5.1.4.1.1.), by rule
//   rather than by list, so new or specialised classes (Segmentation, Label Map Segmentation, all SR flavours,
//   ophthalmic classes) are accepted without a code change. Anything else (query/retrieve, worklist, storage
//   commitment, print, ...) is rejected with "abstract syntax not supported".
// - Transfer syntaxes: the ones in TRANSFER_SYNTAXES. Within a context OphGate takes the FIRST proposed syntax it
//   supports: the SCU's order is its preference, and an SCU that lists the file's own syntax first (storescu does
//   for compressed files and, with -R, for native ones) gets it stored byte for byte as sent.
import { TRANSFER_SYNTAXES, STORAGE_SOP_CLASS_ROOT } from '../../dicom/transfer-syntaxes.js';
import { isValidUid } from '../../dicom/uid.js';
import { dimse, type Association } from '../../dicom/dimse/library.js';
import { VERIFICATION_SOP_CLASS } from '../../dicom/dimse/uids.js';

const { PresentationContextResult } = dimse.constants;

export type ContextDecision =
  | { result: 'accept'; transferSyntaxUid: string }
  | { result: 'reject-abstract-syntax' }
  | { result: 'reject-transfer-syntaxes' };

export function isStorageSopClass(uid: string): boolean {
  return uid.startsWith(STORAGE_SOP_CLASS_ROOT) && isValidUid(uid);
}

export function isAcceptedTransferSyntax(uid: string): boolean {
  return TRANSFER_SYNTAXES.has(uid);
}

export function decidePresentationContext(abstractSyntaxUid: string, proposedTransferSyntaxes: readonly string[]): ContextDecision {
  if (abstractSyntaxUid !== VERIFICATION_SOP_CLASS && !isStorageSopClass(abstractSyntaxUid)) return { result: 'reject-abstract-syntax' };
  const chosen = proposedTransferSyntaxes.find(isAcceptedTransferSyntax);
  return chosen ? { result: 'accept', transferSyntaxUid: chosen } : { result: 'reject-transfer-syntaxes' };
}

export interface NegotiationSummary {
  accepted: Array<{ id: number; abstractSyntaxUid: string; transferSyntaxUid: string }>;
  rejected: Array<{ id: number; abstractSyntaxUid: string; reason: 'abstract-syntax-not-supported' | 'transfer-syntaxes-not-supported' }>;
}

/** Sets the result of every proposed presentation context of `association` (before A-ASSOCIATE-AC is sent). */
export function applyPresentationContextPolicy(association: Association): NegotiationSummary {
  const summary: NegotiationSummary = { accepted: [], rejected: [] };
  for (const { id } of association.getPresentationContexts()) {
    const ctx = association.getPresentationContext(id);
    const abstractSyntaxUid = ctx.getAbstractSyntaxUid();
    const decision = decidePresentationContext(abstractSyntaxUid, ctx.getTransferSyntaxUids());
    if (decision.result === 'accept') {
      ctx.setResult(PresentationContextResult.Accept, decision.transferSyntaxUid);
      summary.accepted.push({ id, abstractSyntaxUid, transferSyntaxUid: decision.transferSyntaxUid });
    } else if (decision.result === 'reject-abstract-syntax') {
      ctx.setResult(PresentationContextResult.RejectAbstractSyntaxNotSupported);
      summary.rejected.push({ id, abstractSyntaxUid, reason: 'abstract-syntax-not-supported' });
    } else {
      ctx.setResult(PresentationContextResult.RejectTransferSyntaxesNotSupported);
      summary.rejected.push({ id, abstractSyntaxUid, reason: 'transfer-syntaxes-not-supported' });
    }
    // SCP/SCU role selection (PS3.7 D.3.3.4): the requester may act as SCU; OphGate never takes the SCU role
    // of a storage class here, so a proposed SCP role for the requester is declined.
    if (ctx.getUserRole() !== undefined || ctx.getProviderRole() !== undefined) {
      ctx.setUserRole(ctx.getUserRole() === true);
      ctx.setProviderRole(false);
    }
  }
  return summary;
}
