// From OphGate's configuration to what the FHIR builders need, and the local ids of the resources a study's
// report always has (the same ids toLocalResources gives them: the uuid of the entry's stable fullUrl).
import type { Config } from '../../config/schema.js';
import { fullUrlOf } from './bundle.js';
import type { FhirContext } from './common.js';
import { reportIdentifier } from './diagnostic-report.js';

export function fhirContextOf(config: Pick<Config, 'fhir'>, publicBaseUrl: string): FhirContext {
  return {
    publicBaseUrl,
    defaultPatientIdentifierSystem: config.fhir.defaultPatientIdentifierSystem,
    issuerNamespace: config.fhir.issuerNamespace,
    issuerSystems: config.fhir.issuerSystems,
  };
}

const uuidOf = (fullUrl: string) => fullUrl.slice('urn:uuid:'.length);

/** The local id of a study's DiagnosticReport (stable: derived from the Study Instance UID). */
export function reportResourceId(studyUid: string): string {
  return uuidOf(fullUrlOf('DiagnosticReport', reportIdentifier(studyUid)));
}
