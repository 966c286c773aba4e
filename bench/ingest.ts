// Ingest benchmark: OphGate beside Orthanc (Debian's package with its DICOMweb plugin), same files, same disk,
// same client, same concurrency, in the same run.
//
//   npm run bench:ingest [-- --instances 200 --per-request 10 --concurrency 4 --cstore-parallel 4 --rounds 2
//                           --body-mb 1024 --profile | --no-profile --no-docs --keep]
//
// Measures (ratios are OphGate / Orthanc):
//   - STOW-RS throughput (MB/s of DICOM files): `concurrency` requests in flight, each carrying `per-request`
//     instances, both servers acknowledging only after the write (OphGate fsyncs blob and index before it
//     answers; Orthanc runs with "SyncStorageArea": true).
//   - C-STORE throughput (instances/s) with dcmtk storescu: one association sending every file in turn, and
//     `cstore-parallel` storescu processes at once, each with its share of the files.
//   - Peak RSS growth of the gateway process while it stores ONE STOW-RS request of about 1 GB (many parts: copies
//     of a fixture with fresh UIDs, generated while sending, so the client never holds the body).
// Everything (both servers, every client) runs inside a private network namespace, because Orthanc binds every
// address. The figures are printed as a table and written to docs/benchmarks.md. Needs root (ip netns),
// Orthanc + orthanc-dicomweb, dcmtk. Never part of `npm test`.
import { spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { PROJECT_ROOT } from '../src/project-root.js';
import { writeDocSection } from './docs-section.js';
import { INSIDE_NETNS_ENV, Netns, hasCommand, netnsUnavailableReason, spawnGateway, type NetnsGateway } from '../test/e2e/netns.js';
import { debianDefaultConfig, findDicomWebPlugin, orthancUnavailableReason, startOrthanc, type Orthanc } from '../test/e2e/orthanc.js';

const { values: args } = parseArgs({
  options: {
    instances: { type: 'string', default: '200' },
    'per-request': { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '4' },
    'cstore-parallel': { type: 'string', default: '4' },
    rounds: { type: 'string', default: '2' },
    'body-mb': { type: 'string', default: '1024' },
    profile: { type: 'boolean', default: false },
    'no-profile': { type: 'boolean', default: false },
    'no-docs': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
  strict: true,
});
const N = Number(args.instances);
const PER_REQUEST = Number(args['per-request']);
const CONCURRENCY = Number(args.concurrency);
const CSTORE_PARALLEL = Number(args['cstore-parallel']);
const ROUNDS = Number(args.rounds);
const BODY_BYTES = Number(args['body-mb']) * 1024 * 1024;
const DOCS = path.join(PROJECT_ROOT, 'docs', 'benchmarks.md');
const LOG_DIR = path.join(PROJECT_ROOT, 'tmp', 'bench-logs');
const STOW_TARGET = 1.5;
const CSTORE_TARGET = 1;
const RSS_TARGET_MB = 100;

// ---- outside the namespace: make one, re-run this script inside it, delete it ---------------------------------

if (!process.env[INSIDE_NETNS_ENV]) {
  const why = netnsUnavailableReason() ?? orthancUnavailableReason() ?? (hasCommand('storescu') ? undefined : 'dcmtk storescu is not installed');
  if (why) {
    console.error(`bench:ingest cannot run here: ${why}`);
    process.exit(2);
  }
  const ns = await Netns.create('ophgate-bench');
  const cleanup = () => void ns.destroy(2_000);
  process.once('SIGINT', cleanup);
  process.once('SIGTERM', cleanup);
  const child = ns.spawn(process.execPath, ['--import', 'tsx', path.join('bench', 'ingest.ts'), ...process.argv.slice(2)], { cwd: PROJECT_ROOT, stdio: 'inherit' });
  const [code] = (await once(child, 'exit')) as [number | null];
  await ns.destroy();
  process.exit(code ?? 1);
}

// ---- inside the namespace -----------------------------------------------------------------------------------

const ns = Netns.current()!;
const log = (msg: string) => console.log(`[bench] ${msg}`);

interface Template { name: string; bytes: Buffer; sopClassUid: string; transferSyntaxUid: string; uids: { study: string; series: string; sop: string } }
interface Instance { bytes: Buffer; file: string }
interface InstanceSet { name: string; dir: string; instances: Instance[]; bytes: number }

/** Valid ophthalmic fixtures (or a synthetic 1072x712 RGB OP image when fixtures/ is empty) with their UIDs. */
async function templates(): Promise<Template[]> {
  const manifestFile = path.join(PROJECT_ROOT, 'fixtures', 'manifest.json');
  if (existsSync(manifestFile)) {
    const m = JSON.parse(readFileSync(manifestFile, 'utf8')) as { files: Array<{ path: string; valid: boolean; ophthalmic: boolean; studyInstanceUid: string | null; seriesInstanceUid: string | null; sopInstanceUid: string | null; sopClassUid: string | null; transferSyntaxUid: string | null }> };
    const t = m.files.filter((e) => e.valid && e.ophthalmic && e.studyInstanceUid && e.seriesInstanceUid && e.sopInstanceUid && e.sopClassUid && e.transferSyntaxUid).map((e) => ({
      name: e.path, bytes: readFileSync(path.join(PROJECT_ROOT, 'fixtures', e.path)), sopClassUid: e.sopClassUid!, transferSyntaxUid: e.transferSyntaxUid!,
      uids: { study: e.studyInstanceUid!, series: e.seriesInstanceUid!, sop: e.sopInstanceUid! },
    }));
    if (t.length > 0) return t;
  }
  const { syntheticInstance } = await import('../test/helpers/synthetic.js');
  const s = syntheticInstance({ rows: 712, columns: 1072, patientName: 'BENCH^SYNTHETIC', patientId: 'BENCH-0001' });
  return [{ name: 'synthetic-op-1072x712-rgb', bytes: s.bytes, sopClassUid: '1.2.840.10008.5.1.4.1.1.77.1.5.1', transferSyntaxUid: '1.2.840.10008.1.2.1', uids: { study: s.studyUid, series: s.seriesUid, sop: s.sopUid } }];
}

/** A fresh UID of exactly the same length (so every element length and offset in the file stays as it is). */
function sameLengthUid(uid: string): string {
  const root = '2.25.';
  const digits = uid.length - root.length;
  if (digits < 2) throw new Error(`UID too short to replace: ${uid}`);
  let d = String(randomInt(1, 10));
  while (d.length < digits) d += randomBytes(8).readBigUInt64BE().toString().slice(1);
  return root + d.slice(0, digits);
}

function offsetsOf(buf: Buffer, s: string): number[] {
  const needle = Buffer.from(s, 'latin1');
  const out: number[] = [];
  for (let i = buf.indexOf(needle); i >= 0; i = buf.indexOf(needle, i + needle.length)) out.push(i);
  return out;
}

/** Copies a template with new study/series/SOP instance UIDs written over the old ones, byte for byte. */
class Stamper {
  private readonly at: Record<'study' | 'series' | 'sop', number[]>;
  constructor(readonly t: Template) {
    this.at = { study: offsetsOf(t.bytes, t.uids.study), series: offsetsOf(t.bytes, t.uids.series), sop: offsetsOf(t.bytes, t.uids.sop) };
    if (this.at.sop.length === 0 || this.at.study.length === 0) throw new Error(`${t.name}: UIDs not found in the file`);
  }
  stamp(uids: { study: string; series: string; sop: string }, into?: Buffer): Buffer {
    const b = into ?? Buffer.allocUnsafe(this.t.bytes.length);
    this.t.bytes.copy(b);
    for (const k of ['study', 'series', 'sop'] as const) for (const o of this.at[k]) b.write(uids[k], o, 'latin1');
    return b;
  }
}

/** `n` instances cycling through the templates, about 4 per study, fresh UIDs, kept in memory and on disk. */
function makeSet(name: string, stampers: Stamper[], n: number, root: string): InstanceSet {
  const dir = path.join(root, name);
  mkdirSync(dir, { recursive: true });
  const studies = new Map<string, { study: string; series: string }>();
  const instances: Instance[] = [];
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const s = stampers[i % stampers.length]!;
    const key = `${Math.floor(i / (stampers.length * 4))}/${i % stampers.length}`;
    let st = studies.get(key);
    if (!st) { st = { study: sameLengthUid(s.t.uids.study), series: sameLengthUid(s.t.uids.series) }; studies.set(key, st); }
    const buf = s.stamp({ ...st, sop: sameLengthUid(s.t.uids.sop) });
    const file = path.join(dir, `${String(i).padStart(5, '0')}.dcm`);
    writeFileSync(file, buf);
    instances.push({ bytes: buf, file });
    bytes += buf.length;
  }
  return { name, dir, instances, bytes };
}

// ---- clients ---------------------------------------------------------------------------------------------------

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function boundary(): string { return `ophgate-bench-${randomBytes(12).toString('hex')}`; }

/** One multipart/related STOW-RS request; parts come from `next()` until it returns undefined. */
async function stow(url: string, parts: { count: number; size: (i: number) => number; get: (i: number) => Buffer | Promise<Buffer> }): Promise<{ status: number; body: string }> {
  const b = boundary();
  const head = (Buffer.from(`--${b}\r\nContent-Type: application/dicom\r\n\r\n`, 'latin1'));
  const tail = Buffer.from(`--${b}--\r\n`, 'latin1');
  let length = tail.length;
  for (let i = 0; i < parts.count; i++) length += head.length + parts.size(i) + 2;
  const u = new URL(url);
  const req = http.request({
    agent, method: 'POST', host: u.hostname, port: u.port, path: u.pathname,
    headers: { 'Content-Type': `multipart/related; type="application/dicom"; boundary=${b}`, 'Content-Length': String(length), Accept: 'application/dicom+json' },
  });
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.once('error', reject);
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.once('error', reject);
    });
  });
  const crlf = Buffer.from('\r\n');
  try {
    for (let i = 0; i < parts.count; i++) {
      req.write(head);
      const ok = req.write(await parts.get(i));
      req.write(crlf);
      if (!ok) await Promise.race([once(req, 'drain'), response]);
    }
    req.end(tail);
  } catch (err) {
    req.destroy(err as Error);
  }
  return response;
}

/** Sends the set as STOW-RS requests of PER_REQUEST instances, CONCURRENCY at a time. Returns seconds. */
async function stowSet(url: string, set: InstanceSet): Promise<number> {
  const batches: Instance[][] = [];
  for (let i = 0; i < set.instances.length; i += PER_REQUEST) batches.push(set.instances.slice(i, i + PER_REQUEST));
  let next = 0;
  const failures: string[] = [];
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    for (;;) {
      const batch = batches[next++];
      if (!batch) return;
      const r = await stow(url, { count: batch.length, size: (i) => batch[i]!.bytes.length, get: (i) => batch[i]!.bytes });
      if (r.status !== 200) failures.push(`HTTP ${r.status}: ${r.body.slice(0, 300)}`);
    }
  }));
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (failures.length) throw new Error(`STOW-RS to ${url}: ${failures.length} request(s) failed, first: ${failures[0]}`);
  return s;
}

/**
 * A storescu configuration (-xf FILE Bench) proposing each template's SOP class with its own transfer syntax, so the
 * files go as they are (storescu's default proposes uncompressed syntaxes only and cannot send JPEG or JPEG 2000).
 */
function storescuConfig(tpl: Template[], dir: string): string {
  const ts = [...new Set(tpl.map((t) => t.transferSyntaxUid))];
  const pcs = [...new Set(tpl.map((t) => `${t.sopClassUid}\\TS${ts.indexOf(t.transferSyntaxUid)}`))];
  const text = ['[[TransferSyntaxes]]', ...ts.flatMap((uid, i) => [`[TS${i}]`, `TransferSyntax1 = ${uid}`]),
    '[[PresentationContexts]]', '[BenchContexts]', ...pcs.map((pc, i) => `PresentationContext${i + 1} = ${pc}`),
    '[[Profiles]]', '[Bench]', 'PresentationContexts = BenchContexts', ''].join('\n');
  const file = path.join(dir, 'storescu.cfg');
  writeFileSync(file, text);
  return file;
}
let storescuCfg = '';

/** storescu with the files split over `processes` associations. Returns seconds. */
async function cstoreSet(port: number, aec: string, set: InstanceSet, processes: number): Promise<number> {
  const shares: string[][] = Array.from({ length: processes }, () => []);
  set.instances.forEach((inst, i) => shares[i % processes]!.push(inst.file));
  const t0 = process.hrtime.bigint();
  const results = await Promise.all(shares.map((files) => ns.run('storescu', ['-xf', storescuCfg, 'Bench', '-aet', 'BENCHSCU', '-aec', aec, '-nh', '127.0.0.1', String(port), ...files], { timeoutMs: 300_000 })));
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const bad = results.find((r) => r.code !== 0 || /\bE:|\bF:/.test(r.stderr));
  if (bad) throw new Error(`storescu to ${aec}:${port} failed (exit ${bad.code}): ${bad.stderr.slice(0, 800)}`);
  return s;
}

// ---- servers ---------------------------------------------------------------------------------------------------

const work = mkdtempSync(path.join(os.tmpdir(), 'ophgate-bench-'));
mkdirSync(LOG_DIR, { recursive: true });
const children: Array<{ stop(): Promise<void> }> = [];

async function startGateway(name: string, nodeArgs: string[] = []): Promise<NetnsGateway> {
  const dataDir = path.join(work, `ophgate-${name}`);
  const g = await spawnGateway(ns, {
    projectRoot: PROJECT_ROOT, dataDir, nodeArgs,
    logFile: path.join(LOG_DIR, `gateway-${name}.jsonl`),
    // Ingest only: the pipeline would decode the studies on the same two cores after they settle.
    env: { OPHGATE_PIPELINE__ENABLED: 'false', OPHGATE_LOG__LEVEL: 'info' },
  });
  children.push(g);
  return g;
}

function gatewayCount(g: NetnsGateway): number {
  const db = new Database(path.join(g.dataDir, 'index.sqlite'), { readonly: true, fileMustExist: true });
  try { return (db.prepare('SELECT count(*) AS n FROM instances').get() as { n: number }).n; } finally { db.close(); }
}

async function orthancCount(o: Orthanc): Promise<number> {
  const r = await o.http('/statistics');
  return r.json<{ CountInstances: number }>().CountInstances;
}

function sync(): void { spawnSync('sync'); }

// ---- RSS -------------------------------------------------------------------------------------------------------

function procStatus(pid: number): { rssKb: number; hwmKb: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
  return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') };
}

async function rssDuringHugeStow(g: NetnsGateway, template: Template): Promise<{ bodyBytes: number; parts: number; seconds: number; baselineMb: number; peakMb: number; growthMb: number; hwmGrowthMb: number; stored: number }> {
  const stamper = new Stamper(template);
  const parts = Math.max(1, Math.round(BODY_BYTES / template.bytes.length));
  // Reset the process's peak-RSS counter (VmHWM) to its current RSS (Linux clear_refs, value 5).
  try { writeFileSync(`/proc/${g.pid}/clear_refs`, '5'); } catch { /* older kernels: the sampled maximum still counts */ }
  await new Promise((r) => setTimeout(r, 200));
  const base = procStatus(g.pid);
  let peak = base.rssKb;
  const timer = setInterval(() => { try { peak = Math.max(peak, procStatus(g.pid).rssKb); } catch { /* exited */ } }, 20);
  let study = { study: '', series: '' };
  const before = gatewayCount(g);
  const t0 = process.hrtime.bigint();
  const r = await stow(`${g.baseUrl}/dicomweb/studies`, {
    count: parts, size: () => template.bytes.length,
    get: (i) => {
      if (i % 50 === 0) study = { study: sameLengthUid(template.uids.study), series: sameLengthUid(template.uids.series) };
      // A fresh buffer per part: the socket may still hold the previous one until it drains.
      return stamper.stamp({ ...study, sop: sameLengthUid(template.uids.sop) });
    },
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  clearInterval(timer);
  const after = procStatus(g.pid);
  peak = Math.max(peak, after.rssKb);
  if (r.status !== 200) throw new Error(`1 GB STOW-RS: HTTP ${r.status} ${r.body.slice(0, 300)}`);
  const stored = gatewayCount(g) - before;
  return {
    bodyBytes: parts * template.bytes.length, parts, seconds, baselineMb: base.rssKb / 1024, peakMb: Math.max(peak, after.hwmKb) / 1024,
    growthMb: (peak - base.rssKb) / 1024, hwmGrowthMb: (after.hwmKb - base.hwmKb) / 1024, stored,
  };
}

// ---- CPU profile summary ---------------------------------------------------------------------------------------

interface CpuProfile { nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }>; startTime: number; samples: number[]; timeDeltas: number[] }

/**
 * Self time by function and by module. Only samples inside [fromUs, toUs] count when the window holds any (V8's
 * profile clock and process.hrtime are both CLOCK_MONOTONIC, in microseconds): start-up and shutdown stay out.
 */
function summariseProfile(file: string, fromUs: number, toUs: number): { total: number; windowed: boolean; functions: Array<[string, number]>; modules: Array<[string, number]>; syncFs: number; syncFsCallers: Array<[string, number]> } {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let t = p.startTime;
  const inWindow: boolean[] = p.timeDeltas.map((d) => { t += d; return t >= fromUs && t <= toUs; });
  const windowed = inWindow.some(Boolean);
  p.samples.forEach((id, i) => { if (!windowed || inWindow[i]) self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)); });
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const where = (id: number | undefined) => {
    if (id === undefined) return '?';
    const cf = byId.get(id)!.callFrame;
    const url = cf.url.replace(/^file:\/\//, '');
    return `${cf.functionName || '(anonymous)'} (${url.startsWith(PROJECT_ROOT) ? path.relative(PROJECT_ROOT, url) : url || 'native'})`;
  };
  const fn = new Map<string, number>();
  const mod = new Map<string, number>();
  // Synchronous file-system calls on the main thread (fsyncSync, mkdirSync, …): they block the event loop.
  const syncCallers = new Map<string, number>();
  let syncFs = 0;
  let total = 0;
  for (const [id, us] of self) {
    const cf = byId.get(id)!.callFrame;
    if (cf.functionName === '(idle)') continue;
    total += us;
    const url = cf.url.replace(/^file:\/\//, '');
    const short = url.includes('node_modules/') ? url.slice(url.lastIndexOf('node_modules/') + 13) : url.startsWith(PROJECT_ROOT) ? path.relative(PROJECT_ROOT, url) : url;
    const key = `${cf.functionName || '(anonymous)'}${short ? ` ${short}:${cf.lineNumber + 1}` : ''}`;
    fn.set(key, (fn.get(key) ?? 0) + us);
    const m = !url ? cf.functionName : url.includes('node_modules/') ? url.slice(url.lastIndexOf('node_modules/') + 13).split('/').slice(0, url.includes('node_modules/@') ? 2 : 1).join('/')
      : url.startsWith('node:') ? 'node core (' + url.split('/')[0] + ')' : url.startsWith(PROJECT_ROOT) ? path.relative(PROJECT_ROOT, url) : url;
    mod.set(m, (mod.get(m) ?? 0) + us);
    const up = parent.get(id);
    const upName = up === undefined ? '' : byId.get(up)!.callFrame.functionName;
    if (/Sync$/.test(upName) && byId.get(up!)!.callFrame.url === 'node:fs') {
      syncFs += us;
      const caller = parent.get(up!);
      const key = `${upName} <- ${where(caller)} <- ${where(caller === undefined ? undefined : parent.get(caller))}`;
      syncCallers.set(key, (syncCallers.get(key) ?? 0) + us);
    }
  }
  const top = (m: Map<string, number>, n: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n);
  return { total, windowed, functions: top(fn, 15), modules: top(mod, 12), syncFs, syncFsCallers: top(syncCallers, 6) };
}

// ---- run ------------------------------------------------------------------------------------------------------

const fmt = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const mb = (bytes: number) => bytes / 1e6;

interface Phase { label: string; unit: string; ophgate: number[]; orthanc: number[]; target: number }
const phases: Record<'stow' | 'cstore1' | 'cstoreK', Phase> = {
  stow: { label: `STOW-RS, ${CONCURRENCY} concurrent requests x ${PER_REQUEST} instances`, unit: 'MB/s', ophgate: [], orthanc: [], target: STOW_TARGET },
  cstore1: { label: 'C-STORE, storescu, 1 association', unit: 'inst/s', ophgate: [], orthanc: [], target: CSTORE_TARGET },
  cstoreK: { label: `C-STORE, storescu, ${CSTORE_PARALLEL} parallel associations`, unit: 'inst/s', ophgate: [], orthanc: [], target: CSTORE_TARGET },
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

let exitCode = 0;
let profileSummary: ReturnType<typeof summariseProfile> | undefined;
let rss: Awaited<ReturnType<typeof rssDuringHugeStow>> | undefined;
let orthancSettings: Record<string, unknown> = {};
let versions = { orthanc: '?', dicomweb: '?', storescu: '?' };
let setBytes = 0;
let templateNames: string[] = [];
const started = new Date();
const loadAtStart = os.loadavg().map((x) => x.toFixed(2)).join(', ');
try {
  const tpl = await templates();
  templateNames = tpl.map((t) => t.name);
  const stampers = tpl.map((t) => new Stamper(t));
  storescuCfg = storescuConfig(tpl, work);
  log(`${tpl.length} template file(s); ${N} instances per set; work dir ${work}`);

  const gateway = await startGateway('main');
  const orthanc = await startOrthanc({
    ns, dir: path.join(work, 'orthanc'), debianDefaults: true,
    settings: { SyncStorageArea: true, DicomWeb: { Enable: true, Root: '/dicom-web/' } },
  });
  children.push(orthanc);
  orthancSettings = orthanc.config;
  const sys = (await orthanc.http('/system')).json<{ Version: string }>();
  const plugin = (await orthanc.http('/plugins/dicom-web')).json<{ Version: string }>();
  versions = { orthanc: sys.Version, dicomweb: plugin.Version, storescu: spawnSync('storescu', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0]!.replace(/\$/g, '').trim() };
  if (statSync(gateway.dataDir).dev !== statSync(orthanc.storageDir).dev) throw new Error('the two data directories are not on the same filesystem');
  log(`OphGate pid ${gateway.pid} http ${gateway.httpPort} dimse ${gateway.dimsePort}; Orthanc ${versions.orthanc} (DICOMweb ${versions.dicomweb}) pid ${orthanc.pid}`);

  // Warm-up: both servers take a few instances over each protocol (JIT, first-use allocations, open files).
  const warm = makeSet('warmup', stampers, Math.min(20, N), work);
  await stowSet(`${gateway.baseUrl}/dicomweb/studies`, warm);
  await stowSet(`${orthanc.url}/dicom-web/studies`, warm);
  rmSync(warm.dir, { recursive: true, force: true });
  const warmC = makeSet('warmup-c', stampers, Math.min(20, N), work);
  await cstoreSet(gateway.dimsePort!, 'OPHGATE', warmC, 1);
  await cstoreSet(orthanc.dicomPort, orthanc.aet, warmC, 1);
  rmSync(warmC.dir, { recursive: true, force: true });

  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? ['orthanc', 'ophgate'] as const : ['ophgate', 'orthanc'] as const;
    for (const key of ['stow', 'cstore1', 'cstoreK'] as const) {
      const set = makeSet(`${key}-${round}`, stampers, N, work);
      setBytes = set.bytes;
      for (const who of order) {
        const before = who === 'ophgate' ? gatewayCount(gateway) : await orthancCount(orthanc);
        sync();
        let seconds: number;
        if (key === 'stow') seconds = await stowSet(who === 'ophgate' ? `${gateway.baseUrl}/dicomweb/studies` : `${orthanc.url}/dicom-web/studies`, set);
        else {
          const k = key === 'cstore1' ? 1 : CSTORE_PARALLEL;
          seconds = who === 'ophgate' ? await cstoreSet(gateway.dimsePort!, 'OPHGATE', set, k) : await cstoreSet(orthanc.dicomPort, orthanc.aet, set, k);
        }
        const stored = (who === 'ophgate' ? gatewayCount(gateway) : await orthancCount(orthanc)) - before;
        if (stored !== N) throw new Error(`${who} ${key}: ${stored} of ${N} instances stored`);
        const figure = key === 'stow' ? mb(set.bytes) / seconds : N / seconds;
        phases[key][who].push(figure);
        log(`round ${round + 1} ${key.padEnd(7)} ${who.padEnd(7)} ${fmt(seconds, 2)} s  ${fmt(figure)} ${phases[key].unit}`);
      }
      rmSync(set.dir, { recursive: true, force: true });
    }
  }
  await orthanc.stop();
  await gateway.stop();

  // Peak RSS of a fresh gateway while it stores one ~1 GB STOW-RS request.
  const big = tpl.reduce((a, b) => (b.bytes.length > a.bytes.length ? b : a));
  const g2 = await startGateway('rss');
  log(`1 GB STOW-RS to a fresh gateway (pid ${g2.pid}), parts: copies of ${big.name} (${fmt(mb(big.bytes.length), 2)} MB)`);
  rss = await rssDuringHugeStow(g2, big);
  log(`  ${rss.parts} parts, ${fmt(mb(rss.bodyBytes), 0)} MB in ${fmt(rss.seconds, 1)} s; RSS ${fmt(rss.baselineMb)} MB -> peak ${fmt(rss.peakMb)} MB (growth ${fmt(rss.growthMb)} MB sampled, VmHWM growth ${fmt(rss.hwmGrowthMb)} MB)`);
  if (rss.stored !== rss.parts) throw new Error(`1 GB STOW-RS: ${rss.stored} of ${rss.parts} parts stored`);
  await g2.stop();
  rmSync(g2.dataDir, { recursive: true, force: true });

  // Where the time goes, when the STOW-RS target is missed (or asked for).
  const stowRatio = mean(phases.stow.ophgate) / mean(phases.stow.orthanc);
  if (!args['no-profile'] && (args.profile || stowRatio < STOW_TARGET)) {
    const profDir = path.join(work, 'cpuprof');
    mkdirSync(profDir, { recursive: true });
    const g3 = await startGateway('profile', ['--cpu-prof', `--cpu-prof-dir=${profDir}`, '--cpu-prof-interval=500']);
    const set = makeSet('profile', stampers, N, work);
    const fromUs = Number(process.hrtime.bigint() / 1000n);
    const s = await stowSet(`${g3.baseUrl}/dicomweb/studies`, set);
    const toUs = Number(process.hrtime.bigint() / 1000n);
    log(`profiled STOW-RS run: ${fmt(mb(set.bytes) / s)} MB/s (profiler on)`);
    rmSync(set.dir, { recursive: true, force: true });
    await g3.stop(30_000);
    const prof = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
    if (prof) {
      profileSummary = summariseProfile(path.join(profDir, prof), fromUs, toUs);
      const keep = path.join(LOG_DIR, 'stow-gateway.cpuprofile');
      writeFileSync(keep, readFileSync(path.join(profDir, prof)));
      log(`CPU profile kept at ${path.relative(PROJECT_ROOT, keep)}`);
    } else log('no CPU profile was written (the gateway did not exit cleanly?)');
  }
} catch (err) {
  exitCode = 1;
  console.error(`[bench] FAILED: ${(err as Error).stack ?? err}`);
} finally {
  for (const c of children.reverse()) await c.stop().catch(() => undefined);
  if (!args.keep) rmSync(work, { recursive: true, force: true });
  else log(`kept ${work}`);
}

// ---- report ----------------------------------------------------------------------------------------------------

const rows: string[][] = [['measure', 'OphGate', 'Orthanc', 'OphGate/Orthanc', 'target', 'met']];
for (const p of Object.values(phases)) {
  if (!p.ophgate.length || !p.orthanc.length) continue;
  const ratio = mean(p.ophgate) / mean(p.orthanc);
  rows.push([`${p.label} (${p.unit})`, fmt(mean(p.ophgate)), fmt(mean(p.orthanc)), fmt(ratio, 2), `>= ${p.target}x`, ratio >= p.target ? 'yes' : 'NO']);
}
if (rss) rows.push([`peak RSS growth, one ${fmt(rss.bodyBytes / 2 ** 30, 2)} GiB STOW-RS request (MB)`, fmt(Math.max(rss.growthMb, rss.hwmGrowthMb)), '-', '-', `<= ${RSS_TARGET_MB} MB`, Math.max(rss.growthMb, rss.hwmGrowthMb) <= RSS_TARGET_MB ? 'yes' : 'NO']);
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
const table = rows.map((r, j) => {
  const line = r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return j === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
}).join('\n');
console.log(`\n${table}\n`);
if (rows.length < 2) exitCode = 1;

if (!args['no-docs'] && exitCode === 0) {
  const md = (r: string[]) => `| ${r.join(' | ')} |`;
  const perRound = Object.values(phases).map((p) => `| ${p.label} (${p.unit}) | ${p.ophgate.map((x) => fmt(x)).join(', ')} | ${p.orthanc.map((x) => fmt(x)).join(', ')} |`).join('\n');
  const shownSettings = Object.fromEntries(Object.entries(orthancSettings).filter(([k]) => [
    'StorageDirectory', 'IndexDirectory', 'StorageCompression', 'SyncStorageArea', 'StoreMD5ForAttachments', 'OverwriteInstances', 'MaximumStorageCacheSize',
    'HttpThreadsCount', 'DicomThreadsCount', 'ConcurrentJobs', 'MaximumPduLength', 'KeepAlive', 'TcpNoDelay', 'HttpCompressionEnabled', 'IngestTranscoding',
    'StorageAccessOnFind', 'DicomWeb', 'Plugins', 'LuaScripts',
  ].includes(k)).map(([k, v]) => [k, typeof v === 'string' && v.startsWith(os.tmpdir()) ? '<temporary dir>' : v]));
  const doc = `## Ingest: OphGate beside Orthanc

What is measured, in one run, with both servers on the same machine and the same filesystem, fed the same files by
the same client at the same concurrency (ratios are OphGate / Orthanc; higher is better for OphGate):

- **STOW-RS throughput** (MB/s of DICOM files): ${CONCURRENCY} requests in flight, each a multipart/related body of
  ${PER_REQUEST} instances, ${N} instances per run; Orthanc's own STOW-RS endpoint (\`POST /dicom-web/studies\`) against
  OphGate's (\`POST /dicomweb/studies\`). Both answer only after the write: OphGate fsyncs every blob and commits its
  SQLite index with \`synchronous=FULL\` before it acknowledges; Orthanc runs with \`"SyncStorageArea": true\`.
- **C-STORE throughput** (instances/s): dcmtk \`storescu\` sending the same ${N} files in one association, and split
  over ${CSTORE_PARALLEL} storescu processes in parallel.
- **Memory**: peak RSS growth of a fresh gateway process (\`/proc/PID/status\` VmRSS sampled every 20 ms, and VmHWM
  after resetting it through \`/proc/PID/clear_refs\`) while it stores ONE STOW-RS request of about 1 GiB (copies of the
  largest fixture with fresh UIDs, generated while sending: the client never holds the body).

Each run uses fresh instances: copies of the valid ophthalmic fixtures (${templateNames.length} files: ${templateNames.join(', ')})
with new Study/Series/SOP Instance UIDs of the same length written over the old ones, about 4 instances per study,
${fmt(mb(setBytes), 0)} MB per run. A warm-up of 20 instances per server and protocol comes first; \`sync\` runs before
each timed phase; the order of the two servers alternates from round to round (${ROUNDS} rounds, figures below are the
mean). Both servers, and every client, run inside a private network namespace (\`ip netns\`) because Orthanc binds
every address. The gateway runs as \`ophgate serve\` (node + tsx) with its pipeline disabled (ingest only: receive,
check, store, index) and log level info, writing its JSON log to a file.

How: \`npm run bench:ingest\` (as root; options: \`-- --instances N --per-request N --concurrency N --cstore-parallel K
--rounds R --body-mb MB --profile\`). Source: \`bench/ingest.ts\`; helpers \`test/e2e/netns.ts\`, \`test/e2e/orthanc.ts\`.

### Machine

- ${os.cpus().length} CPU cores (nproc): ${os.cpus()[0]?.model ?? '?'}; ${fmt(os.totalmem() / 2 ** 30, 1)} GiB memory; Linux ${os.release()}
- filesystem of both data directories: ${spawnSync('findmnt', ['-n', '-o', 'SOURCE,FSTYPE', '-T', os.tmpdir()], { encoding: 'utf8' }).stdout.trim().replace(/\s+/g, ' ') || '?'} (under ${os.tmpdir()})
- load average when the run started: ${loadAtStart}
- Node ${process.version}; Orthanc ${versions.orthanc} with DICOMweb plugin ${versions.dicomweb} (Debian packages); ${versions.storescu}

### Results (${started.toISOString().slice(0, 10)})

${md(rows[0]!)}
${md(rows[0]!.map(() => '---'))}
${rows.slice(1).map(md).join('\n')}

Per round (OphGate | Orthanc):

| measure | OphGate | Orthanc |
| --- | --- | --- |
${perRound}
${rss ? `\n1 GiB request: ${rss.parts} parts, ${fmt(mb(rss.bodyBytes), 0)} MB stored in ${fmt(rss.seconds, 1)} s (${fmt(mb(rss.bodyBytes) / rss.seconds)} MB/s); gateway RSS ${fmt(rss.baselineMb)} MB before, peak ${fmt(rss.peakMb)} MB (sampled growth ${fmt(rss.growthMb)} MB, VmHWM growth ${fmt(rss.hwmGrowthMb)} MB).\n` : ''}
Targets: OphGate >= ${STOW_TARGET}x Orthanc on STOW-RS, >= ${CSTORE_TARGET}x on C-STORE, at most ${RSS_TARGET_MB} MB RSS growth for a 1 GiB STOW-RS body.

What "acknowledged after the write" costs each server, counted with \`strace -f -c -e trace=fsync,fdatasync\` on
this machine (2026-11-28, 4 instances each): OphGate makes 3 fsync calls per instance (the spooled blob, its directory
after the rename into place, the SQLite WAL commit with \`synchronous=FULL\`); Orthanc 1.10 with
\`"SyncStorageArea": true\` makes 1 fdatasync per instance (the DICOM file) and does not sync its SQLite index on commit.
The machine is shared: other work may run beside the benchmark (see the load average above), so figures move by
tens of percent from run to run; the ratios come from the same run.

### Orthanc settings used

Debian's \`/etc/orthanc/orthanc.json\` (${debianDefaultConfig() ? 'read and used as the base' : 'absent: Orthanc defaults'}) with
storage, index and ports moved to a temporary folder on the same filesystem, \`Plugins\` reduced to the DICOMweb plugin
(\`${findDicomWebPlugin()}\`), \`RemoteAccessAllowed\` true (only loopback exists in the namespace) and
\`AuthenticationEnabled\` false. The settings that bear on ingest:

\`\`\`json
${JSON.stringify(shownSettings, null, 2)}
\`\`\`
${profileSummary ? `
### Where the gateway's time goes (STOW-RS)

CPU profile of the gateway (\`node --cpu-prof --cpu-prof-interval=500\`) during one extra STOW-RS run of ${N} instances,
${fmt(profileSummary.total / 1e6, 2)} s of CPU samples in the gateway's main thread (idle excluded${profileSummary.windowed ? '; only samples taken while the requests ran' : ''}). Self time:

| function | self ms | share |
| --- | ---: | ---: |
${profileSummary.functions.map(([k, us]) => `| \`${k.replace(/\|/g, '\\|')}\` | ${fmt(us / 1000, 0)} | ${fmt((100 * us) / profileSummary!.total)}% |`).join('\n')}

Synchronous file-system calls on the main thread (they block the event loop, so concurrent requests cannot overlap
their disk waits): ${fmt((100 * profileSummary.syncFs) / profileSummary.total)}% of the samples. Largest callers:

| call <- caller <- its caller | self ms | share |
| --- | ---: | ---: |
${profileSummary.syncFsCallers.map(([k, us]) => `| \`${k.replace(/\|/g, '\\|')}\` | ${fmt(us / 1000, 0)} | ${fmt((100 * us) / profileSummary!.total)}% |`).join('\n')}

By module:

| module | self ms | share |
| --- | ---: | ---: |
${profileSummary.modules.map(([k, us]) => `| \`${k}\` | ${fmt(us / 1000, 0)} | ${fmt((100 * us) / profileSummary!.total)}% |`).join('\n')}
` : ''}`;
  // Only this section is rewritten: the title, other benchmarks' sections and the kept-notes blocks stay as they are.
  writeDocSection(DOCS, 'Ingest', doc);
  log(`wrote ${path.relative(PROJECT_ROOT, DOCS)}`);
}
agent.destroy();
process.exit(exitCode);
