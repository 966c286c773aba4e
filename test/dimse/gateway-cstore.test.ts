// The whole gateway over DIMSE: dcmtk's storescu sends through the SCP into the store, each file in its own
// transfer syntax; the association release settles the study and its job decodes the images.
import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startTestGateway, waitFor, type TestGateway } from '../helpers/gateway.js';
import { FIXTURES, datasetSha256, fileTransferSyntax, run, sharedDir, storescuOwnSyntax } from './helpers.js';
import { readInstanceHeader } from '../../src/dicom/part10-header.js';
import { TRANSFER_SYNTAXES } from '../../src/dicom/transfer-syntaxes.js';

let tg: TestGateway;
let cfgDir: string;
beforeAll(async () => {
  // A long settle time: only the association release can settle the study within the test.
  tg = await startTestGateway({ 'assembly.settleSeconds': 600, 'dimse.allowedCallingAeTitles': ['STORESCU'] });
  cfgDir = await mkdtemp(path.join(os.tmpdir(), 'ophgate-gw-storescu-'));
});
afterAll(async () => {
  await tg?.stop();
  if (cfgDir) await rm(cfgDir, { recursive: true, force: true });
});

describe('gateway over DIMSE C-STORE', () => {
  it('stores an ophthalmic study from storescu unchanged, settles it on release and decodes it', async () => {
    const manifest = JSON.parse(readFileSync(path.join(FIXTURES, 'manifest.json'), 'utf8')) as { files: Array<{ path: string; valid: boolean; studyInstanceUid: string; sopInstanceUid: string }> };
    const study = manifest.files.filter((f) => f.valid && f.path.startsWith('op-j2k-lossless'));
    expect(study.length).toBeGreaterThanOrEqual(2);
    const files = study.map((f) => path.join(FIXTURES, f.path));
    const r = await run('storescu', ['-v', '-R', '-xv', '-aet', 'STORESCU', '-aec', 'OPHGATE', '127.0.0.1', String(tg.gateway.dimsePort), ...files]);
    expect(r.code, r.output).toBe(0);
    const store = tg.gateway.ctx.store;
    for (const f of study) {
      const row = store.getInstance(f.sopInstanceUid)!;
      expect(row.protocol).toBe('dimse');
      expect(row.calling_ae).toBe('STORESCU');
      expect(datasetSha256(store.blobPath(row))).toBe(datasetSha256(path.join(FIXTURES, f.path)));
    }
    const studyUid = study[0]!.studyInstanceUid;
    const job = await waitFor('decode job done', () => store.listJobs({ studyUid }).find((j) => j.state === 'done'), 30_000);
    const decoded = store.stageResults(job.id).find((s) => s.stage === 'decode')!.result as { images: Array<{ frames: Array<{ rows: number; columns: number }> }> };
    expect(decoded.images).toHaveLength(study.length);
    expect(decoded.images[0]!.frames[0]).toMatchObject({ rows: 712, columns: 1072 });
  });

  const tsDir = sharedDir('real-dicom/transfer-syntax');
  it.skipIf(!tsDir)('stores each file of ../shared/interop/real-dicom/transfer-syntax sent in its own transfer syntax, or refuses it with the reason', async () => {
    const store = tg.gateway.ctx.store;
    const summary: string[] = [];
    for (const name of readdirSync(tsDir!).sort()) {
      const file = path.join(tsDir!, name);
      const ts = fileTransferSyntax(file);
      const { result } = await storescuOwnSyntax(file, tg.gateway.dimsePort!, 'OPHGATE', cfgDir);
      if (!TRANSFER_SYNTAXES.has(ts)) {
        expect(result.code, result.output).not.toBe(0);
        summary.push(`${name}: refused (transfer syntax ${ts} not accepted)`);
        continue;
      }
      if (/Received Store Response \(Success\)/.test(result.output)) {
        // Find the stored instance by the dataset's own UID (files without File Meta have none in their meta).
        const stored = (store.db.prepare('SELECT sop_instance_uid FROM instances ORDER BY received_at DESC LIMIT 1').get() as { sop_instance_uid: string });
        const row = store.getInstance(stored.sop_instance_uid)!;
        const header = await readInstanceHeader(store.blobPath(row), row.size);
        expect(header.transferSyntaxUid).toBe(ts);
        if (datasetSha256(store.blobPath(row)) === datasetSha256(file)) summary.push(`${name}: stored, dataset byte-identical to the source`);
        else summary.push(`${name}: stored as storescu re-encoded it (see test/dimse/scp.test.ts for the +B comparison)`);
      } else {
        // The gateway refused it: an error status, and the reason (also sent as Error Comment) in its log.
        const status = /Received Store Response \((Error|Failure|Refused)[^)]*\)/.exec(result.output)?.[0];
        expect(status, result.output).toBeDefined();
        const rejections = readFileSync(tg.logFile, 'utf8').split('\n').filter((l) => l.includes('"instance rejected"'));
        const reason = (JSON.parse(rejections[rejections.length - 1]!) as { reason: string }).reason;
        expect(reason).toMatch(/missing|not a valid UID|truncated|length/);
        summary.push(`${name}: refused by the gateway: ${status}: ${reason}`);
      }
    }
    console.log(`storescu -> OphGate gateway:\n  ${summary.join('\n  ')}`);
    expect(summary.filter((s) => s.includes('stored')).length).toBeGreaterThanOrEqual(12);
  });
});
