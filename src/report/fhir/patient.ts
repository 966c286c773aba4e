// Patient from the study's patient attributes. The identifier is what matches the patient in the EHR
// (conditional create in the bundle), so its system is chosen carefully: IssuerOfPatientID names the assigning
// authority in DICOM, but FHIR wants a URI there.
import type { HumanName, Identifier, Patient } from '@medplum/fhirtypes';
import type { DicomJson } from '../../dicom/json-model.js';
import { FhirBuildError, fhirDate, str, type FhirContext } from './common.js';

export const TAG = {
  patientName: '00100010', patientId: '00100020', issuer: '00100021', issuerQualifiers: '00100024',
  birthDate: '00100030', sex: '00100040', universalEntityId: '00400032', universalEntityIdType: '00400033',
} as const;

/** ISO 21090 name representation (R4 core extension): which script a HumanName is written in. */
export const NAME_REPRESENTATION_URL = 'http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation';

export { FhirBuildError };

const URI = /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/;
const OID = /^[0-2](\.(0|[1-9]\d*))+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The identifier system for an issuer, most specific first: the site's explicit map; the issuer's Universal Entity
 * ID (0040,0032) when its type (0040,0033) is ISO (an OID), UUID or URI; the issuer itself when it already is a URI;
 * "urn:oid:" + the issuer when it is an OID; else `issuerNamespace` + the URL-encoded issuer (a local name such as
 * "HOSPITAL_A" has no global meaning, so it stays under a namespace the site can map later).
 */
export function patientIdentifierSystem(study: DicomJson, ctx: FhirContext): string {
  const issuer = str(study, TAG.issuer);
  if (issuer !== undefined && ctx.issuerSystems && Object.hasOwn(ctx.issuerSystems, issuer)) return ctx.issuerSystems[issuer]!;
  const q = study[TAG.issuerQualifiers]?.Value?.[0] as DicomJson | undefined;
  const uid = str(q, TAG.universalEntityId);
  const type = str(q, TAG.universalEntityIdType)?.toUpperCase();
  if (uid) {
    if (type === 'ISO' && OID.test(uid)) return `urn:oid:${uid}`;
    if (type === 'UUID' && UUID.test(uid)) return `urn:uuid:${uid.toLowerCase()}`;
    if (type === 'URI' && URI.test(uid)) return uid;
  }
  if (issuer === undefined) return ctx.defaultPatientIdentifierSystem;
  if (OID.test(issuer)) return `urn:oid:${issuer}`;
  if (URI.test(issuer)) return issuer;
  return `${ctx.issuerNamespace ?? 'urn:ophgate:issuer:'}${encodeURIComponent(issuer)}`;
}

export function patientIdentifier(study: DicomJson, ctx: FhirContext): Identifier {
  const value = str(study, TAG.patientId);
  // Without an ID the patient cannot be matched, and creating one per study would duplicate patients in the EHR.
  if (value === undefined) throw new FhirBuildError('the study has no PatientID (0010,0020): the patient cannot be matched');
  return { use: 'usual', system: patientIdentifierSystem(study, ctx), value };
}

/** One PN component group ("Family^Given^Middle^Prefix^Suffix") as a HumanName, or undefined when empty. */
export function humanNameOf(group: string): HumanName | undefined {
  const [family, given, middle, prefix, suffix] = group.split('^').map((c) => c.trim());
  const words = (s: string | undefined) => (s ? s.split(/\s+/).filter(Boolean) : []);
  const name: HumanName = {};
  if (family) name.family = family;
  // Middle names are further given names in FHIR; given and middle keep their order.
  const givens = [...words(given), ...words(middle)];
  if (givens.length) name.given = givens;
  if (prefix) name.prefix = words(prefix);
  if (suffix) name.suffix = words(suffix);
  return Object.keys(name).length ? name : undefined;
}

const REPRESENTATIONS = ['ABC', 'IDE', 'SYL'] as const;
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/**
 * PatientName (PN) as HumanNames: the alphabetic group is the official name; the ideographic and phonetic groups
 * (PS3.5 6.2.1.2) become further official names marked with the ISO 21090 representation extension (IDE, SYL), the
 * way Japanese FHIR profiles carry kanji and kana names. The DICOM JSON model gives the groups as
 * {Alphabetic, Ideographic, Phonetic}; a plain string with "=" separators is read the same way.
 */
export function patientNames(study: DicomJson): HumanName[] {
  const v = study[TAG.patientName]?.Value?.[0];
  let groups: Array<string | undefined>;
  if (typeof v === 'string') groups = v.split('=');
  else if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const s = (x: unknown) => (typeof x === 'string' ? x : undefined);
    groups = [s(o.Alphabetic), s(o.Ideographic), s(o.Phonetic)];
  } else groups = [];
  const out: HumanName[] = [];
  groups.slice(0, 3).forEach((g, i) => {
    // The header reader decodes every character set, ISO 2022 code extensions included (src/dicom/charset), so
    // groups arrive as plain text. Safety net for attributes stored before it did, or built elsewhere: a group still
    // holding control characters (undecoded escape sequences) is left out rather than sent to the EHR as garbage.
    const name = g === undefined || CONTROL.test(g) ? undefined : humanNameOf(g);
    if (!name) return;
    name.use = 'official';
    // The alphabetic group alone needs no marker: it is what a receiver that ignores extensions should show.
    if (i > 0) name.extension = [{ url: NAME_REPRESENTATION_URL, valueCode: REPRESENTATIONS[i]! }];
    out.push(name);
  });
  return out;
}

const GENDER: Record<string, Patient['gender']> = { M: 'male', F: 'female', O: 'other' };

export function buildPatient(study: DicomJson, ctx: FhirContext): Patient {
  const patient: Patient = { resourceType: 'Patient', identifier: [patientIdentifier(study, ctx)] };
  const names = patientNames(study);
  if (names.length) patient.name = names;
  // PatientSex is type 2: empty or absent means not known, as does any value outside M, F, O.
  patient.gender = GENDER[str(study, TAG.sex)?.toUpperCase() ?? ''] ?? 'unknown';
  const birthDate = fhirDate(str(study, TAG.birthDate));
  if (birthDate) patient.birthDate = birthDate;
  return patient;
}
