// Access tokens for the EHR's FHIR server. SMART Backend Services (HL7 SMART App Launch 2.x, "Backend Services"):
// OphGate authenticates with a signed JWT (private_key_jwt, RFC 7523 section 2.2) in a client_credentials grant
// (RFC 6749 section 4.4) and caches the access token until shortly before it expires. Neither the token nor the key
// ever goes into an error message or a log line.
import { createPrivateKey, randomUUID, sign, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { FhirAuthConfig } from '../../config/schema.js';

export type SmartAlgorithm = 'RS384' | 'ES384';

export interface SmartBackendOptions {
  tokenUrl: string;
  clientId: string;
  /** A KeyObject, a PEM string, or a function that loads one (read once, on first use). */
  privateKey: KeyObject | string | (() => Promise<KeyObject | string>);
  keyId: string;
  algorithm: SmartAlgorithm;
  scope: string;
  /** Limit for one token request (default 30 s). */
  timeoutSeconds?: number;
  /** Milliseconds since the epoch; tests move the clock. */
  now?: () => number;
}

/** A token request that failed; the message names the token URL and the server's error, never a secret. */
export class TokenRequestError extends Error {
  override readonly name = 'TokenRequestError';
  constructor(
    message: string,
    readonly tokenUrl: string,
    /** Worth trying again later: network errors, timeouts, 408, 429, 5xx. */
    readonly retryable: boolean,
    readonly status?: number,
    /** The OAuth error code the server answered (RFC 6749 section 5.2), e.g. invalid_client. */
    readonly oauthError?: string,
  ) {
    super(message);
  }
}

/** The assertion's lifetime: SMART Backend Services asks for exp no more than five minutes ahead. */
const ASSERTION_SECONDS = 240;
/** SMART's recommended access token lifetime, assumed when the server leaves expires_in out. */
const DEFAULT_EXPIRES_IN = 300;

const tokenResponse = z.object({
  access_token: z.string().min(1),
  token_type: z.string().refine((t) => t.toLowerCase() === 'bearer', 'token_type must be bearer'),
  expires_in: z.number().positive().optional(),
  scope: z.string().optional(),
});

const b64url = (v: Buffer | string) => Buffer.from(v).toString('base64url');

/**
 * The client assertion JWT (RFC 7523 section 3; SMART Backend Services "Protocol details"): header alg, kid,
 * typ JWT; claims iss = sub = client_id, aud = the token URL, exp, jti.
 */
export function clientAssertion(opts: { tokenUrl: string; clientId: string; keyId: string; algorithm: SmartAlgorithm }, key: KeyObject, nowMs: number): string {
  const header = { alg: opts.algorithm, kid: opts.keyId, typ: 'JWT' };
  const now = Math.floor(nowMs / 1000);
  const claims = { iss: opts.clientId, sub: opts.clientId, aud: opts.tokenUrl, exp: now + ASSERTION_SECONDS, jti: randomUUID() };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  // JWS (RFC 7518 section 3.4) wants ECDSA signatures as the raw r||s pair, not DER.
  const signature = opts.algorithm === 'ES384'
    ? sign('sha384', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
    : sign('sha384', Buffer.from(input), key);
  return `${input}.${b64url(signature)}`;
}

/** Refuses a key that cannot make the configured algorithm's signature (a clear error instead of a server's invalid_client). */
function checkKey(key: KeyObject, algorithm: SmartAlgorithm): void {
  if (key.type !== 'private') throw new Error(`the SMART private key is a ${key.type} key, not a private key`);
  if (algorithm === 'RS384' && key.asymmetricKeyType !== 'rsa') {
    throw new Error(`RS384 needs an RSA private key, the configured key is ${key.asymmetricKeyType}`);
  }
  if (algorithm === 'ES384' && (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'secp384r1')) {
    throw new Error(`ES384 needs an EC P-384 private key, the configured key is ${key.asymmetricKeyType} ${key.asymmetricKeyDetails?.namedCurve ?? ''}`.trimEnd());
  }
}

export interface TokenInfo {
  token: string;
  /** True when it came from the cache rather than a request just made. */
  cached: boolean;
}

/** One client's access tokens: cached until shortly before expiry, one request in flight shared by every caller. */
export class SmartBackendTokenSource {
  private key?: KeyObject;
  private current?: { token: string; refreshAt: number };
  private inFlight?: Promise<string>;
  private readonly now: () => number;

  constructor(private readonly opts: SmartBackendOptions) {
    this.now = opts.now ?? Date.now;
  }

  get tokenUrl(): string {
    return this.opts.tokenUrl;
  }

  async getToken(): Promise<string> {
    return (await this.getTokenInfo()).token;
  }

  async getTokenInfo(): Promise<TokenInfo> {
    if (this.current && this.now() < this.current.refreshAt) return { token: this.current.token, cached: true };
    this.inFlight ??= this.requestToken().finally(() => { this.inFlight = undefined; });
    return { token: await this.inFlight, cached: false };
  }

  /** Forgets the cached token (the resource server refused it), unless a newer one has replaced it already. */
  invalidate(token?: string): void {
    if (!token || this.current?.token === token) this.current = undefined;
  }

  private async loadKey(): Promise<KeyObject> {
    if (this.key) return this.key;
    try {
      const source = typeof this.opts.privateKey === 'function' ? await this.opts.privateKey() : this.opts.privateKey;
      const key = typeof source === 'string' ? createPrivateKey(source) : source;
      checkKey(key, this.opts.algorithm);
      this.key = key;
      return key;
    } catch (err) {
      // A configuration problem: retrying will not help. crypto's messages name the problem, not the key's bytes.
      throw new TokenRequestError(`cannot sign the client assertion for ${this.opts.tokenUrl}: ${(err as Error).message}`, this.opts.tokenUrl, false);
    }
  }

  private async requestToken(): Promise<string> {
    const { tokenUrl } = this.opts;
    const key = await this.loadKey();
    const started = this.now();
    const body = new URLSearchParams({
      grant_type: 'client_credentials',
      scope: this.opts.scope,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: clientAssertion(this.opts, key, started),
    });
    let res: Response;
    try {
      res = await fetch(tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body,
        signal: AbortSignal.timeout((this.opts.timeoutSeconds ?? 30) * 1000),
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      const why = e.name === 'TimeoutError' ? `no answer within ${this.opts.timeoutSeconds ?? 30} s` : (e.cause?.code ?? e.cause?.message ?? e.message);
      throw new TokenRequestError(`token request to ${tokenUrl} failed: ${why}`, tokenUrl, true);
    }
    const text = await res.text().catch(() => '');
    let json: unknown;
    try { json = JSON.parse(text); } catch { json = undefined; }
    if (!res.ok) {
      const o = (json && typeof json === 'object' ? json : {}) as { error?: unknown; error_description?: unknown };
      const code = typeof o.error === 'string' ? o.error : undefined;
      const desc = typeof o.error_description === 'string' ? o.error_description : undefined;
      const what = code ? `${code}${desc ? ` (${desc})` : ''}` : (text.slice(0, 200) || 'no body');
      const retryable = res.status === 408 || res.status === 429 || res.status >= 500;
      throw new TokenRequestError(`token request to ${tokenUrl} refused: HTTP ${res.status} ${what}`, tokenUrl, retryable, res.status, code);
    }
    const parsed = tokenResponse.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new TokenRequestError(`token response from ${tokenUrl} is not usable: ${issue ? `${issue.path.join('.') || 'body'}: ${issue.message}` : 'not JSON'}`, tokenUrl, false, res.status);
    }
    const lifetime = parsed.data.expires_in ?? DEFAULT_EXPIRES_IN;
    // Renew a little early (a fifth of the lifetime, at most 30 s) so a request never leaves with a token about to lapse.
    const margin = Math.min(30, lifetime / 5);
    this.current = { token: parsed.data.access_token, refreshAt: started + (lifetime - margin) * 1000 };
    return parsed.data.access_token;
  }
}

/** Where a sender gets the Authorization header's token; undefined sends none. */
export interface AccessTokenSource {
  (): Promise<string | undefined>;
  /** The SMART source behind it, when there is one (for a fresh token after a 401). */
  readonly smart?: SmartBackendTokenSource;
}

/** The token source a FHIR auth configuration asks for: none, a fixed bearer token, or SMART Backend Services. */
export function tokenSourceFor(auth: FhirAuthConfig, opts: { timeoutSeconds?: number } = {}): AccessTokenSource {
  switch (auth.type) {
    case 'none':
      return Object.assign(async () => undefined, {});
    case 'bearer': {
      const { token } = auth;
      return Object.assign(async () => token, {});
    }
    case 'smart-backend': {
      const file = auth.privateKeyFile;
      const smart = new SmartBackendTokenSource({
        tokenUrl: auth.tokenUrl,
        clientId: auth.clientId,
        keyId: auth.keyId,
        algorithm: auth.algorithm,
        scope: auth.scope,
        timeoutSeconds: opts.timeoutSeconds,
        privateKey: async () => {
          try {
            return await readFile(file, 'utf8');
          } catch (err) {
            throw new Error(`cannot read the SMART private key file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
          }
        },
      });
      return Object.assign(() => smart.getToken(), { smart });
    }
  }
}
