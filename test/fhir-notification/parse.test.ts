// The FHIR listener's parsing and refusals: each accepted body (R4 rest-hook PUT, Subscriptions Backport
// full-resource and id-only Bundles, handshake and heartbeat) and each refusal with its status and message.
// id-only notifications read the ImagingStudy back from a small node:http server standing in for the notifying
// FHIR server (it serves fixed JSON at /fhir/ImagingStudy/{id} and /fhir/Endpoint/{id}, and counts requests).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { restHookNotification } from '../../src/ingest/fhir-notification/rest-hook.js';
import { backportNotification, BACKPORT_STATUS_PROFILE } from '../../src/ingest/fhir-notification/backport.js';
import { FhirSourceReader } from '../../src/ingest/fhir-notification/fhir-read.js';
import { NotificationError } from '../../src/ingest/fhir-notification/outcome.js';
import { dicomwebSourceFor, fhirSourceFor } from '../../src/ingest/fhir-notification/sources.js';
import { startTestGateway, waitFor, type TestGateway } from '../helpers/gateway.js';
import { startFhirServer, type FhirTestServer } from '../helpers/fhir-server.js';
import { startOAuthServer, type OAuthTestServer } from '../helpers/oauth-server.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const PACS = 'http://pacs.example:8042/dicom-web';
const UID = '1.2.826.0.1.3680043.8.498.12345';
const FHIR_JSON = 'application/fhir+json';

function wadoEndpoint(address: string, id = 'wado') {
  return {
    resourceType: 'Endpoint', id, status: 'active',
    connectionType: { system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type', code: 'dicom-wado-rs' },
    payloadType: [{ text: 'DICOM' }], address,
  };
}

function imagingStudy(o: { id?: string; uid?: string | null; address?: string; endpointRef?: string; contained?: boolean } = {}) {
  const address = o.address ?? PACS;
  const contained = o.contained ?? true;
  return {
    resourceType: 'ImagingStudy', id: o.id ?? 'is1', status: 'available',
    ...(contained ? { contained: [wadoEndpoint(address)] } : {}),
    ...(o.uid === null ? {} : { identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:${o.uid ?? UID}` }] }),
    subject: { reference: 'Patient/p1' },
    endpoint: [{ reference: o.endpointRef ?? (contained ? '#wado' : 'Endpoint/wado') }],
  };
}

function statusParameters(type: string, focuses: string[] = [], subscription = 'http://ehr.example/fhir/Subscription/s1') {
  return {
    resourceType: 'Parameters', meta: { profile: [BACKPORT_STATUS_PROFILE] },
    parameter: [
      { name: 'subscription', valueReference: { reference: subscription } },
      { name: 'topic', valueCanonical: 'http://example.org/SubscriptionTopic/imaging-study' },
      { name: 'status', valueCode: 'active' },
      { name: 'type', valueCode: type },
      ...focuses.map((f, i) => ({ name: 'notification-event', part: [{ name: 'event-number', valueString: String(i + 1) }, { name: 'focus', valueReference: { reference: f } }] })),
    ],
  };
}

function notificationBundle(type: string, focuses: string[] = [], entries: object[] = [], subscription?: string) {
  return {
    resourceType: 'Bundle', type: 'history', timestamp: '2026-11-28T10:00:00Z',
    entry: [{ fullUrl: 'urn:uuid:6a2f1b40-0000-4000-8000-000000000001', resource: statusParameters(type, focuses, subscription) }, ...entries],
  };
}

const body = (v: unknown) => Buffer.from(JSON.stringify(v));

function configWith(fhirUrl?: string): Config {
  return loadConfig({ env: {}, overrides: {
    dataDir: '/nonexistent', 'sources.dicomweb': { pacs: { url: `${PACS}/` }, other: { url: 'http://other.example/wado' } },
    ...(fhirUrl ? { 'sources.fhir': { ehr: { url: fhirUrl } } } : {}),
  } });
}

/** Asserts that `p` is refused with `status`, and that the message matches. */
async function refused(p: Promise<unknown>, status: number, message: RegExp): Promise<NotificationError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err, 'refused').toBeInstanceOf(NotificationError);
  const e = err as NotificationError;
  expect({ status: e.status, message: e.message }).toMatchObject({ status });
  expect(e.message).toMatch(message);
  return e;
}

// ---- the notifying FHIR server's stand-in (for id-only) ---------------------------------------------------
let standIn: http.Server;
let standInBase = '';
const standInRequests: string[] = [];
const standInResources = new Map<string, unknown>();

beforeAll(async () => {
  standIn = http.createServer((req, res) => {
    standInRequests.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`.trim());
    const r = standInResources.get(req.url ?? '');
    if (!r) return void res.writeHead(404, { 'Content-Type': FHIR_JSON }).end(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found' }] }));
    res.writeHead(200, { 'Content-Type': FHIR_JSON }).end(JSON.stringify(r));
  });
  await new Promise<void>((r) => standIn.listen(0, '127.0.0.1', () => r()));
  standInBase = `http://127.0.0.1:${(standIn.address() as AddressInfo).port}/fhir`;
});
afterAll(async () => {
  await new Promise<void>((r) => standIn.close(() => r()));
});

describe('configured-sources rule', () => {
  const config = configWith('http://ehr.example/fhir');
  it('a DICOMweb address matches a source only exactly, trailing slashes aside', () => {
    expect(dicomwebSourceFor(config, PACS)?.name).toBe('pacs');
    expect(dicomwebSourceFor(config, `${PACS}//`)?.name).toBe('pacs');
    for (const lookalike of [
      'http://pacs.example:8042/dicom-web.evil.com', 'http://pacs.example:8042/dicom-web/studies', 'http://pacs.example:8042/dicom-web?x=1',
      'http://pacs.example:8042/dicom-webx', 'http://pacs.example.evil.com:8042/dicom-web', 'https://pacs.example:8042/dicom-web',
      'http://pacs.example:8042/dicom-web/../dicom-web', 'http://user@pacs.example:8042/dicom-web',
    ]) expect(dicomwebSourceFor(config, lookalike), lookalike).toBeUndefined();
  });
  it('a FHIR URL must lie under a configured base at a path-segment boundary', () => {
    expect(fhirSourceFor(config, 'http://ehr.example/fhir/ImagingStudy/1')?.source.name).toBe('ehr');
    for (const u of ['http://ehr.example/fhir.evil.com/ImagingStudy/1', 'http://ehr.example/fhirx/ImagingStudy/1', 'http://ehr.example/fhir/../admin/ImagingStudy/1',
      'http://ehr.example.evil.com/fhir/ImagingStudy/1', 'http://ehr.example/fhir', 'http://ehr.example/fhir/ImagingStudy/1?_format=xml', 'http://x@ehr.example/fhir/ImagingStudy/1']) {
      expect(fhirSourceFor(config, u), u).toBeUndefined();
    }
  });
});

describe('R4 rest-hook: PUT /fhir-notify/ImagingStudy/{id}', () => {
  const deps = { config: configWith() };
  it('accepts the ImagingStudy with a contained WADO-RS Endpoint (application/fhir+json and application/json)', async () => {
    for (const contentType of [FHIR_JSON, 'application/fhir+json; charset=utf-8', 'application/json']) {
      const t = await restHookNotification('is1', { contentType, body: body(imagingStudy()) }, deps);
      expect(t).toEqual({ studyUid: UID, source: expect.objectContaining({ name: 'pacs', url: PACS }), form: 'rest-hook', resource: 'ImagingStudy/is1' });
    }
  });
  it('accepts a body without id (the URL names it)', async () => {
    const { id: _id, ...noId } = imagingStudy();
    expect((await restHookNotification('is1', { contentType: FHIR_JSON, body: body(noId) }, deps)).studyUid).toBe(UID);
  });
  it('picks the configured one of several WADO-RS endpoints', async () => {
    const s = { ...imagingStudy(), contained: [wadoEndpoint('http://elsewhere.example/dicom-web', 'a'), wadoEndpoint('http://other.example/wado/', 'b')], endpoint: [{ reference: '#a' }, { reference: '#b' }] };
    expect((await restHookNotification('is1', { contentType: FHIR_JSON, body: body(s) }, deps)).source.name).toBe('other');
  });
  it('refuses an endpoint that is not a configured source (422, naming the address)', async () => {
    const e = await refused(restHookNotification('is1', { contentType: FHIR_JSON, body: body(imagingStudy({ address: 'http://attacker.example/dicom-web' })) }, deps),
      422, /WADO-RS endpoint address "http:\/\/attacker\.example\/dicom-web" is not a DICOMweb source configured in OphGate \(sources\.dicomweb\)/);
    expect(e.code).toBe('security');
  });
  it('refuses a lookalike of a configured address (422)', async () => {
    await refused(restHookNotification('is1', { contentType: FHIR_JSON, body: body(imagingStudy({ address: `${PACS}.evil.com` })) }, deps), 422, /is not a DICOMweb source configured/);
    await refused(restHookNotification('is1', { contentType: FHIR_JSON, body: body(imagingStudy({ address: `${PACS}/studies/${UID}` })) }, deps), 422, /is not a DICOMweb source configured/);
  });
  it('refuses an ImagingStudy without a Study Instance UID identifier (422)', async () => {
    await refused(restHookNotification('is1', { contentType: FHIR_JSON, body: body(imagingStudy({ uid: null })) }, deps), 422, /no identifier with system urn:dicom:uid/);
    const badUid = { ...imagingStudy(), identifier: [{ system: 'urn:dicom:uid', value: '1.2.3' }] };
    await refused(restHookNotification('is1', { contentType: FHIR_JSON, body: body(badUid) }, deps), 422, /not urn:oid: followed by a valid DICOM UID/);
  });
  it('refuses an ImagingStudy with no WADO-RS endpoint (422)', async () => {
    const noEndpoint = { ...imagingStudy(), endpoint: undefined };
    await refused(restHookNotification('is1', { contentType: FHIR_JSON, body: body(noEndpoint) }, deps), 422, /has no endpoint/);
    const iid = { ...imagingStudy(), contained: [{ ...wadoEndpoint(PACS), connectionType: { code: 'ihe-iid' } }] };
    await refused(restHookNotification('is1', { contentType: FHIR_JSON, body: body(iid) }, deps), 422, /no study-level Endpoint with connectionType dicom-wado-rs \(found: ihe-iid\)/);
    await refused(restHookNotification('is1', { contentType: FHIR_JSON, body: body(imagingStudy({ contained: false })) }, deps), 422, /cannot be resolved/);
  });
  it('refuses malformed bodies (400)', async () => {
    await refused(restHookNotification('is1', { contentType: FHIR_JSON, body: Buffer.from('{"resourceType": "ImagingStudy",') }, deps), 400, /not valid JSON/);
    await refused(restHookNotification('is1', { contentType: FHIR_JSON, body: Buffer.alloc(0) }, deps), 400, /empty/);
    await refused(restHookNotification('is1', { contentType: FHIR_JSON, body: body([1]) }, deps), 400, /not a JSON object/);
    await refused(restHookNotification('is1', { contentType: FHIR_JSON, body: body({ resourceType: 'Patient', id: 'is1' }) }, deps), 400, /the body is a Patient, but the URL names ImagingStudy\/is1/);
    await refused(restHookNotification('is1', { contentType: FHIR_JSON, body: body(imagingStudy({ id: 'other' })) }, deps), 400, /id "other" differs from the id in the URL \(is1\)/);
    await refused(restHookNotification('is1', { contentType: FHIR_JSON, body: body({ ...imagingStudy(), identifier: 'urn:oid:1.2' }) }, deps), 400, /identifier: /);
    await refused(restHookNotification('bad id!', { contentType: FHIR_JSON, body: body(imagingStudy()) }, deps), 400, /not a FHIR id/);
  });
  it('refuses other content types (415)', async () => {
    for (const ct of [undefined, 'application/xml', 'application/fhir+xml', 'text/plain', 'not a type', 'application/json; charset=latin1']) {
      await refused(restHookNotification('is1', { contentType: ct, body: body(imagingStudy()) }, deps), 415, /Content-Type|charset/);
    }
  });
  it('refuses a cancelled study (422)', async () => {
    await refused(restHookNotification('is1', { contentType: FHIR_JSON, body: body({ ...imagingStudy(), status: 'entered-in-error' }) }, deps), 422, /status entered-in-error/);
  });
});

describe('Subscriptions Backport (R4): POST /fhir-notify', () => {
  it('handshake and heartbeat are acknowledged with nothing to do', async () => {
    const deps = { config: configWith() };
    for (const type of ['handshake', 'heartbeat']) {
      expect(await backportNotification({ contentType: FHIR_JSON, body: body(notificationBundle(type)) }, deps)).toEqual({ kind: 'acknowledged', type });
    }
  });

  it('full-resource: the ImagingStudy is an entry of the Bundle (contained Endpoint, or an Endpoint entry)', async () => {
    const deps = { config: configWith() };
    const focus = 'http://ehr.example/fhir/ImagingStudy/is1';
    const n = await backportNotification({ contentType: FHIR_JSON, body: body(notificationBundle('event-notification', [focus], [{ fullUrl: focus, resource: imagingStudy() }])) }, deps);
    expect(n).toEqual({ kind: 'fetch', targets: [{ studyUid: UID, source: expect.objectContaining({ name: 'pacs' }), form: 'backport-full-resource', resource: focus }] });

    const endpointEntry = { fullUrl: 'http://ehr.example/fhir/Endpoint/wado', resource: wadoEndpoint(PACS) };
    const n2 = await backportNotification({ contentType: FHIR_JSON, body: body(notificationBundle('event-notification', ['ImagingStudy/is1'], [{ fullUrl: focus, resource: imagingStudy({ contained: false }) }, endpointEntry])) }, deps);
    expect(n2.kind === 'fetch' && n2.targets.map((t) => [t.studyUid, t.source.name, t.form])).toEqual([[UID, 'pacs', 'backport-full-resource']]);
  });

  it('id-only: the ImagingStudy (and its referenced Endpoint) is read from the configured FHIR source', async () => {
    standInResources.set('/fhir/ImagingStudy/is2', imagingStudy({ id: 'is2', contained: false }));
    standInResources.set('/fhir/Endpoint/wado', wadoEndpoint(PACS));
    const config = loadConfig({ env: {}, overrides: { dataDir: '/x', 'sources.dicomweb': { pacs: { url: PACS } }, 'sources.fhir': { ehr: { url: standInBase, auth: { type: 'bearer', token: 'tok-123' } } } } });
    const deps = { config, reader: new FhirSourceReader(config) };
    standInRequests.length = 0;
    const focus = `${standInBase}/ImagingStudy/is2`;
    const n = await backportNotification({ contentType: FHIR_JSON, body: body(notificationBundle('event-notification', [focus], [{ fullUrl: focus, request: { method: 'PUT', url: 'ImagingStudy/is2' }, response: { status: '200' } }])) }, deps);
    expect(n).toEqual({ kind: 'fetch', targets: [{ studyUid: UID, source: expect.objectContaining({ name: 'pacs' }), form: 'backport-id-only', resource: focus }] });
    expect(standInRequests).toEqual(['GET /fhir/ImagingStudy/is2 Bearer tok-123', 'GET /fhir/Endpoint/wado Bearer tok-123']);

    // A relative focus resolves against the subscription's server.
    standInRequests.length = 0;
    const n2 = await backportNotification({ contentType: FHIR_JSON, body: body(notificationBundle('event-notification', ['ImagingStudy/is2'], [], `${standInBase}/Subscription/s1`)) }, deps);
    expect(n2.kind === 'fetch' && n2.targets[0]!.form).toBe('backport-id-only');
    expect(standInRequests[0]).toBe('GET /fhir/ImagingStudy/is2 Bearer tok-123');
  });

  it('id-only from a FHIR server that is not configured is refused without reading it (422)', async () => {
    const config = loadConfig({ env: {}, overrides: { dataDir: '/x', 'sources.dicomweb': { pacs: { url: PACS } }, 'sources.fhir': { ehr: { url: standInBase } } } });
    const deps = { config, reader: new FhirSourceReader(config) };
    standInRequests.length = 0;
    const lookalike = standInBase.replace('/fhir', '/fhir.evil') + '/ImagingStudy/is2';
    await refused(backportNotification({ contentType: FHIR_JSON, body: body(notificationBundle('event-notification', [lookalike])) }, deps), 422, /is not under any FHIR server configured in OphGate \(sources\.fhir\)/);
    await refused(backportNotification({ contentType: FHIR_JSON, body: body(notificationBundle('event-notification', ['http://attacker.example/fhir/ImagingStudy/x'])) }, deps), 422, /not under any FHIR server configured/);
    expect(standInRequests).toEqual([]);
    // A configured server that has no such study: 422 naming the 404.
    await refused(backportNotification({ contentType: FHIR_JSON, body: body(notificationBundle('event-notification', [`${standInBase}/ImagingStudy/nope`])) }, deps), 422, /answered HTTP 404/);
  });

  it('id-only whose ImagingStudy names an unconfigured DICOMweb endpoint is refused (422)', async () => {
    standInResources.set('/fhir/ImagingStudy/is3', imagingStudy({ id: 'is3', address: 'http://127.0.0.1:1/dicom-web' }));
    const config = loadConfig({ env: {}, overrides: { dataDir: '/x', 'sources.dicomweb': { pacs: { url: PACS } }, 'sources.fhir': { ehr: { url: standInBase } } } });
    await refused(backportNotification({ contentType: FHIR_JSON, body: body(notificationBundle('event-notification', [`${standInBase}/ImagingStudy/is3`])) }, { config, reader: new FhirSourceReader(config) }),
      422, /"http:\/\/127\.0\.0\.1:1\/dicom-web" is not a DICOMweb source configured/);
  });

  it('full-resource with an unconfigured endpoint, a missing study UID, or a non-ImagingStudy focus is refused (422)', async () => {
    const deps = { config: configWith() };
    const f = 'http://ehr.example/fhir/ImagingStudy/is1';
    await refused(backportNotification({ contentType: FHIR_JSON, body: body(notificationBundle('event-notification', [f], [{ fullUrl: f, resource: imagingStudy({ address: 'http://pacs.example:8042/dicom-web.evil.com' }) }])) }, deps), 422, /not a DICOMweb source configured/);
    await refused(backportNotification({ contentType: FHIR_JSON, body: body(notificationBundle('event-notification', [f], [{ fullUrl: f, resource: imagingStudy({ uid: null }) }])) }, deps), 422, /no identifier with system urn:dicom:uid/);
    await refused(backportNotification({ contentType: FHIR_JSON, body: body(notificationBundle('event-notification', ['http://ehr.example/fhir/Patient/p1'])) }, deps), 422, /is not an ImagingStudy/);
    await refused(backportNotification({ contentType: FHIR_JSON, body: body(notificationBundle('event-notification', [])) }, deps), 422, /names no ImagingStudy/);
    await refused(backportNotification({ contentType: FHIR_JSON, body: body(notificationBundle('event-notification', ['http://ehr.example/fhir/ImagingStudy/x'])) }, deps), 422, /no FHIR source is configured/);
  });

  it('malformed notifications are refused (400), wrong content types (415)', async () => {
    const deps = { config: configWith() };
    await refused(backportNotification({ contentType: FHIR_JSON, body: Buffer.from('not json') }, deps), 400, /not valid JSON/);
    await refused(backportNotification({ contentType: FHIR_JSON, body: body(imagingStudy()) }, deps), 400, /expected a Bundle/);
    await refused(backportNotification({ contentType: FHIR_JSON, body: body({ ...notificationBundle('handshake'), type: 'transaction' }) }, deps), 400, /Bundle of type history/);
    await refused(backportNotification({ contentType: FHIR_JSON, body: body({ resourceType: 'Bundle', type: 'history', entry: [{ resource: { resourceType: 'Patient' } }] }) }, deps), 400, /Parameters/);
    const status = statusParameters('handshake');
    const noType = { resourceType: 'Bundle', type: 'history', entry: [{ resource: { ...status, parameter: status.parameter.filter((p) => p.name !== 'type') } }] };
    await refused(backportNotification({ contentType: FHIR_JSON, body: body(noType) }, deps), 400, /no "type" parameter/);
    await refused(backportNotification({ contentType: 'application/fhir+xml', body: Buffer.from('<Bundle/>') }, deps), 415, /application\/fhir\+xml is not supported/);
    await refused(backportNotification({ contentType: FHIR_JSON, body: body(notificationBundle('query-status')) }, deps), 422, /answers a status query/);
  });
});

describe('id-only against a real FHIR server (Medplum fhir-router) with SMART backend auth (oidc-provider)', () => {
  let oauth: OAuthTestServer;
  let fhir: FhirTestServer;
  let dir: string;
  beforeAll(async () => {
    oauth = await startOAuthServer();
    fhir = await startFhirServer({ requireBearer: (t) => oauth.verify(t, 'system/*.read') });
    dir = mkdtempSync(path.join(os.tmpdir(), 'ophgate-listener-smart-'));
  });
  afterAll(async () => {
    await fhir?.stop();
    await oauth?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the ImagingStudy and its Endpoint with a SMART token (one token request for both reads)', async () => {
    const ep = await fhir.repo.createResource(wadoEndpoint(PACS) as never) as { id: string };
    const created = await fhir.repo.createResource({ ...imagingStudy({ contained: false, endpointRef: `Endpoint/${ep.id}` }), id: undefined, subject: { reference: 'Patient/p1' } } as never) as { id: string };
    const keyFile = path.join(dir, 'es384.pem');
    writeFileSync(keyFile, oauth.privateKeyPem('ES384'), { mode: 0o600 });
    const config = loadConfig({ env: {}, overrides: {
      dataDir: '/x', 'sources.dicomweb': { pacs: { url: PACS } },
      'sources.fhir': { ehr: { url: fhir.baseUrl, auth: { type: 'smart-backend', tokenUrl: oauth.tokenUrl, clientId: oauth.clientId, privateKeyFile: keyFile, keyId: oauth.keyId('ES384'), algorithm: 'ES384', scope: 'system/*.read' } } },
    } });
    const deps = { config, reader: new FhirSourceReader(config) };
    const focus = `${fhir.baseUrl}/ImagingStudy/${created.id}`;
    fhir.requests.length = 0;
    const n = await backportNotification({ contentType: FHIR_JSON, body: body(notificationBundle('event-notification', [focus], [{ fullUrl: focus }])) }, deps);
    expect(n).toEqual({ kind: 'fetch', targets: [{ studyUid: UID, source: expect.objectContaining({ name: 'pacs' }), form: 'backport-id-only', resource: focus }] });
    expect(fhir.requests.map((r) => [r.method, r.url, /^Bearer \S+$/.test(r.authorization ?? '')])).toEqual([
      ['GET', `/fhir/ImagingStudy/${created.id}`, true], ['GET', `/fhir/Endpoint/${ep.id}`, true],
    ]);
    expect(oauth.tokenRequests).toBe(1);
  });

  it('without credentials the FHIR server refuses, and so does OphGate (502: the notifier may retry)', async () => {
    const config = loadConfig({ env: {}, overrides: { dataDir: '/x', 'sources.dicomweb': { pacs: { url: PACS } }, 'sources.fhir': { ehr: { url: fhir.baseUrl } } } });
    await refused(backportNotification({ contentType: FHIR_JSON, body: body(notificationBundle('event-notification', [`${fhir.baseUrl}/ImagingStudy/x1`])) }, { config, reader: new FhirSourceReader(config) }),
      502, /reading ImagingStudy from sources\.fhir\.ehr failed: HTTP 401/);
  });
});

describe('over HTTP: statuses, OperationOutcome bodies and fetch tasks', () => {
  let tg: TestGateway;
  const url = (p: string) => `${tg.baseUrl}/fhir-notify${p}`;
  // The configured source is a closed port: the tasks queued here stay pending or fail, which is all this part needs.
  let closed = '';
  beforeAll(async () => {
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    closed = `127.0.0.1:${(probe.address() as AddressInfo).port}`;
    await new Promise<void>((r) => probe.close(() => r()));
    tg = await startTestGateway({ 'pipeline.enabled': false, 'dimse.enabled': false, 'sources.dicomweb': { pacs: { url: `http://${closed}/dicom-web` } }, 'pipeline.backoffSeconds': 60 });
  }, 60_000);
  afterAll(async () => { await tg?.stop(); });

  const send = (method: string, path: string, payload: string | undefined, contentType = FHIR_JSON) =>
    fetch(url(path), { method, headers: contentType ? { 'Content-Type': contentType } : {}, body: payload });
  const tasks = async () => (await (await fetch(`${tg.baseUrl}/api/fetches`)).json()) as Array<{ id: number; studyInstanceUid: string; state: string }>;

  it('handshake: 200 with an informational OperationOutcome, and no task', async () => {
    const res = await send('POST', '', JSON.stringify(notificationBundle('handshake')));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
    expect(await res.json()).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'information' }] });
    expect(await tasks()).toEqual([]);
  });

  it('refusals come as OperationOutcome with the right status, and queue nothing', async () => {
    const cases: Array<[string, string, string | undefined, string, number, RegExp]> = [
      ['PUT', '/ImagingStudy/is1', JSON.stringify(imagingStudy({ address: `http://${closed}/dicom-web.evil.com` })), FHIR_JSON, 422, /not a DICOMweb source configured/],
      ['PUT', '/ImagingStudy/is1', JSON.stringify(imagingStudy({ uid: null })), FHIR_JSON, 422, /urn:dicom:uid/],
      ['PUT', '/ImagingStudy/is1', '{', FHIR_JSON, 400, /not valid JSON/],
      ['PUT', '/ImagingStudy/is1', '<ImagingStudy/>', 'application/fhir+xml', 415, /not supported/],
      ['POST', '', 'x', 'text/plain', 415, /not supported/],
      ['GET', '/ImagingStudy/is1', undefined, '', 405, /PUT \/fhir-notify\/ImagingStudy\/\{id\}/],
      ['PUT', '/Patient/p1', '{}', FHIR_JSON, 404, /no such resource/],
    ];
    for (const [method, path, payload, ct, status, message] of cases) {
      const res = await send(method, path, payload, ct);
      expect(res.status, `${method} ${path} ${ct}`).toBe(status);
      const oo = await res.json() as { resourceType: string; issue: Array<{ severity: string; diagnostics: string }> };
      expect(oo.resourceType).toBe('OperationOutcome');
      expect(oo.issue[0]!.severity).toBe('error');
      expect(oo.issue[0]!.diagnostics).toMatch(message);
    }
    expect(await tasks()).toEqual([]);
  });

  it('an accepted notification: 202, Location, a durable task; a repeat joins the waiting task', async () => {
    const res = await send('PUT', '/ImagingStudy/is1', JSON.stringify(imagingStudy({ address: `http://${closed}/dicom-web/` })));
    expect(res.status).toBe(202);
    const j = await res.json() as { tasks: Array<{ id: number; studyInstanceUid: string; source: string; location: string }> };
    expect(j.tasks).toHaveLength(1);
    expect(j.tasks[0]).toMatchObject({ studyInstanceUid: UID, source: 'pacs', location: `/api/fetches/${j.tasks[0]!.id}` });
    expect(res.headers.get('location')).toBe(`/api/fetches/${j.tasks[0]!.id}`);
    const one = await (await fetch(`${tg.baseUrl}/api/fetches/${j.tasks[0]!.id}`)).json() as { studyInstanceUid: string; notification: string };
    expect(one).toMatchObject({ studyInstanceUid: UID, notification: 'rest-hook' });
    expect((await fetch(`${tg.baseUrl}/api/fetches/999999`)).status).toBe(404);

    // The source refuses connections: the attempt fails, and the task waits for its retry (backoff 60 s here).
    const failed = await waitFor('the first attempt to fail', async () => {
      const t = await (await fetch(`${tg.baseUrl}/api/fetches/${j.tasks[0]!.id}`)).json() as { state: string; attempts: number; lastError: string | null };
      return t.state === 'pending' && t.attempts === 1 ? t : undefined;
    });
    expect(failed.lastError).toMatch(/WADO-RS pacs \(study 1\.2\.826[0-9.]+\): fetch failed \(ECONNREFUSED\)/);
    const again = await send('PUT', '/ImagingStudy/is1', JSON.stringify(imagingStudy()).replace('pacs.example:8042', closed));
    expect(again.status).toBe(202);
    expect(((await again.json()) as { tasks: Array<{ id: number }> }).tasks[0]!.id, 'the repeat joins the waiting task').toBe(j.tasks[0]!.id);
    expect(await tasks()).toHaveLength(1);
  });
});
