// Writes the PS3.10 header OphGate puts in front of a dataset received by C-STORE: the 128-byte preamble (zeros),
// "DICM", and File Meta Information group 0002 in Explicit VR Little Endian (PS3.10 7.1). The dataset bytes that
// follow are the ones received on the wire, untouched, so TransferSyntaxUID must be the negotiated transfer syntax.
import { OPHGATE_IMPLEMENTATION_CLASS_UID, OPHGATE_IMPLEMENTATION_VERSION_NAME } from '../../dicom/dimse/implementation.js';

export interface FileMetaFields {
  mediaStorageSopClassUid: string;
  mediaStorageSopInstanceUid: string;
  transferSyntaxUid: string;
  /** (0002,0016): the calling AE title of the association that delivered the instance. */
  sourceApplicationEntityTitle?: string;
}

function element(group: number, elem: number, vr: string, value: Buffer): Buffer {
  const long = vr === 'OB'; // the only long-form VR in this header
  const header = Buffer.alloc(long ? 12 : 8);
  header.writeUInt16LE(group, 0);
  header.writeUInt16LE(elem, 2);
  header.write(vr, 4, 'latin1');
  if (long) header.writeUInt32LE(value.length, 8);
  else header.writeUInt16LE(value.length, 6);
  return Buffer.concat([header, value]);
}

/** A UI value: padded with one NUL to even length (PS3.5 6.2, 9.1). */
function ui(value: string): Buffer {
  const v = value.length % 2 === 1 ? value + '\0' : value;
  return Buffer.from(v, 'latin1');
}

/** SH/AE value: padded with one trailing space to even length. */
function text(value: string): Buffer {
  const v = value.length % 2 === 1 ? value + ' ' : value;
  return Buffer.from(v, 'latin1');
}

/** AE titles: 1 to 16 characters of the default repertoire, no backslash, no control characters (PS3.5 6.2). */
export function isValidAeTitle(ae: string): boolean {
  return ae.trim().length > 0 && ae.length <= 16 && /^[\x20-\x5b\x5d-\x7e]+$/.test(ae);
}

/** Preamble + "DICM" + group 0002, ready to be followed by the dataset bytes. */
export function buildPart10Header(fields: FileMetaFields): Buffer {
  const elements: Buffer[] = [
    element(0x0002, 0x0001, 'OB', Buffer.from([0x00, 0x01])),
    element(0x0002, 0x0002, 'UI', ui(fields.mediaStorageSopClassUid)),
    element(0x0002, 0x0003, 'UI', ui(fields.mediaStorageSopInstanceUid)),
    element(0x0002, 0x0010, 'UI', ui(fields.transferSyntaxUid)),
    element(0x0002, 0x0012, 'UI', ui(OPHGATE_IMPLEMENTATION_CLASS_UID)),
    element(0x0002, 0x0013, 'SH', text(OPHGATE_IMPLEMENTATION_VERSION_NAME)),
  ];
  const ae = fields.sourceApplicationEntityTitle?.trim();
  if (ae && isValidAeTitle(ae)) elements.push(element(0x0002, 0x0016, 'AE', text(ae)));
  const body = Buffer.concat(elements);
  const groupLengthValue = Buffer.alloc(4);
  groupLengthValue.writeUInt32LE(body.length, 0);
  return Buffer.concat([
    Buffer.alloc(128),
    Buffer.from('DICM', 'latin1'),
    element(0x0002, 0x0000, 'UL', groupLengthValue),
    body,
  ]);
}
