// Decoding in worker threads: same pixels as in-process decoding, the same errors, a timeout that stops a
// decode and leaves the pool working.
import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DecodePool } from '../../src/dicom/pixels/decode-pool.js';
import { decodeFile, PixelDecodeError } from '../../src/dicom/pixels/index.js';
import { FIXTURES_DIR } from '../helpers/paths.js';

const j2k = path.join(FIXTURES_DIR, 'op-j2k-lossless-rct-idrid64-L.dcm');
const jpeg = path.join(FIXTURES_DIR, 'op-jpeg-baseline-idrid55-L.dcm');
const pools: DecodePool[] = [];
afterAll(async () => { await Promise.all(pools.map((p) => p.close())); });

describe('DecodePool', () => {
  it('decodes in workers exactly as in process, several at once', async () => {
    const pool = new DecodePool(2, 60_000);
    pools.push(pool);
    const [a, b, c] = await Promise.all([pool.decode(j2k), pool.decode(jpeg), pool.decode(j2k)]);
    const direct = await decodeFile(readFileSync(j2k));
    expect(a![0]!.rgb.equals(direct[0]!.rgb)).toBe(true);
    expect(c![0]!.rgb.equals(direct[0]!.rgb)).toBe(true);
    expect(b![0]).toMatchObject({ rows: 712, columns: 1072, codestream: 'jpeg-baseline' });
  });

  it('passes the decoder error through with its reason and message', async () => {
    const pool = new DecodePool(1, 60_000);
    pools.push(pool);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ophgate-pool-'));
    const broken = Buffer.from(readFileSync(jpeg));
    const soi = broken.indexOf(Buffer.from([0xff, 0xd8, 0xff]));
    broken.fill(0, soi, soi + 3);
    const file = path.join(dir, 'broken.dcm');
    writeFileSync(file, broken);
    const direct = await decodeFile(broken).catch((e: unknown) => e as PixelDecodeError);
    const viaPool = await pool.decode(file).catch((e: unknown) => e as PixelDecodeError);
    expect(viaPool).toBeInstanceOf(PixelDecodeError);
    expect(direct).toBeInstanceOf(PixelDecodeError);
    expect((viaPool as PixelDecodeError).reason).toBe((direct as PixelDecodeError).reason);
    expect((viaPool as PixelDecodeError).message).toBe((direct as PixelDecodeError).message);
    expect((await pool.decode(jpeg))[0]!.rows).toBe(712); // the worker serves on
  });

  it('stops a decode that runs past the timeout and replaces the worker', async () => {
    const pool = new DecodePool(1, 1);
    pools.push(pool);
    const err = await pool.decode(j2k).catch((e: unknown) => e as PixelDecodeError);
    expect(err).toBeInstanceOf(PixelDecodeError);
    expect((err as PixelDecodeError).reason).toBe('timeout');
    expect((err as PixelDecodeError).message).toMatch(/took longer than 0.001 s/);
  });
});
