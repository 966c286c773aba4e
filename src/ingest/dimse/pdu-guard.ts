// Watches the raw byte stream of an association for PDU headers (PS3.8 9.3.1: type, reserved, 32-bit length)
// and reports the first PDU of an unknown type or with a declared length above the limit, before the DIMSE
// library buffers it: dcmjs-dimse accumulates a whole PDU in memory by repeated concatenation, so an unchecked
// length would let a peer make OphGate allocate gigabytes.
import type { Socket } from 'node:net';

export interface PduGuardViolation {
  kind: 'unknown-pdu-type' | 'pdu-too-long';
  pduType: number;
  declaredLength: number;
}

/**
 * Attaches a 'data' listener to `socket`. Must be called BEFORE the DIMSE library attaches its own, so that a
 * violation is seen first; `onViolation` is called once, and the guard stops watching.
 */
export function attachPduGuard(socket: Socket, maxPduLength: number, onViolation: (v: PduGuardViolation) => void): void {
  let header = Buffer.alloc(0);
  let remaining = 0;
  let tripped = false;
  const onData = (chunk: Buffer) => {
    let off = 0;
    while (!tripped && off < chunk.length) {
      if (remaining > 0) {
        const n = Math.min(remaining, chunk.length - off);
        remaining -= n;
        off += n;
        continue;
      }
      const need = 6 - header.length;
      header = Buffer.concat([header, chunk.subarray(off, off + need)]);
      off += Math.min(need, chunk.length - off);
      if (header.length < 6) break;
      const pduType = header[0]!;
      const declaredLength = header.readUInt32BE(2);
      header = Buffer.alloc(0);
      if (pduType < 0x01 || pduType > 0x07) {
        tripped = true;
        onViolation({ kind: 'unknown-pdu-type', pduType, declaredLength });
      } else if (declaredLength > maxPduLength) {
        tripped = true;
        onViolation({ kind: 'pdu-too-long', pduType, declaredLength });
      } else {
        remaining = declaredLength;
      }
    }
    if (tripped) socket.off('data', onData);
  };
  socket.on('data', onData);
}
