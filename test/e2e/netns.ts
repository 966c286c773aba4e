// Network namespaces for end-to-end runs. Orthanc binds every address, so each e2e test (and the ingest
// benchmark) runs Orthanc, the gateway and every client that talks to them inside a private namespace of its
// own (`ip netns add`), where only a loopback interface exists, and deletes it afterwards.
//
// Needs root (or CAP_SYS_ADMIN) and iproute2; `netnsUnavailableReason()` says why not, so callers can skip.
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

let probed: string | null | undefined;

/** Undefined when namespaces can be made here; otherwise a sentence saying why not (for skip messages). */
export function netnsUnavailableReason(): string | undefined {
  if (probed !== undefined) return probed ?? undefined;
  probed = probe();
  return probed ?? undefined;
}

function probe(): string | null {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'network namespaces need root (ip netns add); run as root to enable the Orthanc e2e tests';
  const name = `ophgate-probe-${randomBytes(4).toString('hex')}`;
  const add = spawnSync('ip', ['netns', 'add', name], { encoding: 'utf8' });
  if (add.error) return `\`ip\` is not usable (${add.error.message}); install iproute2`;
  if (add.status !== 0) return `\`ip netns add\` failed: ${add.stderr.trim() || `exit ${add.status}`}`;
  const up = spawnSync('ip', ['-n', name, 'link', 'set', 'lo', 'up'], { encoding: 'utf8' });
  spawnSync('ip', ['netns', 'del', name]);
  if (up.status !== 0) return `\`ip -n NS link set lo up\` failed: ${up.stderr.trim()}`;
  return null;
}

export interface RunResult { code: number | null; signal: NodeJS.Signals | null; stdout: Buffer; stderr: string }
export interface RunOptions { input?: Buffer | string; timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string }
export interface HttpResult { status: number; body: Buffer; text(): string; json<T = unknown>(): T }
export interface HttpOptions {
  method?: string; headers?: Record<string, string>;
  /** Request body from a file (sent as is, streamed by curl). */
  bodyFile?: string;
  /** Request body from memory. */
  body?: string | Buffer;
  timeoutMs?: number;
}

/** Whether this process itself already runs inside the namespace (the benchmark re-executes itself there). */
export const INSIDE_NETNS_ENV = 'OPHGATE_TEST_NETNS';

export class Netns {
  private readonly children = new Set<ChildProcess>();
  private deleted = false;

  private constructor(readonly name: string, private readonly inside: boolean) {}

  /** Creates a fresh namespace with its loopback up. */
  static async create(prefix = 'ophgate-test'): Promise<Netns> {
    const reason = netnsUnavailableReason();
    if (reason) throw new Error(reason);
    const name = `${prefix}-${randomBytes(4).toString('hex')}`;
    for (const args of [['netns', 'add', name], ['-n', name, 'link', 'set', 'lo', 'up']]) {
      const r = spawnSync('ip', args, { encoding: 'utf8' });
      if (r.status !== 0) {
        spawnSync('ip', ['netns', 'del', name]);
        throw new Error(`ip ${args.join(' ')} failed: ${r.stderr.trim() || r.error?.message}`);
      }
    }
    return new Netns(name, false);
  }

  /** The namespace this process already runs in (named by OPHGATE_TEST_NETNS); commands run directly. */
  static current(): Netns | undefined {
    const name = process.env[INSIDE_NETNS_ENV];
    return name ? new Netns(name, true) : undefined;
  }

  /** argv that runs `cmd args` inside the namespace. */
  wrap(cmd: string, args: string[]): [string, string[]] {
    return this.inside ? [cmd, args] : ['ip', ['netns', 'exec', this.name, cmd, ...args]];
  }

  /**
   * Starts a long-running process inside the namespace. `ip netns exec` execs the command in place, so the
   * child's pid is the command's own. Tracked: destroy() ends it if the caller did not.
   */
  spawn(cmd: string, args: string[], options: SpawnOptions = {}): ChildProcess {
    const [c, a] = this.wrap(cmd, args);
    const child = spawn(c, a, { ...options, env: { ...(options.env ?? process.env), [INSIDE_NETNS_ENV]: this.name } });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** Runs a command to completion inside the namespace. */
  run(cmd: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const child = this.spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: options.env, cwd: options.cwd });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout!.on('data', (b: Buffer) => out.push(b));
      child.stderr!.on('data', (b: Buffer) => err.push(b));
      const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
      child.once('error', (e) => { if (timer) clearTimeout(timer); reject(e); });
      child.once('close', (code, signal) => {
        if (timer) clearTimeout(timer);
        resolve({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') });
      });
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(options.input);
    });
  }

  /** An HTTP request made from inside the namespace (curl), for processes only reachable there. */
  async http(url: string, options: HttpOptions = {}): Promise<HttpResult> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ophgate-curl-'));
    try {
      const outFile = path.join(dir, 'body');
      const args = ['-sS', '-o', outFile, '-w', '%{http_code}', '-X', options.method ?? (options.bodyFile || options.body !== undefined ? 'POST' : 'GET')];
      if (options.timeoutMs) args.push('--max-time', String(Math.ceil(options.timeoutMs / 1000)));
      for (const [k, v] of Object.entries(options.headers ?? {})) args.push('-H', `${k}: ${v}`);
      if (options.bodyFile) args.push('--data-binary', `@${options.bodyFile}`);
      else if (options.body !== undefined) args.push('--data-binary', '@-');
      args.push(url);
      const r = await this.run('curl', args, { input: options.body, timeoutMs: (options.timeoutMs ?? 60_000) + 5_000 });
      const status = Number(r.stdout.toString('utf8').trim());
      if (r.code !== 0 || !Number.isFinite(status) || status === 0) {
        throw new Error(`curl ${options.method ?? 'GET'} ${url} failed (exit ${r.code}${r.signal ? `, ${r.signal}` : ''}): ${r.stderr.trim()}`);
      }
      let body: Buffer;
      try { body = readFileSync(outFile); } catch { body = Buffer.alloc(0); }
      return { status, body, text: () => body.toString('utf8'), json: <T>() => JSON.parse(body.toString('utf8')) as T };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Pids of every process in the namespace (all of them started by us: the namespace is ours). */
  pids(): number[] {
    const r = spawnSync('ip', ['netns', 'pids', this.name], { encoding: 'utf8' });
    return r.status === 0 ? r.stdout.split(/\s+/).filter(Boolean).map(Number).filter((n) => n !== process.pid) : [];
  }

  /**
   * Ends the processes started here (SIGTERM, then SIGKILL after graceMs) and deletes the namespace. Safe to
   * call twice. A namespace this process was started in is left for its creator to delete.
   */
  async destroy(graceMs = 5_000): Promise<void> {
    if (this.deleted) return;
    this.deleted = true;
    const alive = [...this.children].filter((c) => c.exitCode === null && c.signalCode === null);
    for (const c of alive) c.kill('SIGTERM');
    await Promise.all(alive.map((c) => waitExit(c, graceMs).then((done) => { if (!done) c.kill('SIGKILL'); })));
    if (this.inside) return;
    // Anything left in our namespace was started by us (e.g. a grandchild): end it by pid.
    for (const pid of this.pids()) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
    const r = spawnSync('ip', ['netns', 'del', this.name], { encoding: 'utf8' });
    if (r.status !== 0) console.warn(`[netns] could not delete ${this.name}: ${r.stderr.trim()}`);
  }
}

/** Resolves true once the child has exited, false when it is still running after timeoutMs. */
export function waitExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => { clearTimeout(timer); resolve(true); });
  });
}

/** True when `cmd` is on PATH. */
export function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

// ---- the gateway, as `ophgate serve` in a child process ---------------------------------------------------

export interface NetnsGateway {
  process: ChildProcess;
  /** The gateway's own pid (node runs the CLI directly, no wrapper process). */
  pid: number;
  httpPort: number;
  dimsePort: number | null;
  baseUrl: string;
  dataDir: string;
  logFile: string;
  /** SIGTERM and wait for the gateway to close its store. */
  stop(timeoutMs?: number): Promise<void>;
}

export interface SpawnGatewayOptions {
  dataDir: string;
  /** Where the gateway's JSON log (its stdout) goes; put it under tmp/test-logs so the PHI scan reads it. */
  logFile: string;
  /** OPHGATE_* settings, e.g. { OPHGATE_ASSEMBLY__SETTLE_SECONDS: '1' }; ports default to 0 (ephemeral). */
  env?: Record<string, string>;
  /** Extra node flags, e.g. ['--cpu-prof', '--cpu-prof-dir=DIR']. */
  nodeArgs?: string[];
  projectRoot: string;
  startTimeoutMs?: number;
}

/** Starts `ophgate serve` (src/cli/main.ts under tsx) inside the namespace and waits for its "listening" line. */
export async function spawnGateway(ns: Netns, o: SpawnGatewayOptions): Promise<NetnsGateway> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('OPHGATE_') && k !== 'NODE_OPTIONS') env[k] = v;
  Object.assign(env, { OPHGATE_DATA_DIR: o.dataDir, OPHGATE_HTTP__PORT: '0', OPHGATE_DIMSE__PORT: '0', ...o.env });
  const logFd = openSync(o.logFile, 'a');
  const child = ns.spawn(process.execPath, [...(o.nodeArgs ?? []), '--import', 'tsx', 'src/cli/main.ts', 'serve'], {
    cwd: o.projectRoot, env, stdio: ['ignore', logFd, 'pipe'],
  });
  closeSync(logFd);
  let stderr = '';
  const listening = await new Promise<{ http: number; dimse: number | null; pid: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not report listening within ${o.startTimeoutMs ?? 30_000} ms; stderr:\n${stderr}`)), o.startTimeoutMs ?? 30_000);
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (s: string) => {
      stderr += s;
      for (const line of stderr.split('\n')) {
        if (!line.includes('"ophgate":"listening"')) continue;
        try {
          const j = JSON.parse(line) as { http: number; dimse: number | null; pid: number };
          clearTimeout(timer);
          resolve(j);
          return;
        } catch { /* partial line */ }
      }
    });
    child.once('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`gateway exited (${code ?? signal}) before listening; stderr:\n${stderr}`)); });
  });
  return {
    process: child, pid: listening.pid, httpPort: listening.http, dimsePort: listening.dimse,
    baseUrl: `http://127.0.0.1:${listening.http}`, dataDir: o.dataDir, logFile: o.logFile,
    async stop(timeoutMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      if (!(await waitExit(child, timeoutMs))) {
        child.kill('SIGKILL');
        await waitExit(child, 2_000);
      }
    },
  };
}
