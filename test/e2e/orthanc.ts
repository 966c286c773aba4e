// A real Orthanc (Debian's package, with the DICOMweb plugin) for end-to-end tests and the ingest benchmark:
// generated configuration and Lua script in a temporary folder, started inside a network namespace (see
// netns.ts), ready once its REST API answers.
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { hasCommand, waitExit, type Netns, type HttpOptions, type HttpResult } from './netns.js';

export const ORTHANC_BIN = '/usr/sbin/Orthanc';
export const DEBIAN_ORTHANC_CONFIG = '/etc/orthanc/orthanc.json';
const PLUGIN_DIRS = ['/usr/share/orthanc/plugins', '/usr/lib/orthanc', '/usr/lib/x86_64-linux-gnu/orthanc', '/usr/local/share/orthanc/plugins'];

/** Path of the DICOMweb plugin's shared library, or undefined when it is not installed. */
export function findDicomWebPlugin(): string | undefined {
  for (const dir of PLUGIN_DIRS) {
    if (!existsSync(dir)) continue;
    const hit = readdirSync(dir).filter((f) => /^libOrthancDicomWeb\.so/.test(f)).sort((a, b) => a.length - b.length)[0];
    if (hit) return path.join(dir, hit);
  }
  return undefined;
}

/** Undefined when Orthanc, its DICOMweb plugin and curl are here; otherwise why not. */
export function orthancUnavailableReason(): string | undefined {
  const bin = existsSync(ORTHANC_BIN) ? ORTHANC_BIN : hasCommand('Orthanc') ? 'Orthanc' : undefined;
  if (!bin) return 'Orthanc is not installed (Debian: apt-get install orthanc orthanc-dicomweb)';
  if (!findDicomWebPlugin()) return `the Orthanc DICOMweb plugin is not installed (looked in ${PLUGIN_DIRS.join(', ')}; Debian: orthanc-dicomweb)`;
  if (!hasCommand('curl')) return 'curl is not installed (the tests reach Orthanc with it from inside the namespace)';
  return undefined;
}

/** Orthanc's configuration files are JSON with C and C++ comments; drop the comments (not inside strings). */
export function stripJsonComments(text: string): string {
  let out = '';
  let i = 0;
  let inString = false;
  while (i < text.length) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') { out += text[i + 1] ?? ''; i += 2; continue; }
      if (c === '"') inString = false;
      i++;
    } else if (c === '"') {
      inString = true; out += c; i++;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 2;
    } else {
      out += c; i++;
    }
  }
  return out.replace(/,(\s*[}\]])/g, '$1');
}

/**
 * Debian's shipped /etc/orthanc/orthanc.json as an object (Orthanc's documented defaults as Debian packages them),
 * or undefined when it is absent or unreadable.
 */
export function debianDefaultConfig(): Record<string, unknown> | undefined {
  try {
    return JSON.parse(stripJsonComments(readFileSync(DEBIAN_ORTHANC_CONFIG, 'utf8'))) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

export interface OrthancOptions {
  ns: Netns;
  /** Working folder (storage, index, configuration, log); a fresh temporary one when omitted. */
  dir?: string;
  httpPort?: number;
  dicomPort?: number;
  aet?: string;
  /** Lua script text (written to the folder and listed in LuaScripts). */
  lua?: string;
  /** Start from Debian's /etc/orthanc/orthanc.json (then override storage, ports, plugins, …). */
  debianDefaults?: boolean;
  /** Top-level settings merged last (DicomModalities, DicomWeb, StableAge, SyncStorageArea, …). */
  settings?: Record<string, unknown>;
  startTimeoutMs?: number;
}

export interface Orthanc {
  dir: string;
  storageDir: string;
  configFile: string;
  logFile: string;
  httpPort: number;
  dicomPort: number;
  aet: string;
  url: string;
  process: ChildProcess;
  pid: number;
  /** The configuration it was started with (as written). */
  config: Record<string, unknown>;
  http(pathAndQuery: string, options?: HttpOptions): Promise<HttpResult>;
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

/** Writes the configuration (and Lua script), starts Orthanc inside the namespace and waits for /system. */
export async function startOrthanc(o: OrthancOptions): Promise<Orthanc> {
  const reason = orthancUnavailableReason();
  if (reason) throw new Error(reason);
  const ownsDir = !o.dir;
  const dir = o.dir ?? mkdtempSync(path.join(os.tmpdir(), 'ophgate-orthanc-'));
  const storageDir = path.join(dir, 'storage');
  mkdirSync(storageDir, { recursive: true });
  const httpPort = o.httpPort ?? 8042;
  const dicomPort = o.dicomPort ?? 4242;
  const aet = o.aet ?? 'ORTHANC';
  const base = o.debianDefaults ? debianDefaultConfig() ?? {} : {};
  const config: Record<string, unknown> = {
    ...base,
    Name: 'OphGateTestOrthanc',
    StorageDirectory: storageDir,
    IndexDirectory: storageDir,
    HttpPort: httpPort,
    DicomPort: dicomPort,
    DicomAet: aet,
    // Inside a private network namespace only loopback exists; nothing outside can reach it.
    RemoteAccessAllowed: true,
    AuthenticationEnabled: false,
    // Only the DICOMweb plugin (Debian's default lists the whole plugins folder).
    Plugins: [findDicomWebPlugin()],
    LuaScripts: [] as string[],
    ...o.settings,
  };
  if (o.lua !== undefined) {
    const luaFile = path.join(dir, 'routing.lua');
    writeFileSync(luaFile, o.lua);
    config.LuaScripts = [luaFile];
  }
  const configFile = path.join(dir, 'orthanc.json');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const logFile = path.join(dir, 'orthanc.log');
  const fd = openSync(logFile, 'a');
  const bin = existsSync(ORTHANC_BIN) ? ORTHANC_BIN : 'Orthanc';
  const child = o.ns.spawn(bin, [configFile], { stdio: ['ignore', fd, fd], cwd: dir });
  closeSync(fd);
  const url = `http://127.0.0.1:${httpPort}`;
  const logTail = (lines = 40) => {
    try { return readFileSync(logFile, 'utf8').split('\n').slice(-lines).join('\n'); } catch { return '(no log)'; }
  };
  let exited = false;
  child.once('exit', () => { exited = true; });
  const deadline = Date.now() + (o.startTimeoutMs ?? 30_000);
  for (;;) {
    if (exited) throw new Error(`Orthanc exited during start-up (config ${configFile}); log:\n${logTail()}`);
    try {
      const r = await o.ns.http(`${url}/system`, { timeoutMs: 2_000 });
      if (r.status === 200) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`Orthanc's REST API did not answer within ${o.startTimeoutMs ?? 30_000} ms; log:\n${logTail()}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    dir, storageDir, configFile, logFile, httpPort, dicomPort, aet, url, process: child, pid: child.pid!, config,
    http: (p, options) => o.ns.http(url + p, options),
    logTail,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        if (!(await waitExit(child, 15_000))) {
          child.kill('SIGKILL');
          await waitExit(child, 2_000);
        }
      }
      if (ownsDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Orthanc's instance ID for a file uploaded with POST /instances (the file is stored exactly as sent). */
export async function uploadToOrthanc(orthanc: Orthanc, file: string): Promise<{ id: string; status: string }> {
  const r = await orthanc.http('/instances', { method: 'POST', bodyFile: file, headers: { 'Content-Type': 'application/dicom' } });
  if (r.status !== 200) throw new Error(`Orthanc refused ${path.basename(file)}: HTTP ${r.status} ${r.text().slice(0, 300)}`);
  const j = r.json<{ ID: string; Status: string }>();
  return { id: j.ID, status: j.Status };
}
