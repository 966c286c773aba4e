// Liveness (/healthz: the process answers), readiness (/readyz: the store answers and the listeners are up)
// and Prometheus metrics (/metrics).
import { Router } from 'express';
import type { GatewayContext } from '../gateway-context.js';

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
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks });
  });
  r.get('/metrics', async (_req, res) => {
    for (const [state, n] of Object.entries(ctx.store.jobCounts())) ctx.metrics.jobs.set({ state }, n);
    res.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });
  return r;
}
