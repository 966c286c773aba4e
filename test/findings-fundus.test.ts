// OphGate's own models (models/fundus-classifier, models/fundus-segmenter) through the gateway, on fixture
// photographs from the leak-free IDRiD test split (no model trained on them). The "done when": a fixture
// with known lesions gets its optic disc and hard exudates at the model floors (disc Dice >= 0.85, exudate AUPR
// >= 0.50, against IDRiD's reference masks), and the grade-0 fixture is not called referable.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { startTestGateway, ingestFile, waitFor, sharedAvailable, FIXTURES_DIR, SHARED_DIR, type TestGateway } from './helpers/gateway.js';
import { findingResultSchema, type FindingResult } from '../src/inference/finding-result.js';
import { ModelRegistry } from '../src/inference/model-registry.js';
import { probabilityToSource } from '../src/inference/preprocess.js';
import { segmenterRecords, loadSourceMask } from '../src/inference/evaluation/records.js';
import { addPixelHistograms, auprFromHistograms, PIXEL_BINS, diceIou } from '../src/inference/evaluation/metrics.js';
import { PROJECT_ROOT } from '../src/project-root.js';

const MODELS_DIR = path.join(PROJECT_ROOT, 'models');
const LESIONS = path.join(FIXTURES_DIR, 'op-j2k-lossless-rct-idrid64-L.dcm'); // IDRiD_64: exudates, disc; lossless
const GRADE0 = path.join(FIXTURES_DIR, 'op-jpeg-baseline-grade0-idrid029-L.dcm');
const DATA = path.join(SHARED_DIR, 'data');
const haveData = sharedAvailable('data');

let tg: TestGateway;
const findings = new Map<string, { sop: string; results: Map<string, FindingResult> }>();

async function analyse(file: string) {
  const { header } = await ingestFile(tg, file);
  const job = await waitFor('job done', () => tg.gateway.ctx.store.listJobs({ studyUid: header.studyInstanceUid }).find((j) => j.state === 'done' || j.state === 'dead'), 180_000, 200);
  expect(job.last_error).toBeNull();
  const body = await (await fetch(`${tg.baseUrl}/api/studies/${header.studyInstanceUid}/findings`)).json();
  expect(body.status).toBe('complete');
  expect(body.images).toHaveLength(1);
  const results = new Map<string, FindingResult>(body.images[0].results.map((r: unknown) => { const f = findingResultSchema.parse(r); return [f.model.name, f]; }));
  return { sop: header.sopInstanceUid as string, results };
}

describe("OphGate's fundus models in the pipeline", () => {
  beforeAll(async () => {
    for (const m of ['fundus-classifier', 'fundus-segmenter']) {
      if (!existsSync(path.join(MODELS_DIR, m, 'manifest.json'))) throw new Error(`models/${m}/manifest.json is missing: the shipped models are part of the repository`);
    }
    tg = await startTestGateway({ 'inference.modelsDir': 'models' });
    findings.set('lesions', await analyse(LESIONS));
    findings.set('grade0', await analyse(GRADE0));
  }, 400_000);
  afterAll(async () => { await tg?.stop(); });

  it('gives both models\' findings with name and version, the disc, exudates and a cup-to-disc ratio', () => {
    const { results } = findings.get('lesions')!;
    expect([...results.keys()].sort()).toEqual(['fundus-classifier', 'fundus-segmenter']);
    const cls = results.get('fundus-classifier')!;
    expect(cls.labels.map((l) => l.key)).toEqual(['N', 'D', 'G', 'C', 'A', 'H', 'M', 'O', 'quality_issue']);
    expect(cls.grades.map((g) => g.output)).toEqual(['dr_grade', 'dme_risk']);
    expect(cls.derived.map((d) => d.name)).toEqual(['referable_dr']);
    const seg = results.get('fundus-segmenter')!;
    expect(seg.image).toMatchObject({ width: 1072, height: 712 });
    const lesion = (k: string) => seg.lesions.find((l) => l.key === k)!;
    expect(lesion('OD').areaPx).toBeGreaterThan(1000);
    expect(lesion('EX').areaPx).toBeGreaterThan(0);
    expect(lesion('EX').components).toBeGreaterThan(0);
    const cdr = seg.measurements.find((m) => m.name === 'cup_to_disc_ratio')!;
    expect(cdr.value).toBeGreaterThan(0);
    expect(cdr.value).toBeLessThan(1);
  });

  it('does not call the grade-0 fixture referable', () => {
    const cls = findings.get('grade0')!.results.get('fundus-classifier')!;
    const referable = cls.derived.find((d) => d.name === 'referable_dr')!;
    expect(referable.positive, `P(referable) ${referable.probability} against threshold ${referable.threshold}`).toBe(false);
  });

  it.skipIf(!haveData)('finds the disc (Dice >= 0.85) and the exudates (AUPR >= 0.50) of IDRiD_64 against the reference masks', async () => {
    const rec = segmenterRecords(undefined, DATA).find((r) => r.image.endsWith('/IDRiD_64.jpg'))!;
    expect(rec.split).toBe('test');
    const seg = findings.get('lesions')!.results.get('fundus-segmenter')!;
    // Disc: the mask the pipeline wrote, against the reference.
    const od = (await loadSourceMask(DATA, rec, 'OD'))!;
    const { data: png, info } = await sharp(path.join(tg.dataDir, seg.lesions.find((l) => l.key === 'OD')!.mask!)).greyscale().raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([od.width, od.height]);
    const [dice] = diceIou(Uint8Array.from(png, (v) => (v > 127 ? 1 : 0)), od.data);
    expect(dice).toBeGreaterThanOrEqual(0.85);
    // Exudates: pixel AUPR needs the probabilities, so run the segmenter on the frame the decode stage wrote.
    const frame = path.join(tg.dataDir, 'derived');
    const decoded = (await import('node:fs')).readdirSync(frame, { recursive: true }).map(String).find((f) => f.includes(findings.get('lesions')!.sop) && f.endsWith('frame-1.png'))!;
    const registry = await ModelRegistry.open({ modelsDir: MODELS_DIR, executionProvider: 'cpu', intraOpThreads: 2, batchSize: 1 });
    try {
      const [r] = await registry.run('fundus-segmenter', [path.join(frame, decoded)]);
      const masks = r!.outputs.masks!;
      if (masks.kind !== 'masks') throw new Error('no masks output');
      const ex = masks.channels.find((c) => c.key === 'EX')!;
      const plane = masks.modelWidth * masks.modelHeight;
      const prob = probabilityToSource(masks.probabilities.subarray(ex.index * plane, (ex.index + 1) * plane), masks.modelWidth, masks.modelHeight, r!.geometry);
      const truth = (await loadSourceMask(DATA, rec, 'EX'))!;
      const pos = new Float64Array(PIXEL_BINS); const neg = new Float64Array(PIXEL_BINS);
      addPixelHistograms(prob, truth.data, pos, neg);
      expect(auprFromHistograms(pos, neg)).toBeGreaterThanOrEqual(0.5);
    } finally {
      await registry.close();
    }
  }, 120_000);
});
