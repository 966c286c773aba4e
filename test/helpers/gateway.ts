// Starts a real gateway for a test: its own data directory, ephemeral ports on loopback, and its JSON logs
// written under tmp/test-logs/ so the teardown can prove no patient name or ID reached a log.
import { mkdtempSync, mkdirSync, createWriteStream, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/log/logger.js';
import { Gateway, type StartOptions } from '../../src/gateway.js';
import { TEST_LOG_DIR, SHARED_DIR } from './paths.js';

export { TEST_LOG_DIR, SHARED_DIR, FIXTURES_DIR } from './paths.js';


export interface TestGateway { gateway: Gateway; dataDir: string; baseUrl: string; logFile: string; stop(opts?: { keepData?: boolean }): Promise<void> }

export async function startTestGateway(overrides: Record<string, unknown> = {}, options: StartOptions & { dataDir?: string } = {}): Promise<TestGateway> {
  const dataDir = options.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'ophgate-test-'));
  mkdirSync(TEST_LOG_DIR, { recursive: true });
  const logFile = path.join(TEST_LOG_DIR, `${path.basename(dataDir)}-${Date.now()}.jsonl`);
  const config = loadConfig({
    env: {},
    overrides: {
      dataDir, 'http.port': 0, 'dimse.port': 0, 'assembly.settleSeconds': 0.5, 'pipeline.pollMilliseconds': 50,
      'pipeline.backoffSeconds': 0.1, 'pipeline.maxAttempts': 2,
      // The tiny test models keep pipeline tests fast; tests of OphGate's own models set models/ themselves.
      'inference.modelsDir': 'test/inference/models', 'inference.executionProvider': 'cpu',
      // The deterministic narrative keeps report tests exact; tests of the LLM turn it on.
      'llm.enabled': false, ...overrides,
    },
  });
  const stream = createWriteStream(logFile, { flags: 'a' });
  const logger = options.logger ?? createLogger('debug', stream);
  const gateway = await Gateway.start(config, { ...options, logger });
  return {
    gateway, dataDir, logFile, baseUrl: gateway.baseUrl,
    async stop(opts = {}) {
      await gateway.stop();
      await new Promise<void>((r) => stream.end(() => r()));
      if (!opts.keepData && !options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls until the predicate holds or the time is up (servers are asynchronous; tests wait on state, not time). */
export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function sharedAvailable(sub: string): boolean {
  const present = existsSync(path.join(SHARED_DIR, sub));
  if (!present) console.warn(`[test] ${path.join(SHARED_DIR, sub)} is absent: tests that need it are skipped`);
  return present;
}

/** Feeds bytes through the gateway's one ingest door, as the import command does. */
export async function ingest(tg: TestGateway, bytes: Buffer, source: { protocol?: 'import' | 'stow-rs' | 'dimse'; associationId?: string } = {}) {
  const { Readable } = await import('node:stream');
  const spooled = await tg.gateway.ctx.store.blobs.spool(Readable.from([bytes]));
  return tg.gateway.ctx.acceptor.accept(spooled, { protocol: source.protocol ?? 'import', associationId: source.associationId });
}

/** Feeds a file through the ingest door and returns its parsed header beside the outcome (for expected answers). */
export async function ingestFile(tg: TestGateway, file: string) {
  const fs = await import('node:fs');
  const { readInstanceHeader } = await import('../../src/dicom/part10-header.js');
  const header = await readInstanceHeader(file, fs.statSync(file).size);
  const spooled = await tg.gateway.ctx.store.blobs.spool(fs.createReadStream(file));
  const outcome = await tg.gateway.ctx.acceptor.accept(spooled, { protocol: 'import' });
  return { header, outcome };
}
