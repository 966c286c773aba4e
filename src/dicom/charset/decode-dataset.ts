// Re-decodes the text values of a parsed dataset from their bytes, in the character set each dataset declares.
// The attribute parser (dcmjs) decodes text itself, but with one TextDecoder for the whole file: it knows no ISO
// 2022 code extensions (a second value of Specific Character Set is ignored and escape sequences stay in the text),
// reads "latin1" as windows-1252, and a sequence item's own Specific Character Set does not apply to that item. So
// the bytes are taken from the byte-level parse (dicom-parser, which records each element's offset and length).
import { characterSetOf, DEFAULT_CHARACTER_SET, type CharacterSet } from './specific-character-set.js';
import { decodeTextValues, TEXT_VRS } from './text-values.js';

/** The attribute parser's view: tag ("0010 0010" as 8 hex digits) → VR and values; SQ values are item dictionaries. */
export type ParsedDict = Record<string, { vr?: string; Value?: unknown[] }>;

/** The byte-level parser's view of the same dataset (dicom-parser's DataSet has this shape). */
export interface ByteDataSet {
  byteArray: Uint8Array;
  elements: Record<string, { dataOffset: number; length: number; items?: Array<{ dataSet?: ByteDataSet }> } | undefined>;
}

const SPECIFIC_CHARACTER_SET = '00080005';

/**
 * Replaces, in place, the values of every text element (SH, LO, UC, ST, LT, UT, PN) of `dict` and of its sequence
 * items with values decoded from the bytes in `bytes`, and the value of Specific Character Set with the dataset's
 * own terms. `inherited` is the enclosing dataset's character set: an item without (0008,0005) uses it (PS3.5 7.5).
 * An element the byte-level parse does not have keeps the attribute parser's value. Warnings are collected in
 * `warnings` (deduplicated, so one per kind of problem).
 */
export function decodeDatasetText(dict: ParsedDict, bytes: ByteDataSet, warnings: Set<string>, inherited: CharacterSet = DEFAULT_CHARACTER_SET): void {
  const warn = (m: string) => { warnings.add(m); };
  let charset = inherited;
  const scs = bytes.elements[`x${SPECIFIC_CHARACTER_SET}`];
  if (scs) {
    const raw = Buffer.from(bytes.byteArray.buffer, bytes.byteArray.byteOffset + scs.dataOffset, scs.length).toString('latin1');
    charset = characterSetOf(raw.split('\\'), warn);
    const entry = dict[SPECIFIC_CHARACTER_SET];
    if (entry) entry.Value = [...charset.terms];
  }
  for (const [tag, element] of Object.entries(dict)) {
    const vr = element.vr;
    if (!vr) continue;
    const located = bytes.elements[`x${tag.toLowerCase()}`];
    if (!located) continue;
    if (vr === 'SQ') {
      (element.Value ?? []).forEach((item, i) => {
        const itemBytes = located.items?.[i]?.dataSet;
        if (item && typeof item === 'object' && itemBytes) decodeDatasetText(item as ParsedDict, itemBytes, warnings, charset);
      });
    } else if (TEXT_VRS.has(vr) && located.length !== 0xffffffff && located.dataOffset + located.length <= bytes.byteArray.length) {
      const value = bytes.byteArray.subarray(located.dataOffset, located.dataOffset + located.length);
      element.Value = decodeTextValues(vr, value, charset, warn);
    }
  }
}

/**
 * Overwrites, in `copy` (a copy of the bytes `parsed` was parsed from), the value of every Specific Character Set
 * element, nested ones too, with spaces (the default repertoire). dcmjs acts on that element while it parses: it
 * throws on a multi-valued one inside a sequence item (and then drops the whole sequence) and switches its decoder
 * for the rest of the file on a nested one. With the values blanked it only parses structure; the text is decoded
 * afterwards by decodeDatasetText, which reads the original values from `parsed`.
 */
export function blankCharacterSets(copy: Uint8Array, parsed: ByteDataSet): void {
  for (const [key, element] of Object.entries(parsed.elements)) {
    if (!element) continue;
    if (key === `x${SPECIFIC_CHARACTER_SET}` && element.length !== 0xffffffff && element.dataOffset + element.length <= copy.length) {
      copy.fill(0x20, element.dataOffset, element.dataOffset + element.length);
    }
    for (const item of element.items ?? []) if (item.dataSet) blankCharacterSets(copy, item.dataSet);
  }
}
