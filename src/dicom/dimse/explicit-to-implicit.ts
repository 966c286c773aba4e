// Re-encodes an explicit VR little endian dataset as implicit VR little endian (PS3.5 7.1.2 to 7.1.3), byte for
// byte: only element headers change; every value keeps its bytes, and sequences and items are written with
// undefined length and delimiters, so no length has to be recomputed. Used by the Storage SCU for a peer that
// accepts only implicit VR. Going through a parser's object model instead loses details a validator checks (an
// empty item in a type 1 sequence, as the Segmentation's Shared Functional Groups Sequence has).

const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UR', 'UT', 'UN', 'SV', 'UV']);
const UNDEFINED = 0xffffffff;
const ITEM = 0xe000;
const ITEM_END = 0xe00d;
const SEQUENCE_END = 0xe0dd;

export class ReencodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReencodeError';
  }
}

function header(group: number, element: number, length: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt16LE(group, 0);
  b.writeUInt16LE(element, 2);
  b.writeUInt32LE(length >>> 0, 4);
  return b;
}

/** `dataset`: the bytes after the File Meta Information. */
export function explicitToImplicitLittleEndian(dataset: Buffer): Buffer {
  const out: Buffer[] = [];
  const end = convert(dataset, 0, dataset.length, out, false);
  if (end !== dataset.length) throw new ReencodeError(`dataset ends at byte ${end} of ${dataset.length}`);
  return Buffer.concat(out);
}

/** Converts elements from `pos` until `limit` (or an item delimiter when `inItem`); returns where it stopped. */
function convert(b: Buffer, pos: number, limit: number, out: Buffer[], inItem: boolean): number {
  while (pos < limit) {
    if (pos + 8 > b.length) throw new ReencodeError(`element header at byte ${pos} runs past the end`);
    const group = b.readUInt16LE(pos);
    const element = b.readUInt16LE(pos + 2);
    if (group === 0xfffe && element === ITEM_END) {
      if (!inItem) throw new ReencodeError(`item delimiter outside an item at byte ${pos}`);
      return pos + 8;
    }
    const vr = b.toString('latin1', pos + 4, pos + 6);
    if (!/^[A-Z]{2}$/.test(vr)) throw new ReencodeError(`no explicit VR at byte ${pos} (tag ${group.toString(16)},${element.toString(16)})`);
    const long = LONG_VRS.has(vr);
    const length = long ? b.readUInt32LE(pos + 8) : b.readUInt16LE(pos + 6);
    let p = pos + (long ? 12 : 8);
    if (element === 0x0000 && length === 4 && vr === 'UL') {
      pos = p + 4; // a group length (retired outside group 0002) would be wrong once the headers shrink: dropped
      continue;
    }
    if (vr === 'SQ') {
      out.push(header(group, element, UNDEFINED));
      p = convertSequence(b, p, length, out);
      out.push(header(0xfffe, SEQUENCE_END, 0));
    } else {
      if (length === UNDEFINED) throw new ReencodeError(`undefined length ${vr} element (${group.toString(16)},${element.toString(16)}): encapsulated or UN sequences are not re-encoded`);
      if (p + length > b.length) throw new ReencodeError(`value of (${group.toString(16)},${element.toString(16)}) runs past the end`);
      out.push(header(group, element, length), b.subarray(p, p + length));
      p += length;
    }
    pos = p;
  }
  return pos; // a defined-length item or the dataset ends at its limit
}

/** Items of a sequence starting at `pos` with the given (possibly undefined) length; returns the end. */
function convertSequence(b: Buffer, pos: number, length: number, out: Buffer[]): number {
  const limit = length === UNDEFINED ? b.length : pos + length;
  while (pos < limit) {
    const group = b.readUInt16LE(pos);
    const element = b.readUInt16LE(pos + 2);
    const itemLength = b.readUInt32LE(pos + 4);
    if (group === 0xfffe && element === SEQUENCE_END) return pos + 8;
    if (group !== 0xfffe || element !== ITEM) throw new ReencodeError(`expected an item at byte ${pos}`);
    out.push(header(0xfffe, ITEM, UNDEFINED));
    pos = itemLength === UNDEFINED ? convert(b, pos + 8, b.length, out, true) : convert(b, pos + 8, pos + 8 + itemLength, out, false);
    out.push(header(0xfffe, ITEM_END, 0));
  }
  if (length === UNDEFINED) throw new ReencodeError('sequence without its delimiter');
  return pos;
}
