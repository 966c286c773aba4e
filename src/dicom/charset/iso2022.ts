// ISO 2022 decoding of one DICOM text value (PS3.5 6.1.2.5): escape sequences designate a code element into G0 or
// G1, bytes below 0x80 are read in G0 and bytes from 0x80 in G1, and at each delimiter the initial elements (those of
// value 1 of Specific Character Set) are active again. PS3.5 6.1.2.5.3 makes the writer switch back before every
// delimiter; the reader resets there as well, so one missing switch spoils one component rather than the rest.
import { ESCAPE_SEQUENCES, latin1, type CodeElement } from './code-elements.js';

export const ESC = 0x1b;

/** Bytes at which the initial code elements are active again: CR, LF, FF and TAB in every text value. */
export const TEXT_DELIMITERS: ReadonlySet<number> = new Set([0x0d, 0x0a, 0x0c, 0x09]);
/** SH, LO, UC: also "\" between values. */
export const MULTI_VALUE_DELIMITERS: ReadonlySet<number> = new Set([...TEXT_DELIMITERS, 0x5c]);
/** PN: also "^" between components and "=" between component groups. */
export const PN_DELIMITERS: ReadonlySet<number> = new Set([...MULTI_VALUE_DELIMITERS, 0x5e, 0x3d]);

export interface Iso2022State { readonly g0: CodeElement; readonly g1?: CodeElement }

export interface Iso2022Options {
  initial: Iso2022State;
  /** Elements the Specific Character Set declares; an escape to any other known element works but is reported. */
  declared: ReadonlySet<CodeElement>;
  /** False when the term allows no code extensions (ISO_IR 100 …): any escape sequence is reported. */
  codeExtensions: boolean;
  warn(message: string): void;
}

/** Where the escape sequence starting at `i` ends (index of its final byte), or -1 when it is malformed. */
function escapeEnd(bytes: Uint8Array, i: number): number {
  let j = i + 1;
  while (j < bytes.length && bytes[j]! >= 0x20 && bytes[j]! <= 0x2f) j++; // intermediate bytes
  return j < bytes.length && bytes[j]! >= 0x30 && bytes[j]! <= 0x7e && j > i + 1 ? j : -1;
}

export function decodeIso2022(bytes: Uint8Array, delimiters: ReadonlySet<number>, o: Iso2022Options): string {
  let { g0, g1 } = o.initial;
  let out = '';
  // In a 94x94 G0 set "^", "=" and "\" are halves of characters; only controls can be delimiters there.
  const isDelimiter = (b: number) => delimiters.has(b) && (g0.bytesPerChar === 1 || b < 0x20);
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b === ESC) {
      const end = escapeEnd(bytes, i);
      if (end < 0) {
        o.warn('a malformed escape sequence (ESC not followed by an ISO 2022 designation) is kept as text');
        out += '\u001b';
        i++;
        continue;
      }
      const seq = latin1(bytes.subarray(i + 1, end + 1));
      const element = ESCAPE_SEQUENCES.get(seq);
      if (!element) {
        o.warn(`unknown escape sequence ESC ${seq.split('').join(' ')}: kept as text`);
        out += '\u001b' + seq;
      } else {
        if (!o.codeExtensions) o.warn(`escape sequence ESC ${seq.split('').join(' ')} in a value whose Specific Character Set allows no code extensions: honoured`);
        else if (!o.declared.has(element)) o.warn(`escape sequence ESC ${seq.split('').join(' ')} switches to ${element.ir}, which Specific Character Set does not declare: honoured`);
        if (element.register === 'G0') g0 = element;
        else g1 = element;
      }
      i = end + 1;
      continue;
    }
    if (isDelimiter(b)) {
      out += String.fromCharCode(b);
      ({ g0, g1 } = o.initial);
      i++;
      continue;
    }
    let j = i + 1;
    if (b < 0x80) {
      while (j < bytes.length && bytes[j]! < 0x80 && bytes[j] !== ESC && !isDelimiter(bytes[j]!)) j++;
      out += g0.decode(bytes.subarray(i, j));
    } else {
      while (j < bytes.length && bytes[j]! >= 0x80) j++;
      if (g1) out += g1.decode(bytes.subarray(i, j));
      else {
        // Nothing designated into G1: not valid, but the bytes are kept (as ISO 8859-1, as pydicom does).
        o.warn('bytes above 0x7F with no character set designated for them: read as ISO 8859-1');
        out += latin1(bytes.subarray(i, j));
      }
    }
    i = j;
  }
  return out;
}
