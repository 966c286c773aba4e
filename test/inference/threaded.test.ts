// The gateway's registry runs in a worker thread: same results as in-thread, sessions reused there, refusals
// cross the thread intact, and /readyz says which execution provider runs (or 'no models').
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelLoadError, ModelRegistry } from '../../src/inference/model-registry.js';
import { ThreadedModelRegistry } from '../../src/inference/threaded-registry.js';
import { inferenceStatus } from '../../src/inference/status.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { CLASSIFIER, SEGMENTER, TEST_MODELS_DIR, brightNoise, editManifest, gpuPresent, modelsCopy, syntheticFundus } from './helpers.js';

describe('inference in a worker thread', () => {
  let threaded: ThreadedModelRegistry;
  let local: ModelRegistry;
  beforeAll(async () => {
    const options = { modelsDir: TEST_MODELS_DIR, executionProvider: 'cpu' as const, intraOpThreads: 1, batchSize: 3 };
    threaded = await ThreadedModelRegistry.open(options);
    local = await ModelRegistry.open(options);
  });
  afterAll(async () => {
    await threaded?.close();
    await local?.close();
  });

  it('gives the same outputs as the in-thread registry, masks included', async () => {
    const images = [brightNoise(64, 3), brightNoise(64, 4)];
    const [a, b] = [await threaded.run(CLASSIFIER, images), await local.run(CLASSIFIER, images)];
    expect(a.map((r) => r.outputs)).toEqual(b.map((r) => r.outputs));
    expect(a.map((r) => r.derived)).toEqual(b.map((r) => r.derived));
    const [sa] = await threaded.run(SEGMENTER, [syntheticFundus()]);
    const [sb] = await local.run(SEGMENTER, [syntheticFundus()]);
    const ma = sa!.outputs.lesions!;
    const mb = sb!.outputs.lesions!;
    if (ma.kind !== 'masks' || mb.kind !== 'masks') throw new Error('kind');
    expect(ma.channels[0]!.mask).toBeInstanceOf(Uint8Array);
    expect(ma.channels.map((c) => [c.key, c.area])).toEqual(mb.channels.map((c) => [c.key, c.area]));
    expect(Buffer.from(ma.channels[0]!.mask).equals(Buffer.from(mb.channels[0]!.mask))).toBe(true);
    expect(sa!.geometry).toEqual(sb!.geometry);
  });

  it('keeps one session per model in the worker', async () => {
    await threaded.run(CLASSIFIER, [brightNoise(64, 9), brightNoise(64, 10), brightNoise(64, 11), brightNoise(64, 12)]);
    const stats = await threaded.stats();
    expect(stats.sessionsCreated).toBe(2);
    expect(stats.runs[CLASSIFIER]).toBeGreaterThanOrEqual(3); // 1 (above) + 2 (4 images in batches of 3)
  });

  it('passes a refusal back with its problems', async () => {
    const dir = modelsCopy(CLASSIFIER);
    editManifest(dir, CLASSIFIER, (m) => { m.input.name = 'pixels'; });
    const err = await ThreadedModelRegistry.open({ modelsDir: dir, executionProvider: 'cpu', intraOpThreads: 1, batchSize: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect((err as ModelLoadError).problems[0]).toMatch(/the graph's input is named "image" but input\.name is "pixels"/);
  });
});

describe('/readyz', () => {
  let tg: TestGateway;
  beforeAll(async () => {
    tg = await startTestGateway({ 'pipeline.enabled': false });
  });
  afterAll(async () => {
    await tg?.stop();
  });

  const readyz = async () => {
    const res = await fetch(`${tg.baseUrl}/readyz`);
    return { status: res.status, body: await res.json() as { status: string; checks: Record<string, string>; inference: Record<string, any> } };
  };

  it("says 'no models' while none is loaded, and stays ready", async () => {
    expect(inferenceStatus().state).toBe('no models');
    const { status, body } = await readyz();
    expect(status).toBe(200);
    expect(body.checks.inference).toBe('no models');
    expect(body.inference).toMatchObject({ executionProvider: null, models: [] });
  });

  it('says which execution provider runs the loaded models, and why the others were not used', async () => {
    const registry = await ThreadedModelRegistry.open({ modelsDir: TEST_MODELS_DIR, executionProvider: 'auto', intraOpThreads: 1, batchSize: 2, publish: true, logger: tg.gateway.ctx.logger });
    try {
      const { status, body } = await readyz();
      expect(status).toBe(200);
      const provider = registry.status().executionProvider!;
      expect(body.checks.inference).toBe(provider);
      expect(body.inference.executionProvider).toBe(provider);
      expect(body.inference.configured).toBe('auto');
      expect(body.inference.models.map((m: { name: string }) => m.name)).toEqual([CLASSIFIER, SEGMENTER]);
      if (!gpuPresent()) {
        expect(provider).toBe('cpu');
        expect(body.inference.notUsed.map((f: { provider: string }) => f.provider)).toEqual(['cuda', 'webgpu']);
      }
    } finally {
      await registry.close();
    }
    expect((await readyz()).body.checks.inference).toBe('no models');
  });
});
