// Sends a study's report (a FHIR R4 transaction Bundle, src/report/fhir/bundle.ts) to the EHR's FHIR server with
// fhir-kit-client, and says whether a failure is worth retrying. Never throws for what the server or the network
// does: the caller (the pipeline's retry and dead-letter) decides from the result. See README.md here.
import { Client, type FhirResource } from 'fhir-kit-client';
import type { Bundle, BundleEntry, OperationOutcome } from '@medplum/fhirtypes';
import type { Config } from '../../config/schema.js';
import { TokenRequestError, tokenSourceFor, type AccessTokenSource } from './smart-backend-auth.js';

export type FhirDestinationConfig = NonNullable<Config['fhir']['destination']>;

export type FhirSendResult =
  | { ok: true; response: Bundle }
  | { ok: false; retryable: boolean; status?: number; error: string };

/** Statuses that say "later may work": 408 Request Timeout, 429 Too Many Requests, every 5xx. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

const MAX_ERROR = 1000;

/** The text of an OperationOutcome's issues (diagnostics, else details.text, else the code), or undefined. */
export function outcomeText(body: unknown): string | undefined {
  const oo = body as Partial<OperationOutcome> | undefined;
  if (!oo || typeof oo !== 'object' || oo.resourceType !== 'OperationOutcome' || !Array.isArray(oo.issue)) return undefined;
  const parts = oo.issue.map((i) => [i.severity, i.diagnostics ?? i.details?.text ?? i.code].filter(Boolean).join(': '));
  return parts.length ? parts.join('; ') : undefined;
}

interface HttpError extends Error {
  response?: { status?: number; data?: unknown };
  cause?: { code?: string; message?: string };
}

export class FhirSender {
  private readonly client: Client;
  private readonly tokens: AccessTokenSource;
  /** For errors and logs: the base URL only, never credentials. */
  readonly description: string;

  constructor(private readonly config: FhirDestinationConfig, options: { tokenSource?: AccessTokenSource } = {}) {
    this.client = new Client({ baseUrl: config.url });
    this.tokens = options.tokenSource ?? tokenSourceFor(config.auth, { timeoutSeconds: config.timeoutSeconds });
    this.description = `FHIR ${config.url}`;
  }

  /** POSTs the transaction to the base URL; the result says whether it was applied and, if not, whether to retry. */
  async send(bundle: Bundle, signal?: AbortSignal): Promise<FhirSendResult> {
    if (bundle.resourceType !== 'Bundle' || bundle.type !== 'transaction') {
      return { ok: false, retryable: false, error: `not a transaction Bundle (${bundle.resourceType} ${bundle.type ?? ''})`.trimEnd() };
    }
    let first = await this.attempt(bundle, signal);
    // A cached SMART token the server no longer accepts (revoked, server restarted): one more try with a fresh one.
    if (!first.result.ok && first.result.status === 401 && first.cachedSmartToken && this.tokens.smart) {
      this.tokens.smart.invalidate(first.token);
      first = await this.attempt(bundle, signal);
    }
    const r = first.result;
    // A 401 with a token just issued (or with a fixed one) is a configuration problem, not a passing one.
    if (!r.ok && r.status === 401) return { ...r, retryable: false };
    return r;
  }

  private async attempt(bundle: Bundle, signal?: AbortSignal): Promise<{ result: FhirSendResult; token?: string; cachedSmartToken?: boolean }> {
    let token: string | undefined;
    let cachedSmartToken = false;
    try {
      if (this.tokens.smart) {
        const info = await this.tokens.smart.getTokenInfo();
        token = info.token;
        cachedSmartToken = info.cached;
      } else {
        token = await this.tokens();
      }
    } catch (err) {
      if (err instanceof TokenRequestError) {
        return { result: { ok: false, retryable: err.retryable, error: `authentication failed: ${err.message}` } };
      }
      return { result: { ok: false, retryable: false, error: `authentication failed: ${(err as Error).message}` } };
    }
    const timeout = AbortSignal.timeout(this.config.timeoutSeconds * 1000);
    const headers: Record<string, string> = { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    let response: unknown;
    try {
      response = await this.client.transaction({
        body: bundle as unknown as FhirResource,
        options: { headers, signal: signal ? AbortSignal.any([signal, timeout]) : timeout },
      });
    } catch (err) {
      return { result: this.classify(err as HttpError, timeout, signal), token, cachedSmartToken };
    }
    return { result: checkTransactionResponse(bundle, response), token, cachedSmartToken };
  }

  private classify(err: HttpError, timeout: AbortSignal, signal?: AbortSignal): FhirSendResult {
    const status = err.response?.status;
    if (typeof status === 'number') {
      const data = err.response?.data;
      const text = outcomeText(data) ?? (typeof data === 'string' && data ? data.slice(0, 300) : undefined);
      if (status >= 200 && status < 300) {
        return { ok: false, retryable: false, status, error: `${this.description} answered ${status} with a body that is not FHIR JSON` };
      }
      return {
        ok: false,
        retryable: isRetryableStatus(status),
        status,
        error: truncate(`${this.description} answered HTTP ${status}${text ? `: ${text}` : ''}`),
      };
    }
    if (signal?.aborted) return { ok: false, retryable: true, error: `sending to ${this.description} was cancelled` };
    if (timeout.aborted || err.name === 'TimeoutError') {
      return { ok: false, retryable: true, error: `${this.description} did not answer within ${this.config.timeoutSeconds} s` };
    }
    const why = err.cause?.code ?? err.cause?.message ?? err.message;
    return { ok: false, retryable: true, error: `cannot reach ${this.description}: ${why}` };
  }
}

function truncate(s: string): string {
  return s.length > MAX_ERROR ? `${s.slice(0, MAX_ERROR)}…` : s;
}

/**
 * A 2xx answer is only a success when it is the transaction-response the request asked for, with one entry per
 * request entry and every entry's response.status 2xx (FHIR R4 http.html#transaction-response). Entries are named
 * by position and resource type only: the conditional URLs carry patient identifiers.
 */
export function checkTransactionResponse(request: Bundle, response: unknown): FhirSendResult {
  const b = response as Partial<Bundle> | undefined;
  if (!b || b.resourceType !== 'Bundle' || b.type !== 'transaction-response') {
    const what = b && typeof b === 'object' ? `${String(b.resourceType)} ${String(b.type ?? '')}`.trimEnd() : typeof b;
    return { ok: false, retryable: false, error: `the FHIR server did not answer with a transaction-response Bundle (got ${what})` };
  }
  const entries: BundleEntry[] = b.entry ?? [];
  const expected = request.entry?.length ?? 0;
  if (entries.length !== expected) {
    return { ok: false, retryable: false, error: `the transaction-response has ${entries.length} entries for ${expected} requests` };
  }
  const failed: string[] = [];
  const statuses: number[] = [];
  entries.forEach((e, i) => {
    const status = Number(/^\s*(\d{3})/.exec(e.response?.status ?? '')?.[1] ?? NaN);
    if (status >= 200 && status < 300) return;
    statuses.push(status);
    const type = request.entry?.[i]?.resource?.resourceType ?? 'entry';
    const detail = outcomeText(e.response?.outcome);
    failed.push(`entry ${i} (${type} ${request.entry?.[i]?.request?.method ?? ''}) ${e.response?.status ?? 'without a status'}${detail ? `: ${detail}` : ''}`);
  });
  if (failed.length) {
    // Retrying helps only when every failed entry failed for a passing reason.
    const lasting = statuses.find((st) => !(Number.isFinite(st) && isRetryableStatus(st)));
    const status = lasting ?? statuses[0];
    return {
      ok: false,
      retryable: lasting === undefined,
      status: status !== undefined && Number.isFinite(status) ? status : undefined,
      error: truncate(`${failed.length} of ${entries.length} transaction entries failed: ${failed.join('; ')}`),
    };
  }
  return { ok: true, response: b as Bundle };
}
