// The FHIR listener, mounted at /fhir-notify: where FHIR servers deliver R4 rest-hook notifications about an
// ImagingStudy (docs/conformance.md section 9, FHIR notifications).
//   PUT  /fhir-notify/ImagingStudy/{id}   classic R4 rest-hook with payload (the ImagingStudy is the body)
//   POST /fhir-notify                     Subscriptions R5 Backport IG notification Bundle (R4 form)
// A notification naming a study to retrieve gets 202 once its fetch task is durably recorded; the task is run by
// the fetch worker (src/ingest/fetch-worker.ts). Every refusal is a FHIR OperationOutcome.
import express, { Router, type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import type { GatewayContext } from '../../gateway-context.js';
import { restHookNotification } from '../../ingest/fhir-notification/rest-hook.js';
import { backportNotification } from '../../ingest/fhir-notification/backport.js';
import { checkContentType } from '../../ingest/fhir-notification/body.js';
import { FhirSourceReader } from '../../ingest/fhir-notification/fhir-read.js';
import { NotificationError, operationOutcome, type IssueCode } from '../../ingest/fhir-notification/outcome.js';
import type { FetchTarget } from '../../ingest/fhir-notification/target.js';
import { FetchTaskStore } from '../../store/fetch-tasks.js';
import { fetchWorkerOf } from '../../ingest/fetch-worker.js';
import { fetchTaskView } from './fetches-routes.js';

const MAX_BODY = '10mb';
const FHIR_JSON = 'application/fhir+json; charset=utf-8';

function sendOutcome(res: Response, status: number, message: string, code: IssueCode, severity: 'error' | 'information' = 'error'): void {
  res.status(status).type(FHIR_JSON).send(JSON.stringify(operationOutcome(message, code, severity)));
}

export function fhirListenerRouter(ctx: GatewayContext): Router {
  const r = Router();
  const log = ctx.logger.child({ component: 'fhir-listener' });
  const tasks = new FetchTaskStore(ctx.store.db);
  const reader = new FhirSourceReader(ctx.config);
  const deps = { config: ctx.config, reader };

  // The media type is judged before the body is read (415 without reading it).
  const fhirJsonBody: RequestHandler[] = [
    (req, _res, next) => {
      try {
        checkContentType(req.headers['content-type']);
        next();
      } catch (err) {
        next(err);
      }
    },
    express.raw({ type: () => true, limit: MAX_BODY }),
  ];
  const bodyOf = (req: Request) => ({ contentType: req.headers['content-type'], body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0) });

  /** Records the tasks (all or none were valid by now) and answers 202 naming them. */
  const accepted = (req: Request, res: Response, targets: FetchTarget[]) => {
    const views = targets.map((t) => {
      const { task, created } = tasks.enqueue({ studyUid: t.studyUid, source: t.source.name, sourceUrl: t.source.url, form: t.form, resource: t.resource });
      log.info({ taskId: task.id, studyUid: t.studyUid, source: t.source.name, form: t.form, created }, created ? 'fetch task queued' : 'notification joins a waiting fetch task');
      return fetchTaskView(task);
    });
    fetchWorkerOf(ctx)?.poke();
    res.status(202).location(views[0]!.location).json({ tasks: views });
  };

  r.put('/ImagingStudy/:id', ...fhirJsonBody, async (req, res, next) => {
    try {
      accepted(req, res, [await restHookNotification(String(req.params.id), bodyOf(req), deps)]);
    } catch (err) {
      next(err);
    }
  });

  r.post('/', ...fhirJsonBody, async (req, res, next) => {
    try {
      const n = await backportNotification(bodyOf(req), deps);
      if (n.kind === 'acknowledged') {
        log.info({ type: n.type }, 'subscription notification acknowledged');
        return void sendOutcome(res, 200, `${n.type} received; nothing to retrieve`, 'informational', 'information');
      }
      accepted(req, res, n.targets);
    } catch (err) {
      next(err);
    }
  });

  r.all('/ImagingStudy/:id', (req, res) => {
    res.set('Allow', 'PUT');
    sendOutcome(res, 405, `${req.method} is not supported here: a rest-hook notification is PUT /fhir-notify/ImagingStudy/{id}`, 'not-supported');
  });
  r.all('/', (req, res) => {
    res.set('Allow', 'POST');
    sendOutcome(res, 405, `${req.method} is not supported here: a Subscriptions Backport notification is POST /fhir-notify`, 'not-supported');
  });
  r.use((req, res) => {
    sendOutcome(res, 404, `no such resource: ${req.method} /fhir-notify${req.path.slice(0, 100)}; the listener takes PUT /fhir-notify/ImagingStudy/{id} and POST /fhir-notify`, 'not-found');
  });

  const onError: ErrorRequestHandler = (err, req, res, _next) => {
    if (err instanceof NotificationError) {
      if (err.status >= 500) log.error({ status: err.status, err: err.message }, 'notification could not be handled');
      else log.warn({ status: err.status, reason: err.message }, 'notification refused');
      return void sendOutcome(res, err.status, err.message, err.code);
    }
    const status = typeof err?.status === 'number' ? err.status : 500;
    if (err?.type === 'entity.too.large') return void sendOutcome(res, 413, `the notification body exceeds ${MAX_BODY}`, 'too-costly');
    if (status < 500) return void sendOutcome(res, status, String(err?.message ?? err), 'invalid');
    log.error({ method: req.method, err: String(err?.message ?? err) }, 'notification failed');
    sendOutcome(res, 500, 'internal error while handling the notification; nothing was queued', 'exception');
  };
  r.use(onError);
  return r;
}
