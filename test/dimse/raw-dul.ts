// Hand-built DICOM Upper Layer PDUs (PS3.8 9.3) for tests that need a client misbehaving on purpose:
// stopping in the middle of a PDU, announcing absurd lengths, sending garbage.
import net from 'node:net';
import { dimse } from '../../src/dicom/dimse/library.js';

function item(type: number, body: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt8(type, 0);
  h.writeUInt16BE(body.length, 2);
  return Buffer.concat([h, body]);
}

function ae(title: string): Buffer {
  return Buffer.from(title.padEnd(16, ' ').slice(0, 16), 'latin1');
}

export function pdu(type: number, body: Buffer): Buffer {
  const h = Buffer.alloc(6);
  h.writeUInt8(type, 0);
  h.writeUInt32BE(body.length, 2);
  return Buffer.concat([h, body]);
}

export function associateRq(calledAe: string, callingAe: string, contexts: Array<{ id: number; abstractSyntax: string; transferSyntaxes: string[] }>): Buffer {
  const fixed = Buffer.alloc(4);
  fixed.writeUInt16BE(1, 0); // protocol version
  const items: Buffer[] = [item(0x10, Buffer.from('1.2.840.10008.3.1.1.1', 'latin1'))];
  for (const c of contexts) {
    const head = Buffer.from([c.id, 0, 0, 0]);
    const subs = [item(0x30, Buffer.from(c.abstractSyntax, 'latin1')), ...c.transferSyntaxes.map((ts) => item(0x40, Buffer.from(ts, 'latin1')))];
    items.push(item(0x20, Buffer.concat([head, ...subs])));
  }
  const maxPdu = Buffer.alloc(4);
  maxPdu.writeUInt32BE(16384, 0);
  items.push(item(0x50, Buffer.concat([item(0x51, maxPdu), item(0x52, Buffer.from('1.2.3.4', 'latin1'))])));
  return pdu(0x01, Buffer.concat([fixed, ae(calledAe), ae(callingAe), Buffer.alloc(32), ...items]));
}

/** A P-DATA-TF with one PDV. */
export function pData(pcId: number, data: Buffer, command: boolean, last: boolean): Buffer {
  const pdvHead = Buffer.alloc(6);
  pdvHead.writeUInt32BE(data.length + 2, 0);
  pdvHead.writeUInt8(pcId, 4);
  pdvHead.writeUInt8((command ? 1 : 0) | (last ? 2 : 0), 5);
  return pdu(0x04, Buffer.concat([pdvHead, data]));
}

/** The command set of a C-STORE-RQ (group 0000, implicit VR little endian). */
export function cStoreCommand(sopClassUid: string, sopInstanceUid: string, messageId = 1): Buffer {
  return new dimse.Dataset({
    AffectedSOPClassUID: sopClassUid,
    CommandField: 0x0001,
    MessageID: messageId,
    Priority: 0,
    CommandDataSetType: 0x0000,
    AffectedSOPInstanceUID: sopInstanceUid,
  }).getDenaturalizedCommandDataset();
}

/** A raw TCP client that collects whatever the SCP sends. */
export class RawClient {
  readonly socket: net.Socket;
  private received = Buffer.alloc(0);
  readonly closed: Promise<void>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => { this.received = Buffer.concat([this.received, d]); });
    socket.on('error', () => { /* the SCP may reset the connection; that is what some tests expect */ });
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  write(buf: Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(buf, (err) => (err ? reject(err) : resolve())));
  }

  /** Waits until a whole PDU has arrived and returns its type (and drops it from the buffer). */
  async nextPduType(timeoutMs = 5000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.received.length >= 6) {
        const length = this.received.readUInt32BE(2);
        if (this.received.length >= 6 + length) {
          const type = this.received[0]!;
          this.received = this.received.subarray(6 + length);
          return type;
        }
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('no PDU received in time');
  }

  destroy(): void {
    this.socket.destroy();
  }
}
