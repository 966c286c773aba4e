// GET /fhir/metadata (R4 http.html#capabilities): what this server is and does. Built from the same tables the
// routes and search use (FHIR_TYPES, the search parameters), so it cannot claim what is not served.
import type { CapabilityStatement } from '@medplum/fhirtypes';
import { OPHGATE_VERSION } from '../../version.js';
import { FHIR_TYPES } from '../../store/fhir-resources.js';
import { capabilitySearchParams } from './search.js';

export const INTERACTIONS = ['read', 'vread', 'history-instance', 'search-type'] as const;

/** The CapabilityStatement of the server at fhirBase (e.g. https://ophgate.example.org/fhir). */
export function capabilityStatement(fhirBase: string, date: string): CapabilityStatement {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date,
    publisher: 'OphGate',
    kind: 'instance',
    software: { name: 'OphGate', version: OPHGATE_VERSION },
    implementation: { description: 'OphGate FHIR R4 read API: the reports OphGate emits, read-only', url: fhirBase },
    fhirVersion: '4.0.1',
    format: ['json'],
    rest: [{
      mode: 'server',
      documentation: 'Read-only. Search: repeated parameters AND, commas OR; _count (default 50, at most 500) and _offset page. '
        + 'Unknown parameters or modifiers answer 400 unless the request has Prefer: handling=lenient. JSON only (406 otherwise).',
      security: { cors: false, description: 'No authentication yet: bind OphGate to loopback or a protected network. OAuth2 scopes and API keys are planned.' },
      resource: FHIR_TYPES.map((type) => ({
        type,
        profile: `http://hl7.org/fhir/StructureDefinition/${type}`,
        interaction: INTERACTIONS.map((code) => ({ code })),
        versioning: 'versioned',
        readHistory: true,
        updateCreate: false,
        conditionalCreate: false,
        conditionalRead: 'not-match',
        conditionalUpdate: false,
        conditionalDelete: 'not-supported',
        searchParam: capabilitySearchParams(type),
      })),
    }],
  };
}
