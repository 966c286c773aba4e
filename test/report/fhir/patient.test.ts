import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { HumanName } from '@medplum/fhirtypes';
import { decodeDatasetAttributes, DicomRejection, readInstanceHeader } from '../../../src/dicom/part10-header.js';
import { SHARED_DIR } from '../../helpers/paths.js';
import { buildPatient, patientIdentifierSystem, patientNames, NAME_REPRESENTATION_URL, FhirBuildError } from '../../../src/report/fhir/patient.js';
import type { DicomJson } from '../../../src/dicom/json-model.js';
import { validate } from './validator.js';
import { ctx, studyJson } from './study.js';
import { pydicomAvailable, pydicomReference, type ReferenceFile } from '../../dicom/charset-reference.js';

const pn = (v: string | Record<string, string>): DicomJson => ({ '00100010': { vr: 'PN', Value: [v] } });

describe('Patient from DICOM', () => {
  it('carries identifier, name components, birth date and sex, and validates', () => {
    const p = buildPatient(studyJson(), ctx);
    validate(p);
    expect(p.identifier).toEqual([{ use: 'usual', system: 'urn:oid:1.2.276.0.7230010.3', value: 'PAT-0042' }]);
    expect(p.name).toEqual([{ use: 'official', family: 'Müller', given: ['Jürgen', 'Karl'], prefix: ['Dr.'], suffix: ['MD'] }]);
    expect(p.birthDate).toBe('1958-02-28');
    expect(p.gender).toBe('male');
  });

  it('keeps the Japanese ideographic and phonetic groups as further names marked IDE and SYL', () => {
    const p = buildPatient(studyJson(pn({ Alphabetic: 'Yamada^Tarou', Ideographic: '山田^太郎', Phonetic: 'やまだ^たろう' })), ctx);
    validate(p);
    expect(p.name).toEqual([
      { use: 'official', family: 'Yamada', given: ['Tarou'] },
      { use: 'official', family: '山田', given: ['太郎'], extension: [{ url: NAME_REPRESENTATION_URL, valueCode: 'IDE' }] },
      { use: 'official', family: 'やまだ', given: ['たろう'], extension: [{ url: NAME_REPRESENTATION_URL, valueCode: 'SYL' }] },
    ]);
  });

  it('reads "=" groups from a plain string and skips empty groups', () => {
    expect(patientNames(pn('=山田^太郎'))).toEqual([
      { use: 'official', family: '山田', given: ['太郎'], extension: [{ url: NAME_REPRESENTATION_URL, valueCode: 'IDE' }] },
    ]);
    expect(patientNames(pn({ Alphabetic: '^^^' }))).toEqual([]);
    expect(patientNames({})).toEqual([]);
    // An undecoded ISO 2022 group (escape sequences) is not sent.
    expect(patientNames(pn({ Alphabetic: 'Yamada^Tarou', Ideographic: '\u001b$B;3ED\u001b(J^\u001b$BB@O:\u001b(J' }))).toEqual([
      { use: 'official', family: 'Yamada', given: ['Tarou'] },
    ]);
  });

  it('maps sex M/F/O and anything else (or nothing) to unknown', () => {
    const sex = (v?: string) => buildPatient(studyJson({ '00100040': v === undefined ? { vr: 'CS' } : { vr: 'CS', Value: [v] } }), ctx).gender;
    expect([sex('M'), sex('F'), sex('O'), sex('X'), sex()]).toEqual(['male', 'female', 'other', 'unknown', 'unknown']);
  });

  it('drops an impossible birth date rather than sending an invalid one', () => {
    const p = buildPatient(studyJson({ '00100030': { vr: 'DA', Value: ['20230231'] } }), ctx);
    expect(p.birthDate).toBeUndefined();
    validate(p);
  });

  it('chooses the identifier system: map, qualifiers, URI, OID, namespace, default', () => {
    const issuer = (v: string | undefined, extra = {}) => studyJson({ '00100021': v === undefined ? { vr: 'LO' } : { vr: 'LO', Value: [v] }, ...extra });
    expect(patientIdentifierSystem(issuer(undefined), ctx)).toBe('urn:oid:1.2.3.4.5.6');
    expect(patientIdentifierSystem(issuer('2.16.840.1.113883.3.1'), ctx)).toBe('urn:oid:2.16.840.1.113883.3.1');
    expect(patientIdentifierSystem(issuer('https://hospital.example/mrn'), ctx)).toBe('https://hospital.example/mrn');
    expect(patientIdentifierSystem(issuer('HOSPITAL A'), ctx)).toBe('urn:ophgate:issuer:HOSPITAL%20A');
    expect(patientIdentifierSystem(issuer('HOSPITAL A'), { ...ctx, issuerSystems: { 'HOSPITAL A': 'http://a.example/id' } })).toBe('http://a.example/id');
    const qualifiers = { '00100024': { vr: 'SQ', Value: [{ '00400032': { vr: 'UT', Value: ['1.2.3.99'] }, '00400033': { vr: 'CS', Value: ['ISO'] } }] } };
    expect(patientIdentifierSystem(issuer('HOSP', qualifiers), ctx)).toBe('urn:oid:1.2.3.99');
  });

  it('refuses a study without PatientID: the patient could not be matched', () => {
    expect(() => buildPatient(studyJson({ '00100020': { vr: 'LO' } }), ctx)).toThrow(FhirBuildError);
  });
});

const CHARSET = path.join(SHARED_DIR, 'interop', 'real-dicom', 'charset');

/** The attributes the header reader stores for a file (the one file the gate refuses, for lack of a UID, decoded alike). */
async function storedAttributes(file: string): Promise<DicomJson> {
  try {
    return (await readInstanceHeader(file, statSync(file).size)).attributes;
  } catch (err) {
    if (err instanceof DicomRejection && err.code === 'missing-attribute') return decodeDatasetAttributes(readFileSync(file)).attributes;
    throw err;
  }
}
const withId = (a: DicomJson): DicomJson => ({ ...a, '00100020': { vr: 'LO', Value: ['X'] } });

describe('Patient names from real files in other character sets', () => {
  // Expected values as pydicom decodes these files (its charset tests); the header reader gives decoded text.
  const cases: Array<[string, { family: string; given?: string[] }]> = [
    ['pydicom__chrFren.dcm', { family: 'Buc', given: ['Jérôme'] }],
    ['pydicom__chrGreek.dcm', { family: 'Διονυσιος' }],
    ['pydicom__chrRuss.dcm', { family: 'Люкceмбypг' }],
    ['pydicom__chrArab.dcm', { family: 'قباني', given: ['لنزار'] }],
    ['pydicom__chrHbrw.dcm', { family: 'שרון', given: ['דבורה'] }],
    ['pydicom__chrJapMulti.dcm', { family: 'やまだ', given: ['たろう'] }],
    ['pydicom__chrKoreanMulti.dcm', { family: '김희중' }],
  ];
  for (const [file, expected] of cases) {
    it.skipIf(!existsSync(path.join(CHARSET, file)))(file, async () => {
      const p = buildPatient(withId(await storedAttributes(path.join(CHARSET, file))), ctx);
      validate(p);
      expect(p.name).toEqual([{ use: 'official', ...expected }]);
    });
  }

  it.skipIf(!existsSync(path.join(CHARSET, 'pydicom__chrH32.dcm')))('pydicom__chrH32.dcm: katakana, kanji (ISO 2022 JIS X 0208) and kana groups', async () => {
    const f = path.join(CHARSET, 'pydicom__chrH32.dcm');
    const p = buildPatient(await storedAttributes(f), ctx);
    validate(p);
    expect(p.name).toEqual([
      { use: 'official', family: 'ﾔﾏﾀﾞ', given: ['ﾀﾛｳ'] },
      { use: 'official', family: '山田', given: ['太郎'], extension: [{ url: NAME_REPRESENTATION_URL, valueCode: 'IDE' }] },
      { use: 'official', family: 'やまだ', given: ['たろう'], extension: [{ url: NAME_REPRESENTATION_URL, valueCode: 'SYL' }] },
    ]);
  });
});

/**
 * The HumanNames a PN group should give, written from the mapping in src/report/fhir/README.md independently of
 * humanNameOf: components Family^Given^Middle^Prefix^Suffix, given and middle split into words.
 */
function expectedNames(groups: Record<string, string>): HumanName[] {
  const out: HumanName[] = [];
  (['Alphabetic', 'Ideographic', 'Phonetic'] as const).forEach((key, i) => {
    const group = groups[key];
    if (!group) return;
    const [family = '', given = '', middle = '', prefix = '', suffix = ''] = group.split('^').map((c) => c.trim());
    const words = (s: string) => s.split(/\s+/).filter((w) => w.length > 0);
    const name: HumanName = {
      ...(family ? { family } : {}),
      ...(words(given).length + words(middle).length ? { given: [...words(given), ...words(middle)] } : {}),
      ...(words(prefix).length ? { prefix: words(prefix) } : {}),
      ...(words(suffix).length ? { suffix: words(suffix) } : {}),
    };
    if (Object.keys(name).length === 0) return;
    out.push({ ...name, use: 'official', ...(i > 0 ? { extension: [{ url: NAME_REPRESENTATION_URL, valueCode: (['ABC', 'IDE', 'SYL'] as const)[i] }] } : {}) });
  });
  return out;
}

describe('Patient.name of every real charset file equals pydicom\'s decoding', () => {
  const files = existsSync(CHARSET) ? readdirSync(CHARSET).filter((f) => f.endsWith('.dcm')).sort() : [];
  if (files.length === 0) {
    it.skip(`${CHARSET} is absent: no real charset files to compare with pydicom`, () => {});
    return;
  }
  if (!pydicomAvailable()) {
    it.skip('pydicom (/usr/bin/python3) is not available: reference comparisons skipped', () => {});
    return;
  }
  let reference: Record<string, ReferenceFile>;
  beforeAll(() => { reference = pydicomReference(files.map((f) => path.join(CHARSET, f))); });

  for (const file of files) {
    it(file, async () => {
      const full = path.join(CHARSET, file);
      const p = buildPatient(withId(await storedAttributes(full)), ctx);
      validate(p);
      const pn = reference[full]!.elements['00100010']?.values[0] as Record<string, string> | undefined;
      const expected = pn ? expectedNames(pn) : [];
      // Every group pydicom decodes is there: the control-character guard in patientNames never drops one.
      expect(p.name ?? []).toEqual(expected);
    });
  }
});
