// Sending a study's report to an EHR's FHIR server (issue 5 item 3), against real servers on loopback: Medplum's
// FHIR router (test/helpers/fhir-server.ts) and oidc-provider as the SMART authorization server
// (test/helpers/oauth-server.ts). Faults a real server does not produce on demand (503, 422, silence) come from
// plain node:http servers.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPrivateKey, createPublicKey, generateKeyPairSync, verify as verifySignature } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bundle, Patient, Resource } from '@medplum/fhirtypes';
import { buildReportBundle } from '../../src/report/fhir/bundle.js';
import { FhirSender, type FhirDestinationConfig, type FhirSendResult } from '../../src/export/fhir/fhir-sender.js';
import { SmartBackendTokenSource, clientAssertion, tokenSourceFor } from '../../src/export/fhir/smart-backend-auth.js';
import type { FhirAuthConfig } from '../../src/config/schema.js';
import { startFhirServer, type FhirTestServer } from '../helpers/fhir-server.js';
import { startOAuthServer, type KeyAlgorithm, type OAuthTestServer } from '../helpers/oauth-server.js';
import { STUDY_UID, bundleInput, ctx, studyJson } from '../report/fhir/study.js';

const PATIENT_ID = 'urn:oid:1.2.276.0.7230010.3|PAT-0042';
const STUDY_ID = `urn:dicom:uid|urn:oid:${STUDY_UID}`;
const REPORT_ID = `urn:ophgate:fhir:diagnostic-report|${STUDY_UID}`;

const reportBundle = (): Bundle => buildReportBundle(bundleInput(), ctx);
/** The same study with one image and the classifier only (7 entries, not 45): for tests about auth and errors. */
function smallBundle(): Bundle {
  const input = bundleInput();
  const image = input.images[0]!;
  return buildReportBundle({ ...input, images: [{ ...image, findings: image.findings.slice(0, 1) }] }, ctx);
}

function sender(url: string, auth: FhirAuthConfig = { type: 'none' }, timeoutSeconds = 10): FhirSender {
  const config: FhirDestinationConfig = { url, auth, timeoutSeconds };
  return new FhirSender(config);
}

function expectOk(r: FhirSendResult): Bundle {
  if (!r.ok) throw new Error(`send failed: ${r.error}`);
  return r.response;
}

/** A search over real HTTP against the test server, as an EHR client would read back. */
async function search<T extends Resource>(server: FhirTestServer, type: string, params: Record<string, string>): Promise<T[]> {
  const res = await fetch(`${server.baseUrl}/${type}?${new URLSearchParams(params)}`, { headers: { accept: 'application/fhir+json' } });
  expect(res.status).toBe(200);
  const b = (await res.json()) as Bundle<T>;
  expect(b.type).toBe('searchset');
  return (b.entry ?? []).map((e) => e.resource!);
}

async function countsByType(server: FhirTestServer): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const type of ['Patient', 'Endpoint', 'Device', 'ImagingStudy', 'Observation', 'DiagnosticReport', 'Provenance']) {
    out[type] = (await server.repo.search({ resourceType: type as Resource['resourceType'], count: 1000 })).entry?.length ?? 0;
  }
  return out;
}

const servers: Array<{ stop(): Promise<void> }> = [];
async function track<T extends { stop(): Promise<void> }>(p: Promise<T>): Promise<T> {
  const s = await p;
  servers.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

/** A plain HTTP server for faults: answers with the handler, or never when it returns nothing. */
async function faultServer(handler: (res: import('node:http').ServerResponse) => void): Promise<{ url: string; stop(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => handler(res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`,
    stop: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

describe('FhirSender against a real FHIR server (Medplum fhir-router)', () => {
  it('sends the report transaction; the resources can be searched back by identifier', async () => {
    const fhir = await track(startFhirServer());
    const bundle = reportBundle();
    const response = expectOk(await sender(fhir.baseUrl).send(bundle));
    expect(response.type).toBe('transaction-response');
    expect(response.entry).toHaveLength(bundle.entry!.length);
    expect(response.entry!.every((e) => /^20[01]\b/.test(e.response!.status))).toBe(true);
    expect(response.entry![0]!.response!.status).toMatch(/^201\b/); // the Patient was created

    const [patient, ...morePatients] = await search<Patient>(fhir, 'Patient', { identifier: PATIENT_ID });
    expect(morePatients).toHaveLength(0);
    expect(patient!.name![0]!.family).toBe('Müller');
    expect(await search(fhir, 'ImagingStudy', { identifier: STUDY_ID })).toHaveLength(1);
    const reports = await search(fhir, 'DiagnosticReport', { identifier: REPORT_ID });
    expect(reports).toHaveLength(1);
    // The urn:uuid references were resolved to the server's ids: the report's subject is the Patient found above.
    expect((reports[0] as { subject?: { reference?: string } }).subject?.reference).toBe(`Patient/${patient!.id}`);
    expect(fhir.requests.map((r) => `${r.method} ${r.url}`)).toContain('POST /fhir/');
  });

  it('a re-send updates the same resources: no duplicates, and the EHR\'s Patient is not overwritten', async () => {
    const fhir = await track(startFhirServer());
    const s = sender(fhir.baseUrl);
    expectOk(await s.send(reportBundle()));
    const before = await countsByType(fhir);
    expect(before).toMatchObject({ Patient: 1, ImagingStudy: 1, DiagnosticReport: 1, Provenance: 1, Device: 2, Observation: 38 });

    const base = bundleInput();
    const renamed = buildReportBundle({
      ...base,
      study: { ...base.study, study: studyJson({ '00100010': { vr: 'PN', Value: [{ Alphabetic: 'Renamed^Someone' }] } }) },
    }, ctx);
    const response = expectOk(await s.send(renamed));
    // Every entry matched an existing resource (200), none was created (201).
    expect(response.entry!.map((e) => e.response!.status.slice(0, 3))).toEqual(renamed.entry!.map(() => '200'));
    expect(await countsByType(fhir)).toEqual(before);
    const patients = await search<Patient>(fhir, 'Patient', { identifier: PATIENT_ID });
    expect(patients.map((p) => p.name?.[0]?.family)).toEqual(['Müller']);
  });

  it('reports entries the server refused inside a transaction-response as not ok, not retryable', async () => {
    const fhir = await track(startFhirServer());
    const bundle = reportBundle();
    // The EHR already holds two Devices with the identifier OphGate's conditional update searches for: the update
    // is ambiguous (FHIR R4 http.html#cond-update: multiple matches fail) and the server fails that entry.
    const device = bundle.entry!.find((e) => e.resource?.resourceType === 'Device')!.resource as Resource & { identifier?: unknown };
    for (let i = 0; i < 2; i++) await fhir.repo.createResource({ resourceType: 'Device', identifier: device.identifier } as Resource);
    const r = await sender(fhir.baseUrl).send(bundle);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.retryable).toBe(false);
    // FHIR R4 says 412; Medplum answers 400 with its diagnostics. Either is a lasting 4xx.
    expect(r.status).toBe(400);
    expect(r.error).toMatch(/1 of \d+ transaction entries failed: entry \d+ \(Device PUT\) 400: error: Conditional PUT matched multiple resources/);
    expect(r.error).not.toContain('PAT-0042');
  });
});

describe('FhirSender authentication', () => {
  it('bearer: without the token 401, not retryable; a wrong token likewise; with it the send succeeds', async () => {
    const fhir = await track(startFhirServer({ requireBearer: async (t) => t === 'fixed-token-1' }));
    const none = await sender(fhir.baseUrl).send(smallBundle());
    expect(none).toMatchObject({ ok: false, retryable: false, status: 401 });
    const wrong = await sender(fhir.baseUrl, { type: 'bearer', token: 'fixed-token-2' }).send(smallBundle());
    expect(wrong).toMatchObject({ ok: false, retryable: false, status: 401 });
    expectOk(await sender(fhir.baseUrl, { type: 'bearer', token: 'fixed-token-1' }).send(smallBundle()));
    expect(fhir.requests.map((r) => r.authorization)).toEqual([undefined, 'Bearer fixed-token-2', 'Bearer fixed-token-1']);
    expect(await countsByType(fhir)).toMatchObject({ Patient: 1, DiagnosticReport: 1 });
  });

  it('tokenSourceFor: nothing for none, the fixed token for bearer', async () => {
    expect(await tokenSourceFor({ type: 'none' })()).toBeUndefined();
    expect(await tokenSourceFor({ type: 'bearer', token: 'abc' })()).toBe('abc');
  });
});

describe('SMART Backend Services against oidc-provider', () => {
  let oauth: OAuthTestServer;
  let dir: string;
  beforeAll(async () => {
    oauth = await startOAuthServer();
    dir = mkdtempSync(join(tmpdir(), 'ophgate-smart-'));
  });
  afterAll(async () => {
    await oauth?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function smartAuth(alg: KeyAlgorithm, pem = oauth.privateKeyPem(alg)): FhirAuthConfig {
    const file = join(dir, `${alg}-${Math.random().toString(36).slice(2)}.pem`);
    writeFileSync(file, pem, { mode: 0o600 });
    return { type: 'smart-backend', tokenUrl: oauth.tokenUrl, clientId: oauth.clientId, privateKeyFile: file, keyId: oauth.keyId(alg), algorithm: alg, scope: 'system/*.write' };
  }

  for (const alg of ['RS384', 'ES384'] as const) {
    it(`${alg}: the FHIR server accepts the issued token; two sends use one token request`, async () => {
      const fhir = await track(startFhirServer({ requireBearer: (t) => oauth.verify(t) }));
      const s = sender(fhir.baseUrl, smartAuth(alg));
      const before = oauth.tokenRequests;
      expectOk(await s.send(smallBundle()));
      expectOk(await s.send(smallBundle()));
      expect(oauth.tokenRequests - before).toBe(1);
      const auths = fhir.requests.map((r) => r.authorization);
      expect(auths).toHaveLength(2);
      expect(auths[0]).toMatch(/^Bearer \S+$/);
      expect(auths[1]).toBe(auths[0]);
      expect(await countsByType(fhir)).toMatchObject({ Patient: 1, DiagnosticReport: 1 });
    });
  }

  it('a private key the server does not know: not ok, the error names the token endpoint and invalid_client', async () => {
    const fhir = await track(startFhirServer({ requireBearer: (t) => oauth.verify(t) }));
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const r = await sender(fhir.baseUrl, smartAuth('RS384', stranger)).send(smallBundle());
    expect(r).toMatchObject({ ok: false, retryable: false });
    if (r.ok) return;
    expect(r.error).toContain(oauth.tokenUrl);
    expect(r.error).toContain('invalid_client');
    expect(r.error).not.toContain('PRIVATE KEY');
    expect(fhir.requests).toHaveLength(0);
  });

  it('a cached token the FHIR server no longer accepts gets one retry with a fresh token', async () => {
    const revoked = new Set<string>();
    const fhir = await track(startFhirServer({ requireBearer: async (t) => !revoked.has(t) && oauth.verify(t) }));
    const s = sender(fhir.baseUrl, smartAuth('ES384'));
    const before = oauth.tokenRequests;
    expectOk(await s.send(smallBundle()));
    const first = fhir.requests[0]!.authorization!.slice('Bearer '.length);
    revoked.add(first);
    expectOk(await s.send(smallBundle()));
    expect(oauth.tokenRequests - before).toBe(2);
    expect(fhir.requests.map((r) => r.authorization === `Bearer ${first}`)).toEqual([true, true, false]);
  });

  it('a token just issued that the FHIR server refuses: 401, no retry loop, not retryable', async () => {
    const fhir = await track(startFhirServer({ requireBearer: async () => false }));
    const before = oauth.tokenRequests;
    const r = await sender(fhir.baseUrl, smartAuth('RS384')).send(smallBundle());
    expect(r).toMatchObject({ ok: false, retryable: false, status: 401 });
    expect(oauth.tokenRequests - before).toBe(1);
    expect(fhir.requests).toHaveLength(1);
  });

  it('concurrent callers share one token request; a token past its refresh time is renewed', async () => {
    let now = Date.now();
    const src = new SmartBackendTokenSource({
      tokenUrl: oauth.tokenUrl, clientId: oauth.clientId, privateKey: oauth.privateKeyPem('RS384'),
      keyId: oauth.keyId('RS384'), algorithm: 'RS384', scope: 'system/*.read', now: () => now,
    });
    const before = oauth.tokenRequests;
    const tokens = await Promise.all([src.getToken(), src.getToken(), src.getToken()]);
    expect(new Set(tokens).size).toBe(1);
    expect(oauth.tokenRequests - before).toBe(1);
    expect(await oauth.verify(tokens[0]!, 'system/*.read')).toBe(true);
    expect(await oauth.verify(tokens[0]!, 'system/*.write')).toBe(false); // only the scope asked for
    now += 271_000; // the server's 300 s lifetime less the 30 s margin has passed
    const renewed = await src.getToken();
    expect(renewed).not.toBe(tokens[0]);
    expect(oauth.tokenRequests - before).toBe(2);
  });

  it('the client assertion: header alg/kid/typ, iss = sub = client id, aud = token URL, exp within 5 minutes, a fresh jti, a JWS signature', () => {
    for (const alg of ['RS384', 'ES384'] as const) {
      const pem = oauth.privateKeyPem(alg);
      const opts = { tokenUrl: oauth.tokenUrl, clientId: oauth.clientId, keyId: oauth.keyId(alg), algorithm: alg };
      const now = Date.now();
      const jwt = clientAssertion(opts, createPrivateKey(pem), now);
      const [h, p, sig] = jwt.split('.') as [string, string, string];
      expect(JSON.parse(Buffer.from(h, 'base64url').toString())).toEqual({ alg, kid: oauth.keyId(alg), typ: 'JWT' });
      const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
      expect(claims).toMatchObject({ iss: oauth.clientId, sub: oauth.clientId, aud: oauth.tokenUrl });
      expect(claims.exp as number).toBeGreaterThan(now / 1000);
      expect(claims.exp as number).toBeLessThanOrEqual(now / 1000 + 300);
      expect(claims.jti).not.toBe(JSON.parse(Buffer.from(clientAssertion(opts, createPrivateKey(pem), now).split('.')[1]!, 'base64url').toString()).jti);
      const raw = Buffer.from(sig, 'base64url');
      if (alg === 'ES384') expect(raw).toHaveLength(96); // r||s, 48 bytes each (not DER)
      expect(verifySignature('sha384', Buffer.from(`${h}.${p}`), { key: createPublicKey(pem), dsaEncoding: 'ieee-p1363' }, raw)).toBe(true);
    }
  });

  it('an RS384 configuration with an EC key is refused before any request, naming the mismatch', async () => {
    const before = oauth.tokenRequests;
    const r = await sender('http://127.0.0.1:9/fhir', { ...smartAuth('ES384'), algorithm: 'RS384' } as FhirAuthConfig).send(smallBundle());
    expect(r).toMatchObject({ ok: false, retryable: false });
    if (!r.ok) expect(r.error).toMatch(/RS384 needs an RSA private key/);
    expect(oauth.tokenRequests).toBe(before);
  });
});

describe('FhirSender retry classification', () => {
  it('connection refused (a closed port) is retryable', async () => {
    const probe = await faultServer(() => undefined);
    await probe.stop();
    const r = await sender(probe.url).send(smallBundle());
    expect(r).toMatchObject({ ok: false, retryable: true });
    expect(r.ok ? undefined : r.status).toBeUndefined();
    if (!r.ok) expect(r.error).toMatch(/ECONNREFUSED/);
  });

  it('503 is retryable', async () => {
    const s = await track(faultServer((res) => {
      res.writeHead(503, { 'content-type': 'application/fhir+json', 'retry-after': '5' });
      res.end(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'transient', diagnostics: 'maintenance' }] }));
    }));
    expect(await sender(s.url).send(smallBundle())).toMatchObject({ ok: false, retryable: true, status: 503 });
  });

  it('429 is retryable; 404 is not', async () => {
    let status = 429;
    const s = await track(faultServer((res) => { res.writeHead(status, { 'content-type': 'text/plain' }); res.end('no'); }));
    expect(await sender(s.url).send(smallBundle())).toMatchObject({ ok: false, retryable: true, status: 429 });
    status = 404;
    expect(await sender(s.url).send(smallBundle())).toMatchObject({ ok: false, retryable: false, status: 404 });
  });

  it('422 with an OperationOutcome is not retryable and carries its diagnostics', async () => {
    const s = await track(faultServer((res) => {
      res.writeHead(422, { 'content-type': 'application/fhir+json' });
      res.end(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'processing', diagnostics: 'DiagnosticReport.code: unknown code 20067007' }] }));
    }));
    const r = await sender(s.url).send(smallBundle());
    expect(r).toMatchObject({ ok: false, retryable: false, status: 422 });
    if (!r.ok) expect(r.error).toContain('DiagnosticReport.code: unknown code 20067007');
  });

  it('a server that never answers: a retryable timeout within timeoutSeconds', async () => {
    const s = await track(faultServer(() => undefined));
    const started = Date.now();
    const r = await sender(s.url, { type: 'none' }, 1).send(smallBundle());
    const elapsed = Date.now() - started;
    expect(r).toMatchObject({ ok: false, retryable: true });
    if (!r.ok) expect(r.error).toMatch(/did not answer within 1 s/);
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(3000);
  });

  it('a caller\'s abort (shutdown) ends the send at once, retryable', async () => {
    const s = await track(faultServer(() => undefined));
    const started = Date.now();
    const r = await sender(s.url, { type: 'none' }, 30).send(smallBundle(), AbortSignal.timeout(200));
    expect(r).toMatchObject({ ok: false, retryable: true });
    if (!r.ok) expect(r.error).toMatch(/cancelled/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('a 200 that is not a transaction-response is not ok', async () => {
    const s = await track(faultServer((res) => {
      res.writeHead(200, { 'content-type': 'application/fhir+json' });
      res.end(JSON.stringify({ resourceType: 'OperationOutcome', issue: [] }));
    }));
    const r = await sender(s.url).send(smallBundle());
    expect(r).toMatchObject({ ok: false, retryable: false });
    if (!r.ok) expect(r.error).toMatch(/transaction-response/);
  });

  it('a token endpoint that cannot be reached is retryable', async () => {
    const probe = await faultServer(() => undefined);
    await probe.stop();
    const key = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const dir = mkdtempSync(join(tmpdir(), 'ophgate-smart-'));
    try {
      writeFileSync(join(dir, 'k.pem'), key);
      const tokenUrl = probe.url.replace(/\/fhir$/, '/token');
      const r = await sender('http://127.0.0.1:9/fhir', { type: 'smart-backend', tokenUrl, clientId: 'c', privateKeyFile: join(dir, 'k.pem'), keyId: 'k', algorithm: 'ES384', scope: 'system/*.write' }).send(smallBundle());
      expect(r).toMatchObject({ ok: false, retryable: true });
      if (!r.ok) expect(r.error).toContain(tokenUrl);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
