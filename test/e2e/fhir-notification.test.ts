// End to end, the FHIR listener: a real Orthanc (Debian package, DICOMweb plugin) holds fixture studies; OphGate
// (`ophgate serve` in a child process) is told about them by FHIR notifications in each accepted form (R4
// rest-hook PUT, Subscriptions Backport full-resource and id-only, the last read back from a real FHIR server),
// retrieves every instance from Orthanc by WADO-RS, assembles the study and queues its pipeline job, which runs
// OphGate's own models (models/; the tiny test models' labels have no codes, so they make no report) through to
// the FHIR DiagnosticReport. A notification naming an unconfigured DICOMweb
// endpoint gets 422 and Orthanc never sees a request for that study (Orthanc's Lua request filter logs every
// HTTP request it receives). Everything runs inside a private network namespace, because Orthanc binds all
// addresses.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { PROJECT_ROOT } from '../../src/project-root.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { FIXTURES_DIR, TEST_LOG_DIR } from '../helpers/paths.js';
import { Netns, netnsUnavailableReason, spawnGateway, waitExit, type NetnsGateway } from './netns.js';
import { orthancUnavailableReason, startOrthanc, uploadToOrthanc, type Orthanc } from './orthanc.js';

interface ManifestEntry { path: string; valid: boolean; ophthalmic: boolean; studyInstanceUid: string | null; sopInstanceUid: string | null }

const MANIFEST = path.join(FIXTURES_DIR, 'manifest.json');
const skipReason = netnsUnavailableReason() ?? orthancUnavailableReason()
  ?? (existsSync(MANIFEST) ? undefined : `${MANIFEST} is absent (npm run fixtures makes it)`);
if (skipReason) console.warn(`[e2e] FHIR notification test skipped: ${skipReason}`);

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const ORTHANC_PORT = 8042;
const FHIR_JSON = 'application/fhir+json';
/** The configured DICOMweb source: Orthanc's DICOMweb root, written with a trailing slash (the rule ignores it). */
const ORTHANC_DICOMWEB = `http://127.0.0.1:${ORTHANC_PORT}/dicom-web`;

/**
 * The notifying FHIR server, for the id-only notification: the project's real FHIR test server
 * (test/helpers/fhir-server.ts: Medplum's FhirRouter over its in-memory repository) in a child process inside the
 * namespace, so that the gateway can reach it. It holds an Endpoint (Orthanc's WADO-RS root) and an ImagingStudy
 * referencing it, prints their ids once listening, then each request it gets.
 */
const FHIR_SERVER_SCRIPT = `
const { startFhirServer } = await import('./test/helpers/fhir-server.ts');
const [endpointJson, studyJson] = process.argv.slice(1);
const s = await startFhirServer();
const endpoint = await s.repo.createResource(JSON.parse(endpointJson));
const study = JSON.parse(studyJson);
study.endpoint = [{ reference: 'Endpoint/' + endpoint.id }];
const created = await s.repo.createResource(study);
console.log('ready ' + JSON.stringify({ baseUrl: s.baseUrl, studyId: created.id, endpointId: endpoint.id }));
setInterval(() => { for (const r of s.requests.splice(0)) console.log('request ' + r.method + ' ' + r.url); }, 50);
`;

/** Orthanc's Lua hook sees every HTTP request (plugins' included) before it runs: it logs them, allows all. */
const REQUEST_LOG_LUA = `
function IncomingHttpRequestFilter(method, uri, ip, username, httpHeaders)
  print('http-request ' .. method .. ' ' .. uri)
  return true
end
`;

function imagingStudy(id: string, studyUid: string, endpoint: { contained: string } | { reference: string }) {
  return {
    resourceType: 'ImagingStudy', id, status: 'available',
    ...('contained' in endpoint ? { contained: [wadoEndpoint('wado', endpoint.contained)] } : {}),
    identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:${studyUid}` }],
    subject: { reference: 'Patient/example' },
    endpoint: [{ reference: 'contained' in endpoint ? '#wado' : endpoint.reference }],
  };
}

function wadoEndpoint(id: string, address: string) {
  return {
    resourceType: 'Endpoint', id, status: 'active',
    connectionType: { system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type', code: 'dicom-wado-rs' },
    payloadType: [{ text: 'DICOM' }], payloadMimeType: ['application/dicom'], address,
  };
}

function backportBundle(fhirBase: string, focus: string, entries: object[]) {
  return {
    resourceType: 'Bundle', type: 'history', timestamp: new Date().toISOString(),
    entry: [{
      fullUrl: 'urn:uuid:0f6bd4a0-7c1e-4c55-9c38-0d6f5f4d8e21',
      resource: {
        resourceType: 'Parameters',
        meta: { profile: ['http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-status-r4'] },
        parameter: [
          { name: 'subscription', valueReference: { reference: `${fhirBase}/Subscription/ophgate` } },
          { name: 'topic', valueCanonical: 'http://example.org/fhir/SubscriptionTopic/imaging-study-available' },
          { name: 'status', valueCode: 'active' },
          { name: 'type', valueCode: 'event-notification' },
          { name: 'events-since-subscription-start', valueString: '1' },
          { name: 'notification-event', part: [{ name: 'event-number', valueString: '1' }, { name: 'timestamp', valueInstant: new Date().toISOString() }, { name: 'focus', valueReference: { reference: focus } }] },
        ],
      },
      request: { method: 'GET', url: `${fhirBase}/Subscription/ophgate/$status` },
      response: { status: '200' },
    }, ...entries],
  };
}

interface Task { id: number; studyInstanceUid: string; source: string; state: string; attempts: number; lastError: string | null; result: { stored: number; duplicates: number; refused: number; bytes: number } | null }
interface StudyFiles { uid: string; files: Array<{ file: string; sop: string; sha256: string; size: number }> }

describe.skipIf(Boolean(skipReason))('FHIR notifications: OphGate retrieves the notified study from Orthanc by WADO-RS', () => {
  let ns: Netns | undefined;
  let gateway: NetnsGateway | undefined;
  let orthanc: Orthanc | undefined;
  let fhirServer: ChildProcess | undefined;
  const fhirLog: string[] = [];
  let fhir = { baseUrl: '', studyId: '', endpointId: '' };
  let store: SqliteStore | undefined;
  let dataDir = '';
  let orthancDir = '';
  // One study per form, one that is never to be fetched.
  const studies = new Map<string, StudyFiles>();
  const [restHook, fullResource, idOnly, refused] = ['2.25.3229570002412344472195883573693846992', '2.25.326550084734322920346122694106091528738',
    '2.25.147809329940753884633904577628950957982', '2.25.159426479909029941530614482731001284394'];

  const diagnostics = () => {
    let gw = '';
    try {
      const live = `/proc/${gateway!.pid}/fd/1`;
      gw = readFileSync(existsSync(live) ? live : gateway!.logFile, 'utf8').split('\n').filter((l) => /"level":(40|50|60)|wado-fetch|fhir-listener/.test(l)).slice(-20).join('\n');
    } catch { /* none */ }
    return `\n--- gateway log ---\n${gw}\n--- Orthanc log (tail) ---\n${orthanc?.logTail(20) ?? ''}`;
  };
  const api = async <T>(p: string): Promise<T> => {
    const r = await ns!.http(`${gateway!.baseUrl}${p}`);
    expect(r.status, `GET ${p}`).toBe(200);
    return r.json<T>();
  };
  const notify = (method: 'PUT' | 'POST', p: string, body: object) =>
    ns!.http(`${gateway!.baseUrl}/fhir-notify${p}`, { method, body: JSON.stringify(body), headers: { 'Content-Type': FHIR_JSON } });
  /** Orthanc's logged requests whose URI names the study. */
  const orthancRequestsFor = (uid: string) => readFileSync(orthanc!.logFile, 'utf8').split('\n').filter((l) => l.includes('http-request') && l.includes(uid));

  beforeAll(async () => {
    const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8')) as { files: ManifestEntry[] };
    for (const uid of [restHook, fullResource, idOnly, refused]) {
      const files = manifest.files.filter((e) => e.valid && e.studyInstanceUid === uid).map((e) => {
        const bytes = readFileSync(path.join(FIXTURES_DIR, e.path));
        return { file: e.path, sop: e.sopInstanceUid!, sha256: sha256(bytes), size: bytes.length };
      });
      expect(files.length, `fixture files of study ${uid}`).toBeGreaterThan(0);
      expect(manifest.files.find((e) => e.studyInstanceUid === uid)!.ophthalmic).toBe(true);
      studies.set(uid, { uid, files });
    }
    ns = await Netns.create('ophgate-test');
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'ophgate-e2e-fhirnotify-'));
    orthancDir = mkdtempSync(path.join(os.tmpdir(), 'ophgate-e2e-orthanc-'));
    mkdirSync(TEST_LOG_DIR, { recursive: true });

    orthanc = await startOrthanc({
      ns, dir: orthancDir, httpPort: ORTHANC_PORT, lua: REQUEST_LOG_LUA,
      settings: { DicomWeb: { Enable: true, Root: '/dicom-web/' } },
    });
    for (const s of studies.values()) {
      for (const f of s.files) expect((await uploadToOrthanc(orthanc, path.join(FIXTURES_DIR, f.file))).status, f.file).toBe('Success');
    }

    const idOnlyStudy = { ...imagingStudy('c1', idOnly, { reference: 'Endpoint/placeholder' }), id: undefined };
    fhirServer = ns.spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', FHIR_SERVER_SCRIPT, JSON.stringify(wadoEndpoint('orthanc', ORTHANC_DICOMWEB)), JSON.stringify(idOnlyStudy)],
      { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the FHIR server did not start within 30 s')), 30_000);
      fhirServer!.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the FHIR server exited (${code})`)); });
      let partial = '';
      fhirServer!.stdout!.setEncoding('utf8');
      fhirServer!.stdout!.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop()!;
        for (const line of lines) {
          fhirLog.push(line);
          if (line.startsWith('ready ')) { fhir = JSON.parse(line.slice(6)); clearTimeout(timer); resolve(); }
        }
      });
    });

    gateway = await spawnGateway(ns, {
      projectRoot: PROJECT_ROOT, dataDir,
      logFile: path.join(TEST_LOG_DIR, `e2e-fhir-notification-${Date.now()}.jsonl`),
      env: {
        OPHGATE_SOURCES__DICOMWEB: JSON.stringify({ orthanc: { url: `${ORTHANC_DICOMWEB}/`, timeoutSeconds: 30 } }),
        OPHGATE_SOURCES__FHIR: JSON.stringify({ ehr: { url: fhir.baseUrl } }),
        OPHGATE_DIMSE__ENABLED: 'false', OPHGATE_ASSEMBLY__SETTLE_SECONDS: '30',
        OPHGATE_PIPELINE__POLL_MILLISECONDS: '100', OPHGATE_PIPELINE__BACKOFF_SECONDS: '0.5', OPHGATE_PIPELINE__MAX_ATTEMPTS: '3',
        OPHGATE_INFERENCE__MODELS_DIR: 'models', OPHGATE_INFERENCE__EXECUTION_PROVIDER: 'cpu', OPHGATE_LOG__LEVEL: 'debug',
      },
    });
  }, 90_000);

  afterAll(async () => {
    store?.close();
    await gateway?.stop();
    if (fhirServer && fhirServer.exitCode === null) { fhirServer.kill('SIGTERM'); await waitExit(fhirServer, 5_000); }
    await orthanc?.stop();
    await ns?.destroy();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    if (orthancDir) rmSync(orthancDir, { recursive: true, force: true });
  }, 60_000);

  it('an unconfigured DICOMweb endpoint gets 422 and Orthanc is never asked for the study', async () => {
    for (const address of [`http://localhost:${ORTHANC_PORT}/dicom-web`, `${ORTHANC_DICOMWEB}.evil.com`, `http://127.0.0.1:${ORTHANC_PORT}/`]) {
      const r = await notify('PUT', '/ImagingStudy/d1', imagingStudy('d1', refused, { contained: address }));
      expect(r.status, `${address}: ${r.text()}`).toBe(422);
      const oo = r.json<{ resourceType: string; issue: Array<{ diagnostics: string }> }>();
      expect(oo.resourceType).toBe('OperationOutcome');
      expect(oo.issue[0]!.diagnostics).toContain(`the WADO-RS endpoint address ${JSON.stringify(address)} is not a DICOMweb source configured in OphGate (sources.dicomweb)`);
    }
    // The same refusal for a Backport Bundle.
    const focus = `${fhir.baseUrl}/ImagingStudy/d1`;
    const b = await notify('POST', '', backportBundle(fhir.baseUrl, focus, [{ fullUrl: focus, resource: imagingStudy('d1', refused, { contained: 'http://attacker.example/dicom-web' }) }]));
    expect(b.status).toBe(422);
    await new Promise((r) => setTimeout(r, 1_000)); // a fetch, were one queued, would start within the 100 ms poll
    expect(await api<Task[]>(`/api/fetches?study=${refused}`)).toEqual([]);
    expect(orthancRequestsFor(refused), 'Orthanc received no request for the refused study').toEqual([]);
  });

  const forms: Array<[string, string, () => Promise<{ status: number; json<T>(): T; text(): string }>]> = [
    ['R4 rest-hook (PUT ImagingStudy with a contained Endpoint)', restHook,
      () => notify('PUT', '/ImagingStudy/a1', imagingStudy('a1', restHook, { contained: ORTHANC_DICOMWEB }))],
    ['Backport full-resource (ImagingStudy and Endpoint as Bundle entries)', fullResource, () => {
      const focus = `${fhir.baseUrl}/ImagingStudy/b1`;
      return notify('POST', '', backportBundle(fhir.baseUrl, focus, [
        { fullUrl: focus, resource: imagingStudy('b1', fullResource, { reference: 'Endpoint/orthanc' }), request: { method: 'PUT', url: 'ImagingStudy/b1' }, response: { status: '200' } },
        { fullUrl: `${fhir.baseUrl}/Endpoint/orthanc`, resource: wadoEndpoint('orthanc', ORTHANC_DICOMWEB) },
      ]));
    }],
    ['Backport id-only (the ImagingStudy read from the notifying server)', idOnly, () => {
      const focus = `${fhir.baseUrl}/ImagingStudy/${fhir.studyId}`;
      return notify('POST', '', backportBundle(fhir.baseUrl, focus, [{ fullUrl: focus, request: { method: 'PUT', url: `ImagingStudy/${fhir.studyId}` }, response: { status: '200' } }]));
    }],
  ];

  for (const [form, uid] of forms.map(([f, u]) => [f, u] as const)) {
    it(`${form}: 202, every instance retrieved byte for byte, the study assembled with a pipeline job`, async () => {
      const send = forms.find(([f]) => f === form)![2];
      const r = await send();
      expect(r.status, `${form}: ${r.text()}`).toBe(202);
      const accepted = r.json<{ tasks: Task[] }>().tasks;
      expect(accepted.map((t) => [t.studyInstanceUid, t.source])).toEqual([[uid, 'orthanc']]);
      const deadline = Date.now() + 30_000;
      let task: Task;
      for (;;) {
        task = await api<Task>(`/api/fetches/${accepted[0]!.id}`);
        if (task.state === 'done' || task.state === 'dead') break;
        if (Date.now() > deadline) throw new Error(`fetch task ${task.id} still ${task.state} after 30 s (${task.lastError})${diagnostics()}`);
        await new Promise((res) => setTimeout(res, 200));
      }
      const expected = studies.get(uid)!;
      expect(task.state, `${task.lastError}${diagnostics()}`).toBe('done');
      expect(task.result).toMatchObject({ stored: expected.files.length, duplicates: 0, refused: 0 });
      expect(orthancRequestsFor(uid).some((l) => l.includes(`GET /dicom-web/studies/${uid}`)), 'Orthanc served the WADO-RS request').toBe(true);

      // What OphGate holds is what Orthanc holds: the same SOP Instances, each with the same bytes.
      const orthancInstances = await orthanc!.http(`/dicom-web/studies/${uid}/instances`);
      expect(orthancInstances.status).toBe(200);
      const orthancSops = orthancInstances.json<Array<Record<string, { Value: string[] }>>>().map((i) => i['00080018']!.Value[0]).sort();
      store ??= new SqliteStore(dataDir);
      const rows = store.instancesOfStudy(uid, 'received');
      expect(rows.map((i) => i.sop_instance_uid).sort()).toEqual(orthancSops);
      expect(rows.map((i) => i.sop_instance_uid).sort()).toEqual(expected.files.map((f) => f.sop).sort());
      for (const f of expected.files) {
        const row = rows.find((i) => i.sop_instance_uid === f.sop)!;
        expect(row.protocol).toBe('wado-fetch');
        const blob = readFileSync(store.blobPath(row));
        expect({ size: blob.length, sha256: sha256(blob) }, `${f.file} as OphGate keeps it`).toEqual({ size: f.size, sha256: f.sha256 });
      }
      expect(task.result!.bytes).toBeGreaterThan(expected.files.reduce((n, f) => n + f.size, 0));

      // The retrieval completes the study at once (settle time is 30 s here): routed ophthalmic, with a job.
      const study = await api<{ state: string; routing: string; instances: number; jobs: unknown[] }>(`/api/studies/${uid}`);
      expect(study, diagnostics()).toMatchObject({ state: 'settled', routing: 'ophthalmic', instances: expected.files.length });
      expect(study.jobs.length, `pipeline job for ${uid}${diagnostics()}`).toBe(1);
    }, 45_000);
  }

  it('a study a Subscription notification named goes through the pipeline to its FHIR report', async () => {
    const deadline = Date.now() + 60_000;
    let jobs: Array<{ state: string; stage: string | null; lastError: string | null }> = [];
    for (;;) {
      jobs = (await api<{ jobs: typeof jobs }>(`/api/studies/${idOnly}`)).jobs;
      if (jobs.every((j) => j.state === 'done' || j.state === 'dead')) break;
      if (Date.now() > deadline) throw new Error(`job not finished after 60 s: ${JSON.stringify(jobs)}${diagnostics()}`);
      await new Promise((res) => setTimeout(res, 500));
    }
    expect(jobs.map((j) => j.state), JSON.stringify(jobs)).toEqual(['done']);
    const studies = await api<{ total: number; entry?: Array<{ resource: { id: string } }> }>(`/fhir/ImagingStudy?identifier=${encodeURIComponent(`urn:dicom:uid|urn:oid:${idOnly}`)}`);
    expect(studies.total, `the study's ImagingStudy under /fhir${diagnostics()}`).toBe(1);
    const reports = await api<{ total: number; entry?: Array<{ resource: { resourceType: string; status: string; imagingStudy?: Array<{ reference: string }> } }> }>(`/fhir/DiagnosticReport?study=ImagingStudy/${studies.entry![0]!.resource.id}`);
    expect(reports.total).toBe(1);
    expect(reports.entry![0]!.resource).toMatchObject({ resourceType: 'DiagnosticReport', status: 'preliminary' });
  }, 75_000);

  it('the id-only notification was read from the notifying server, and nothing else was fetched', async () => {
    await new Promise((r) => setTimeout(r, 200)); // the server prints its requests every 50 ms
    expect(fhirLog.filter((l) => l.startsWith('request'))).toEqual([`request GET /fhir/ImagingStudy/${fhir.studyId}`, `request GET /fhir/Endpoint/${fhir.endpointId}`]);
    store ??= new SqliteStore(dataDir);
    expect(store.countInstances('received')).toBe([restHook, fullResource, idOnly].reduce((n, u) => n + studies.get(u)!.files.length, 0));
    expect(store.getStudy(refused)).toBeUndefined();
  });
});
