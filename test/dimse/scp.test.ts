// The OphGate DIMSE SCP against real third-party SCUs (dcmtk echoscu, storescu, findscu) and hostile raw clients.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileMeta } from '../../src/dicom/dimse/part10.js';
import { sendFiles } from '../../src/dicom/dimse/store-scu.js';
import { TRANSFER_SYNTAXES } from '../../src/dicom/transfer-syntaxes.js';
import { OPHGATE_IMPLEMENTATION_CLASS_UID } from '../../src/dicom/dimse/implementation.js';
import {
  FIXTURES, datasetSha256, dcmdumpValue, fileTransferSyntax, run, sha256, sharedDir, startStorescp, startTestScp,
  storescuOwnSyntax, type Storescp, type TestScp,
} from './helpers.js';
import { RawClient, associateRq, cStoreCommand, pData } from './raw-dul.js';

const SC = '1.2.840.10008.5.1.4.1.1.7';
const EXPLICIT_LE = '1.2.840.10008.1.2.1';
const ALLOWED = ['ECHOSCU', 'STORESCU', 'FINDSCU', 'RAWSCU', 'OPHSCU'];

const waitFor = async (cond: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
};

const echoscu = (port: number, callingAe = 'ECHOSCU', calledAe = 'OPHGATE') =>
  run('echoscu', ['-v', '-aet', callingAe, '-aec', calledAe, '127.0.0.1', String(port)]);

let t: TestScp;
let ref: Storescp;
let cfgDir: string;

beforeAll(async () => {
  t = await startTestScp({ allowedCallingAeTitles: ALLOWED });
  // dcmtk's storescp in bit-preserving mode (+B) is the reference for "what storescu put on the wire".
  ref = await startStorescp('REF', ['+B', '+xa', '-pm']);
  cfgDir = await mkdtemp(path.join(os.tmpdir(), 'ophgate-storescu-cfg-'));
});

afterAll(async () => {
  await t?.close();
  await ref?.stop();
  if (cfgDir) await rm(cfgDir, { recursive: true, force: true });
});

interface RoundTrip {
  file: string;
  transferSyntax: string;
  options: string;
  outcome: string;
}
const table: RoundTrip[] = [];

/**
 * Sends `file` with storescu in its own transfer syntax to OphGate. Checks the stored PS3.10 file and that its
 * dataset bytes are the source file's or, where storescu re-encoded them, the ones storescu sent.
 */
async function storescuRoundTrip(file: string): Promise<void> {
  const ts = fileTransferSyntax(file);
  const before = t.received.length;
  const { options, result } = await storescuOwnSyntax(file, t.port, 'OPHGATE', cfgDir);
  const row: RoundTrip = { file: path.basename(file), transferSyntax: ts, options: options.join(' ').replace(cfgDir, '<cfg>'), outcome: '' };
  table.push(row);
  if (!TRANSFER_SYNTAXES.has(ts)) {
    expect(result.code, result.output).not.toBe(0);
    expect(t.received.length).toBe(before);
    row.outcome = 'refused (transfer syntax not supported)';
    return;
  }
  expect(result.code, result.output).toBe(0);
  expect(result.output).toMatch(/Received Store Response \(Success\)/);
  expect(t.received.length).toBe(before + 1);
  const got = t.received[t.received.length - 1]!;
  expect(got.ctx.transferSyntaxUid).toBe(ts);
  expect(got.ctx.callingAeTitle).toBe('STORESCU');
  expect(got.ctx.calledAeTitle).toBe('OPHGATE');

  // The PS3.10 file: preamble, File Meta from the command and the negotiation, hash and size of the whole file.
  const stored = readFileSync(got.storedPath);
  expect(stored.length).toBe(got.file.size);
  expect(sha256(stored)).toBe(got.file.sha256);
  expect(stored.subarray(0, 128).equals(Buffer.alloc(128))).toBe(true);
  const meta = readFileMeta(stored);
  expect(meta.hasPreamble).toBe(true);
  expect(meta.transferSyntaxUid).toBe(ts);
  expect(meta.mediaStorageSopInstanceUid).toBe(got.ctx.sopInstanceUid);
  expect(meta.mediaStorageSopClassUid).toBe(got.ctx.sopClassUid);
  expect(await dcmdumpValue(got.storedPath, '0002,0016')).toBe('STORESCU');
  expect(await dcmdumpValue(got.storedPath, '0002,0012')).toBe(OPHGATE_IMPLEMENTATION_CLASS_UID);
  const dump = await run('dcmdump', ['-q', got.storedPath]);
  expect(dump.code, dump.output).toBe(0);
  expect(await dcmdumpValue(got.storedPath, '0008,0018')).toBe(got.ctx.sopInstanceUid);

  const ours = datasetSha256(got.storedPath);
  if (ours === datasetSha256(file)) {
    row.outcome = 'stored, dataset byte-identical to the source file';
    return;
  }
  // storescu re-encoded the dataset (dcmtk parses and rewrites it). What it sent is what dcmtk's storescp stores in
  // bit-preserving mode (+B) from the same storescu invocation: OphGate must have stored exactly that.
  for (const f of await readdir(ref.dir)) await rm(path.join(ref.dir, f), { force: true });
  const refRun = await storescuOwnSyntax(file, ref.port, 'REF', cfgDir);
  expect(refRun.result.code, refRun.result.output).toBe(0);
  const refFiles = await readdir(ref.dir);
  expect(refFiles).toHaveLength(1);
  const reference = datasetSha256(path.join(ref.dir, refFiles[0]!));
  expect(ours, `${path.basename(file)}: OphGate's stored dataset differs from what storescu sent`).toBe(reference);
  row.outcome = 'stored, dataset byte-identical to what storescu sent (= storescp +B); storescu re-encoded the source';
}

describe('DimseScp: association negotiation', () => {
  it('answers C-ECHO from dcmtk echoscu', async () => {
    const r = await echoscu(t.port);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/Received Echo Response \(Success\)/);
    await waitFor(() => t.lines.some((l) => l.includes('"dimse.association.released"')), 5000, 'release log');
  });

  it('rejects a calling AE title that is not in the allow list', async () => {
    const r = await echoscu(t.port, 'INTRUDER');
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/Association Rejected/);
    expect(r.output).toMatch(/Calling AE Title Not Recognized/);
  });

  it('rejects a called AE title other than its own', async () => {
    const r = await echoscu(t.port, 'ECHOSCU', 'SOMEONEELSE');
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/Called AE Title Not Recognized/);
  });

  it('accepts any calling AE title when the allow list is empty', async () => {
    const open = await startTestScp({ allowedCallingAeTitles: [] });
    try {
      const r = await echoscu(open.port, 'WHOEVER');
      expect(r.code, r.output).toBe(0);
    } finally {
      await open.close();
    }
  });

  it('rejects abstract syntaxes other than storage and verification (C-FIND)', async () => {
    const r = await run('findscu', ['-v', '-S', '-k', 'QueryRetrieveLevel=STUDY', '-aet', 'FINDSCU', '-aec', 'OPHGATE', '127.0.0.1', String(t.port)]);
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/No Acceptable Presentation Contexts/);
    const accepted = t.lines.map((l) => JSON.parse(l)).filter((e) => e.event === 'dimse.association.accepted' && e.callingAeTitle === 'FINDSCU');
    expect(accepted).toHaveLength(1);
    expect(accepted[0].accepted).toEqual([]);
    expect(accepted[0].rejected[0]).toMatchObject({ abstractSyntax: '1.2.840.10008.5.1.4.1.2.2.1', reason: 'abstract-syntax-not-supported' });
  });

  it('rejects associations beyond maxAssociations (transient, local limit exceeded)', async () => {
    const small = await startTestScp({ maxAssociations: 1 });
    const raw = await RawClient.connect(small.port);
    try {
      await raw.write(associateRq('OPHGATE', 'RAWSCU', [{ id: 1, abstractSyntax: '1.2.840.10008.1.1', transferSyntaxes: ['1.2.840.10008.1.2'] }]));
      expect(await raw.nextPduType()).toBe(0x02);
      const r = await echoscu(small.port);
      expect(r.code).not.toBe(0);
      expect(r.output).toMatch(/Rejected Transient/);
      expect(r.output).toMatch(/Local Limit Exceeded/i);
    } finally {
      raw.destroy();
      await small.close();
    }
  });

  it('closes a connection that never sends A-ASSOCIATE-RQ after associationTimeoutMs', async () => {
    const quick = await startTestScp({ associationTimeoutMs: 1000 });
    try {
      const raw = await RawClient.connect(quick.port);
      const started = Date.now();
      await raw.closed;
      expect(Date.now() - started).toBeLessThan(4000);
    } finally {
      await quick.close();
    }
  });
  it('aborts an association that stays silent longer than idleTimeoutMs', async () => {
    const quick = await startTestScp({ idleTimeoutMs: 1000 });
    try {
      const raw = await RawClient.connect(quick.port);
      await raw.write(associateRq('OPHGATE', 'RAWSCU', [{ id: 1, abstractSyntax: '1.2.840.10008.1.1', transferSyntaxes: ['1.2.840.10008.1.2'] }]));
      expect(await raw.nextPduType()).toBe(0x02);
      expect(await raw.nextPduType(5000)).toBe(0x07);
      await raw.closed;
    } finally {
      await quick.close();
    }
  });
});

describe('DimseScp: C-STORE from dcmtk storescu, each file in its own transfer syntax', () => {
  it('stores the project fixtures (JPEG baseline, JPEG 2000, explicit VR LE, 2 MB multi-PDU)', async () => {
    for (const name of ['op-jpeg-baseline-idrid55-L.dcm', 'op-j2k-lossless-rct-idrid64-L.dcm', 'sc-chest-ot.dcm', 'op-rgb-planar0-idrid70-R.dcm']) {
      await storescuRoundTrip(path.join(FIXTURES, name));
    }
    expect(t.released.length).toBeGreaterThan(0);
  });

  const tsDir = sharedDir('real-dicom/transfer-syntax');
  it.skipIf(!tsDir)('stores every file of ../shared/interop/real-dicom/transfer-syntax as sent', async () => {
    for (const name of readdirSync(tsDir!).sort()) await storescuRoundTrip(path.join(tsDir!, name));
  });

  const segDir = sharedDir('seg-reference');
  const srFile = path.join(path.dirname(segDir ?? ''), 'real-dicom/charset/orthanc-tests__MarekLatin2.dcm');
  it.skipIf(!segDir)('accepts SEG (binary, fractional, label map, big endian) and SR', async () => {
    const segs = ['highdicom__seg_image_ct_binary.dcm', 'highdicom__seg_image_ct_binary_fractional.dcm', 'dcmqi__partial_overlaps.dcm',
      'dcmqi__sparse-labelmap-ppv5.dcm', 'pydicom-data__liver_expb.dcm'];
    for (const name of segs) await storescuRoundTrip(path.join(segDir!, name));
    const sopClasses = t.received.slice(-segs.length).map((r) => r.ctx.sopClassUid);
    expect(sopClasses).toContain('1.2.840.10008.5.1.4.1.1.66.4');
    expect(sopClasses).toContain('1.2.840.10008.5.1.4.1.1.66.7');
    if (existsSync(srFile)) {
      await storescuRoundTrip(srFile);
      expect(t.received[t.received.length - 1]!.ctx.sopClassUid).toBe('1.2.840.10008.5.1.4.1.1.88.11');
    } else {
      console.warn(`[dimse tests] no SR file at ${srFile}: SR part skipped`);
    }
  });

  afterAll(() => {
    if (table.length) console.log(`storescu -> OphGate SCP:\n${table.map((r) => `  ${r.file} [${r.transferSyntax}] storescu ${r.options}: ${r.outcome}`).join('\n')}`);
  });
});

describe('DimseScp: failures', () => {
  it('answers 0xA700 when the handler throws, removes the file, and keeps serving', async () => {
    const tmpBefore = readdirSync(t.tmpDir).length;
    t.setOnStore(async () => { throw new Error('disk on fire'); });
    try {
      const peer = { host: '127.0.0.1', port: t.port, aeTitle: 'OPHGATE', callingAeTitle: 'OPHSCU' };
      const [res] = await sendFiles(peer, [path.join(FIXTURES, 'sc-chest-ot.dcm')]);
      expect(res!.status).toBe(0xa700);
      expect(res!.ok).toBe(false);
      expect(res!.errorComment).toBe('OphGate could not store the instance');
      const s = await run('storescu', ['-v', '-aet', 'STORESCU', '-aec', 'OPHGATE', '127.0.0.1', String(t.port), path.join(FIXTURES, 'sc-chest-ot.dcm')]);
      expect(s.output).toMatch(/Refused: OutOfResources/);
      expect(t.lines.some((l) => l.includes('disk on fire'))).toBe(true);
    } finally {
      t.setOnStore();
    }
    expect(readdirSync(t.tmpDir).length).toBe(tmpBefore);
  });

  it('answers 0xA700 when the instance cannot be written to tmpDir', async () => {
    const s = await startTestScp();
    try {
      await rm(s.tmpDir, { recursive: true, force: true });
      const peer = { host: '127.0.0.1', port: s.port, aeTitle: 'OPHGATE', callingAeTitle: 'OPHSCU' };
      const [res] = await sendFiles(peer, [path.join(FIXTURES, 'op-rgb-planar0-idrid70-R.dcm')]);
      expect(res).toMatchObject({ status: 0xa700, ok: false, errorComment: 'OphGate could not write the instance to disk' });
      expect(s.received).toHaveLength(0);
      expect(s.lines.some((l) => l.includes('"dimse.store.write-failed"') && l.includes('ENOENT'))).toBe(true);
    } finally {
      await s.close();
    }
  });

  it('passes the handler status and error comment back to the SCU', async () => {
    t.setOnStore(async (file) => {
      await rm(file.path);
      return { status: 0xa900, errorComment: 'dataset does not match SOP class' };
    });
    try {
      const peer = { host: '127.0.0.1', port: t.port, aeTitle: 'OPHGATE', callingAeTitle: 'OPHSCU' };
      const [res] = await sendFiles(peer, [path.join(FIXTURES, 'sc-chest-ot.dcm')]);
      expect(res).toMatchObject({ status: 0xa900, ok: false, errorComment: 'dataset does not match SOP class' });
    } finally {
      t.setOnStore();
    }
  });

  it('survives a client that dies in the middle of a C-STORE, drops the partial file, and serves the next association', async () => {
    const before = t.received.length;
    const raw = await RawClient.connect(t.port);
    await raw.write(associateRq('OPHGATE', 'RAWSCU', [{ id: 1, abstractSyntax: SC, transferSyntaxes: [EXPLICIT_LE] }]));
    expect(await raw.nextPduType()).toBe(0x02); // A-ASSOCIATE-AC
    await raw.write(pData(1, cStoreCommand(SC, '1.2.826.0.1.3680043.10.1.99'), true, true));
    const dataset = readFileSync(path.join(FIXTURES, 'sc-chest-ot.dcm')).subarray(300);
    await raw.write(pData(1, dataset.subarray(0, 8000), false, false));
    await waitFor(() => readdirSync(t.tmpDir).some((f) => f.endsWith('.part')), 5000, 'a .part file');
    // Half a PDU, then the connection goes away.
    await raw.write(pData(1, dataset.subarray(8000, 16000), false, true).subarray(0, 3000));
    raw.destroy();
    await waitFor(() => t.lines.some((l) => l.includes('"dimse.store.incomplete"')), 5000, 'incomplete-store log');
    await waitFor(() => readdirSync(t.tmpDir).length === 0, 5000, 'partial file removal');
    expect(t.received.length).toBe(before);
    const r = await echoscu(t.port);
    expect(r.code, r.output).toBe(0);
  });

  it('aborts a peer that announces an oversized PDU', async () => {
    const raw = await RawClient.connect(t.port);
    await raw.write(associateRq('OPHGATE', 'RAWSCU', [{ id: 1, abstractSyntax: SC, transferSyntaxes: [EXPLICIT_LE] }]));
    expect(await raw.nextPduType()).toBe(0x02);
    const header = Buffer.from([0x04, 0, 0x7f, 0xff, 0xff, 0xff]);
    await raw.write(Buffer.concat([header, Buffer.alloc(1000)]));
    expect(await raw.nextPduType()).toBe(0x07); // A-ABORT
    await raw.closed;
    expect(t.lines.some((l) => l.includes('"pdu-too-long"'))).toBe(true);
    expect((await echoscu(t.port)).code).toBe(0);
  });

  it('aborts a second A-ASSOCIATE-RQ on the same connection', async () => {
    const raw = await RawClient.connect(t.port);
    const rq = associateRq('OPHGATE', 'RAWSCU', [{ id: 1, abstractSyntax: '1.2.840.10008.1.1', transferSyntaxes: ['1.2.840.10008.1.2'] }]);
    await raw.write(rq);
    expect(await raw.nextPduType()).toBe(0x02);
    await raw.write(rq);
    expect(await raw.nextPduType()).toBe(0x07);
    await raw.closed;
  });

  it('closes a connection that sends something other than DICOM', async () => {
    const raw = await RawClient.connect(t.port);
    await raw.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await raw.closed;
    expect((await echoscu(t.port)).code).toBe(0);
  });

  it('refuses a C-STORE whose SOP class does not match its presentation context', async () => {
    const raw = await RawClient.connect(t.port);
    await raw.write(associateRq('OPHGATE', 'RAWSCU', [{ id: 1, abstractSyntax: '1.2.840.10008.1.1', transferSyntaxes: ['1.2.840.10008.1.2'] }]));
    expect(await raw.nextPduType()).toBe(0x02);
    await raw.write(pData(1, cStoreCommand(SC, '1.2.826.0.1.3680043.10.1.98'), true, true));
    await raw.write(pData(1, Buffer.from([0x08, 0x00, 0x16, 0x00, 0x02, 0x00, 0x00, 0x00, 0x31, 0x00]), false, true));
    expect(await raw.nextPduType()).toBe(0x04); // the C-STORE-RSP
    raw.destroy();
    await waitFor(() => t.lines.some((l) => l.includes('"dimse.store"') && l.includes('"0x0122"')), 5000, 'refusal log');
  });
});

describe('DimseScp: logging and shutdown', () => {
  it('logs structured JSON without patient names or IDs', async () => {
    const events = t.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const e of ['dimse.association.requested', 'dimse.association.accepted', 'dimse.association.rejected', 'dimse.store', 'dimse.echo', 'dimse.association.released']) {
      expect(events.some((x) => x.event === e), e).toBe(true);
    }
    const sent = [path.join(FIXTURES, 'op-jpeg-baseline-idrid55-L.dcm'), path.join(FIXTURES, 'sc-chest-ot.dcm')];
    const secrets: string[] = [];
    for (const f of sent) {
      for (const tag of ['0010,0010', '0010,0020']) {
        const v = (await dcmdumpValue(f, tag))?.trim();
        // The whole values, and name components that are not also AE titles used here.
        if (v) secrets.push(v, ...v.split('^').filter((p) => p.length >= 5 && p !== 'OPHGATE'));
      }
    }
    expect(secrets.length).toBeGreaterThan(0);
    const all = t.lines.join('\n');
    for (const s of secrets) expect(all.includes(s), `log contains "${s}"`).toBe(false);
  });

  it('close() aborts open associations and stops listening', async () => {
    const s = await startTestScp();
    const raw = await RawClient.connect(s.port);
    await raw.write(associateRq('OPHGATE', 'RAWSCU', [{ id: 1, abstractSyntax: SC, transferSyntaxes: [EXPLICIT_LE] }]));
    expect(await raw.nextPduType()).toBe(0x02);
    const closing = s.close();
    expect(await raw.nextPduType()).toBe(0x07);
    await raw.closed;
    await closing;
    const r = await echoscu(s.port);
    expect(r.code).not.toBe(0);
  });

  it('leaves nothing behind in tmpDir', () => {
    expect(readdirSync(t.tmpDir)).toEqual([]);
  });
});
