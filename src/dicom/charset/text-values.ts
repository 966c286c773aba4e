// One text element's value bytes to DICOM JSON values (PS3.18 F.2): decoded in the dataset's character set, split
// into values and, for PN, into component groups, with the padding the VR makes insignificant removed (PS3.5 6.2).
import { MULTI_VALUE_DELIMITERS, PN_DELIMITERS, TEXT_DELIMITERS } from './iso2022.js';
import type { CharacterSet } from './specific-character-set.js';

/** The VRs whose values Specific Character Set applies to (PS3.3 C.12.1.1.2). */
export const TEXT_VRS: ReadonlySet<string> = new Set(['SH', 'LO', 'UC', 'ST', 'LT', 'UT', 'PN']);

export interface PersonNameJson { Alphabetic?: string; Ideographic?: string; Phonetic?: string }

const GROUPS = ['Alphabetic', 'Ideographic', 'Phonetic'] as const;
const trailingPad = /[\0 ]+$/;

/**
 * The values of a text element: strings, or PN objects with their non-empty groups. Empty values are left out, as
 * the JSON conversion (json-model.ts) leaves them out for every VR.
 */
export function decodeTextValues(vr: string, bytes: Uint8Array, charset: CharacterSet, warn: (message: string) => void): string[] | PersonNameJson[] {
  switch (vr) {
    case 'PN': {
      const text = charset.decode(bytes, PN_DELIMITERS, warn).replace(trailingPad, '');
      const out: PersonNameJson[] = [];
      for (const value of text.split('\\')) {
        const groups = value.replace(trailingPad, '').split('=');
        if (groups.length > 3) warn(`a PN value has ${groups.length} component groups; only three are defined (PS3.5 6.2.1.2): the rest are left out`);
        const pn: PersonNameJson = {};
        groups.slice(0, 3).forEach((g, i) => { if (g !== '') pn[GROUPS[i]!] = g; });
        if (Object.keys(pn).length) out.push(pn);
      }
      return out;
    }
    case 'SH': case 'LO':
      // Leading and trailing spaces are insignificant in SH and LO.
      return charset.decode(bytes, MULTI_VALUE_DELIMITERS, warn).split('\\').map((v) => v.replace(/^ +/, '').replace(trailingPad, '')).filter((v) => v !== '');
    case 'UC':
      return charset.decode(bytes, MULTI_VALUE_DELIMITERS, warn).split('\\').map((v) => v.replace(trailingPad, '')).filter((v) => v !== '');
    default: {
      // ST, LT, UT: one value, in which "\" is an ordinary character; trailing spaces are insignificant.
      const v = charset.decode(bytes, TEXT_DELIMITERS, warn).replace(trailingPad, '');
      return v === '' ? [] : [v];
    }
  }
}
