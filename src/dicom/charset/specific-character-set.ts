// A dataset's Specific Character Set (0008,0005), read once, turned into a decoder for its text values (SH, LO,
// UC, ST, LT, UT, PN). Nothing here throws: an unknown term falls back to the default repertoire with bytes above
// 0x7F kept as ISO 8859-1 (so no byte is lost and a later reader can still recover them) and is reported.
import { ASCII, whatwg, type CodeElement } from './code-elements.js';
import { DEFAULT_REPERTOIRE, lookupTerm, type DefinedTerm } from './defined-terms.js';
import { decodeIso2022 } from './iso2022.js';

export interface CharacterSet {
  /** The values as they should be recorded: defined terms, an empty value 1 written as "ISO 2022 IR 6" (C.12.1.1.2). */
  readonly terms: readonly string[];
  /** Decodes one element's value bytes; `delimiters` are the bytes at which the initial code elements return. */
  decode(bytes: Uint8Array, delimiters: ReadonlySet<number>, warn: (message: string) => void): string;
}

/**
 * Builds the decoder for the values of Specific Character Set. `warn` hears about unknown or misspelt terms and
 * about combinations the standard does not allow; decoding goes on in each case.
 */
export function characterSetOf(values: readonly string[], warn: (message: string) => void): CharacterSet {
  const cleaned = values.map((v) => v.replace(/\0/g, '').trim());
  while (cleaned.length > 1 && cleaned[cleaned.length - 1] === '') cleaned.pop();
  if (cleaned.length === 0 || (cleaned.length === 1 && cleaned[0] === '')) return fromTerms([DEFAULT_REPERTOIRE], [], warn);
  const terms: DefinedTerm[] = [];
  const recorded: string[] = [];
  cleaned.forEach((value, i) => {
    if (value === '') {
      // An empty value 1 means ISO 2022 IR 6 (PS3.3 C.12.1.1.2); an empty later value means nothing.
      if (i === 0) { terms.push(lookupTerm('ISO 2022 IR 6')!.term); recorded.push('ISO 2022 IR 6'); }
      return;
    }
    const found = lookupTerm(value);
    if (!found) {
      warn(`Specific Character Set value "${value.slice(0, 64)}" is not a defined term (PS3.3 C.12.1.1.2): ignored${i === 0 ? '; text read in the default repertoire, bytes above 0x7F as ISO 8859-1' : ''}`);
      if (i === 0) terms.push(DEFAULT_REPERTOIRE);
      recorded.push(value);
      return;
    }
    if (!found.exact) warn(`Specific Character Set value "${value.slice(0, 64)}" read as the defined term "${found.term.term}"`);
    terms.push(found.term);
    recorded.push(found.term.term);
  });
  return fromTerms(terms, recorded, warn);
}

function fromTerms(terms: DefinedTerm[], recorded: string[], warn: (message: string) => void): CharacterSet {
  const first = terms[0] ?? DEFAULT_REPERTOIRE;
  if (first.standAlone) {
    if (terms.length > 1) warn(`Specific Character Set "${first.term}" cannot be combined with code extensions (PS3.3 Table C.12-5): only value 1 is used`);
    const label = first.standAlone;
    return { terms: recorded, decode: (bytes) => whatwg(label).decode(bytes) };
  }
  const codeExtensions = terms.length > 1 || first.codeExtensions;
  for (const t of terms.slice(1)) {
    if (!t.codeExtensions) warn(`Specific Character Set value "${t.term}" is not an ISO 2022 term: a value after the first must be one (PS3.3 C.12.1.1.2)`);
  }
  // ISO-IR 6 (ESC ( B) is the default repertoire: switching back to it needs no declaration, as pydicom also reads it.
  const declared = new Set<CodeElement>([ASCII, ...terms.flatMap((t) => t.elements)]);
  const initial = { g0: first.g0, g1: first.g1 };
  return {
    terms: recorded,
    decode: (bytes, delimiters, w) => decodeIso2022(bytes, delimiters, { initial, declared, codeExtensions, warn: w }),
  };
}

/** No Specific Character Set: the default repertoire. */
export const DEFAULT_CHARACTER_SET: CharacterSet = characterSetOf([], () => {});
