// A real OAuth 2.0 authorization server on loopback for tests: oidc-provider 9 (panva), with one SMART backend
// client that authenticates with private_key_jwt (RFC 7523) in the client_credentials grant. Its key pairs (RSA 2048
// for RS384, EC P-384 for ES384) are generated per run; the server holds only the public JWKs.
// oidc-provider 9 warns that Node 20 is not a supported runtime; the parts used here (token endpoint, client
// authentication, opaque access tokens in its memory adapter) work on it, as these tests show.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import Provider from 'oidc-provider';

export type KeyAlgorithm = 'RS384' | 'ES384';

export interface OAuthTestServer {
  issuer: string;
  tokenUrl: string;
  clientId: string;
  /** The client's private key for an algorithm, PEM (PKCS#8). */
  privateKeyPem(alg: KeyAlgorithm): string;
  /** The kid of the client's public key for an algorithm, as registered. */
  keyId(alg: KeyAlgorithm): string;
  /** True when this server issued the token, it has not expired, it is the test client's and it carries the scope. */
  verify(token: string, scope?: string): Promise<boolean>;
  /** POSTs to the token endpoint so far (accepted or not). */
  readonly tokenRequests: number;
  stop(): Promise<void>;
}

export const SMART_SCOPES = ['system/*.write', 'system/*.read'];

function keyPair(alg: KeyAlgorithm): { privateKey: KeyObject; publicKey: KeyObject } {
  return alg === 'RS384'
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : generateKeyPairSync('ec', { namedCurve: 'P-384' });
}

export async function startOAuthServer(opts: { clientId?: string; accessTokenSeconds?: number } = {}): Promise<OAuthTestServer> {
  const clientId = opts.clientId ?? 'ophgate-test';
  const keys = {
    RS384: { ...keyPair('RS384'), kid: 'ophgate-rs384' },
    ES384: { ...keyPair('ES384'), kid: 'ophgate-es384' },
  };
  const publicJwk = (alg: KeyAlgorithm) => ({ ...keys[alg].publicKey.export({ format: 'jwk' }), kid: keys[alg].kid, alg, use: 'sig' });
  // The provider's own signing key (it signs nothing these tests read, but without one it uses an insecure dev key).
  const providerKey = { ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }), kid: 'provider', alg: 'RS256', use: 'sig' };

  let tokenRequests = 0;
  let handler: ReturnType<Provider['callback']> | undefined;
  // Listen first: the issuer URL (and so the token URL a client assertion's aud must name) contains the port.
  const server = createServer((req, res) => {
    if (req.method === 'POST' && req.url?.startsWith('/token')) tokenRequests += 1;
    if (!handler) { res.writeHead(503).end(); return; }
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      token_endpoint_auth_method: 'private_key_jwt',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: SMART_SCOPES.join(' '),
      jwks: { keys: [publicJwk('RS384'), publicJwk('ES384')] },
    }],
    scopes: SMART_SCOPES,
    jwks: { keys: [providerKey] },
    features: {
      clientCredentials: { enabled: true },
      devInteractions: { enabled: false },
    },
    // SMART Backend Services asks servers to support RS384 and ES384 client assertions.
    enabledJWA: { clientAuthSigningAlgValues: ['RS384', 'ES384'] },
    clientBasedCORS: () => false,
    cookies: { keys: [randomBytes(32).toString('hex')] },
    ttl: { ClientCredentials: opts.accessTokenSeconds ?? 300 },
  });
  handler = provider.callback();

  return {
    issuer,
    tokenUrl: `${issuer}/token`,
    clientId,
    privateKeyPem: (alg) => keys[alg].privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    keyId: (alg) => keys[alg].kid,
    async verify(token, scope = 'system/*.write') {
      const t = await provider.ClientCredentials.find(token);
      return !!t && !t.isExpired && t.clientId === clientId && (t.scope ?? '').split(' ').includes(scope);
    },
    get tokenRequests() { return tokenRequests; },
    stop: () => new Promise<void>((resolve, reject) => {
      server.closeAllConnections();
      server.close((err) => (err ? reject(err) : resolve()));
    }),
  };
}
