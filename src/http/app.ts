// The HTTP face of the gateway: DICOMweb under /dicomweb, the operator API under /api, health and metrics.
// Every route gets its dependencies from GatewayContext; none reaches for globals.
import express, { type ErrorRequestHandler } from 'express';
import type { GatewayContext } from '../gateway-context.js';
import { dicomwebRouter } from './dicomweb/routes.js';
import { apiRouter } from './api/routes.js';
import { healthRouter } from './health.js';
import { fhirRouter } from './fhir/routes.js';
import { fhirListenerRouter } from './fhir-listener/routes.js';
import { fetchesRouter } from './fhir-listener/fetches-routes.js';

export function createHttpApp(ctx: GatewayContext): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(healthRouter(ctx));
  app.use('/dicomweb', dicomwebRouter(ctx));
  app.use('/fhir', fhirRouter(ctx));
  app.use('/fhir-notify', fhirListenerRouter(ctx));
  app.use('/api/fetches', fetchesRouter(ctx));
  app.use('/api', apiRouter(ctx));
  app.use((req, res) => {
    res.status(404).json({ error: `no such resource: ${req.method} ${req.path}` });
  });
  const onError: ErrorRequestHandler = (err, req, res, _next) => {
    const status = typeof err?.status === 'number' ? err.status : 500;
    if (status >= 500) ctx.logger.error({ method: req.method, path: req.path, err: String(err?.message ?? err) }, 'request failed');
    if (!res.headersSent) res.status(status).json({ error: status >= 500 ? 'internal error' : String(err?.message ?? err) });
    else res.destroy();
  };
  app.use(onError);
  return app;
}
