// Errors of the FHIR listener and how they reach the notifying server: every refusal is an OperationOutcome
// (FHIR R4) with the HTTP status that fits and a message naming the problem.

/** OperationOutcome.issue.code values the listener uses (R4 value set issue-type). */
export type IssueCode = 'invalid' | 'required' | 'too-costly' | 'exception' | 'structure' | 'not-supported' | 'business-rule' | 'not-found' | 'security' | 'processing' | 'transient' | 'informational';

export class NotificationError extends Error {
  constructor(readonly status: number, readonly code: IssueCode, message: string) {
    super(message);
    this.name = 'NotificationError';
  }
}

export interface OperationOutcome {
  resourceType: 'OperationOutcome';
  issue: Array<{ severity: 'fatal' | 'error' | 'warning' | 'information'; code: IssueCode; diagnostics: string }>;
}

export function operationOutcome(message: string, code: IssueCode = 'processing', severity: OperationOutcome['issue'][number]['severity'] = 'error'): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity, code, diagnostics: message }] };
}

// Shorthands for the statuses a notification can get.
export const malformed = (message: string) => new NotificationError(400, 'invalid', message);
export const unprocessable = (message: string, code: IssueCode = 'business-rule') => new NotificationError(422, code, message);
export const unsupportedMediaType = (message: string) => new NotificationError(415, 'not-supported', message);
