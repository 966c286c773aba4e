// Reads a resource back from the FHIR server a notification came from (id-only notifications, Endpoints that
// are referenced rather than contained). Only URLs under a configured sources.fhir base are read, with that
// source's credentials: a notification cannot make OphGate call anywhere else.
import { fhirSourceFor, type FhirSource } from './sources.js';
import { NotificationError, unprocessable } from './outcome.js';
import { tokenSourceFor, type AccessTokenSource } from '../../export/fhir/smart-backend-auth.js';

export interface ReadResult { resource: unknown; source: FhirSource; url: string }

export class FhirSourceReader {
  /** One token source per configured FHIR source, so that SMART tokens are cached across notifications. */
  private readonly tokens = new Map<string, AccessTokenSource>();

  constructor(private readonly config: Parameters<typeof fhirSourceFor>[0]) {}

  private tokenSource(source: FhirSource): AccessTokenSource {
    let t = this.tokens.get(source.name);
    if (!t) this.tokens.set(source.name, (t = tokenSourceFor(source.auth, { timeoutSeconds: source.timeoutSeconds })));
    return t;
  }

  /** Reads `url` (absolute) as FHIR JSON; refuses (422) a URL outside the configured sources. */
  async read(url: string, what: string): Promise<ReadResult> {
    const match = fhirSourceFor(this.config, url);
    if (!match) {
      throw unprocessable(`${what} ${url.slice(0, 200)} is not under any FHIR server configured in OphGate (sources.fhir); OphGate reads resources only from configured sources`, 'security');
    }
    const { source } = match;
    const tokens = this.tokenSource(source);
    let res = await this.get(url, what, source, tokens);
    // A SMART token the server no longer takes (revoked, expired early): one fresh token, one more try.
    if (res.status === 401 && tokens.smart) {
      await res.body?.cancel();
      tokens.smart.invalidate();
      res = await this.get(url, what, source, tokens);
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

  private async get(url: string, what: string, source: FhirSource, tokens: AccessTokenSource): Promise<Response> {
    const headers: Record<string, string> = { Accept: 'application/fhir+json' };
    try {
      const token = await tokens();
      if (token) headers.Authorization = `Bearer ${token}`;
    } catch (err) {
      throw new NotificationError(502, 'transient', `reading ${what} from sources.fhir.${source.name}: no access token: ${(err as Error).message}`);
    }
    try {
      return await fetch(url, { headers, redirect: 'error', signal: AbortSignal.timeout(source.timeoutSeconds * 1000) });
    } catch (err) {
      const e = err as Error;
      const why = e.name === 'TimeoutError' ? `no answer within ${source.timeoutSeconds} s` : `${e.message}${(e.cause as Error | undefined)?.message ? ` (${(e.cause as Error).message})` : ''}`;
      throw new NotificationError(502, 'transient', `reading ${what} from sources.fhir.${source.name} failed: ${why}`);
    }
  }
}
