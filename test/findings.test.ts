// The findings stage through a running gateway: every decoded frame goes through every loaded model, the
// result is persisted with the model's name and version, masks are written for the SEG writer, and
// GET /api/studies/{study}/findings serves it. The tiny test models (test/inference/models) make the values
// checkable here; test/findings-fundus.test.ts runs OphGate's own models.
import { describe, it, expect, afterEach } from 'vitest';
import path from 'node:path';
import sharp from 'sharp';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import { startTestGateway, ingestFile, waitFor, FIXTURES_DIR, type TestGateway } from './helpers/gateway.js';
import { labelComponents } from '../src/inference/postprocess/components.js';
import { findingResultSchema, type FindingResult } from '../src/inference/finding-result.js';

let tg: TestGateway | undefined;
afterEach(async () => { await tg?.stop(); tg = undefined; });

const FIXTURE = path.join(FIXTURES_DIR, 'op-j2k-lossless-rct-idrid64-L.dcm');

async function analyse(t: TestGateway, file: string) {
  const { header } = await ingestFile(t, file);
  const store = t.gateway.ctx.store;
  const job = await waitFor('job done', () => store.listJobs({ studyUid: header.studyInstanceUid }).find((j) => j.state === 'done' || j.state === 'dead'), 60_000);
  expect(job.last_error).toBeNull();
  return { header, job };
}

describe('findings stage', () => {
  it('runs every model on the image, persists the results with model name and version, and serves them', async () => {
    tg = await startTestGateway();
    const { header, job } = await analyse(tg, FIXTURE);
    const res = await fetch(`${tg.baseUrl}/api/studies/${header.studyInstanceUid}/findings`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ studyInstanceUid: header.studyInstanceUid, studyVersion: 1, status: 'complete' });
    expect(body.models.map((m: { name: string }) => m.name).sort()).toEqual(['ophgate-test-classifier', 'ophgate-test-segmenter']);
    expect(body.images).toHaveLength(1);
    const [image] = body.images;
    expect(image).toMatchObject({ sopInstanceUid: header.sopInstanceUid, frame: 1 });
    const byModel = new Map<string, FindingResult>(image.results.map((r: unknown) => {
      const f = findingResultSchema.parse(r);
      return [f.model.name, f];
    }));
    const cls = byModel.get('ophgate-test-classifier')!;
    expect(cls.laterality).toBe('L');
    expect(cls.image).toMatchObject({ width: 1072, height: 712 });
    expect(cls.labels.map((l) => l.key)).toEqual(['a', 'b', 'c']);
    for (const l of cls.labels) expect(l.positive).toBe(l.probability >= l.threshold!);
    expect(cls.positive.filter((p) => p.kind === 'label').map((p) => p.key)).toEqual(cls.labels.filter((l) => l.positive).map((l) => l.key));
    const grade = cls.grades.find((g) => g.output === 'grade')!;
    expect(grade.probabilities.reduce((s, p) => s + p.probability, 0)).toBeCloseTo(1, 5);
    expect(grade.predicted.probability).toBe(Math.max(...grade.probabilities.map((p) => p.probability)));

    // Masks on disk are the source size; their pixel counts and components are what the finding says.
    const seg = byModel.get('ophgate-test-segmenter')!;
    expect(seg.lesions.map((l) => l.key)).toEqual(['red', 'green']);
    for (const lesion of seg.lesions) {
      const { data, info } = await sharp(path.join(tg.dataDir, lesion.mask!)).greyscale().raw().toBuffer({ resolveWithObject: true });
      expect([info.width, info.height]).toEqual([1072, 712]);
      const bits = Uint8Array.from(data, (v) => (v > 127 ? 1 : 0));
      expect(bits.reduce((a, b) => a + b, 0)).toBe(lesion.areaPx);
      expect(lesion.components).toBe(labelComponents(bits, info.width, info.height, 8).components.length);
      expect(lesion.largest.length).toBe(Math.min(100, lesion.components!));
      expect(seg.positive.some((p) => p.kind === 'lesion' && p.key === lesion.key)).toBe(lesion.areaPx > 0);
    }

    // The rows carry the model's name, version and provider.
    const rows = tg.gateway.ctx.store.findingsOfJob(job.id);
    expect(rows.map((r) => [r.model_name, r.model_version, r.provider]).sort()).toEqual([
      ['ophgate-test-classifier', '1.0.0', 'cpu'], ['ophgate-test-segmenter', '1.0.0', 'cpu'],
    ].sort());
    const summary = tg.gateway.ctx.store.stageResults(job.id).find((s) => s.stage === 'findings')!.result;
    expect((summary.images as unknown[]).length).toBe(1);
  });

  it('answers 404 for an unknown study, 400 for a bad query, and names an unknown version', async () => {
    tg = await startTestGateway();
    expect((await fetch(`${tg.baseUrl}/api/studies/1.2.3.4/findings`)).status).toBe(404);
    const { header } = await analyse(tg, FIXTURE);
    const bad = await fetch(`${tg.baseUrl}/api/studies/${header.studyInstanceUid}/findings?version=zero`);
    expect(bad.status).toBe(400);
    const missing = await fetch(`${tg.baseUrl}/api/studies/${header.studyInstanceUid}/findings?version=7`);
    expect(missing.status).toBe(404);
    expect((await missing.json()).error).toMatch(/no version 7 \(latest 1\)/);
    const v1 = await (await fetch(`${tg.baseUrl}/api/studies/${header.studyInstanceUid}/findings?version=1`)).json();
    expect(v1.status).toBe('complete');
  });

  it('says "not analysed" for a study the routing rules ignored', async () => {
    tg = await startTestGateway();
    const { header } = await ingestFile(tg, path.join(FIXTURES_DIR, 'sc-chest-ot.dcm'));
    const store = tg.gateway.ctx.store;
    await waitFor('settled', () => store.getStudy(header.studyInstanceUid)?.state === 'settled');
    const body = await (await fetch(`${tg.baseUrl}/api/studies/${header.studyInstanceUid}/findings`)).json();
    expect(body).toMatchObject({ status: 'not analysed', routing: 'ignored', images: [] });
  });

  it('completes with a note, not findings, when no model is loaded', async () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'ophgate-no-models-'));
    tg = await startTestGateway({ 'inference.modelsDir': empty });
    const { header, job } = await analyse(tg, FIXTURE);
    expect(tg.gateway.ctx.store.stageResults(job.id).find((s) => s.stage === 'findings')!.result).toMatchObject({ note: 'no models loaded' });
    const body = await (await fetch(`${tg.baseUrl}/api/studies/${header.studyInstanceUid}/findings`)).json();
    expect(body).toMatchObject({ status: 'complete', models: [], images: [] });
  });
});
