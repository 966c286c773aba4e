// `ophgate import`: feeds files through the same door as the network (InstanceAcceptor), then settles the
// studies it touched, as an association release would. A running `ophgate serve` on the same data directory
// picks up the queued jobs.
import { createReadStream, statSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import type { Config } from '../config/schema.js';
import { createLogger } from '../log/logger.js';
import { Metrics } from '../metrics/registry.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { InstanceAcceptor } from '../ingest/accept-instance.js';
import { StudyAssembler } from '../ingest/study-assembler.js';
import { loadRoutingRules } from '../ingest/routing-rules.js';
import { defaultStages } from '../pipeline/stages/index.js';
import { PROJECT_ROOT } from '../project-root.js';

export function listFiles(paths: string[]): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    const st = statSync(p);
    if (st.isDirectory()) for (const e of readdirSync(p).sort()) walk(path.join(p, e));
    else if (st.isFile()) out.push(p);
  };
  for (const p of paths) walk(p);
  return out;
}

export async function runImport(config: Config, paths: string[], opts: { json: boolean }): Promise<number> {
  let files: string[];
  try {
    files = listFiles(paths);
  } catch (err) {
    console.error(`cannot read ${(err as Error).message}`);
    return 2;
  }
  const logger = createLogger(config.log.level === 'info' ? 'warn' : config.log.level, process.stderr);
  const store = new SqliteStore(path.resolve(config.dataDir));
  const metrics = new Metrics();
  const rules = loadRoutingRules(path.resolve(PROJECT_ROOT, config.routing.rulesFile));
  const firstStage = config.pipeline.enabled ? defaultStages()[0]?.name ?? null : null;
  const assembler = new StudyAssembler(store, rules, { settleMs: config.assembly.settleSeconds * 1000, settleOnAssociationRelease: true, firstStage }, metrics, logger);
  const acceptor = new InstanceAcceptor(store, metrics, logger, assembler);
  const importId = `import-${process.pid}`;
  const bar = opts.json ? undefined : new SingleBar({ format: 'importing {bar} {value}/{total} files | stored {stored} duplicate {duplicate} failed {failed}', stream: process.stderr }, Presets.shades_classic);
  const counts = { stored: 0, duplicate: 0, failed: 0 };
  bar?.start(files.length, 0, counts);
  for (const file of files) {
    const spooled = await store.blobs.spool(createReadStream(file));
    const outcome = await acceptor.accept(spooled, { protocol: 'import', associationId: importId });
    if (outcome.status === 'stored') counts.stored++;
    else if (outcome.status === 'duplicate') counts.duplicate++;
    else counts.failed++;
    if (opts.json) {
      process.stdout.write(JSON.stringify({ file, status: outcome.status, sopInstanceUid: outcome.sopInstanceUid, ...('reason' in outcome ? { reason: outcome.reason } : {}) }) + '\n');
    }
    bar?.increment(1, counts);
  }
  bar?.stop();
  assembler.associationReleased(importId);
  if (!opts.json) console.error(`imported ${files.length} files: ${counts.stored} stored, ${counts.duplicate} duplicates, ${counts.failed} failed`);
  store.close();
  return counts.failed > 0 ? 1 : 0;
}
