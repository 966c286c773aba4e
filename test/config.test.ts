import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, ConfigError, envNameFor } from '../src/config/load.js';

describe('configuration', () => {
  it('applies defaults when nothing is set', () => {
    const c = loadConfig({ env: {} });
    expect(c.dimse.aeTitle).toBe('OPHGATE');
    expect(c.http.host).toBe('127.0.0.1');
    expect(c.assembly.settleSeconds).toBe(30);
  });

  it('reads a file and lets environment variables override it', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ophgate-cfg-'));
    const file = path.join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ http: { port: 9000 }, dimse: { aeTitle: 'FROMFILE' } }));
    const c = loadConfig({ file, env: { OPHGATE_DIMSE__AE_TITLE: 'FROMENV', OPHGATE_DIMSE__ALLOWED_CALLING_AE_TITLES: 'ORTHANC, PACS1' } });
    expect(c.http.port).toBe(9000);
    expect(c.dimse.aeTitle).toBe('FROMENV');
    expect(c.dimse.allowedCallingAeTitles).toEqual(['ORTHANC', 'PACS1']);
  });

  it('names every bad key and where it came from', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ophgate-cfg-'));
    const file = path.join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ http: { port: 70000, prot: 1 }, pipeline: { maxAttempts: 0 } }));
    let err: ConfigError | undefined;
    try {
      loadConfig({ file, env: { OPHGATE_DIMSE__PORT: 'eleven', OPHGATE_NOPE: 'x' } });
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const text = err!.problems.join('\n');
    expect(text).toMatch(/^http\.port: .*\(from bad\.json\)$/m);
    expect(text).toMatch(/^http\.prot: /m);
    expect(text).toMatch(/^pipeline\.maxAttempts: /m);
    expect(text).toMatch(/^dimse\.port: .*\(from OPHGATE_DIMSE__PORT\)$/m);
    expect(text).toMatch(/^OPHGATE_NOPE: unknown environment variable/m);
  });

  it('rejects a file that is not JSON with the file named', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ophgate-cfg-'));
    const file = path.join(dir, 'broken.json');
    writeFileSync(file, '{ not json');
    expect(() => loadConfig({ file, env: {} })).toThrow(/broken\.json: cannot read as JSON/);
  });

  it('derives environment variable names from the keys', () => {
    expect(envNameFor(['dimse', 'allowedCallingAeTitles'])).toBe('OPHGATE_DIMSE__ALLOWED_CALLING_AE_TITLES');
    expect(envNameFor(['dataDir'])).toBe('OPHGATE_DATA_DIR');
  });
});

describe('version', () => {
  it('src/version.ts says the same release as package.json', async () => {
    const { readFileSync } = await import('node:fs');
    const { OPHGATE_VERSION } = await import('../src/version.js');
    expect(OPHGATE_VERSION).toBe(JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version);
  });
});
