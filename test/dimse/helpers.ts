// Shared helpers for the DIMSE tests: an in-test SCP with a handler that moves received files into a folder,
// dcmtk tools run asynchronously (the SCP lives in this process, so they must not block the event loop), a
// throwaway dcmtk storescp, and PS3.10 dataset hashing.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SHARED_DIR, FIXTURES_DIR } from '../helpers/paths.js';
import { pino, type Logger } from 'pino';
import { DimseScp, type DimseHandlers, type DimseScpOptions, type ReceivedFile, type StoreContext, type StoreResult } from '../../src/ingest/dimse/scp.js';
import { readFileMeta } from '../../src/dicom/dimse/part10.js';
import { IMPLICIT_VR_LE } from '../../src/dicom/dimse/uids.js';

export const SHARED_INTEROP = path.join(SHARED_DIR, 'interop');
export const FIXTURES = FIXTURES_DIR;

/** A folder of ../shared/interop, or undefined (saying so on the console) when the checkout has no ../shared. */
export function sharedDir(sub: string): string | undefined {
  const dir = path.join(SHARED_INTEROP, sub);
  if (existsSync(dir)) return dir;
  console.warn(`[dimse tests] ${dir} is absent (no ../shared beside this checkout): the tests that need it are skipped`);
  return undefined;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  output: string;
}

/** Runs a command without blocking the event loop. */
export function run(cmd: string, args: string[], timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr, output: `${stdout}${stderr}` });
    });
  });
}

export function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** The offset where a PS3.10 file's dataset starts (end of group 0002); 0 for a bare dataset. */
export function datasetOffset(file: string): number {
  return readFileMeta(readFileSync(file)).datasetOffset;
}

/** SHA-256 of everything after the File Meta group. */
export function datasetSha256(file: string): string {
  const buf = readFileSync(file);
  return sha256(buf.subarray(readFileMeta(buf).datasetOffset));
}

/** The file's transfer syntax per its File Meta; a file without File Meta is taken as implicit VR little endian. */
export function fileTransferSyntax(file: string): string {
  return readFileMeta(readFileSync(file)).transferSyntaxUid ?? IMPLICIT_VR_LE;
}

/** A pino logger writing into an array, so tests can read what was logged. */
export function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => { lines.push(s); } });
  return { logger, lines };
}

export interface Received {
  file: ReceivedFile;
  ctx: StoreContext;
  /** Where the test handler moved the file. */
  storedPath: string;
}

export interface TestScp {
  scp: DimseScp;
  port: number;
  tmpDir: string;
  outDir: string;
  received: Received[];
  released: string[];
  lines: string[];
  /** Replaces the store handler's behaviour; without an argument, back to the default (move into outDir, success). */
  setOnStore(fn?: (file: ReceivedFile, ctx: StoreContext) => Promise<StoreResult>): void;
  close(): Promise<void>;
}

/** Starts an OphGate SCP on 127.0.0.1, port 0, AE title OPHGATE. */
export async function startTestScp(overrides: Partial<DimseScpOptions> = {}): Promise<TestScp> {
  const base = await mkdtemp(path.join(os.tmpdir(), 'ophgate-dimse-'));
  const tmpDir = path.join(base, 'tmp');
  const outDir = path.join(base, 'out');
  const { logger, lines } = captureLogger();
  const received: Received[] = [];
  const released: string[] = [];
  let n = 0;
  const moveAndAccept = async (file: ReceivedFile, ctx: StoreContext): Promise<StoreResult> => {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(outDir, { recursive: true });
    const storedPath = path.join(outDir, `${++n}.dcm`);
    await rename(file.path, storedPath);
    received.push({ file, ctx, storedPath });
    return { status: 0 };
  };
  let onStore = moveAndAccept;
  const handlers: DimseHandlers = {
    onStore: (file, ctx) => onStore(file, ctx),
    onAssociationReleased: (id) => { released.push(id); },
  };
  const scp = new DimseScp({
    host: '127.0.0.1',
    port: 0,
    aeTitle: 'OPHGATE',
    allowedCallingAeTitles: [],
    tmpDir,
    logger,
    ...overrides,
  }, handlers);
  const { port } = await scp.listen();
  return {
    scp, port, tmpDir, outDir, received, released, lines,
    setOnStore: (fn) => { onStore = fn ?? moveAndAccept; },
    close: async () => {
      await scp.close();
      await rm(base, { recursive: true, force: true });
    },
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen({ host: '127.0.0.1', port: 0 }, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`storescp exited with code ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`storescp did not listen on port ${port}`);
}

export interface Storescp {
  port: number;
  dir: string;
  output: () => string;
  stop(): Promise<void>;
}

/**
 * dcmtk's storescp as a third-party peer, writing into a fresh folder. storescp 3.6.7 has no option to choose the
 * listening address, so it listens on every interface, on a free high port, for the length of one test file.
 */
export async function startStorescp(aeTitle: string, extraArgs: string[] = []): Promise<Storescp> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ophgate-storescp-'));
  const port = await freePort();
  const child = spawn('storescp', ['-aet', aeTitle, '-od', dir, ...extraArgs, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  await waitForPort(port, child);
  return {
    port,
    dir,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Writes a storescu association configuration (-xf FILE PROFILE) that proposes exactly one presentation context:
 * the given SOP class with the given transfer syntax. For syntaxes storescu has no -x option for, and for SOP
 * classes dcmtk 3.6.7 does not know (storescu -R refuses those).
 */
export async function storescuConfigFor(dir: string, sopClassUid: string, transferSyntaxUid: string): Promise<string[]> {
  const file = path.join(dir, `storescu-${sopClassUid}-${transferSyntaxUid}.cfg`);
  await writeFile(file, [
    '[[TransferSyntaxes]]', '[OwnSyntax]', `TransferSyntax1 = ${transferSyntaxUid}`, '',
    '[[PresentationContexts]]', '[OwnContexts]', `PresentationContext1 = ${sopClassUid}\\OwnSyntax`, '',
    '[[Profiles]]', '[Own]', 'PresentationContexts = OwnContexts', '',
  ].join('\n'));
  return ['-xf', file, 'Own'];
}

/** storescu's proposal options that put a file's own transfer syntax first, per transfer syntax (dcmtk 3.6.7). */
export const STORESCU_OPTIONS: Readonly<Record<string, string[]>> = {
  '1.2.840.10008.1.2': ['-R', '-xi'],
  '1.2.840.10008.1.2.1': ['-R', '-xe'],
  '1.2.840.10008.1.2.2': ['-R', '-xb'],
  '1.2.840.10008.1.2.1.99': ['-R', '-xd'],
  '1.2.840.10008.1.2.4.50': ['-R', '-xy'],
  '1.2.840.10008.1.2.4.51': ['-R', '-xx'],
  '1.2.840.10008.1.2.4.70': ['-R', '-xs'],
  '1.2.840.10008.1.2.4.80': ['-R', '-xt'],
  '1.2.840.10008.1.2.4.81': ['-R', '-xu'],
  '1.2.840.10008.1.2.4.90': ['-R', '-xv'],
  '1.2.840.10008.1.2.4.91': ['-R', '-xw'],
  '1.2.840.10008.1.2.5': ['-R', '-xr'],
};

/** The SOP Class UID of a file, from its File Meta or (for a bare dataset) from dcmdump. */
export async function fileSopClass(file: string): Promise<string> {
  const meta = readFileMeta(readFileSync(file));
  if (meta.mediaStorageSopClassUid) return meta.mediaStorageSopClassUid;
  const r = await run('dcmdump', ['-q', '-Un', '+P', '0008,0016', file]);
  const m = /\[([0-9.]+)\]/.exec(r.stdout);
  if (m?.[1]) return m[1];
  throw new Error(`cannot find the SOP class of ${file}`);
}

/** Sends one file with storescu in its own transfer syntax; returns the options used and storescu's result. */
export async function storescuOwnSyntax(file: string, port: number, calledAe: string, cfgDir: string, callingAe = 'STORESCU'): Promise<{ options: string[]; result: RunResult }> {
  const ts = fileTransferSyntax(file);
  let options = STORESCU_OPTIONS[ts] ?? (await storescuConfigFor(cfgDir, await fileSopClass(file), ts));
  const send = (opts: string[]) => run('storescu', ['-v', ...opts, '-aet', callingAe, '-aec', calledAe, '127.0.0.1', String(port), file]);
  let result = await send(options);
  if (/unknown storage SOP class/i.test(result.output)) {
    options = await storescuConfigFor(cfgDir, await fileSopClass(file), ts);
    result = await send(options);
  }
  return { options, result };
}

/** dcmdump's value of one attribute, e.g. "0010,0010". */
export async function dcmdumpValue(file: string, tag: string): Promise<string | undefined> {
  const r = await run('dcmdump', ['-q', '+P', tag, file]);
  const m = /\[([^\]]*)\]/.exec(r.stdout);
  return m?.[1];
}
