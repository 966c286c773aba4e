// The model registry with the two TEST models: both load through the same manifest path; outputs equal values
// computed here; batches split and keep order; one session per model; masks come back at the source image's
// resolution and place; broken models are refused with both files named; the execution provider falls back
// to the CPU on a machine without a GPU and says why.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelLoadError, ModelRegistry, type ImageInference, type MaskChannel } from '../../src/inference/model-registry.js';
import { ProviderError } from '../../src/inference/execution-provider.js';
import type { RgbImage } from '../../src/inference/preprocess.js';
import { CLASSIFIER, CLS, FUNDUS, SEGMENTER, TEST_MODELS_DIR, brightNoise, editManifest, gpuPresent, modelsCopy, syntheticFundus, type Rect } from './helpers.js';

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** The test classifier computed by hand: channel means of the normalised image, two affine maps, sigmoid and softmax. */
function expectedClassifier(img: RgbImage): { scores: number[]; grade: number[] } {
  const n = img.width * img.height;
  const pooled = [0, 1, 2].map((c) => {
    let s = 0;
    for (let p = 0; p < n; p++) s += (img.data[p * 3 + c]! / 255 - CLS.mean[c]!) / CLS.std[c]!;
    return s / n;
  });
  const affine = (w: number[][], b: number[]) => w.map((row, k) => row.reduce((s, v, c) => s + v * pooled[c]!, b[k]!));
  const scores = affine(CLS.wScores, CLS.bScores).map(sigmoid);
  const logits = affine(CLS.wGrade, CLS.bGrade);
  const e = logits.map((x) => Math.exp(x - Math.max(...logits)));
  const sum = e.reduce((a, b) => a + b, 0);
  return { scores, grade: e.map((x) => x / sum) };
}

function channel(r: ImageInference, key: string): MaskChannel {
  const o = r.outputs.lesions!;
  if (o.kind !== 'masks') throw new Error('not a masks output');
  return o.channels.find((c) => c.key === key)!;
}

/** Every pixel of rect shrunk by `tol` is in the mask, and no pixel outside rect grown by `tol` is. */
function expectMaskIsRect(c: MaskChannel, width: number, rect: Rect, tol: number): void {
  let inside = 0;
  let stray = 0;
  for (let i = 0; i < c.mask.length; i++) {
    const x = i % width;
    const y = Math.floor(i / width);
    const core = x >= rect.x0 + tol && x < rect.x1 - tol && y >= rect.y0 + tol && y < rect.y1 - tol;
    const near = x >= rect.x0 - tol && x < rect.x1 + tol && y >= rect.y0 - tol && y < rect.y1 + tol;
    if (core && c.mask[i] === 1) inside++;
    if (!near && c.mask[i] === 1) stray++;
  }
  expect(inside).toBe((rect.x1 - rect.x0 - 2 * tol) * (rect.y1 - rect.y0 - 2 * tol));
  expect(stray).toBe(0);
  const area = (rect.x1 - rect.x0) * (rect.y1 - rect.y0);
  expect(Math.abs(c.area - area) / area).toBeLessThan(0.15);
}

async function refused(open: Promise<unknown>): Promise<string> {
  try {
    await open;
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('the registry opened');
}

const open = (modelsDir: string, over: Partial<Parameters<typeof ModelRegistry.open>[0]> = {}) =>
  ModelRegistry.open({ modelsDir, executionProvider: 'cpu', intraOpThreads: 1, batchSize: 4, ...over });

describe('model registry (test models)', () => {
  let registry: ModelRegistry;
  beforeAll(async () => {
    registry = await open(TEST_MODELS_DIR, { executionProvider: 'auto', batchSize: 2 });
  });
  afterAll(async () => {
    await registry?.close();
  });

  it('loads both models through the same manifest path: different inputs, normalisations and labels', () => {
    const info = Object.fromEntries(registry.models.map((m) => [m.name, m]));
    expect(Object.keys(info).sort()).toEqual([CLASSIFIER, SEGMENTER]);
    expect(info[CLASSIFIER]).toMatchObject({ task: 'classification', input: { name: 'image', width: 64, height: 64 }, outputs: ['scores', 'grade'], batch: 2 });
    expect(info[SEGMENTER]).toMatchObject({ task: 'segmentation', input: { name: 'pixels', width: 96, height: 96 }, outputs: ['lesions'] });
  });

  it("'auto' ends on the CPU without a GPU, and says why CUDA and WebGPU were not used", () => {
    const s = registry.status();
    expect(s.state).toBe('ready');
    expect(s.choice).toBe('auto');
    if (gpuPresent()) return; // a GPU machine may rightly run on cuda or webgpu
    expect(s.executionProvider).toBe('cpu');
    expect(registry.models.every((m) => m.provider === 'cpu')).toBe(true);
    const why = Object.fromEntries((s.notUsed ?? []).map((f) => [f.provider, f.reason]));
    expect(Object.keys(why)).toEqual(['cuda', 'webgpu']);
    expect(why.cuda).toMatch(/CUDA provider libraries are not installed .*libonnxruntime_providers_cuda\.so/);
    expect(why.webgpu).toMatch(/no WebGPU adapter|WebGPU/);
  });

  it('classifier: probabilities, positives, argmax grade and the derived score equal the values computed by hand', async () => {
    const img = brightNoise(64, 42);
    const [r] = await registry.run(CLASSIFIER, [img]);
    const want = expectedClassifier(img);
    const scores = r!.outputs.scores!;
    const grade = r!.outputs.grade!;
    if (scores.kind !== 'multilabel' || grade.kind !== 'grade') throw new Error('output kinds');
    scores.labels.forEach((l, k) => {
      expect(l.probability).toBeCloseTo(want.scores[k]!, 5);
      expect(l.threshold).toBe(CLS.thresholds[k]);
      expect(l.positive).toBe(want.scores[k]! >= CLS.thresholds[k]!);
      expect(l.code).toBe(`mappings/test-labels.json#${l.key}`);
    });
    grade.labels.forEach((l, k) => expect(l.probability).toBeCloseTo(want.grade[k]!, 5));
    const best = want.grade.indexOf(Math.max(...want.grade));
    expect(grade.predicted.key).toBe(`g${best}`);
    expect(r!.derived).toEqual([expect.objectContaining({ name: 'grade_1_or_more', threshold: 0.5 })]);
    expect(r!.derived[0]!.probability).toBeCloseTo(want.grade[1]! + want.grade[2]!, 5);
    expect(r!.derived[0]!.positive).toBe(want.grade[1]! + want.grade[2]! >= 0.5);
    expect(r!.model).toEqual({ name: CLASSIFIER, version: '1.0.0' });
  });

  it('runs several images in batches of batchSize, in order, with one session per model', async () => {
    const images = [1, 2, 3, 4, 5].map((seed) => brightNoise(64, seed));
    const before = registry.runCounts()[CLASSIFIER]!;
    const results = await registry.run(CLASSIFIER, images);
    expect(registry.runCounts()[CLASSIFIER]! - before).toBe(3); // 2 + 2 + 1
    results.forEach((r, i) => {
      const want = expectedClassifier(images[i]!);
      const o = r.outputs.scores!;
      if (o.kind !== 'multilabel') throw new Error('kind');
      o.labels.forEach((l, k) => expect(l.probability).toBeCloseTo(want.scores[k]!, 5));
    });
    await registry.run(SEGMENTER, [syntheticFundus()]);
    expect(registry.sessionsCreated).toBe(2); // created at load, reused by every run since
  });

  it('segmenter: masks come back at the source resolution, in place, from an off-centre field of view', async () => {
    const img = syntheticFundus();
    const [r] = await registry.run(SEGMENTER, [img]);
    expect(r!.geometry.box).toEqual({ x0: 70, y0: 0, x1: 270, y1: 180 });
    const o = r!.outputs.lesions!;
    if (o.kind !== 'masks') throw new Error('kind');
    expect([o.width, o.height, o.modelWidth, o.modelHeight]).toEqual([320, 180, 96, 96]);
    expect(o.probabilities.length).toBe(2 * 96 * 96);
    const red = channel(r!, 'red');
    const green = channel(r!, 'green');
    expect(red.mask.length).toBe(320 * 180);
    // 200 source pixels became 96: an edge may move by a source pixel or two, no more.
    expectMaskIsRect(red, 320, FUNDUS.red, 2);
    expectMaskIsRect(green, 320, FUNDUS.green, 2);
  });

  it('reads the PNG the decode stage writes, with the same result as raw RGB', async () => {
    const img = syntheticFundus();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ophgate-png-'));
    const file = path.join(dir, 'frame-1.png');
    await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } }).png({ compressionLevel: 3 }).toFile(file);
    const [fromFile, fromRaw] = await registry.run(SEGMENTER, [file, img]);
    expect(Buffer.from(channel(fromFile!, 'red').mask).equals(Buffer.from(channel(fromRaw!, 'red').mask))).toBe(true);
    expect(channel(fromFile!, 'green').area).toBe(channel(fromRaw!, 'green').area);
    rmSync(dir, { recursive: true, force: true });
  });

  it('names the models it has when asked for another', async () => {
    await expect(registry.run('fundus-classifier', [brightNoise(64, 1)])).rejects.toThrow(/no model "fundus-classifier" \(loaded: ophgate-test-classifier, ophgate-test-segmenter\)/);
  });
});

describe('model registry refusals', () => {
  it('refuses an invalid manifest, naming the file and the key, and loads nothing', async () => {
    const dir = modelsCopy(CLASSIFIER, SEGMENTER);
    const file = editManifest(dir, SEGMENTER, (m) => { m.outputs[0].channels[0].threshold = 1.5; });
    const err = await open(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect((err as Error).message).toContain(file);
    expect((err as Error).message).toMatch(/outputs\[0\]\.channels\[0\]\.threshold: Too big/);
  });

  it('refuses a model whose graph input name disagrees with the manifest, naming both files and both names', async () => {
    const dir = modelsCopy(SEGMENTER);
    const file = editManifest(dir, SEGMENTER, (m) => { m.input.name = 'image'; });
    const msg = await refused(open(dir));
    expect(msg).toContain(`${path.join(dir, SEGMENTER, 'model.onnx')} does not match ${file}`);
    expect(msg).toContain('the graph\'s input is named "pixels" but input.name is "image"');
  });

  it('refuses an output the graph does not have, listing the graph\'s outputs', async () => {
    const dir = modelsCopy(CLASSIFIER);
    editManifest(dir, CLASSIFIER, (m) => { m.outputs[1].name = 'dr_grade'; m.outputs[1].derived[0].formula = 'dr_grade[1] + dr_grade[2]'; });
    expect(await refused(open(dir))).toMatch(/outputs\[1\]\.name is "dr_grade" but the graph has no such output \(its outputs: "scores", "grade"\)/);
  });

  it('refuses shapes that disagree with the graph (input size, number of mask channels)', async () => {
    const dir = modelsCopy(SEGMENTER);
    editManifest(dir, SEGMENTER, (m) => {
      m.input.shape = ['batch', 3, 128, 128];
      m.preprocessing[3].width = 128;
      m.preprocessing[3].height = 128;
    });
    expect(await refused(open(dir))).toMatch(/the graph's input "pixels" has shape \[batch, 3, 96, 96\] but input\.shape is \[batch, 3, 128, 128\]/);

    const dir2 = modelsCopy(SEGMENTER);
    editManifest(dir2, SEGMENTER, (m) => {
      m.outputs[0].shape = ['batch', 3, 96, 96];
      m.outputs[0].channels.push({ index: 2, key: 'blue', name: 'blue', threshold: 0.5, code: 'mappings/test-labels.json#blue' });
    });
    expect(await refused(open(dir2))).toMatch(/output "lesions" (has shape|came out as) \[(batch|1), 2, 96, 96\].*outputs\[0\]\.shape is \[batch, 3, 96, 96\]/);
  });

  it('refuses an ONNX file that is not the one the manifest was written for', async () => {
    const dir = modelsCopy(CLASSIFIER, SEGMENTER);
    copyFileSync(path.join(TEST_MODELS_DIR, SEGMENTER, 'model.onnx'), path.join(dir, CLASSIFIER, 'model.onnx'));
    expect(await refused(open(dir))).toMatch(/ophgate-test-classifier\/model\.onnx has \d+ bytes but .*manifest\.json bytes says \d+/);
    editManifest(dir, CLASSIFIER, (m) => { delete m.bytes; });
    expect(await refused(open(dir))).toMatch(/model\.onnx has sha256 [0-9a-f]{64} but .*manifest\.json sha256 says [0-9a-f]{64}/);
  });

  it('refuses two folders that claim the same model name', async () => {
    const dir = modelsCopy(CLASSIFIER);
    mkdirSync(path.join(dir, 'copy'));
    for (const f of ['manifest.json', 'model.onnx']) copyFileSync(path.join(dir, CLASSIFIER, f), path.join(dir, 'copy', f));
    expect(await refused(open(dir))).toMatch(/model name "ophgate-test-classifier" is already used by/);
  });

  it("applies the activation itself when the manifest says the graph's outputs are logits", async () => {
    const dir = modelsCopy(CLASSIFIER);
    editManifest(dir, CLASSIFIER, (m) => { m.outputs[0].values = 'logits'; });
    const r = await open(dir);
    const img = brightNoise(64, 5);
    const [res] = await r.run(CLASSIFIER, [img]);
    await r.close();
    const o = res!.outputs.scores!;
    if (o.kind !== 'multilabel') throw new Error('kind');
    // the test graph already ends in a sigmoid, so declaring logits applies it a second time
    o.labels.forEach((l, k) => expect(l.probability).toBeCloseTo(sigmoid(expectedClassifier(img).scores[k]!), 5));
  });

  it('skips folders without a manifest (the training recipe) and reports no models', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ophgate-models-'));
    mkdirSync(path.join(dir, 'train'));
    writeFileSync(path.join(dir, 'train', 'train.py'), '');
    const r = await open(dir);
    expect(r.models).toEqual([]);
    expect(r.status().state).toBe('no models');
    await r.close();
    expect(await refused(open(path.join(dir, 'absent')))).toMatch(/models directory .*absent does not exist/);
  });

  it.skipIf(gpuPresent())('a provider named explicitly that cannot start stops the load, with the reason', async () => {
    for (const provider of ['webgpu', 'cuda'] as const) {
      const err = await open(TEST_MODELS_DIR, { executionProvider: provider }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ModelLoadError);
      expect((err as Error).message).toContain(`execution provider ${provider} (configured explicitly) failed`);
    }
    expect(new ProviderError('x', []).name).toBe('ProviderError');
  });
});
