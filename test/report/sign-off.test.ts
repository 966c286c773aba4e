// Sign-off rules (src/report/sign-off.ts) on a DiagnosticReport built by the real builders: which status each
// signature gives, what it keeps, and that the signer's resources are valid R4. The HTTP side (401/403, re-send to
// a FHIR server) is in test/fhir-report.test.ts.
import { describe, it, expect } from 'vitest';
import { createHash } from 'node:crypto';
import type { DiagnosticReport, Resource } from '@medplum/fhirtypes';
import { buildReportBundle } from '../../src/report/fhir/bundle.js';
import { practitionerOf, signedReport, signProvenance, signProvenanceIdsOf, SignOffConflict, type Signer } from '../../src/report/sign-off.js';
import { findKey } from '../../src/http/auth/api-keys.js';
import { bundleInput, ctx } from './fhir/study.js';
import { validate } from './fhir/validator.js';

const ada: Signer = { keyName: 'k1', practitioner: { name: 'Dr Ada Grader', identifierSystem: 'urn:oid:2.16.840.1.113883.4.6', identifierValue: '1234567893' } };
const bob: Signer = { keyName: 'k2', practitioner: { name: 'Dr Bob Second', identifierSystem: 'urn:oid:2.16.840.1.113883.4.6', identifierValue: '1987654320' } };
const AT = '2024-03-16T09:00:00.000Z';

function preliminary(): DiagnosticReport {
  const dr = buildReportBundle(bundleInput(), ctx).entry!.find((e) => e.resource?.resourceType === 'DiagnosticReport')!.resource as DiagnosticReport;
  return { ...dr, id: 'dr-1', meta: { versionId: '1' } };
}

describe('sign-off', () => {
  it('makes a preliminary report final with the signer as results interpreter, keeping its text and forms', () => {
    const p = practitionerOf(ada);
    const { report, outcome } = signedReport(preliminary(), p, AT);
    expect(outcome).toBe('signed');
    expect(report.status).toBe('final');
    expect(report.resultsInterpreter).toEqual([{ reference: `Practitioner/${p.id}`, display: 'Dr Ada Grader' }]);
    expect(report.conclusion).toBe(preliminary().conclusion);
    expect(report.presentedForm).toEqual(preliminary().presentedForm);
    expect(report.issued).toBe(AT);
    expect(report.meta).toBeUndefined();
    validate({ ...report, resultsInterpreter: [{ reference: 'urn:uuid:00000000-0000-8000-8000-000000000000' }] } as Resource);
    validate(p as Resource);
  });

  it('gives the same Practitioner id for the same identifier, another for another clinician', () => {
    expect(practitionerOf(ada).id).toBe(practitionerOf({ ...ada, keyName: 'other-key' }).id);
    expect(practitionerOf(ada).id).not.toBe(practitionerOf(bob).id);
  });

  it('does nothing when the same clinician signs the same text again, amends on a new text or another signer', () => {
    const p = practitionerOf(ada);
    const final = { ...signedReport(preliminary(), p, AT).report, meta: { versionId: '2' } };
    expect(signedReport(final, p, AT, `  ${final.conclusion}  `).outcome).toBe('unchanged');
    const edited = signedReport(final, p, AT, 'Moderate NPDR right eye confirmed.');
    expect(edited).toMatchObject({ outcome: 'amended', report: { status: 'amended', conclusion: 'Moderate NPDR right eye confirmed.' } });
    // The AI's HTML no longer says what was signed: the text form is rewritten, the HTML dropped, images kept.
    expect(edited.report.presentedForm!.map((f) => f.contentType)).toEqual(['text/plain; charset=utf-8']);
    expect(Buffer.from(edited.report.presentedForm![0]!.data!, 'base64').toString('utf8')).toBe('Moderate NPDR right eye confirmed.');
    const other = signedReport(final, practitionerOf(bob), AT);
    expect(other).toMatchObject({ outcome: 'amended', report: { status: 'amended' } });
    expect(other.report.resultsInterpreter![0]!.display).toBe('Dr Bob Second');
  });

  it('refuses a cancelled or entered-in-error report', () => {
    expect(() => signedReport({ ...preliminary(), status: 'entered-in-error' }, practitionerOf(ada), AT)).toThrow(SignOffConflict);
    expect(() => signedReport({ ...preliminary(), status: 'cancelled' }, practitionerOf(ada), AT)).toThrow(/cancelled/);
  });

  it('writes one valid Provenance per signed version, found again from the report history', () => {
    const p = practitionerOf(ada);
    const prov = signProvenance('1.2.3', 'dr-1', '2', p, AT, 'signed');
    validate(prov as Resource);
    expect(prov.id).toMatch(/^[A-Za-z0-9.-]{1,64}$/);
    expect(prov.target).toEqual([{ reference: 'DiagnosticReport/dr-1/_history/2' }]);
    expect(prov.agent[0]!.who).toEqual({ reference: `Practitioner/${p.id}`, display: 'Dr Ada Grader' });
    const v1 = preliminary();
    const v2 = { ...signedReport(v1, p, AT).report, meta: { versionId: '2' } };
    const v3 = { ...v2, status: 'amended' as const, resultsInterpreter: undefined, meta: { versionId: '3' } };
    expect(signProvenanceIdsOf('1.2.3', [v3, v2, v1])).toEqual([prov.id]);
  });
});

describe('API keys', () => {
  const sha = (s: string) => createHash('sha256').update(s).digest('hex');
  const keys = [
    { name: 'a', sha256: sha('alpha-key'), scopes: ['report:read' as const] },
    { name: 'b', sha256: sha('beta-key'), scopes: ['report:sign' as const] },
  ];
  it('finds a key by its SHA-256 and nothing for another key', () => {
    expect(findKey(keys, 'beta-key')?.name).toBe('b');
    expect(findKey(keys, 'alpha-key')?.name).toBe('a');
    expect(findKey(keys, 'alpha-key ')).toBeUndefined();
    expect(findKey(keys, sha('alpha-key'))).toBeUndefined();
  });
});
