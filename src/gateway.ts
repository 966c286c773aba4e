// Assembles a running gateway from a Config: store, ingest (STOW-RS, DIMSE, import), study assembly,
// pipeline and HTTP. `ophgate serve`, the demo and the tests all start it through here.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import { createLogger } from './log/logger.js';
import { Metrics } from './metrics/registry.js';
import { SqliteStore } from './store/sqlite-store.js';
import { InstanceAcceptor } from './ingest/accept-instance.js';
import { StudyAssembler } from './ingest/study-assembler.js';
import { loadRoutingRules } from './ingest/routing-rules.js';
import { statusOf } from './ingest/status-codes.js';
import { DimseScp } from './ingest/dimse/scp.js';
import { PipelineRunner } from './pipeline/runner.js';
import { DecodePool } from './dicom/pixels/decode-pool.js';
import { ThreadedModelRegistry } from './inference/threaded-registry.js';
import type { Inference } from './inference/model-registry.js';
import { defaultStages } from './pipeline/stages/index.js';
import { destinationsOf } from './export/destinations.js';
import { FhirSender } from './export/fhir/fhir-sender.js';
import { LlmService } from './llm/service.js';
import { ScopeGate } from './llm/scope/gate.js';
import { QuestionRouter } from './llm/intent/router.js';
import type { Stage } from './pipeline/stage.js';
import { createHttpApp } from './http/app.js';
import { startFetchWorker, stopFetchWorker } from './ingest/fetch-worker.js';
import type { GatewayContext } from './gateway-context.js';

import { PROJECT_ROOT } from './project-root.js';

export { PROJECT_ROOT };

export interface StartOptions { logger?: Logger; stages?: Stage[] }

export class Gateway {
  private constructor(
    readonly ctx: GatewayContext,
    private readonly httpServer: http.Server,
    private readonly dimse: DimseScp | undefined,
    readonly httpPort: number,
    readonly dimsePort: number | undefined,
  ) {}

  get baseUrl(): string {
    return `http://${this.ctx.config.http.host.includes(':') ? `[${this.ctx.config.http.host}]` : this.ctx.config.http.host}:${this.httpPort}`;
  }

  static async start(config: Config, options: StartOptions = {}): Promise<Gateway> {
    const logger = options.logger ?? createLogger(config.log.level);
    const metrics = new Metrics();
    const store = new SqliteStore(path.resolve(config.dataDir));
    store.blobs.clearTmp();
    const rulesFile = path.resolve(PROJECT_ROOT, config.routing.rulesFile);
    const rules = loadRoutingRules(rulesFile);
    const decodePool = new DecodePool(config.pipeline.decodeWorkers, config.pipeline.decodeTimeoutSeconds * 1000);
    // The models load once, in their own worker thread, before any job can run; a model that fails its checks
    // stops the start with the reason (src/inference/README.md). Only the pipeline uses them.
    let inference: Inference | undefined;
    if (config.pipeline.enabled) {
      try {
        inference = await ThreadedModelRegistry.open({
          modelsDir: path.resolve(PROJECT_ROOT, config.inference.modelsDir), executionProvider: config.inference.executionProvider,
          intraOpThreads: config.inference.intraOpThreads, batchSize: config.inference.batchSize,
          logger: logger.child({ component: 'inference' }), publish: true,
        });
      } catch (err) {
        await decodePool.close();
        store.close();
        throw err;
      }
    }
    // The language model loads once, like the image models; a site-configured model that does not load stops the start.
    let llm: LlmService | undefined;
    let scopeGate: ScopeGate | undefined;
    let questionRouter: QuestionRouter | undefined;
    try {
      llm = await LlmService.open(config.llm, logger.child({ component: 'llm' }), metrics);
      if (llm && config.llm.scopeGate) scopeGate = ScopeGate.load(path.resolve(PROJECT_ROOT, config.llm.scopeGate));
      if (llm && config.llm.questionRouter) questionRouter = QuestionRouter.load(path.resolve(PROJECT_ROOT, config.llm.questionRouter));
    } catch (err) {
      await llm?.close();
      await inference?.close();
      await decodePool.close();
      store.close();
      throw err;
    }
    // Known once the HTTP server listens (port 0 picks one); stages only ask for it while jobs run, after start.
    let listeningBaseUrl = '';
    const publicBaseUrl = () => config.http.publicBaseUrl.replace(/\/+$/, '') || listeningBaseUrl;
    const runner = new PipelineRunner(store, options.stages ?? defaultStages(), {
      maxAttempts: config.pipeline.maxAttempts,
      backoffMs: config.pipeline.backoffSeconds * 1000,
      maxBackoffMs: config.pipeline.maxBackoffSeconds * 1000,
      leaseMs: config.pipeline.leaseSeconds * 1000,
      pollMs: config.pipeline.pollMilliseconds,
      concurrency: config.pipeline.concurrency,
    }, metrics, logger.child({ component: 'pipeline' }), { decode: (file) => decodePool.decode(file), inference, config, destinations: destinationsOf(config), publicBaseUrl, ...(llm ? { llm } : {}),
      ...(config.fhir.destination ? { fhirSender: new FhirSender(config.fhir.destination) } : {}) });
    const assembler = new StudyAssembler(store, rules, {
      settleMs: config.assembly.settleSeconds * 1000,
      settleOnAssociationRelease: config.dimse.settleOnAssociationRelease,
      firstStage: runner.firstStage,
    }, metrics, logger.child({ component: 'assembly' }), () => runner.poke());
    const acceptor = new InstanceAcceptor(store, metrics, logger.child({ component: 'ingest' }), assembler);
    const readiness = { dimse: config.dimse.enabled ? 'starting' : 'disabled', pipeline: config.pipeline.enabled ? 'starting' : 'disabled' };
    const ctx: GatewayContext = { config, store, metrics, logger, acceptor, assembler, runner, decodePool, inference, ...(llm ? { llm } : {}), ...(scopeGate ? { scopeGate } : {}), ...(questionRouter ? { questionRouter } : {}), readiness };

    let dimse: DimseScp | undefined;
    let dimsePort: number | undefined;
    if (config.dimse.enabled) {
      dimse = new DimseScp({
        host: config.dimse.host, port: config.dimse.port, aeTitle: config.dimse.aeTitle,
        allowedCallingAeTitles: config.dimse.allowedCallingAeTitles, tmpDir: store.blobs.tmpDir,
        logger: logger.child({ component: 'dimse' }),
      }, {
        onStore: async (file, sctx) => {
          const outcome = await acceptor.accept(file, { protocol: 'dimse', callingAe: sctx.callingAeTitle, associationId: sctx.associationId });
          const status = statusOf(outcome);
          return status === 0 ? { status } : { status, errorComment: ('reason' in outcome ? outcome.reason : '').slice(0, 64) };
        },
        onAssociationReleased: (associationId) => assembler.associationReleased(associationId),
      });
      dimsePort = (await dimse.listen()).port;
      readiness.dimse = 'ok';
    }

    const app = createHttpApp(ctx);
    const server = http.createServer({ requestTimeout: 0 }, app);
    // "Expect: 100-continue": invite the body only when it fits; otherwise the route answers (413) before any upload.
    server.on('checkContinue', (req, res) => {
      const declared = Number(req.headers['content-length']);
      if (!(declared > config.http.maxRequestBytes)) res.writeContinue();
      app(req, res);
    });
    server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.http.port, config.http.host, () => resolve());
    });
    const httpPort = (server.address() as AddressInfo).port;
    listeningBaseUrl = `http://${config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host}:${httpPort}`;

    assembler.start();
    startFetchWorker(ctx); // FHIR notifications' retrievals, queued tasks included (they survive restarts)
    if (config.pipeline.enabled) {
      runner.start();
      readiness.pipeline = 'ok';
    }
    logger.info({ http: `${config.http.host}:${httpPort}`, dimse: dimse ? `${config.dimse.host}:${dimsePort} AE ${config.dimse.aeTitle}` : 'disabled', dataDir: store.dataDir, pipeline: config.pipeline.enabled }, 'gateway started');
    return new Gateway(ctx, server, dimse, httpPort, dimsePort);
  }

  async stop(): Promise<void> {
    this.ctx.assembler.stop();
    await stopFetchWorker(this.ctx);
    await this.ctx.runner.stop();
    await this.ctx.decodePool.close();
    await this.ctx.inference?.close();
    await this.ctx.llm?.close();
    await this.dimse?.close();
    await new Promise<void>((resolve) => {
      this.httpServer.close(() => resolve());
      this.httpServer.closeAllConnections();
    });
    this.ctx.store.close();
    this.ctx.logger.info('gateway stopped');
  }
}
