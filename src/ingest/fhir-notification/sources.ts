// The configured-sources rule: OphGate fetches only from services named in its configuration. A DICOMweb
// endpoint address must equal a configured sources.dicomweb URL (trailing slashes aside: no prefix, host or
// case games); a FHIR URL OphGate reads an ImagingStudy or Endpoint from must lie under a configured
// sources.fhir base, at a path-segment boundary.
import type { Config, FhirAuthConfig } from '../../config/schema.js';

export interface DicomwebSource { name: string; url: string; bearerToken?: string; timeoutSeconds: number }
export interface FhirSource { name: string; url: string; auth: FhirAuthConfig; timeoutSeconds: number }

const trimSlashes = (url: string) => url.replace(/\/+$/, '');

/** The configured DICOMweb source whose URL is exactly `address` (trailing slashes aside), if any. */
export function dicomwebSourceFor(config: Pick<Config, 'sources'>, address: string): DicomwebSource | undefined {
  const wanted = trimSlashes(address.trim());
  for (const [name, s] of Object.entries(config.sources.dicomweb)) {
    if (trimSlashes(s.url) === wanted) return { name, url: trimSlashes(s.url), bearerToken: s.bearerToken, timeoutSeconds: s.timeoutSeconds };
  }
  return undefined;
}

/** The configured FHIR source that `url` (absolute) lies under, with the URL's path below the base; undefined if none. */
export function fhirSourceFor(config: Pick<Config, 'sources'>, url: string): { source: FhirSource; path: string } | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.username || parsed.password || parsed.search || parsed.hash) return undefined;
  // new URL() resolves dot segments, so "base/../elsewhere" cannot pass the boundary check below.
  const href = parsed.href;
  for (const [name, s] of Object.entries(config.sources.fhir)) {
    const base = trimSlashes(new URL(s.url).href);
    if (href.startsWith(base + '/')) {
      return { source: { name, url: base, auth: s.auth, timeoutSeconds: s.timeoutSeconds }, path: href.slice(base.length + 1) };
    }
  }
  return undefined;
}

/** Whether a reference is an absolute http(s) URL. */
export function isAbsoluteUrl(ref: string): boolean {
  return /^https?:\/\//i.test(ref);
}
