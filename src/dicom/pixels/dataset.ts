// Parses the DICOM byte stream with dicom-parser, which keeps element offsets into the original buffer (no copy of
// the pixel data) and exposes encapsulated fragments and the Basic Offset Table. Also copes with what real senders
// produce besides clean Part 10: File Meta without preamble, bare datasets (implicit/explicit, little/big endian),
// and deflated datasets (inflated with a size cap so a deflate bomb cannot exhaust memory).
import dicomParser from 'dicom-parser';
import type { DataSet } from 'dicom-parser';
import zlib from 'node:zlib';
import { PixelDecodeError } from './errors.js';

export const IMPLICIT_LE = '1.2.840.10008.1.2';
export const EXPLICIT_LE = '1.2.840.10008.1.2.1';
export const EXPLICIT_BE = '1.2.840.10008.1.2.2';
export const DEFLATED_LE = '1.2.840.10008.1.2.1.99';

/** Upper bound for an inflated deflate-TS dataset. */
const MAX_INFLATED_BYTES = 2 ** 31 - 1;

export interface ParsedDataset {
  dataSet: DataSet;
  /** Transfer syntax UID from File Meta, or the one guessed for a bare dataset. */
  transferSyntax: string;
  /** Set when dicom-parser stopped early but the elements needed here were read. */
  parseWarning?: string;
}

type DataSetCtor = new (parser: unknown, byteArray: Buffer, elements: Record<string, unknown>) => DataSet;

function isVrLetters(b: Uint8Array, p: number): boolean {
  const a = b[p] ?? 0;
  const c = b[p + 1] ?? 0;
  return a >= 0x41 && a <= 0x5a && c >= 0x41 && c <= 0x5a;
}

function inflate(arr: Uint8Array, position: number): Buffer {
  const body = arr.subarray(position);
  let inflated: Buffer;
  try {
    inflated = zlib.inflateRawSync(body, { maxOutputLength: MAX_INFLATED_BYTES });
  } catch (rawErr) {
    // A few writers use a zlib wrapper instead of raw deflate.
    try {
      inflated = zlib.inflateSync(body, { maxOutputLength: MAX_INFLATED_BYTES });
    } catch {
      throw new PixelDecodeError('parse', `deflated dataset could not be inflated: ${(rawErr as Error).message}`);
    }
  }
  const out = Buffer.allocUnsafe(position + inflated.length);
  out.set(arr.subarray(0, position), 0);
  out.set(inflated, position);
  return out;
}

function describeParseError(err: unknown): { message: string; partial?: DataSet } {
  // dicom-parser throws strings, Errors, or { exception, dataSet } objects carrying what it parsed so far.
  if (err instanceof PixelDecodeError) throw err;
  if (err && typeof err === 'object' && 'exception' in err) {
    const e = err as { exception: unknown; dataSet?: DataSet };
    const inner = e.exception instanceof Error ? e.exception.message : String(e.exception);
    return e.dataSet ? { message: inner, partial: e.dataSet } : { message: inner };
  }
  return { message: err instanceof Error ? err.message : String(err) };
}

/** A partial parse is good enough when Pixel Data was read completely (errors after it are irrelevant here). */
function usablePartial(ds: DataSet | undefined): ds is DataSet {
  const el = ds?.elements['x7fe00010'];
  if (!ds || !el) return false;
  if (el.encapsulatedPixelData) return (el.fragments?.length ?? 0) > 0;
  return el.dataOffset + el.length <= ds.byteArray.length;
}

export function parseDataset(bytes: Uint8Array): ParsedDataset {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 8) throw new PixelDecodeError('parse', `not a DICOM file (${buf.length} bytes)`);
  const hasDicm = buf.length >= 136 && buf.toString('latin1', 128, 132) === 'DICM';

  if (hasDicm && buf[132] === 0x02 && buf[133] === 0x00) return parsePart10(buf);
  if (buf[0] === 0x02 && buf[1] === 0x00 && isVrLetters(buf, 4)) {
    // File Meta without the 128-byte preamble: give dicom-parser the layout it expects (one copy, rare case).
    const withPreamble = Buffer.alloc(132 + buf.length);
    withPreamble.write('DICM', 128, 'latin1');
    buf.copy(withPreamble, 132);
    return parsePart10(withPreamble);
  }
  if (buf[0] === 0x1f && buf[1] === 0x8b) throw new PixelDecodeError('parse', 'not a DICOM file: gzip-compressed data');
  // A bare dataset. Bytes 128..131 may even read "DICM" by coincidence, so bypass dicom-parser's preamble check.
  let ts = IMPLICIT_LE;
  if (buf[0] === 0x00 && buf[1] !== 0x00 && isVrLetters(buf, 4)) ts = EXPLICIT_BE;
  else if (isVrLetters(buf, 4)) ts = EXPLICIT_LE;
  // Bare datasets start with a low even group (command, identifying, ...); anything else is not DICOM.
  const group = ts === EXPLICIT_BE ? buf.readUInt16BE(0) : buf.readUInt16LE(0);
  if (group % 2 !== 0 || group > 0x0010) {
    throw new PixelDecodeError('parse', 'not a DICOM file: no DICM prefix and no recognisable dataset at the start');
  }
  const parser = ts === EXPLICIT_BE ? dicomParser.bigEndianByteArrayParser : dicomParser.littleEndianByteArrayParser;
  const DataSetClass = (dicomParser as unknown as { DataSet: DataSetCtor }).DataSet;
  const stream = new dicomParser.ByteStream(parser, buf, 0);
  const ds = new DataSetClass(parser, buf, {});
  try {
    if (ts === IMPLICIT_LE) dicomParser.parseDicomDataSetImplicit(ds, stream, buf.length);
    else dicomParser.parseDicomDataSetExplicit(ds, stream, buf.length);
  } catch (err) {
    const { message } = describeParseError(err);
    if (!usablePartial(ds)) throw new PixelDecodeError('parse', `DICOM dataset could not be parsed: ${message}`, { cause: err });
    return { dataSet: ds, transferSyntax: ts, parseWarning: message };
  }
  return { dataSet: ds, transferSyntax: ts };
}

function parsePart10(buf: Buffer): ParsedDataset {
  let dataSet: DataSet;
  try {
    dataSet = dicomParser.parseDicom(buf, { inflater: inflate as unknown as (arr: Uint8Array, position: number) => void });
  } catch (err) {
    const { message, partial } = describeParseError(err);
    if (!usablePartial(partial)) {
      const what = /overrun|cannot be greater than|beyond|eof/i.test(message) ? 'DICOM file truncated or malformed' : 'DICOM file could not be parsed';
      throw new PixelDecodeError('parse', `${what}: ${message}`, { cause: err });
    }
    // The partial dataset lacks the File Meta group (dicom-parser merges it only on success): read it again.
    let ts: string | undefined;
    try {
      ts = dicomParser.readPart10Header(buf).string('x00020010')?.trim();
    } catch {
      ts = undefined;
    }
    if (!ts) throw new PixelDecodeError('parse', 'File Meta has no Transfer Syntax UID (0002,0010)');
    return { dataSet: partial, transferSyntax: ts, parseWarning: message };
  }
  const ts = dataSet.string('x00020010')?.trim();
  if (!ts) throw new PixelDecodeError('parse', 'File Meta has no Transfer Syntax UID (0002,0010)');
  return { dataSet, transferSyntax: ts };
}
