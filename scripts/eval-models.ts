// npm run eval: recomputes the model cards' test metrics from the shipped ONNX files through the TypeScript
// inference path (ModelRegistry: sharp preprocessing, onnxruntime-node; not PyTorch) on the held-out test split,
// and compares every point estimate with the card's metrics.json (models/train/evaluate.py). It also writes what
// the gateway would write for every IDRiD test image it visits (the JPEG wrapped as an OP instance, a SEG per
// segmenting model, one SR; src/inference/evaluation/dicom-check.ts) and checks each with dicom3tools' dciodvfy and
// dcentvfy: a separate outcome, printed and in --json as "dicom".
//
//   npm run eval                                   # both models in models/, data in ../shared/data
//   npm run eval -- --model segmenter --json out.json
//   npm run eval -- --models-dir /tmp/smoke-models --limit 4   # a smoke export evaluated with evaluate.py --limit 4
//   npm run eval -- --model segmenter --no-dicom    # the metrics only
//
// Exit status: 0 when every point estimate agrees within --tolerance (default 0.01) and no SEG or SR has a
// dciodvfy/dcentvfy Error; 1 when one does not or has, or a model folder or its metrics.json is missing, or
// metrics.json was made on other records (another --limit), or dciodvfy/dcentvfy are absent (without --no-dicom);
// 2 when the data folder is absent.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadManifest } from '../src/inference/manifest.js';
import { ModelRegistry, type ImageInference } from '../src/inference/model-registry.js';
import { compareMetrics, type ComparisonRow } from '../src/inference/evaluation/compare.js';
import {
  DEFAULT_DATA_DIR, SPLITS_DIR, classifierRecords, segmenterRecords, splitRecords, type ClsRecord, type SegRecord,
} from '../src/inference/evaluation/records.js';
import { classifierMetrics, classifierThresholds, scoreClassifier } from '../src/inference/evaluation/run-classifier.js';
import { scoreSegmenterImage, segmenterMetrics, segmenterThresholds, type SegImageResult } from '../src/inference/evaluation/run-segmenter.js';
import { DicomResultsCheck, formatDicomSummary, missingDicomTools, type DicomCheckSummary } from '../src/inference/evaluation/dicom-check.js';
import { PROJECT_ROOT } from '../src/project-root.js';

const USAGE = `usage: npm run eval -- [--models-dir DIR] [--data DIR] [--model classifier|segmenter|all] [--limit N]
                        [--tolerance T] [--json OUT] [--threads N] [--no-dicom]
  --models-dir  folder holding fundus-classifier/ and fundus-segmenter/ (manifest.json, model.onnx, metrics.json);
                default models/
  --data        the public data (default ../shared/data beside the repository)
  --model       which model to evaluate (default all)
  --limit N     development: the first N test records of each source (data.py build_cache's rule); compares with a
                metrics.json that evaluate.py made with the same --limit
  --tolerance   largest accepted difference of a point estimate (default 0.01)
  --json OUT    write the comparison and the TypeScript metrics to OUT
  --threads N   onnxruntime intra-op threads (default 2; 1 when other work keeps a core busy)
  --no-dicom    skip the DICOM check: by default every IDRiD test image evaluated is wrapped as an OP instance, every
                loaded model runs on it, and its SEG(s) and SR (the results stage's code) must pass dciodvfy and
                dcentvfy (dicom3tools) with no Error; --limit limits it too`;

interface ModelReport {
  model: string;
  ok: boolean;
  error?: string;
  images?: number;
  secondsPerImage?: { run: number; total: number };
  rows?: ComparisonRow[];
  typescript?: unknown;
  notes?: string[];
}

function fail(message: string, code: number): never {
  console.error(message);
  process.exit(code);
}

function parse() {
  let a;
  try {
    a = parseArgs({
      options: {
        'models-dir': { type: 'string' }, data: { type: 'string' }, model: { type: 'string', default: 'all' },
        limit: { type: 'string' }, tolerance: { type: 'string', default: '0.01' }, json: { type: 'string' },
        threads: { type: 'string', default: '2' }, 'no-dicom': { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    fail(`${(err as Error).message}\n${USAGE}`, 1);
  }
  if (a.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const model = a.model!;
  if (!['classifier', 'segmenter', 'all'].includes(model)) fail(`--model must be classifier, segmenter or all\n${USAGE}`, 1);
  const limit = a.limit === undefined ? undefined : Number(a.limit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) fail('--limit must be a positive integer', 1);
  const tolerance = Number(a.tolerance);
  if (!(tolerance >= 0)) fail('--tolerance must be a number >= 0', 1);
  const threads = Number(a.threads);
  if (!(Number.isInteger(threads) && threads >= 1)) fail('--threads must be a positive integer', 1);
  return {
    modelsDir: a['models-dir'] ? path.resolve(a['models-dir']) : path.join(PROJECT_ROOT, 'models'),
    data: a.data ? path.resolve(a.data) : DEFAULT_DATA_DIR,
    models: model === 'all' ? ['classifier', 'segmenter'] : [model],
    limit, tolerance, json: a.json, threads, dicom: !a['no-dicom'],
  };
}

const fmt = (v: number | null, kind: ComparisonRow['kind']) =>
  v === null ? 'null' : kind === 'estimate' ? v.toFixed(4) : String(v);

function printTable(title: string, rows: ComparisonRow[]): void {
  const w = Math.max(6, ...rows.map((r) => r.metric.length));
  console.log(`\n${title}`);
  console.log(`${'metric'.padEnd(w)}  ${'card'.padStart(9)}  ${'ts'.padStart(9)}  ${'diff'.padStart(9)}  ok`);
  for (const r of rows) {
    const diff = r.diff === null ? '' : r.kind === 'estimate' ? r.diff.toFixed(4) : String(r.diff);
    console.log(`${r.metric.padEnd(w)}  ${fmt(r.card, r.kind).padStart(9)}  ${fmt(r.ts, r.kind).padStart(9)}  ${diff.padStart(9)}  ${r.ok ? 'ok' : 'DIFFERS'}${r.note ? `  (${r.note})` : ''}`);
  }
}

function readCard(file: string): Record<string, any> {
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, any>;
}

async function main(): Promise<number> {
  const opt = parse();
  if (!existsSync(opt.data)) {
    fail(`${opt.data} is absent: the evaluation needs the public data (IDRiD, ODIR-5K, Drishti-GS1) in ../shared/data beside the ` +
      'repository (or --data DIR); see models/train/README.md. Nothing was evaluated.', 2);
  }
  if (opt.dicom) {
    const missing = missingDicomTools();
    if (missing.length) {
      fail(`${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} absent: the DICOM check of the SEGs and SRs needs dicom3tools on the ` +
        'PATH (Debian/Ubuntu: apt-get install dicom3tools), or --no-dicom to skip it. Nothing was evaluated.', 1);
    }
  }
  console.log(`models ${opt.modelsDir}, data ${opt.data}, tolerance ${opt.tolerance}${opt.dicom ? '' : ', no DICOM check (--no-dicom)'}`);
  if (opt.limit) {
    console.log(`--limit ${opt.limit}: development run on the first ${opt.limit} test records of each source (data.py build_cache's ` +
      'rule); the comparison holds only against a metrics.json made by evaluate.py with the same --limit');
  }
  const reports: ModelReport[] = [];
  // Check every requested model folder before loading any model.
  const wanted: { key: string; dir: string; card: Record<string, any> }[] = [];
  for (const key of opt.models) {
    const dir = path.join(opt.modelsDir, `fundus-${key}`);
    const missing = ['manifest.json', 'metrics.json'].filter((f) => !existsSync(path.join(dir, f)));
    if (!existsSync(dir)) reports.push({ model: `fundus-${key}`, ok: false, error: `${dir} does not exist` });
    else if (missing.length) reports.push({ model: `fundus-${key}`, ok: false, error: `${dir} has no ${missing.join(' or ')}` });
    else wanted.push({ key, dir, card: readCard(path.join(dir, 'metrics.json')) });
  }
  for (const r of reports) console.error(`fundus models: ${r.error}`);

  let registry: ModelRegistry | null = null;
  let dicom: DicomResultsCheck | null = null;
  let dicomSummary: DicomCheckSummary | null = null;
  if (wanted.length) {
    registry = await ModelRegistry.open({ modelsDir: opt.modelsDir, executionProvider: 'cpu', intraOpThreads: opt.threads, batchSize: 8 });
    if (opt.dicom) dicom = DicomResultsCheck.create(opt.data, registry);
  }
  try {
    for (const { key, dir, card } of wanted) {
      const report = key === 'classifier'
        ? await evaluateClassifier(registry!, dir, card, opt, dicom)
        : await evaluateSegmenter(registry!, dir, card, opt, dicom);
      reports.push(report);
      if (report.error) console.error(`${report.model}: ${report.error}`);
      if (report.rows) {
        printTable(`${report.model}: metrics.json (card) against the TypeScript path (ts)`, report.rows);
        const est = report.rows.filter((r) => r.diff !== null && r.kind === 'estimate');
        const max = est.reduce((m, r) => (Math.abs(r.diff!) > Math.abs(m?.diff ?? 0) ? r : m), est[0]);
        const bad = report.rows.filter((r) => !r.ok).length;
        console.log(`${report.model}: ${report.rows.length} values, ${bad} outside tolerance; largest difference ` +
          `${max ? `${Math.abs(max.diff!).toFixed(4)} (${max.metric})` : 'none'}`);
      }
      for (const n of report.notes ?? []) console.log(`${report.model}: ${n}`);
      if (report.secondsPerImage) {
        console.log(`${report.model}: ${report.images} test images, ${(report.secondsPerImage.run * 1000).toFixed(0)} ms per image ` +
          `in registry.run (decode, crop, resize, session), ${(report.secondsPerImage.total * 1000).toFixed(0)} ms per image in all`);
      }
    }
    dicomSummary = dicom?.finish() ?? null;
  } finally {
    await registry?.close();
  }
  const metricsOk = reports.every((r) => r.ok);
  const ok = metricsOk && (dicomSummary?.ok ?? true);
  if (opt.json) {
    const dicomOut = dicomSummary ?? (opt.dicom ? null : 'skipped (--no-dicom)');
    writeFileSync(opt.json, `${JSON.stringify({ ok, metricsOk, tolerance: opt.tolerance, limit: opt.limit ?? null, modelsDir: opt.modelsDir, data: opt.data, models: reports, dicom: dicomOut },
      (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
    console.log(`written ${opt.json}`);
  }
  console.log(metricsOk ? `\nagreement: every point estimate within ${opt.tolerance}` : '\nNOT in agreement (see above)');
  if (dicomSummary) for (const line of formatDicomSummary(dicomSummary)) console.log(line);
  return ok ? 0 : 1;
}

type Options = ReturnType<typeof parse>;

/** Refuses a card made on other records than these (e.g. evaluate.py run with another --limit). */
function countsProblem(card: Record<string, any>, expected: Record<string, number>, where: (c: Record<string, any>) => Record<string, unknown>): string | null {
  const have = where(card);
  const diffs = Object.entries(expected).filter(([k, v]) => have[k] !== v).map(([k, v]) => `${k}: card ${String(have[k] ?? 'absent')}, here ${v}`);
  return diffs.length ? `metrics.json was made on other test records (${diffs.join('; ')}): evaluate.py's --limit and this --limit must agree` : null;
}

/**
 * The DICOM check alone, for when the metrics cannot be compared (metrics.json made on other records): the
 * IDRiD records are still checked, so a --limit run checks its objects whatever the card.
 */
async function checkOnly(dicom: DicomResultsCheck, model: string, records: (ClsRecord | SegRecord)[]): Promise<void> {
  const idrid = records.filter((r) => r.source === 'idrid');
  for (const [i, rec] of idrid.entries()) {
    await dicom.checkImage(rec);
    process.stderr.write(`\r${model}: DICOM check only, ${i + 1}/${idrid.length} IDRiD test images`);
  }
  process.stderr.write('\n');
}

async function evaluateClassifier(registry: ModelRegistry, dir: string, card: Record<string, any>, opt: Options, dicom: DicomResultsCheck | null): Promise<ModelReport> {
  const manifest = loadManifest(path.join(dir, 'manifest.json'));
  const all = classifierRecords(SPLITS_DIR);
  const test = splitRecords(all, 'test', opt.limit);
  const val = splitRecords(all, 'val', opt.limit);
  const problem = countsProblem(card, {
    odir_eyes: test.filter((r) => r.source === 'odir').length, idrid_images: test.filter((r) => r.source === 'idrid').length,
  }, (c) => c.data?.test ?? {});
  if (problem) {
    if (dicom) await checkOnly(dicom, manifest.name, test);
    return { model: manifest.name, ok: false, error: problem };
  }
  const t0 = performance.now();
  const checkSeconds = dicom?.seconds ?? 0;
  // The IDRiD grading images also go through the DICOM check, with this run's classifier answer.
  const { scores, runSeconds } = await scoreClassifier(registry, manifest.name, test, opt.data,
    (done, total) => process.stderr.write(`\r${manifest.name}: ${done}/${total} test images`),
    dicom ? async (rec, r) => { if (rec.source === 'idrid') await dicom.checkImage(rec, { [manifest.name]: r }); } : undefined);
  process.stderr.write('\n');
  const ts = classifierMetrics(test, val, scores, classifierThresholds(manifest));
  // The timing is the evaluation's own, without the DICOM check.
  const total = (performance.now() - t0) / 1000 - ((dicom?.seconds ?? 0) - checkSeconds);
  const rows = compareMetrics(card, ts, opt.tolerance);
  return {
    model: manifest.name, ok: rows.every((r) => r.ok), images: test.length, rows, typescript: ts,
    secondsPerImage: { run: runSeconds / test.length, total: total / test.length },
  };
}

async function evaluateSegmenter(registry: ModelRegistry, dir: string, card: Record<string, any>, opt: Options, dicom: DicomResultsCheck | null): Promise<ModelReport> {
  const manifest = loadManifest(path.join(dir, 'manifest.json'));
  const test = splitRecords(segmenterRecords(SPLITS_DIR, opt.data), 'test', opt.limit);
  const problem = countsProblem(card, {
    idrid: test.filter((r) => r.source === 'idrid').length, drishti: test.filter((r) => r.source === 'drishti').length,
  }, (c) => ({ idrid: c.test?.idrid?.OD?.images, drishti: c.test?.drishti?.OD?.images }));
  if (problem) {
    if (dicom) await checkOnly(dicom, manifest.name, test);
    return { model: manifest.name, ok: false, error: problem };
  }
  const thr = segmenterThresholds(manifest);
  const t0 = performance.now();
  const checkSeconds = dicom?.seconds ?? 0;
  const images: SegImageResult[] = [];
  for (const [i, rec] of test.entries()) {
    // IDRiD images (not Drishti-GS1, whose images OphGate may not ship) also go through the DICOM check.
    const check = dicom && rec.source === 'idrid' ? (r: ImageInference) => dicom.checkImage(rec, { [manifest.name]: r }) : undefined;
    images.push(await scoreSegmenterImage(registry, manifest.name, rec, opt.data, thr, check));
    process.stderr.write(`\r${manifest.name}: ${i + 1}/${test.length} test images`);
  }
  process.stderr.write('\n');
  const ts = segmenterMetrics(images, thr);
  // The timing is the evaluation's own, without the DICOM check.
  const total = (performance.now() - t0) / 1000 - ((dicom?.seconds ?? 0) - checkSeconds);
  const rows = compareMetrics(card, ts, opt.tolerance);
  const notes: string[] = [];
  const differing = images.reduce((s, r) => s + r.maskPixelsDifferingFromRegistry, 0);
  notes.push(`registry masks against the source-resolution probabilities thresholded here: ${differing} pixels differ`);
  const cardRows: Record<string, any>[] = card.test?.drishti_cdr?.per_image ?? [];
  const perImage = images.flatMap((r) => (r.cdr ? [r.cdr] : [])).map((r) => {
    const c = cardRows.find((x) => x.image === r.image);
    return { image: r.image, card: c?.predicted_vcdr ?? null, ts: r.predicted_vcdr };
  });
  const worst = perImage.filter((r) => r.card !== null && Number.isFinite(r.ts))
    .reduce<{ image: string; d: number } | null>((m, r) => { const d = Math.abs(r.ts - r.card); return !m || d > m.d ? { image: r.image, d } : m; }, null);
  if (worst) notes.push(`per-image predicted vertical CDR (information, not compared): largest difference ${worst.d.toFixed(4)} (${worst.image})`);
  return {
    model: manifest.name, ok: rows.every((r) => r.ok), images: test.length, rows, notes,
    typescript: { ...ts, per_image_vcdr: perImage, mask_pixels_differing_from_registry: differing },
    secondsPerImage: { run: images.reduce((s, r) => s + r.runSeconds, 0) / test.length, total: total / test.length },
  };
}

main().then((code) => process.exit(code), (err) => {
  console.error(err instanceof Error ? err.stack ?? err.message : err);
  process.exit(1);
});
