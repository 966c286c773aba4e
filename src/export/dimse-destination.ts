// Results to a DICOM peer by C-STORE (PS3.4 B): every object owed to the peer on one association, through
// OphGate's Storage SCU (src/dicom/dimse/store-scu.ts), which proposes each object's own transfer syntax and, for
// these natively encoded objects, explicit and implicit VR little endian as well; a peer that accepts only
// implicit VR gets the object re-encoded, and the outcome says which syntax it received.
import { sendFiles, type DimsePeer } from '../dicom/dimse/store-scu.js';
import type { Destination, OutgoingObject, SendOutcome } from './destination.js';

export class DimseDestination implements Destination {
  readonly description: string;
  constructor(readonly name: string, private readonly peer: DimsePeer, private readonly timeoutSeconds: number) {
    this.description = `C-STORE ${peer.aeTitle}@${peer.host}:${peer.port}`;
  }

  async send(objects: OutgoingObject[]): Promise<SendOutcome[]> {
    const results = await sendFiles(this.peer, objects.map((o) => o.path), { timeoutMs: this.timeoutSeconds * 1000 });
    return results.map((r): SendOutcome => r.ok
      ? { ok: true, ...(r.transferSyntaxUid ? { transferSyntaxUid: r.transferSyntaxUid } : {}), ...(r.status !== 0 ? { warning: `status 0x${r.status.toString(16).padStart(4, '0')}` } : {}) }
      : { ok: false, error: `${this.description}: ${r.error ?? (r.status >= 0 ? `status 0x${r.status.toString(16).padStart(4, '0')}` : 'not sent')}${r.errorComment ? ` (${r.errorComment})` : ''}` });
  }
}
