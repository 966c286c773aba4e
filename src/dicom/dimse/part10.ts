// Minimal reader of the PS3.10 File Meta Information (group 0002): where it ends, and the three UIDs the
// DIMSE code needs. It walks the elements one by one and stops at the first element of another group, so it
// neither trusts nor needs (0002,0000) File Meta Information Group Length (some writers get it wrong or omit it).
// It never looks at the dataset itself.

export interface FileMetaInfo {
  /** True when the file starts with the 128-byte preamble and "DICM". */
  hasPreamble: boolean;
  /** True when a group 0002 was found (with or without preamble). */
  hasFileMeta: boolean;
  /** Offset of the first dataset byte: just after the last group 0002 element (0 when there is no File Meta). */
  datasetOffset: number;
  transferSyntaxUid?: string;
  mediaStorageSopClassUid?: string;
  mediaStorageSopInstanceUid?: string;
}

export class FileMetaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FileMetaError';
  }
}

/** VRs whose explicit-VR header has 2 reserved bytes and a 32-bit length (PS3.5 7.1.2). */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

function isVrChars(buf: Buffer, at: number): boolean {
  const a = buf[at]!, b = buf[at + 1]!;
  return a >= 0x41 && a <= 0x5a && b >= 0x41 && b <= 0x5a;
}

function uidValue(buf: Buffer, start: number, length: number): string {
  return buf.toString('latin1', start, start + length).replace(/[\0 ]+$/, '').replace(/^ +/, '');
}

/**
 * Reads the File Meta of a Part 10 file from its first bytes. `buf` must hold at least the whole group 0002
 * (a few hundred bytes in practice; 64 KiB is plenty). A buffer without preamble whose first element is not
 * in group 0002 is reported as a bare dataset (`hasFileMeta: false`, `datasetOffset: 0`).
 */
export function readFileMeta(buf: Buffer): FileMetaInfo {
  const hasPreamble = buf.length >= 132 && buf.toString('latin1', 128, 132) === 'DICM';
  let off = hasPreamble ? 132 : 0;
  if (!hasPreamble && !(buf.length >= 8 && buf.readUInt16LE(0) === 0x0002)) {
    return { hasPreamble: false, hasFileMeta: false, datasetOffset: 0 };
  }
  const info: FileMetaInfo = { hasPreamble, hasFileMeta: false, datasetOffset: off };
  while (off + 8 <= buf.length && buf.readUInt16LE(off) === 0x0002) {
    const element = buf.readUInt16LE(off + 2);
    let headerLength: number;
    let length: number;
    if (isVrChars(buf, off + 4)) {
      const vr = buf.toString('latin1', off + 4, off + 6);
      if (LONG_VRS.has(vr)) {
        if (off + 12 > buf.length) throw new FileMetaError(`File Meta element (0002,${hex4(element)}) header is truncated at byte ${off}`);
        length = buf.readUInt32LE(off + 8);
        headerLength = 12;
      } else {
        length = buf.readUInt16LE(off + 6);
        headerLength = 8;
      }
    } else {
      // Implicit VR in the File Meta is not allowed (PS3.10 7.1) but some old writers did it.
      length = buf.readUInt32LE(off + 4);
      headerLength = 8;
    }
    if (length === 0xffffffff) throw new FileMetaError(`File Meta element (0002,${hex4(element)}) has an undefined length`);
    const valueStart = off + headerLength;
    if (valueStart + length > buf.length) {
      throw new FileMetaError(`File Meta element (0002,${hex4(element)}) at byte ${off} runs past the end of the data read (${buf.length} bytes)`);
    }
    if (element === 0x0002) info.mediaStorageSopClassUid = uidValue(buf, valueStart, length);
    else if (element === 0x0003) info.mediaStorageSopInstanceUid = uidValue(buf, valueStart, length);
    else if (element === 0x0010) info.transferSyntaxUid = uidValue(buf, valueStart, length);
    info.hasFileMeta = true;
    off = valueStart + length;
  }
  info.datasetOffset = off;
  return info;
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, '0').toUpperCase();
}
