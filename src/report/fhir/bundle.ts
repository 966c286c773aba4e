// The transaction Bundle that carries a study's report to the EHR. Every entry's fullUrl is a urn:uuid derived
// from its identifier, and every request is conditional on a stable identifier, so sending the same study twice
// updates the same resources instead of creating new ones:
//   Patient           POST, If-None-Exist: identifier=<system>|<PatientID>  (the EHR owns demographics: never overwritten)
//   Endpoint          PUT Endpoint?identifier=urn:ophgate:fhir:endpoint|<dicomweb URL>
//   Device            PUT Device?identifier=urn:ophgate:fhir:device|<model>@<version>
//   ImagingStudy      PUT ImagingStudy?identifier=urn:dicom:uid|urn:oid:<StudyInstanceUID>
//   Observation       PUT Observation?identifier=urn:ophgate:fhir:observation|<study>/<SOP instance>/<frame>/<model>/<kind>/<output>
//   DiagnosticReport  PUT DiagnosticReport?identifier=urn:ophgate:fhir:diagnostic-report|<StudyInstanceUID>
//   Provenance        PUT Provenance/<id from the study UID> (R4 Provenance has no identifier to search on)
//   Practitioner      PUT Practitioner?identifier=... (the signer; any other type with an identifier likewise)
// requestFor holds that rule, for this bundle and for re-sending stored resources (local-resources.ts).
import { createHash } from 'node:crypto';
import type { Bundle, BundleEntry, BundleEntryRequest, Identifier, Resource } from '@medplum/fhirtypes';
import type { FindingResult } from '../../inference/finding-result.js';
import { fhirDateTime, stableUuid, str, tokenParam, type FhirContext } from './common.js';
import { buildDevice, type ModelInfo } from './device.js';
import { buildDiagnosticReport, type KeyImage } from './diagnostic-report.js';
import { TAG as STUDY_TAG, buildEndpoint, buildImagingStudy, studyUidOf, type StudyInput } from './imaging-study.js';
import { buildObservations, type ImageFindings } from './observations.js';
import { buildPatient } from './patient.js';
import { buildComparisonObservations, type ComparisonInput } from './comparison.js';
import { buildProvenance } from './provenance.js';

export interface ReportBundleInput {
  study: StudyInput;
  /** Every analysed frame with every model's findings on it. */
  images: ImageFindings[];
  narrative: string;
  narrativeSource?: string;
  /** When OphGate produced the results (FHIR instant, e.g. new Date().toISOString()); passed in so that the
   * bundle is a pure function of its input. */
  issued: string;
  /** The same patient's earlier analysed study, compared per eye (one Observation per eye). */
  comparison?: ComparisonInput;
  /** Per eye the photograph with the lesion overlay, for the rendered report (src/report/key-image.ts). */
  keyImages?: KeyImage[];
}

/** The urn:uuid of the entry of a resource type with this identifier: the same for every send of the study. */
export function fullUrlOf(type: string, id: Identifier): string {
  return stableUuid(type, id.system ?? '', id.value ?? '');
}

/** Provenance's client-assigned id ([A-Za-z0-9.-]{1,64}): a letter first, as some servers require. */
export function provenanceId(studyUid: string): string {
  return `ophgate-${createHash('sha256').update(`provenance/${studyUid}`).digest('hex').slice(0, 40)}`;
}

/**
 * How a resource travels in a transaction: the one rule for buildReportBundle and for re-sending stored resources
 * (local-resources.ts toTransactionBundle). Patient is created only if none has its identifier; Provenance is put
 * by its client-assigned id; every other type (Practitioner included) is updated on its first identifier.
 */
export function requestFor(resource: Resource): BundleEntryRequest {
  const type = resource.resourceType;
  if (type === 'Provenance') {
    if (!resource.id) throw new Error('Provenance has no id to put it by');
    return { method: 'PUT', url: `Provenance/${resource.id}` };
  }
  const id = (resource as { identifier?: Identifier[] }).identifier?.[0];
  if (!id?.system || !id.value) throw new Error(`${type} has no identifier to ${type === 'Patient' ? 'create it conditionally on' : 'update on'}`);
  const search = `identifier=${tokenParam(id.system, id.value)}`;
  return type === 'Patient' ? { method: 'POST', url: 'Patient', ifNoneExist: search } : { method: 'PUT', url: `${type}?${search}` };
}

/** Whether the entry of this request is addressed by its urn:uuid fullUrl (conditional) rather than by id. */
export function isConditional(request: BundleEntryRequest): boolean {
  return request.method === 'POST' || request.url.includes('?');
}

function conditionalEntry(resource: Resource & { identifier?: Identifier[] }): BundleEntry {
  const request = requestFor(resource);
  return { fullUrl: fullUrlOf(resource.resourceType, resource.identifier![0]!), resource, request };
}

export function buildReportBundle(input: ReportBundleInput, ctx: FhirContext): Bundle {
  const { study } = input.study;
  const studyUid = studyUidOf(study);
  const effective = fhirDateTime(str(study, STUDY_TAG.studyDate), str(study, STUDY_TAG.studyTime), str(study, STUDY_TAG.tz));

  const patient = buildPatient(study, ctx);
  const patientEntry = conditionalEntry(patient);
  const endpointEntry = conditionalEntry(buildEndpoint(ctx));

  // One Device per model version seen in the findings, in a stable order.
  const models = new Map<string, ModelInfo>();
  for (const img of input.images) for (const f of img.findings) models.set(`${f.model.name}@${f.model.version}`, f.model);
  const deviceEntries = [...models.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([key, model]) => ({ key, model, entry: conditionalEntry(buildDevice(model)) }));
  const devices = Object.fromEntries(deviceEntries.map((d) => [d.key, d.entry.fullUrl!]));

  const studyEntry = conditionalEntry(buildImagingStudy(input.study, { patient: patientEntry.fullUrl!, endpoint: endpointEntry.fullUrl! }));
  const refs = { patient: patientEntry.fullUrl!, imagingStudy: studyEntry.fullUrl!, devices };
  const observationEntries = input.images.flatMap((img) =>
    buildObservations(img, { studyUid, ...(effective ? { effective } : {}), issued: input.issued, refs }).map(conditionalEntry));
  if (input.comparison) {
    observationEntries.push(...buildComparisonObservations(input.comparison, { studyUid, ...(effective ? { effective } : {}), issued: input.issued, refs }).map(conditionalEntry));
  }

  const findings: FindingResult[] = input.images.flatMap((img) => img.findings);
  const reportEntry = conditionalEntry(buildDiagnosticReport(
    { studyUid, ...(effective ? { effective } : {}), issued: input.issued, narrative: input.narrative, ...(input.narrativeSource ? { narrativeSource: input.narrativeSource } : {}), findings,
      ...(input.keyImages?.length ? { keyImages: input.keyImages } : {}) },
    { patient: refs.patient, imagingStudy: refs.imagingStudy, observations: observationEntries.map((e) => e.fullUrl!) },
  ));

  const entry: BundleEntry[] = [patientEntry, endpointEntry, ...deviceEntries.map((d) => d.entry), studyEntry, ...observationEntries, reportEntry];
  // Provenance needs at least one agent: without any model there is nothing to attribute.
  if (deviceEntries.length) {
    const id = provenanceId(studyUid);
    const provenance = { ...buildProvenance(input.issued, {
      targets: [reportEntry.fullUrl!, ...observationEntries.map((e) => e.fullUrl!)],
      imagingStudy: studyEntry.fullUrl!,
      devices: deviceEntries.map((d) => ({ model: d.model, fullUrl: d.entry.fullUrl! })),
    }), id };
    entry.push({ resource: provenance, request: requestFor(provenance) });
  }
  return { resourceType: 'Bundle', type: 'transaction', entry };
}
