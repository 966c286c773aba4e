// A clinician's sign-off of a study's report (POST /api/studies/{study}/report/sign): the DiagnosticReport
// becomes final (first signature) or amended (any later change), names the signer in resultsInterpreter, and a
// Provenance records who verified which version. Every version stays in the store's history (GET /fhir/...
// /_history), and the fhir-export stage sends the result to the EHR.
import { createHash } from 'node:crypto';
import type { Attachment, DiagnosticReport, Practitioner, Provenance, Reference } from '@medplum/fhirtypes';
import { fullUrlOf } from './fhir/bundle.js';
import { DATA_OPERATION, PARTICIPANT_TYPE } from './fhir/provenance.js';

export interface Signer {
  /** The API key's name (for the audit log; never the key). */
  keyName: string;
  practitioner: { name: string; identifierSystem: string; identifierValue: string };
}

export type SignOutcome = 'signed' | 'amended' | 'unchanged';

/** Why a report cannot be signed now (the route answers 409). */
export class SignOffConflict extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SignOffConflict';
  }
}

export function practitionerOf(signer: Signer): Practitioner {
  const identifier = { system: signer.practitioner.identifierSystem, value: signer.practitioner.identifierValue };
  return {
    resourceType: 'Practitioner',
    id: fullUrlOf('Practitioner', identifier).slice('urn:uuid:'.length),
    identifier: [identifier],
    active: true,
    name: [{ text: signer.practitioner.name }],
  };
}

/**
 * The report as signed. First signature: preliminary -> final. A signed report signed again with a new
 * conclusion, or by someone else, or one a re-analysis amended: -> amended. Signed again by the same clinician
 * without change: unchanged (a repeated request does nothing).
 */
export function signedReport(current: DiagnosticReport, practitioner: Practitioner, at: string, conclusion?: string): { report: DiagnosticReport; outcome: SignOutcome } {
  if (current.status === 'cancelled' || current.status === 'entered-in-error') throw new SignOffConflict(`the report is ${current.status}`);
  const interpreter: Reference<Practitioner> = { reference: `Practitioner/${practitioner.id}`, display: practitioner.name?.[0]?.text ?? '' };
  const wasSigned = current.status === 'final' || current.status === 'amended' || current.status === 'corrected';
  const sameSigner = (current.resultsInterpreter ?? []).some((r) => r.reference === interpreter.reference);
  const newText = conclusion !== undefined && conclusion.trim() !== (current.conclusion ?? '').trim();
  if (wasSigned && sameSigner && !newText) return { report: current, outcome: 'unchanged' };

  const text = newText ? conclusion!.trim() : current.conclusion ?? '';
  const { meta: _meta, ...rest } = current;
  const report: DiagnosticReport = {
    ...rest,
    status: wasSigned ? 'amended' : 'final',
    issued: at,
    resultsInterpreter: [interpreter],
    conclusion: text,
  };
  // The AI's HTML rendering no longer says what was signed once the clinician edited the text; the text/plain form
  // is rewritten, the key images stay.
  if (newText) report.presentedForm = presentedFormFor(current.presentedForm ?? [], text, practitioner, at);
  return { report, outcome: wasSigned ? 'amended' : 'signed' };
}

function presentedFormFor(current: Attachment[], text: string, practitioner: Practitioner, at: string): Attachment[] {
  const images = current.filter((a) => a.contentType?.startsWith('image/'));
  return [
    {
      contentType: 'text/plain; charset=utf-8', language: 'en', data: Buffer.from(text, 'utf8').toString('base64'),
      title: `Fundus photograph report, signed by ${practitioner.name?.[0]?.text ?? 'clinician'}`, creation: at,
    },
    ...images,
  ];
}

/** The Provenance of one signature: who verified which version of the report, when. */
export function signProvenance(studyUid: string, reportId: string, reportVersionId: string, practitioner: Practitioner, at: string, outcome: Exclude<SignOutcome, 'unchanged'>): Provenance {
  return {
    resourceType: 'Provenance',
    id: signProvenanceId(studyUid, reportVersionId),
    target: [{ reference: `DiagnosticReport/${reportId}/_history/${reportVersionId}` }],
    recorded: at,
    activity: {
      coding: [{ system: DATA_OPERATION, code: 'UPDATE', display: 'revise' }],
      text: outcome === 'signed' ? 'Clinician sign-off: report final' : 'Clinician sign-off: report amended',
    },
    agent: [{
      type: { coding: [{ system: PARTICIPANT_TYPE, code: 'verifier', display: 'Verifier' }], text: 'Signing clinician' },
      who: { reference: `Practitioner/${practitioner.id}`, display: practitioner.name?.[0]?.text ?? '' },
    }],
  };
}

/** Client-assigned id of a signature's Provenance ([A-Za-z0-9.-]{1,64}), from the study and the signed version. */
export function signProvenanceId(studyUid: string, reportVersionId: string): string {
  return `ophgate-sign-${createHash('sha256').update(`sign/${studyUid}/${reportVersionId}`).digest('hex').slice(0, 40)}`;
}

/** The ids of every signature Provenance of the study's report, from its version history. */
export function signProvenanceIdsOf(studyUid: string, history: DiagnosticReport[]): string[] {
  return history
    .filter((r) => (r.status === 'final' || r.status === 'amended') && r.resultsInterpreter?.length && r.meta?.versionId)
    .map((r) => signProvenanceId(studyUid, r.meta!.versionId!));
}
