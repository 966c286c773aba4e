// The fixtures' studies for `npm run eval:llm`: the real IDRiD photographs of fixtures/ go through a gateway of
// their own (decode, OphGate's fundus models, the report stage's eye summary; no language model, no export), and
// each ophthalmic study's summary becomes an evaluation case like the synthetic ones. Slow (the ONNX models run on
// every image: about a minute on 2 cores), so --fixtures off skips it.
import { createReadStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../config/load.js';
import { Gateway } from '../../gateway.js';
import { PROJECT_ROOT } from '../../project-root.js';
import type { StudySummary } from '../../report/eye-summary.js';

interface FixtureEntry { path: string; valid: boolean; ophthalmic: boolean; studyInstanceUid?: string }

export async function fixtureCases(timeoutMs = 600_000): Promise<{ id: string; summary: StudySummary }[]> {
  const dir = path.join(PROJECT_ROOT, 'fixtures');
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { files: FixtureEntry[] };
  const files = manifest.files.filter((f) => f.valid && f.ophthalmic);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ophgate-eval-fixtures-'));
  const config = loadConfig({
    env: {},
    overrides: {
      dataDir, 'http.host': '127.0.0.1', 'http.port': 0, 'dimse.host': '127.0.0.1', 'dimse.port': 0, 'assembly.settleSeconds': 1,
      'inference.executionProvider': 'cpu', 'llm.enabled': false, 'log.level': 'warn',
    },
  });
  const gateway = await Gateway.start(config, { logger: pino({ level: 'warn' }, pino.destination(2)) });
  try {
    for (const f of files) {
      const spooled = await gateway.ctx.store.blobs.spool(createReadStream(path.join(dir, f.path)));
      await gateway.ctx.acceptor.accept(spooled, { protocol: 'import' });
    }
    const studies = [...new Set(files.map((f) => f.studyInstanceUid!))];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const finished = studies.every((u) => gateway.ctx.store.listJobs({ studyUid: u }).some((j) => j.state === 'done' || j.state === 'dead'));
      if (finished) break;
      if (Date.now() > deadline) throw new Error(`the fixtures' studies were not analysed within ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const out: { id: string; summary: StudySummary }[] = [];
    for (const [i, uid] of studies.entries()) {
      const summary = (gateway.ctx.store.latestStageResult(uid, 'report')?.result as { summary?: StudySummary } | undefined)?.summary;
      if (!summary) throw new Error(`fixture study ${i + 1} has no report: ${gateway.ctx.store.listJobs({ studyUid: uid }).map((j) => j.last_error).join('; ')}`);
      out.push({ id: `fixture-${i + 1}`, summary });
    }
    return out;
  } finally {
    await gateway.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
