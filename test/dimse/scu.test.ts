// The OphGate storage/verification SCU, against the OphGate SCP and against dcmtk's storescp as a third-party peer.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echo, sendFiles, type DimsePeer } from '../../src/dicom/dimse/store-scu.js';
import { readFileMeta } from '../../src/dicom/dimse/part10.js';
import { TRANSFER_SYNTAXES } from '../../src/dicom/transfer-syntaxes.js';
import { buildSegmentation } from '../../src/dicom/seg/segmentation.js';
import { sct } from '../../src/dicom/common/coded-entry.js';
import { mintUid } from '../../src/dicom/uid.js';
import { dciodvfy, masks, readWithPydicom, sourceAttributes, tempDir, writeSyntheticSource } from '../seg/helpers.js';
import { FIXTURES, datasetSha256, dcmdumpValue, run, sharedDir, startStorescp, startTestScp, type TestScp } from './helpers.js';

const IMPLICIT_LE = '1.2.840.10008.1.2';

let t: TestScp;
let peer: DimsePeer;

beforeAll(async () => {
  t = await startTestScp({ allowedCallingAeTitles: ['OPHSCU'] });
  peer = { host: '127.0.0.1', port: t.port, aeTitle: 'OPHGATE', callingAeTitle: 'OPHSCU' };
});

afterAll(async () => {
  await t?.close();
});

/** Sends `files` to the OphGate SCP and checks every file with File Meta in an accepted syntax arrived byte for byte. */
async function sendAndVerify(files: string[]): Promise<void> {
  const before = t.received.length;
  const releasedBefore = t.released.length;
  const results = await sendFiles(peer, files);
  expect(results.map((r) => r.path)).toEqual(files);
  const arrived = t.received.slice(before);
  let next = 0;
  for (const r of results) {
    const meta = readFileMeta(readFileSync(r.path));
    if (!meta.hasFileMeta) {
      expect(r).toMatchObject({ ok: false, status: -1 });
      expect(r.error).toMatch(/no File Meta/);
      continue;
    }
    if (!TRANSFER_SYNTAXES.has(meta.transferSyntaxUid!)) {
      expect(r.ok).toBe(false);
      expect(r.error).toMatch(/did not accept .* \(transfer syntaxes not supported\)/);
      continue;
    }
    expect(r, r.error).toMatchObject({ ok: true, status: 0, sopInstanceUid: meta.mediaStorageSopInstanceUid, transferSyntaxUid: meta.transferSyntaxUid });
    expect(r.transcodedTo).toBeUndefined();
    const got = arrived[next++]!;
    expect(got.ctx.sopInstanceUid).toBe(meta.mediaStorageSopInstanceUid);
    expect(got.ctx.sopClassUid).toBe(meta.mediaStorageSopClassUid);
    expect(got.ctx.transferSyntaxUid).toBe(meta.transferSyntaxUid);
    expect(datasetSha256(got.storedPath), `${path.basename(r.path)} dataset bytes`).toBe(datasetSha256(r.path));
  }
  expect(arrived).toHaveLength(next);
  // One association for the lot.
  expect(new Set(arrived.map((a) => a.ctx.associationId)).size).toBeLessThanOrEqual(1);
  if (next > 0) expect(t.released.length).toBe(releasedBefore + 1);
}

describe('echo', () => {
  it('gets success from the OphGate SCP', async () => {
    expect(await echo(peer)).toEqual({ ok: true, status: 0 });
  });

  it('reports a rejected association', async () => {
    const r = await echo({ ...peer, callingAeTitle: 'STRANGER' });
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/association rejected \(permanent: calling AE title not recognized\)/);
  });

  it('reports a peer that is not there', async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen({ host: '127.0.0.1', port: 0 }, () => r()));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const r = await echo({ ...peer, port });
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/ECONNREFUSED/);
  });

  it('gives up after timeoutMs on a peer that never answers', async () => {
    const silent = net.createServer(() => { /* accept and say nothing */ });
    await new Promise<void>((r) => silent.listen({ host: '127.0.0.1', port: 0 }, () => r()));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      const started = Date.now();
      const r = await echo({ ...peer, port }, { timeoutMs: 800 });
      expect(r.ok).toBe(false);
      expect(r.error).toMatch(/timed out after 800 ms/);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      silent.close();
    }
  });
});

describe('sendFiles to the OphGate SCP', () => {
  it('sends the project fixtures over one association, byte for byte, and reports a file without File Meta', async () => {
    await sendAndVerify([
      path.join(FIXTURES, 'op-jpeg-baseline-idrid55-L.dcm'),
      path.join(FIXTURES, 'op-j2k-lossless-rct-idrid64-L.dcm'),
      path.join(FIXTURES, 'op-rgb-planar0-idrid70-R.dcm'),
      path.join(FIXTURES, 'sc-chest-ot.dcm'),
      path.join(FIXTURES, 'malformed/no-file-meta.dcm'),
    ]);
  });

  it('reports a missing file without sending anything else wrongly', async () => {
    const [missing, ok] = await sendFiles(peer, [path.join(FIXTURES, 'does-not-exist.dcm'), path.join(FIXTURES, 'sc-chest-ot.dcm')]);
    expect(missing).toMatchObject({ ok: false, status: -1 });
    expect(missing!.error).toMatch(/ENOENT/);
    expect(ok).toMatchObject({ ok: true, status: 0 });
  });

  const tsDir = sharedDir('real-dicom/transfer-syntax');
  it.skipIf(!tsDir)('sends every file of ../shared/interop/real-dicom/transfer-syntax in its own transfer syntax', async () => {
    await sendAndVerify(readdirSync(tsDir!).sort().map((f) => path.join(tsDir!, f)));
  });

  const segDir = sharedDir('seg-reference');
  it.skipIf(!segDir)('sends the SEG reference set (SEG, label map SEG, big endian, source images) and an SR', async () => {
    const files = readdirSync(segDir!).sort().map((f) => path.join(segDir!, f));
    // Two of the SEG files share a SOP Instance UID; the SCP does not care (duplicates are the store's business).
    await sendAndVerify([...files, path.join(path.dirname(segDir!), 'real-dicom/charset/orthanc-tests__MarekLatin2.dcm')]);
    const classes = new Set(t.received.map((r) => r.ctx.sopClassUid));
    expect(classes).toContain('1.2.840.10008.5.1.4.1.1.66.4');
    expect(classes).toContain('1.2.840.10008.5.1.4.1.1.66.7');
    expect(classes).toContain('1.2.840.10008.5.1.4.1.1.88.11');
  });
});

describe('sendFiles to dcmtk storescp (third-party peer)', () => {
  it('delivers SEG, SR and images that storescp stores bit for bit and dcmdump reads', async () => {
    // +B: storescp writes the dataset exactly as received; +xa: all its transfer syntaxes; -pm: unknown SOP classes too.
    const scp = await startStorescp('PEER', ['+B', '+xa', '-pm']);
    try {
      const segDir = sharedDir('seg-reference');
      const files = [
        path.join(FIXTURES, 'op-jpeg-baseline-idrid55-L.dcm'),
        path.join(FIXTURES, 'sc-chest-ot.dcm'),
        ...(segDir ? [
          path.join(segDir, 'highdicom__seg_image_ct_binary.dcm'),
          path.join(segDir, 'dcmqi__partial_overlaps.dcm'),
          path.join(segDir, 'pydicom-data__liver_expb.dcm'),
          path.join(path.dirname(segDir), 'real-dicom/charset/orthanc-tests__MarekLatin2.dcm'),
        ] : []),
      ];
      const results = await sendFiles({ host: '127.0.0.1', port: scp.port, aeTitle: 'PEER', callingAeTitle: 'OPHGATE' }, files);
      for (const r of results) expect(r, `${path.basename(r.path)}: ${r.error}`).toMatchObject({ ok: true, status: 0 });
      const stored = (await readdir(scp.dir)).map((f) => path.join(scp.dir, f));
      expect(stored).toHaveLength(files.length);
      const byUid = new Map<string, string>();
      for (const f of stored) {
        const dump = await run('dcmdump', ['-q', f]);
        expect(dump.code, dump.output).toBe(0);
        byUid.set(`${(await dcmdumpValue(f, '0008,0018'))}|${datasetSha256(f)}`, f);
        expect(await dcmdumpValue(f, '0002,0016')).toBe('OPHGATE');
      }
      for (const r of results) {
        expect(byUid.has(`${r.sopInstanceUid}|${datasetSha256(r.path)}`), `${path.basename(r.path)} stored bit for bit`).toBe(true);
      }
    } finally {
      await scp.stop();
    }
  });

  it('re-encodes a native file when the peer refuses its transfer syntax, and reports compressed ones it cannot send', async () => {
    // +xi: storescp accepts implicit VR little endian only.
    const scp = await startStorescp('PEER', ['+xi']);
    try {
      const explicit = path.join(FIXTURES, 'sc-chest-ot.dcm');
      const jpeg = path.join(FIXTURES, 'op-jpeg-baseline-idrid55-L.dcm');
      const [a, b] = await sendFiles({ host: '127.0.0.1', port: scp.port, aeTitle: 'PEER', callingAeTitle: 'OPHGATE' }, [explicit, jpeg]);
      expect(a, a!.error).toMatchObject({ ok: true, status: 0, transcodedTo: IMPLICIT_LE, transferSyntaxUid: IMPLICIT_LE });
      expect(b!.ok).toBe(false);
      expect(b!.error).toMatch(/did not accept .*1\.2\.840\.10008\.1\.2\.4\.50/);
      const stored = await readdir(scp.dir);
      expect(stored).toHaveLength(1);
      const f = path.join(scp.dir, stored[0]!);
      expect((await run('dcmdump', ['-q', f])).code).toBe(0);
      expect(await dcmdumpValue(f, '0008,0018')).toBe(a!.sopInstanceUid);
      expect(await dcmdumpValue(f, '0010,0020')).toBe(await dcmdumpValue(explicit, '0010,0020'));
    } finally {
      await scp.stop();
    }
  });

  it('sends a Segmentation to an implicit-VR-only peer with every value intact (headers re-encoded, values kept)', async () => {
    const dir = tempDir('scu-seg');
    const source = writeSyntheticSource(dir, { rows: 23, columns: 37 });
    const attrs = await sourceAttributes(source.file);
    const segFile = path.join(dir, 'seg.dcm');
    writeFileSync(segFile, buildSegmentation({
      source: attrs, sourceFrame: 1,
      segments: [{ label: 'Haemorrhage', category: sct('49755003', 'Morphologically Abnormal Structure'), type: sct('28998008', 'Retinal hemorrhage'), colourLab: [30000, 40000, 20000], mask: masks.circle(23, 37, 11, 18, 6) }],
      algorithm: { name: 'test', version: '1', family: { value: '123110', scheme: 'DCM', meaning: 'Artificial Intelligence' } },
      seriesInstanceUid: mintUid('2.25'), sopInstanceUid: mintUid('2.25'), seriesNumber: 99, instanceNumber: 1,
      contentDateTime: new Date('2026-01-01T00:00:00Z'),
      equipment: { manufacturer: 'OphGate', modelName: 'OphGate', softwareVersions: '0', deviceSerialNumber: 'x' },
    }));
    const scp = await startStorescp('PEER', ['+xi']);
    try {
      const [r] = await sendFiles({ host: '127.0.0.1', port: scp.port, aeTitle: 'PEER', callingAeTitle: 'OPHGATE' }, [segFile]);
      expect(r, r!.error).toMatchObject({ ok: true, transcodedTo: IMPLICIT_LE });
      const [stored] = await readdir(scp.dir);
      const received = path.join(scp.dir, stored!);
      expect(readFileMeta(readFileSync(received)).transferSyntaxUid).toBe(IMPLICIT_LE);
      // dciodvfy still finds a valid SEG (the empty item of the type 1 Shared Functional Groups Sequence survives),
      // and pydicom reads the same segment pixels from both files.
      expect(dciodvfy(received).errors).toEqual([]);
      const [before, after] = readWithPydicom([segFile, received]);
      expect(after!.frames).toEqual(before!.frames);
      expect(after!.segments).toEqual(before!.segments);
    } finally {
      await scp.stop();
    }
  });
});
