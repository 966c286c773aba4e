// Reads a resource back from the FHIR server a notification came from (id-only notifications, Endpoints that
// are referenced rather than contained). Only URLs under a configured sources.fhir base are read, with that
// source's credentials: a notification cannot make OphGate call anywhere else.
import { fhirSourceFor, type FhirSource } from './sources.js';
import { NotificationError, unprocessable } from './outcome.js';

/** Supplies an access token for a source with SMART backend auth (the integrator wires the EHR client's token source). */
export type TokenProvider = (source: FhirSource) => Promise<string>;

export interface ReadResult { resource: unknown; source: FhirSource; url: string }

export class FhirSourceReader {
  constructor(
    private readonly config: Parameters<typeof fhirSourceFor>[0],
    private readonly smartToken?: TokenProvider,
  ) {}

  /** Reads `url` (absolute) as FHIR JSON; refuses (422) a URL outside the configured sources. */
  async read(url: string, what: string): Promise<ReadResult> {
    const match = fhirSourceFor(this.config, url);
    if (!match) {
      throw unprocessable(`${what} ${url.slice(0, 200)} is not under any FHIR server configured in OphGate (sources.fhir); OphGate reads resources only from configured sources`, 'security');
    }
    const { source } = match;
    const headers: Record<string, string> = { Accept: 'application/fhir+json' };
    switch (source.auth.type) {
      case 'none': break;
      case 'bearer': headers.Authorization = `Bearer ${source.auth.token}`; break;
      case 'smart-backend':
        if (!this.smartToken) throw new NotificationError(500, 'not-supported', `sources.fhir.${source.name} uses SMART backend auth, which the FHIR listener cannot use in this build; configure none or bearer`);
        headers.Authorization = `Bearer ${await this.smartToken(source)}`;
        break;
    }
    let res: Response;
    try {
      res = await fetch(url, { headers, redirect: 'error', signal: AbortSignal.timeout(source.timeoutSeconds * 1000) });
    } catch (err) {
      const e = err as Error;
      const why = e.name === 'TimeoutError' ? `no answer within ${source.timeoutSeconds} s` : `${e.message}${(e.cause as Error | undefined)?.message ? ` (${(e.cause as Error).message})` : ''}`;
      throw new NotificationError(502, 'transient', `reading ${what} from sources.fhir.${source.name} failed: ${why}`);
    }
    const text = await res.text();
    if (res.status === 404 || res.status === 410) {
      throw unprocessable(`${what} ${url.slice(0, 200)}: sources.fhir.${source.name} answered HTTP ${res.status} (no such resource)`, 'not-found');
    }
    if (!res.ok) throw new NotificationError(502, 'transient', `reading ${what} from sources.fhir.${source.name} failed: HTTP ${res.status}`);
    try {
      return { resource: JSON.parse(text), source, url };
    } catch {
      throw new NotificationError(502, 'invalid', `sources.fhir.${source.name} answered ${what} with a body that is not JSON`);
    }
  }
}
