// Where an ImagingStudy says its images are: the study-level endpoint with connectionType dicom-wado-rs, whose
// address is a DICOMweb service root. The Endpoint may be contained ("#id"), an entry of the notification
// Bundle, or read from the FHIR server the ImagingStudy came from. Series-level endpoints
// (ImagingStudy.series.endpoint) are not consulted: OphGate retrieves whole studies.
import { endpoint as endpointSchema, parseResource, type BundleEntry, type Endpoint, type ImagingStudy } from './resources.js';
import type { FhirSourceReader } from './fhir-read.js';
import { isAbsoluteUrl } from './sources.js';
import { unprocessable } from './outcome.js';

export const ENDPOINT_CONNECTION_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type';
export const WADO_RS_CONNECTION = 'dicom-wado-rs';

export interface EndpointContext {
  /** Entries of the notification Bundle the ImagingStudy came in. */
  entries?: BundleEntry[];
  /** The ImagingStudy's absolute URL on its FHIR server, against which relative references resolve. */
  studyUrl?: string;
  /** Reads referenced Endpoints from a configured FHIR source. */
  reader?: FhirSourceReader;
}

/** The FHIR service base of an absolute resource URL (…/ImagingStudy/{id}[/_history/{v}] → …). */
export function serviceBaseOf(resourceUrl: string): string | undefined {
  const m = /^(https?:\/\/.+?)\/[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}(\/_history\/[A-Za-z0-9\-.]{1,64})?$/.exec(resourceUrl);
  return m?.[1];
}

function isWadoRs(e: Endpoint): boolean {
  const c = e.connectionType;
  return c.code === WADO_RS_CONNECTION && (c.system === undefined || c.system === ENDPOINT_CONNECTION_TYPE_SYSTEM);
}

/** The addresses of the study's WADO-RS endpoints (at least one, else 422). */
export async function wadoRsAddresses(study: ImagingStudy, label: string, ctx: EndpointContext): Promise<string[]> {
  const refs = (study.endpoint ?? []).map((r) => r.reference).filter((r): r is string => Boolean(r));
  if (refs.length === 0) {
    throw unprocessable(`${label} has no endpoint: OphGate needs a study-level Endpoint with connectionType ${WADO_RS_CONNECTION} to know where to retrieve the study (series-level endpoints are not used)`, 'required');
  }
  const base = ctx.studyUrl ? serviceBaseOf(ctx.studyUrl) : undefined;
  const absolute = (ref: string) => (isAbsoluteUrl(ref) ? ref : base && /^Endpoint\//.test(ref) ? `${base}/${ref}` : undefined);

  const local: Endpoint[] = [];
  const remote: string[] = [];
  for (const ref of refs) {
    const found = findLocal(study, ref, absolute(ref), ctx.entries ?? []);
    if (found) local.push(parseResource(endpointSchema, found, `${label}: Endpoint ${ref.slice(0, 100)}`));
    else remote.push(ref);
  }
  let wado = local.filter(isWadoRs);
  if (wado.length === 0) {
    for (const ref of remote) {
      const url = absolute(ref);
      if (!url || !ctx.reader) {
        throw unprocessable(`${label}: endpoint reference ${JSON.stringify(ref.slice(0, 100))} cannot be resolved; contain the Endpoint in the ImagingStudy or include it in the notification Bundle`, 'not-found');
      }
      const read = await ctx.reader.read(url, 'Endpoint');
      local.push(parseResource(endpointSchema, read.resource, `${label}: Endpoint ${url.slice(0, 200)}`));
    }
    wado = local.filter(isWadoRs);
  }
  if (wado.length === 0) {
    throw unprocessable(`${label} has no study-level Endpoint with connectionType ${WADO_RS_CONNECTION} (found: ${local.map((e) => e.connectionType.code ?? '?').join(', ')}); OphGate retrieves studies by WADO-RS only`, 'not-supported');
  }
  return wado.map((e) => e.address);
}

function findLocal(study: ImagingStudy, ref: string, absoluteRef: string | undefined, entries: BundleEntry[]): unknown {
  if (ref.startsWith('#')) {
    const hit = (study.contained ?? []).find((c) => c.id === ref.slice(1));
    if (!hit) throw unprocessable(`endpoint reference ${JSON.stringify(ref.slice(0, 100))} names no contained resource`, 'not-found');
    return hit;
  }
  const byUrl = entries.find((e) => e.resource && e.fullUrl !== undefined && (e.fullUrl === ref || e.fullUrl === absoluteRef));
  if (byUrl) return byUrl.resource;
  const m = /^Endpoint\/([A-Za-z0-9\-.]{1,64})$/.exec(ref);
  if (m) return entries.find((e) => e.resource?.resourceType === 'Endpoint' && e.resource.id === m[1])?.resource;
  return undefined;
}
