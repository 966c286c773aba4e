// The defined terms of Specific Character Set (0008,0005), PS3.3 C.12.1.1.2, and what each one means for decoding:
// either the initial G0/G1 code elements of an ISO 2022 value (Tables C.12-2 and C.12-3, and C.12-4 for the
// multi-byte sets a later value adds), or a whole-value decoder for the sets that allow no code extensions
// (Table C.12-5, and ISO_IR 13 below).
import {
  ARABIC, ASCII, CYRILLIC, GB_2312, GREEK, HEBREW, JIS_X_0201_KATAKANA, JIS_X_0201_ROMAN, JIS_X_0208, JIS_X_0212,
  KS_X_1001, LATIN_1, LATIN_2, LATIN_3, LATIN_4, LATIN_5, LATIN_9, THAI, type CodeElement,
} from './code-elements.js';

export interface DefinedTerm {
  readonly term: string;
  /** "ISO 2022 ..." terms declare that escape sequences may switch sets within a value. */
  readonly codeExtensions: boolean;
  /** Set when the term is value 1 (or alone): what G0 and G1 hold at the start of a value and after a delimiter. */
  readonly g0: CodeElement;
  readonly g1?: CodeElement;
  /** The elements this term makes available to escape sequences (its G1 set, or its multi-byte set). */
  readonly elements: readonly CodeElement[];
  /** WHATWG label of a whole-value decoder: the set is used alone, never with code extensions. */
  readonly standAlone?: string;
}

function singleByte(suffix: string, g1: CodeElement | undefined, g0: CodeElement = ASCII): DefinedTerm[] {
  const elements = g1 ? [g0, g1] : [g0];
  return [
    { term: `ISO_IR ${suffix}`, codeExtensions: false, g0, g1, elements },
    { term: `ISO 2022 IR ${suffix}`, codeExtensions: true, g0, g1, elements },
  ];
}

function multiByte(suffix: string, element: CodeElement): DefinedTerm {
  // As value 1 (unusual, but pydicom reads it): ASCII in G0, and a G1 set is there from the start.
  return { term: `ISO 2022 IR ${suffix}`, codeExtensions: true, g0: ASCII, g1: element.register === 'G1' ? element : undefined, elements: [element] };
}

const TERMS: DefinedTerm[] = [
  ...singleByte('6', undefined),
  ...singleByte('100', LATIN_1), ...singleByte('101', LATIN_2), ...singleByte('109', LATIN_3), ...singleByte('110', LATIN_4),
  ...singleByte('144', CYRILLIC), ...singleByte('127', ARABIC), ...singleByte('126', GREEK), ...singleByte('138', HEBREW),
  ...singleByte('148', LATIN_5), ...singleByte('203', LATIN_9), ...singleByte('166', THAI),
  // ISO 2022 IR 13: JIS X 0201 Roman in G0, Katakana in G1.
  singleByte('13', JIS_X_0201_KATAKANA, JIS_X_0201_ROMAN)[1]!,
  // ISO_IR 13 without extensions is read as Shift_JIS, whose single bytes are exactly JIS X 0201; files in the wild
  // (and pydicom, which reads this term as shift_jis) also carry Shift_JIS double-byte kanji under it.
  { term: 'ISO_IR 13', codeExtensions: false, g0: JIS_X_0201_ROMAN, g1: JIS_X_0201_KATAKANA, elements: [JIS_X_0201_ROMAN, JIS_X_0201_KATAKANA], standAlone: 'shift_jis' },
  multiByte('87', JIS_X_0208), multiByte('159', JIS_X_0212), multiByte('149', KS_X_1001), multiByte('58', GB_2312),
  { term: 'ISO_IR 192', codeExtensions: false, g0: ASCII, elements: [], standAlone: 'utf-8' },
  { term: 'GB18030', codeExtensions: false, g0: ASCII, elements: [], standAlone: 'gb18030' },
  { term: 'GBK', codeExtensions: false, g0: ASCII, elements: [], standAlone: 'gbk' },
];

const BY_TERM = new Map(TERMS.map((t) => [t.term, t]));
/** Spelling-insensitive key: "ISO_IR_100", "iso-ir 100" and "ISO IR 100" all find ISO_IR 100's family. */
const loose = (s: string) => s.toUpperCase().replace(/[\s_-]+/g, ' ').trim();
const BY_LOOSE = new Map<string, DefinedTerm>();
for (const t of TERMS) if (!BY_LOOSE.has(loose(t.term))) BY_LOOSE.set(loose(t.term), t);

/** The default repertoire (no Specific Character Set, or an empty value 1): ISO-IR 6 in G0, nothing in G1. */
export const DEFAULT_REPERTOIRE: DefinedTerm = BY_TERM.get('ISO_IR 6')!;

export const DEFINED_TERMS: readonly string[] = TERMS.map((t) => t.term);

/** The exact defined term, or a misspelt one ("ISO_IR_100") with `exact` false, or undefined when unknown. */
export function lookupTerm(value: string): { term: DefinedTerm; exact: boolean } | undefined {
  const exact = BY_TERM.get(value.trim());
  if (exact) return { term: exact, exact: true };
  const near = BY_LOOSE.get(loose(value));
  return near ? { term: near, exact: false } : undefined;
}
