// Liveness (/healthz: the process answers), readiness (/readyz: the store answers and the listeners are up;
// it also says which execution provider runs the models, or 'no models') and Prometheus metrics (/metrics).
import { Router } from 'express';
import type { GatewayContext } from '../gateway-context.js';
import { inferenceStatus } from '../inference/status.js';

export function healthRouter(ctx: GatewayContext): Router {
  const r = Router();
  r.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  r.get('/readyz', (_req, res) => {
    const checks: Record<string, string> = {};
    try {
      ctx.store.db.prepare('SELECT 1').get();
      checks.store = 'ok';
    } catch (err) {
      checks.store = `failed: ${(err as Error).message}`;
    }
    checks.dimse = ctx.readiness.dimse;
    checks.pipeline = ctx.readiness.pipeline;
    const ready = Object.values(checks).every((v) => v === 'ok' || v === 'disabled');
    // Inference: the provider the models run on ("cpu", "cuda" ...), or 'no models'; only a failed inference
    // worker makes the gateway not ready (models that cannot load stop the start instead).
    const inf = inferenceStatus();
    checks.inference = inf.state === 'ready' ? inf.executionProvider ?? 'unknown' : inf.state === 'failed' ? `failed: ${inf.error ?? ''}` : 'no models';
    const inference = {
      executionProvider: inf.state === 'ready' ? inf.executionProvider : null,
      ...(inf.choice ? { configured: inf.choice } : {}),
      ...(inf.notUsed?.length ? { notUsed: inf.notUsed } : {}),
      models: inf.models ?? [],
    };
    const allReady = ready && inf.state !== 'failed';
    res.status(allReady ? 200 : 503).json({ status: allReady ? 'ready' : 'not ready', checks, inference });
  });
  r.get('/metrics', async (_req, res) => {
    for (const [state, n] of Object.entries(ctx.store.jobCounts())) ctx.metrics.jobs.set({ state }, n);
    res.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });
  return r;
}
