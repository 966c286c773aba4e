// Reads and checks the header of a PS3.10 file without loading its pixel data: the gate every received
// instance passes before it is stored. Rejections carry a code and a message that names the problem.
import { open } from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';
import dicomParser from 'dicom-parser';
import dcmjs from 'dcmjs';
import { toDicomJson, firstString, type DicomJson } from './json-model.js';
import { DEFLATED_EXPLICIT_LE, STORAGE_SOP_CLASS_ROOT } from './transfer-syntaxes.js';
import { isValidUid } from './uid.js';
import { blankCharacterSets, decodeDatasetText, type ByteDataSet, type ParsedDict } from './charset/decode-dataset.js';

dcmjs.log.setLevel?.('silent');

export type RejectCode =
  | 'not-dicom' | 'no-file-meta' | 'truncated' | 'bad-length' | 'missing-attribute' | 'bad-uid'
  | 'unsupported-sop-class' | 'header-too-large' | 'unreadable';

export class DicomRejection extends Error {
  constructor(readonly code: RejectCode, message: string) {
    super(message);
    this.name = 'DicomRejection';
  }
}

export interface InstanceHeader {
  sopClassUid: string;
  sopInstanceUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  transferSyntaxUid: string;
  /** Dataset attributes (no File Meta, no Pixel Data) in the DICOM JSON Model. */
  attributes: DicomJson;
  /** Byte offset of the dataset (just after the File Meta group). */
  datasetOffset: number;
  /** Problems met while decoding text (unknown character set terms, stray escape sequences); absent when none. */
  warnings?: string[];
}

const FIRST_READ = 256 * 1024;
const MAX_HEADER = 64 * 1024 * 1024;

type ParsedElement = { tag: string; dataOffset: number; length: number; hadUndefinedLength?: boolean };

function hex(tag: string): string {
  return `(${tag.slice(1, 5).toUpperCase()},${tag.slice(5, 9).toUpperCase()})`;
}

async function readAt(fd: import('node:fs/promises').FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await fd.read(buf, 0, length, position);
  return buf.subarray(0, bytesRead);
}

/** Walks the items of encapsulated Pixel Data (PS3.5 A.4) on disk, to prove the fragments are all there. */
async function checkEncapsulatedExtent(fd: import('node:fs/promises').FileHandle, start: number, size: number): Promise<void> {
  let pos = start;
  for (let items = 0; ; items++) {
    if (pos + 8 > size) throw new DicomRejection('truncated', `Pixel Data (7FE0,0010) is truncated: item ${items} header at byte ${pos} is past the end of the file (${size} bytes)`);
    const h = await readAt(fd, pos, 8);
    const group = h.readUInt16LE(0), element = h.readUInt16LE(2), length = h.readUInt32LE(4);
    if (group === 0xfffe && element === 0xe0dd) return;
    if (group !== 0xfffe || element !== 0xe000) {
      throw new DicomRejection('truncated', `Pixel Data (7FE0,0010) is malformed: expected an item tag (FFFE,E000) at byte ${pos}, found (${group.toString(16).padStart(4, '0')},${element.toString(16).padStart(4, '0')})`);
    }
    if (length === 0xffffffff) throw new DicomRejection('bad-length', `Pixel Data (7FE0,0010) item ${items} has undefined length, which PS3.5 A.4 forbids for fragments`);
    pos += 8 + length;
    if (pos > size) throw new DicomRejection('truncated', `Pixel Data (7FE0,0010) is truncated: fragment ${items} declares ${length} bytes but the file ends ${pos - size} bytes short`);
  }
}

function describeParseFailure(err: unknown, bytes: Uint8Array, fileSize: number): DicomRejection {
  const e = err as { exception?: string; message?: string; dataSet?: { elements: Record<string, ParsedElement> } };
  const msg = e.exception ?? e.message ?? String(err);
  const elements = Object.values(e.dataSet?.elements ?? {});
  const last = elements.sort((a, b) => a.dataOffset - b.dataOffset).pop();
  if (last && last.length !== 0xffffffff && last.dataOffset + last.length > bytes.length) {
    const code = last.length >= 0x80000000 || last.length > fileSize ? 'bad-length' : 'truncated';
    return new DicomRejection(code, `element ${hex(last.tag)} declares a length of ${last.length} bytes at byte ${last.dataOffset}, past the end of the file (${fileSize} bytes)`);
  }
  if (/overread|past end|beyond/i.test(msg)) return new DicomRejection('truncated', `file ends in the middle of the dataset (${fileSize} bytes): ${msg}`);
  return new DicomRejection('unreadable', `cannot parse the dataset: ${msg}`);
}

/** Checks the preamble and File Meta group so we can give a precise reason before the full parse. */
function checkPreamble(head: Buffer, size: number): void {
  if (size < 132 || head.toString('latin1', 128, 132) !== 'DICM') {
    const looksLikeDataset = head.length >= 8 && head.readUInt16LE(0) === 0x0008;
    throw looksLikeDataset
      ? new DicomRejection('no-file-meta', 'not a PS3.10 file: no 128-byte preamble and "DICM" prefix (a bare dataset without File Meta Information)')
      : new DicomRejection('not-dicom', 'not a DICOM PS3.10 file: no "DICM" prefix at byte 128');
  }
  if (head.length < 140 || head.readUInt16LE(132) !== 0x0002) {
    throw new DicomRejection('no-file-meta', 'File Meta Information (group 0002) missing after the "DICM" prefix');
  }
}

export async function readInstanceHeader(filePath: string, fileSize: number): Promise<InstanceHeader> {
  const fd = await open(filePath, 'r');
  try {
    let readLength = Math.min(fileSize, FIRST_READ);
    let bytes = await readAt(fd, 0, readLength);
    checkPreamble(bytes, fileSize);
    let deflated = false;
    for (;;) {
      try {
        const options: Record<string, unknown> = { untilTag: 'x7fe00010' };
        if (deflated) options.inflater = (arr: Uint8Array, pos: number) => inflateDeflated(arr, pos);
        const ds = dicomParser.parseDicom(bytes, options as dicomParser.ParseDicomOptions);
        return await finish(ds, bytes, fd, fileSize);
      } catch (err) {
        if (err instanceof DicomRejection) throw err;
        const ts = readTransferSyntax(bytes);
        if (ts === DEFLATED_EXPLICIT_LE && !deflated) {
          deflated = true; // a deflated dataset has to be inflated whole
          readLength = fileSize;
        } else if (readLength < fileSize && readLength < MAX_HEADER) {
          readLength = Math.min(fileSize, readLength * 4, MAX_HEADER);
        } else if (readLength >= MAX_HEADER && readLength < fileSize) {
          throw new DicomRejection('header-too-large', `dataset header exceeds ${MAX_HEADER} bytes before Pixel Data`);
        } else {
          throw describeParseFailure(err, bytes, fileSize);
        }
        bytes = await readAt(fd, 0, readLength);
      }
    }
  } finally {
    await fd.close();
  }
}

function inflateDeflated(arr: Uint8Array, position: number): Uint8Array {
  const inflated = inflateRawSync(Buffer.from(arr.buffer, arr.byteOffset + position, arr.byteLength - position));
  const out = new Uint8Array(position + inflated.length);
  out.set(arr.subarray(0, position), 0);
  out.set(inflated, position);
  return out;
}

function readTransferSyntax(bytes: Uint8Array): string | undefined {
  try {
    const meta = dicomParser.parseDicom(bytes, { untilTag: 'x00030000' } as dicomParser.ParseDicomOptions);
    return meta.string('x00020010')?.replace(/\0/g, '').trim();
  } catch {
    return undefined;
  }
}

async function finish(ds: dicomParser.DataSet, bytes: Uint8Array, fd: import('node:fs/promises').FileHandle, fileSize: number): Promise<InstanceHeader> {
  const transferSyntaxUid = (ds.string('x00020010') ?? '').replace(/\0/g, '').trim();
  if (!transferSyntaxUid) throw new DicomRejection('no-file-meta', 'File Meta Information lacks Transfer Syntax UID (0002,0010)');
  const metaLength = ds.uint32('x00020000');
  const datasetOffset = metaLength !== undefined ? 144 + metaLength : firstNonMetaOffset(ds);
  const pixel = ds.elements.x7fe00010 as ParsedElement | undefined;
  let headerEnd = bytes.length;
  if (pixel) {
    headerEnd = pixel.dataOffset - (pixel.hadUndefinedLength ? 12 : 12);
    if (pixel.hadUndefinedLength) await checkEncapsulatedExtent(fd, pixel.dataOffset, fileSize);
    else if (pixel.dataOffset + pixel.length > fileSize && transferSyntaxUid !== DEFLATED_EXPLICIT_LE) {
      throw new DicomRejection(pixel.length >= 0x80000000 ? 'bad-length' : 'truncated',
        `Pixel Data (7FE0,0010) declares ${pixel.length} bytes but the file ends ${pixel.dataOffset + pixel.length - fileSize} bytes short`);
    }
  }
  const deflated = transferSyntaxUid === DEFLATED_EXPLICIT_LE;
  const { attributes, warnings } = datasetToJson(bytes, deflated ? bytes.length : headerEnd, ds, deflated);
  const required: Array<[string, string]> = [
    ['00080016', 'SOP Class UID (0008,0016)'], ['00080018', 'SOP Instance UID (0008,0018)'],
    ['0020000D', 'Study Instance UID (0020,000D)'], ['0020000E', 'Series Instance UID (0020,000E)'],
  ];
  const values: string[] = [];
  for (const [tag, name] of required) {
    const v = firstString(attributes, tag)?.replace(/\0/g, '').trim();
    if (!v) throw new DicomRejection('missing-attribute', `missing ${name}`);
    if (!isValidUid(v)) throw new DicomRejection('bad-uid', `${name} is not a valid UID: "${v.slice(0, 70)}"`);
    values.push(v);
  }
  const [sopClassUid, sopInstanceUid, studyInstanceUid, seriesInstanceUid] = values as [string, string, string, string];
  if (!sopClassUid.startsWith(STORAGE_SOP_CLASS_ROOT)) {
    throw new DicomRejection('unsupported-sop-class', `SOP Class UID ${sopClassUid} is not a storage SOP class (1.2.840.10008.5.1.4.1.1.*)`);
  }
  return { sopClassUid, sopInstanceUid, studyInstanceUid, seriesInstanceUid, transferSyntaxUid, attributes, datasetOffset, ...(warnings.length ? { warnings } : {}) };
}

function firstNonMetaOffset(ds: dicomParser.DataSet): number {
  const offsets = Object.values(ds.elements as Record<string, ParsedElement>)
    .filter((e) => !e.tag.startsWith('x0002'))
    .map((e) => e.dataOffset);
  return offsets.length ? Math.min(...offsets) - 8 : 132;
}

/**
 * The dataset's attributes in the DICOM JSON model. dcmjs gives the structure and each element's VR; the values of
 * text elements are then decoded again from their bytes (located by dicom-parser) in the character set each dataset
 * declares, ISO 2022 code extensions included (src/dicom/charset/README.md).
 *
 * Specific Character Set keeps the file's own value (dcmjs would rewrite it to ISO_IR 192). The JSON holds Unicode
 * text whatever the file used, and JSON is UTF-8 by definition (RFC 8259; PS3.18 F.2), so the attribute cannot
 * describe the JSON's own encoding and is more useful saying what the source used (Orthanc and Google Cloud
 * Healthcare report it that way too; dcmtk's dcm2json writes ISO_IR 192). Whoever turns these attributes back into
 * a PS3.10 file must declare the set it actually writes: OphGate's writer (writePart10) declares ISO_IR 192 as soon
 * as a value is not ASCII. An empty value 1 is recorded as its meaning, ISO 2022 IR 6, since the JSON conversion
 * drops empty values.
 */
function datasetToJson(bytes: Uint8Array, end: number, ds: dicomParser.DataSet, deflated: boolean): { attributes: DicomJson; warnings: string[] } {
  // A copy (Buffer's slice() would share memory with `ds`, whose bytes must stay as they are), 12 bytes past `end`
  // so that dcmjs reads the Pixel Data tag and stops there whatever the length of that element's header.
  const slice = new Uint8Array(bytes.subarray(0, Math.min(bytes.length, end + 12)));
  const byteLevel = ds as unknown as ByteDataSet;
  // A deflated dataset's offsets (in dicom-parser's inflated copy) do not match these bytes; dcmjs inflates them itself.
  if (!deflated) blankCharacterSets(slice, byteLevel);
  let dict: ParsedDict;
  try {
    const parsed = dcmjs.data.DicomMessage.readFile(slice.buffer, { ignoreErrors: true, untilTag: '7FE00010', includeUntilTagValue: false });
    dict = parsed.dict as ParsedDict;
  } catch (err) {
    throw new DicomRejection('unreadable', `cannot decode the dataset's attributes: ${(err as Error).message}`);
  }
  const warnings = new Set<string>();
  decodeDatasetText(dict, byteLevel, warnings);
  return { attributes: toDicomJson(dict as Record<string, { vr?: string; Value?: unknown[] }>), warnings: [...warnings] };
}

/**
 * The dataset attributes of a whole PS3.10 file held in memory, decoded as readInstanceHeader decodes them but
 * without its checks (required UIDs, storage SOP class): for tools and tests that look at files the gate refuses.
 */
export function decodeDatasetAttributes(input: Uint8Array): { attributes: DicomJson; warnings: string[] } {
  const file = new Uint8Array(input); // a copy that owns its ArrayBuffer (a Buffer may be a view into a pool)
  checkPreamble(Buffer.from(file.buffer, file.byteOffset, file.byteLength), file.length);
  const deflated = readTransferSyntax(file) === DEFLATED_EXPLICIT_LE;
  const options: Record<string, unknown> = { untilTag: 'x7fe00010' };
  if (deflated) options.inflater = (arr: Uint8Array, pos: number) => inflateDeflated(arr, pos);
  const ds = dicomParser.parseDicom(file, options as dicomParser.ParseDicomOptions);
  const pixel = ds.elements.x7fe00010 as ParsedElement | undefined;
  return datasetToJson(file, pixel && !deflated ? pixel.dataOffset - 12 : file.length, ds, deflated);
}
