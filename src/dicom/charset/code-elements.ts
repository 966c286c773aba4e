// The graphic character sets DICOM lets a value switch between (PS3.3 Tables C.12-2 to C.12-4), as ISO 2022 code
// elements: which register an escape sequence designates (G0 for bytes 0x21-0x7E, G1 for 0xA0-0xFF), how many bytes
// make one character, and how to turn a run of bytes in that element into text. Decoding leans on the WHATWG
// decoders that Node's ICU ships; where WHATWG gives a different table than the ISO standard, this says why.

export type Register = 'G0' | 'G1';

export interface CodeElement {
  /** ISO-IR registration, e.g. "ISO-IR 87" (what a warning names). */
  readonly ir: string;
  readonly register: Register;
  readonly bytesPerChar: 1 | 2;
  /** Decodes a run of bytes that all lie in this element's half (G0: below 0x80, G1: 0x80 and above). */
  decode(bytes: Uint8Array): string;
}

const decoders = new Map<string, TextDecoder>();
/** One shared decoder per WHATWG label; `ignoreBOM` keeps a leading U+FEFF as text, as pydicom does. */
export function whatwg(label: string): TextDecoder {
  let d = decoders.get(label);
  if (!d) decoders.set(label, (d = new TextDecoder(label, { ignoreBOM: true })));
  return d;
}

/** Byte-for-byte: 0x00-0xFF to U+0000-U+00FF (ISO 8859-1 proper, not WHATWG's windows-1252 "latin1"). */
export function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/**
 * A 96-character set in G1 (an ISO 8859 part's right half). The table comes from the WHATWG decoder for bytes
 * 0xA0-0xFF only: WHATWG maps the "iso-8859-1", "-9" and "-11" labels to windows-1252/1254/874, which agree with ISO
 * 8859 from 0xA0 up but put graphic characters on 0x80-0x9F, where ISO 8859 (and DICOM) have the C1 controls.
 */
function iso8859RightHalf(ir: string, label: string): CodeElement {
  let table: string[] | undefined;
  return {
    ir, register: 'G1', bytesPerChar: 1,
    decode(bytes) {
      if (!table) {
        table = [];
        const upper = whatwg(label).decode(Uint8Array.from({ length: 96 }, (_, i) => 0xa0 + i));
        for (let b = 0x80; b < 0xa0; b++) table[b] = String.fromCharCode(b);
        // Bytes the part leaves undefined come back as U+FFFD, one per byte, so the table stays aligned.
        for (let i = 0; i < 96; i++) table[0xa0 + i] = upper[i]!;
      }
      let s = '';
      for (const b of bytes) s += b < 0x80 ? String.fromCharCode(b) : table[b]!;
      return s;
    },
  };
}

/** ISO 646 (ISO-IR 6, US-ASCII) in G0. */
export const ASCII: CodeElement = { ir: 'ISO-IR 6', register: 'G0', bytesPerChar: 1, decode: latin1 };

/**
 * JIS X 0201 Roman (ISO-IR 14) in G0. It differs from ASCII only at 0x5C (YEN SIGN) and 0x7E (OVERLINE); those are
 * read as "\" and "~", like pydicom and the WHATWG Shift_JIS decoder do, because 05/12 must stay recognisable as the
 * value delimiter (PS3.5 6.1.2.5.3 names it "¥" in IR 14).
 */
export const JIS_X_0201_ROMAN: CodeElement = { ir: 'ISO-IR 14', register: 'G0', bytesPerChar: 1, decode: latin1 };

/** JIS X 0201 Katakana (ISO-IR 13) in G1: 0xA1-0xDF are the half-width katakana U+FF61-U+FF9F. */
export const JIS_X_0201_KATAKANA: CodeElement = {
  ir: 'ISO-IR 13', register: 'G1', bytesPerChar: 1,
  decode(bytes) {
    let s = '';
    for (const b of bytes) s += b >= 0xa1 && b <= 0xdf ? String.fromCharCode(0xff61 + b - 0xa1) : b < 0x80 ? String.fromCharCode(b) : '\ufffd';
    return s;
  },
};

/** A 94x94 set in G0 (7-bit byte pairs): decoded as its EUC form, i.e. each byte 0x21-0x7E with the high bit set. */
function euc94x94InG0(ir: string, label: string, prefix?: number): CodeElement {
  return {
    ir, register: 'G0', bytesPerChar: 2,
    decode(bytes) {
      const out: number[] = [];
      // SPACE and controls stay single bytes between the pairs (ISO 2022: they never belong to a 94^n set).
      for (let i = 0; i < bytes.length; i++) {
        const b = bytes[i]!;
        if (b < 0x21 || b > 0x7e) { out.push(b); continue; }
        const c = bytes[i + 1];
        if (c === undefined || c < 0x21 || c > 0x7e) { out.push(0xff); continue; } // a lone byte: U+FFFD
        if (prefix !== undefined) out.push(prefix);
        out.push(b | 0x80, c | 0x80);
        i++;
      }
      return whatwg(label).decode(Uint8Array.from(out));
    },
  };
}

/** A 94x94 set in G1: the bytes already have the high bit set, which is exactly the EUC form. */
function euc94x94InG1(ir: string, label: string): CodeElement {
  return { ir, register: 'G1', bytesPerChar: 2, decode: (bytes) => whatwg(label).decode(bytes) };
}

export const JIS_X_0208 = euc94x94InG0('ISO-IR 87', 'euc-jp');
/** JIS X 0212 is EUC-JP's code set 3: each pair behind the single shift 0x8F. */
export const JIS_X_0212 = euc94x94InG0('ISO-IR 159', 'euc-jp', 0x8f);
/** KS X 1001 (EUC-KR; WHATWG's euc-kr is its superset UHC, identical on KS X 1001's pairs). */
export const KS_X_1001 = euc94x94InG1('ISO-IR 149', 'euc-kr');
/** GB 2312 (EUC-CN; WHATWG's gbk decoder is its superset). */
export const GB_2312 = euc94x94InG1('ISO-IR 58', 'gbk');

export const LATIN_1 = iso8859RightHalf('ISO-IR 100', 'iso-8859-1');
export const LATIN_2 = iso8859RightHalf('ISO-IR 101', 'iso-8859-2');
export const LATIN_3 = iso8859RightHalf('ISO-IR 109', 'iso-8859-3');
export const LATIN_4 = iso8859RightHalf('ISO-IR 110', 'iso-8859-4');
export const CYRILLIC = iso8859RightHalf('ISO-IR 144', 'iso-8859-5');
export const ARABIC = iso8859RightHalf('ISO-IR 127', 'iso-8859-6');
export const GREEK = iso8859RightHalf('ISO-IR 126', 'iso-8859-7');
/** ISO 8859-8 (the logical "-i" label decodes the same bytes; order is the writer's business). */
export const HEBREW = iso8859RightHalf('ISO-IR 138', 'iso-8859-8');
export const LATIN_5 = iso8859RightHalf('ISO-IR 148', 'iso-8859-9');
export const LATIN_9 = iso8859RightHalf('ISO-IR 203', 'iso-8859-15');
/** TIS 620-2533 (ISO 8859-11); WHATWG's windows-874 agrees from 0xA0 up. */
export const THAI = iso8859RightHalf('ISO-IR 166', 'windows-874');

/**
 * Escape sequences (the bytes after ESC) that designate each element, PS3.3 Tables C.12-3 and C.12-4. Single-byte
 * sets: ESC ( F designates a 94-set into G0, ESC - F a 96-set into G1, ESC ) I the katakana 94-set into G1; multi-byte:
 * ESC $ B and ESC $ ( D into G0, ESC $ ) C and ESC $ ) A into G1.
 */
export const ESCAPE_SEQUENCES: ReadonlyMap<string, CodeElement> = new Map([
  ['(B', ASCII], ['(J', JIS_X_0201_ROMAN], [')I', JIS_X_0201_KATAKANA],
  ['-A', LATIN_1], ['-B', LATIN_2], ['-C', LATIN_3], ['-D', LATIN_4], ['-L', CYRILLIC], ['-G', ARABIC],
  ['-F', GREEK], ['-H', HEBREW], ['-M', LATIN_5], ['-b', LATIN_9], ['-T', THAI],
  ['$B', JIS_X_0208], ['$(D', JIS_X_0212], ['$)C', KS_X_1001], ['$)A', GB_2312],
]);
