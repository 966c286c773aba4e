// OphGate's DICOM Storage SCP (and Verification SCP): receives C-STORE over DIMSE (PS3.7, PS3.8) and hands every
// instance to the gateway as a complete PS3.10 file whose dataset bytes are exactly the bytes received.
//
// Built on dcmjs-dimse's Scp class (PDU parsing, association negotiation, DIMSE command handling), with:
// - OphGate's own net.Server bound to the configured address (dcmjs-dimse's Server binds every interface);
// - presentation contexts accepted by rule (presentation-context-policy.ts), not by dcmjs-dimse's storage list;
// - the C-STORE dataset streamed to a temporary file while hashing (store-sink.ts), never decoded: dcmjs-dimse's
//   default would parse and re-encode it, which is lossy;
// - a guard on PDU lengths, an association limit, AE title checks, and abort/close handling.
import { randomUUID } from 'node:crypto';
import { mkdir, unlink } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { Writable } from 'node:stream';
import type { Logger } from 'pino';
import {
  dimse,
  describeAssociateReject,
  ABORT_SOURCE_PROVIDER,
  ABORT_REASON_NOT_SPECIFIED,
  ABORT_REASON_UNRECOGNIZED_PDU,
  ABORT_REASON_UNEXPECTED_PDU,
  ABORT_REASON_INVALID_PDU_PARAMETER,
  REJECT_RESULT_PERMANENT,
  REJECT_RESULT_TRANSIENT,
  REJECT_SOURCE_USER,
  REJECT_SOURCE_PROVIDER_PRESENTATION,
  REJECT_REASON_CALLED_AE,
  REJECT_REASON_CALLING_AE,
  REJECT_REASON_LOCAL_LIMIT_EXCEEDED,
  type Association,
  type CEchoRequest,
  type CEchoResponse,
  type CStoreRequest,
  type CStoreResponse,
  type Dataset,
  type NetworkInternals,
  type PresentationContext,
} from '../../dicom/dimse/library.js';
import {
  STATUS_CANNOT_UNDERSTAND,
  STATUS_OUT_OF_RESOURCES,
  STATUS_SOP_CLASS_NOT_SUPPORTED,
  STATUS_SUCCESS,
} from '../../dicom/dimse/uids.js';
import { isValidUid } from '../../dicom/uid.js';
import { buildPart10Header, isValidAeTitle } from './file-meta.js';
import { attachPduGuard, type PduGuardViolation } from './pdu-guard.js';
import { applyPresentationContextPolicy, isStorageSopClass } from './presentation-context-policy.js';
import { DiscardSink, HashingFileSink } from './store-sink.js';

export interface DimseScpOptions {
  /** Address to bind, e.g. "127.0.0.1" or "0.0.0.0". */
  host: string;
  /** TCP port; 0 picks a free one (listen() returns it). */
  port: number;
  /** OphGate's AE title: associations calling any other AE title are rejected. */
  aeTitle: string;
  /** Calling AE titles allowed to associate; empty allows any. */
  allowedCallingAeTitles: string[];
  /** Where received instances are written before the handler takes them. Created if missing. */
  tmpDir: string;
  /** Largest PDU OphGate will receive (announced in A-ASSOCIATE-AC), 4096..262144. Default 65536. */
  maxPduLength?: number;
  /** Time allowed between TCP connect and A-ASSOCIATE-RQ, in ms. Default 30000. */
  associationTimeoutMs?: number;
  /** An association whose peer sends nothing for this long is aborted, in ms. Default 120000. */
  idleTimeoutMs?: number;
  /** Concurrent associations; more are rejected (transient, local limit exceeded). Default 32. */
  maxAssociations?: number;
  logger: Logger;
}

/**
 * A complete PS3.10 file in tmpDir: 128-byte preamble, "DICM", File Meta group 0002 written by OphGate
 * (MediaStorageSOPClassUID/InstanceUID from the C-STORE command, TransferSyntaxUID = the negotiated one,
 * OphGate's ImplementationClassUID/VersionName, SourceApplicationEntityTitle = calling AE), then the
 * received dataset bytes unchanged. sha256 and size are of the whole file.
 */
export interface ReceivedFile {
  path: string;
  sha256: string;
  size: number;
}

export interface StoreContext {
  callingAeTitle: string;
  calledAeTitle: string;
  associationId: string;
  remoteAddress: string;
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
}

export interface StoreResult {
  /** DIMSE status: 0x0000 success, 0xB000/0xB006/0xB007 warnings, 0xA7xx out of resources, 0xA9xx dataset does not match SOP class, 0xCxxx cannot understand. */
  status: number;
  /** Sent as (0000,0902) Error Comment (at most 64 characters, no PHI). */
  errorComment?: string;
}

export interface DimseHandlers {
  /** Called once the dataset has fully arrived; from then on the handler owns the file (moves or deletes it). */
  onStore(file: ReceivedFile, ctx: StoreContext): Promise<StoreResult>;
  /** Called after a normal release (A-RELEASE), not after an abort. */
  onAssociationReleased?(associationId: string, callingAeTitle: string): void;
}

export interface DimseScpCloseOptions {
  /** Let open associations finish (release) for up to this long before aborting them, in ms. Default 0. */
  graceMs?: number;
}

const MIN_PDU = 4096;
const MAX_PDU = 262144; // dcmjs-dimse caps the announced value at Implementation.getMaxPduLength() (262144)

interface ConnectionSettings {
  aeTitle: string;
  allowedCallingAeTitles: ReadonlySet<string>;
  tmpDir: string;
  maxPduLength: number;
  maxAssociations: number;
  /** Associations accepted and still open, this one excluded. */
  activeAssociations: () => number;
}

/** One TCP connection: at most one association (PS3.8 9.1). */
interface StorePrep {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  startedAt: number;
  sink?: HashingFileSink;
  refusal?: { status: number; comment: string };
}

/** Error Comment (0000,0902) is LO: 64 characters of the default repertoire, no backslash. */
function errorCommentValue(comment: string): string {
  return comment.replace(/[^\x20-\x5b\x5d-\x7e]/g, ' ').slice(0, 64).trim();
}

function cleanUid(value: unknown): string {
  return typeof value === 'string' ? value.replace(/[\0 ]+$/, '').trim() : '';
}

function toHexStatus(status: number): string {
  return `0x${status.toString(16).padStart(4, '0').toUpperCase()}`;
}

class ScpConnection extends dimse.Scp {
  readonly associationId = randomUUID();
  readonly remoteAddress: string;
  /** Resolves once the socket is closed and every started C-STORE has been answered (or given up on). */
  readonly closed: Promise<void>;
  accepted = false;
  private requested = false;
  private released = false;
  private abortedByPeer = false;
  private tearingDown = false;
  private callingAe = '';
  private calledAe = '';
  private log: Logger;
  private seq = 0;
  private storesCompleted = 0;
  private storesFailed = 0;
  private receiving?: HashingFileSink;
  private readonly stores = new WeakMap<object, StorePrep>();
  private readonly inflight = new Set<Promise<void>>();
  private resolveClosed!: () => void;

  constructor(
    private readonly sock: net.Socket,
    private readonly settings: ConnectionSettings,
    private readonly handlers: DimseHandlers,
    logger: Logger,
    timeouts: { associationTimeoutMs: number; idleTimeoutMs: number },
  ) {
    super(sock, {
      associationTimeout: timeouts.associationTimeoutMs,
      pduTimeout: timeouts.idleTimeoutMs,
      // Socket-level inactivity timeout: a backstop behind the PDU timeout.
      connectTimeout: timeouts.idleTimeoutMs + 30_000,
    });
    // dcmjs-dimse starts its association timer only for sockets it connected itself; start it for this one.
    const internals = this as unknown as NetworkInternals;
    internals.connected = true;
    internals.connectedTime = Date.now();
    this.remoteAddress = `${sock.remoteAddress ?? '?'}:${sock.remotePort ?? '?'}`;
    this.log = logger.child({ associationId: this.associationId, remoteAddress: this.remoteAddress });
    this.closed = new Promise((resolve) => { this.resolveClosed = resolve; });
    sock.setNoDelay(true);
    sock.setKeepAlive(true, 60_000);
    sock.on('close', () => void this.onSocketClosed());
    this.on('networkError', (err?: Error) => this.onNetworkError(err));
    this.log.debug({ event: 'dimse.connection.opened' }, 'DIMSE connection opened');
  }

  get isOpenAssociation(): boolean {
    return this.accepted && !this.sock.destroyed;
  }

  // ---- association negotiation -------------------------------------------------------------------------

  override associationRequested(association: Association): void {
    if (this.requested) {
      // One association per connection (PS3.8 9.1): a second A-ASSOCIATE-RQ is a protocol error.
      this.log.warn({ event: 'dimse.protocol.violation', kind: 'unexpected-associate-rq' }, 'second A-ASSOCIATE-RQ on a connection; aborting');
      this.teardown(ABORT_REASON_UNEXPECTED_PDU);
      return;
    }
    this.requested = true;
    this.callingAe = association.getCallingAeTitle();
    this.calledAe = association.getCalledAeTitle();
    // sendAssociationAccept() overwrites these with OphGate's own: read the peer's now.
    const peerImplementationClassUid = association.getImplementationClassUid();
    const peerImplementationVersion = association.getImplementationVersion();
    this.log = this.log.child({ callingAeTitle: this.callingAe, calledAeTitle: this.calledAe });
    const proposed = association.getPresentationContexts().length;
    this.log.info({ event: 'dimse.association.requested', presentationContexts: proposed }, 'association requested');

    if (this.calledAe !== this.settings.aeTitle) {
      return this.reject(REJECT_RESULT_PERMANENT, REJECT_SOURCE_USER, REJECT_REASON_CALLED_AE);
    }
    if (this.settings.allowedCallingAeTitles.size > 0 && !this.settings.allowedCallingAeTitles.has(this.callingAe)) {
      return this.reject(REJECT_RESULT_PERMANENT, REJECT_SOURCE_USER, REJECT_REASON_CALLING_AE);
    }
    if (this.settings.activeAssociations() >= this.settings.maxAssociations) {
      return this.reject(REJECT_RESULT_TRANSIENT, REJECT_SOURCE_PROVIDER_PRESENTATION, REJECT_REASON_LOCAL_LIMIT_EXCEEDED);
    }

    const summary = applyPresentationContextPolicy(association);
    // One operation at a time (no asynchronous operations window), no user identity response.
    association.setNegotiateAsyncOps(false);
    association.setMaxAsyncOpsInvoked(1);
    association.setMaxAsyncOpsPerformed(1);
    association.setNegotiateUserIdentityServerResponse(false);
    // dcmjs-dimse would announce min(peer's max, ours), and 0 (unlimited) if the peer announced 0.
    association.setMaxPduLength(this.settings.maxPduLength);
    this.sendAssociationAccept();
    this.accepted = true;
    this.log.info({
      event: 'dimse.association.accepted',
      peerImplementationClassUid,
      peerImplementationVersion,
      accepted: summary.accepted.map((c) => ({ id: c.id, abstractSyntax: c.abstractSyntaxUid, transferSyntax: c.transferSyntaxUid })),
      rejected: summary.rejected.map((c) => ({ id: c.id, abstractSyntax: c.abstractSyntaxUid, reason: c.reason })),
    }, 'association accepted');
  }

  private reject(result: number, source: number, reason: number): void {
    this.sendAssociationReject(result, source, reason);
    this.log.warn({ event: 'dimse.association.rejected', result, source, reason, description: describeAssociateReject(result, source, reason) },
      'association rejected');
    this.closeSoon(5_000);
  }

  override associationReleaseRequested(): void {
    void (async () => {
      // A well-behaved SCU only releases after the last C-STORE-RSP; answer whatever is still running first.
      await Promise.allSettled([...this.inflight]);
      if (this.sock.destroyed) return;
      this.sendAssociationReleaseResponse();
      this.released = true;
      this.log.info({ event: 'dimse.association.released', stored: this.storesCompleted, failed: this.storesFailed }, 'association released');
      try {
        this.handlers.onAssociationReleased?.(this.associationId, this.callingAe);
      } catch (err) {
        this.log.error({ event: 'dimse.handler.error', err: (err as Error).message }, 'onAssociationReleased handler threw');
      }
      // The requester closes the connection after A-RELEASE-RP; close it ourselves if it does not (ARTIM).
      this.closeSoon(10_000);
    })();
  }

  override abort(source: number, reason: number): void {
    this.abortedByPeer = true;
    this.log.warn({ event: 'dimse.association.aborted', by: 'peer', source, reason }, 'association aborted by peer');
    this.sock.destroy();
  }

  // ---- C-ECHO -------------------------------------------------------------------------------------------

  override cEchoRequest(request: CEchoRequest, callback: (response: CEchoResponse) => void): void {
    const response = dimse.responses.CEchoResponse.fromRequest(request);
    response.setStatus(STATUS_SUCCESS);
    dropErrorComment(response);
    this.log.info({ event: 'dimse.echo' }, 'C-ECHO');
    callback(response);
  }

  // ---- C-STORE ------------------------------------------------------------------------------------------

  /** dcmjs-dimse calls this when the first dataset fragment of a C-STORE arrives. */
  override createStoreWritableStream(pc: PresentationContext, request: CStoreRequest): Writable {
    const prep: StorePrep = {
      sopClassUid: cleanUid(request.getAffectedSopClassUid()),
      sopInstanceUid: cleanUid(request.getAffectedSopInstanceUid()),
      transferSyntaxUid: pc.getAcceptedTransferSyntaxUid() ?? '',
      startedAt: Date.now(),
    };
    const abstractSyntax = pc.getAbstractSyntaxUid();
    if (!isStorageSopClass(abstractSyntax) || prep.sopClassUid !== abstractSyntax) {
      prep.refusal = { status: STATUS_SOP_CLASS_NOT_SUPPORTED, comment: 'SOP class does not match a storage presentation context' };
    } else if (!isValidUid(prep.sopInstanceUid)) {
      prep.refusal = { status: STATUS_CANNOT_UNDERSTAND, comment: 'Affected SOP Instance UID is not a valid UID' };
    }
    this.stores.set(request, prep);
    if (prep.refusal) return new DiscardSink();

    const name = `${this.associationId}-${++this.seq}`;
    const header = buildPart10Header({
      mediaStorageSopClassUid: prep.sopClassUid,
      mediaStorageSopInstanceUid: prep.sopInstanceUid,
      transferSyntaxUid: prep.transferSyntaxUid,
      sourceApplicationEntityTitle: this.callingAe,
    });
    const sink = new HashingFileSink(
      path.join(this.settings.tmpDir, `${name}.part`),
      path.join(this.settings.tmpDir, `${name}.dcm`),
      header,
      { pause: () => this.sock.pause(), resume: () => this.sock.resume() },
    );
    prep.sink = sink;
    this.receiving = sink;
    return sink;
  }

  /**
   * dcmjs-dimse calls this after the last dataset fragment (it has already ended the stream). The Dataset it
   * wants is only a placeholder here: the instance is the file, and cStoreRequest waits for it to be flushed.
   */
  override createDatasetFromStoreWritableStream(writable: Writable, pc: PresentationContext, callback: (dataset: Dataset) => void): void {
    if (this.receiving === writable) this.receiving = undefined;
    callback(new dimse.Dataset({}, pc.getAcceptedTransferSyntaxUid()));
  }

  override cStoreRequest(request: CStoreRequest, callback: (response: CStoreResponse) => void): void {
    const prep = this.stores.get(request);
    this.stores.delete(request);
    const work = this.processStore(request, prep)
      .then((response) => {
        if (this.sock.destroyed || this.tearingDown) {
          this.log.warn({ event: 'dimse.store.unanswered', sopInstanceUid: prep?.sopInstanceUid, status: toHexStatus(response.getStatus()) },
            'C-STORE-RSP not sent: the association has ended');
          return;
        }
        callback(response);
        (this as unknown as NetworkInternals).lastPduTime = Date.now(); // the idle timer counts from our answer
      })
      .catch((err: unknown) => {
        this.log.error({ event: 'dimse.store.error', err: (err as Error).message }, 'C-STORE processing failed unexpectedly');
      })
      .finally(() => this.inflight.delete(work));
    this.inflight.add(work);
  }

  private async processStore(request: CStoreRequest, prep: StorePrep | undefined): Promise<CStoreResponse> {
    const response = dimse.responses.CStoreResponse.fromRequest(request);
    const answer = (status: number, comment?: string, extra: Record<string, unknown> = {}): CStoreResponse => {
      response.setStatus(status);
      const value = comment ? errorCommentValue(comment) : '';
      if (value && status !== STATUS_SUCCESS) response.setErrorComment(value);
      else dropErrorComment(response);
      if (status === STATUS_SUCCESS || (status >= 0xb000 && status <= 0xbfff)) this.storesCompleted++;
      else this.storesFailed++;
      this.log.info({
        event: 'dimse.store',
        sopClassUid: prep?.sopClassUid ?? cleanUid(request.getAffectedSopClassUid()),
        sopInstanceUid: prep?.sopInstanceUid ?? cleanUid(request.getAffectedSopInstanceUid()),
        transferSyntaxUid: prep?.transferSyntaxUid,
        status: toHexStatus(status),
        ...(value && status !== STATUS_SUCCESS ? { errorComment: value } : {}),
        durationMs: prep ? Date.now() - prep.startedAt : undefined,
        ...extra,
      }, 'C-STORE');
      return response;
    };

    if (!prep) return answer(STATUS_CANNOT_UNDERSTAND, 'C-STORE request without a dataset');
    if (prep.refusal) return answer(prep.refusal.status, prep.refusal.comment);

    let file;
    try {
      file = await prep.sink!.result;
    } catch (err) {
      this.log.error({ event: 'dimse.store.write-failed', sopInstanceUid: prep.sopInstanceUid, err: (err as Error).message }, 'could not write received instance');
      return answer(STATUS_OUT_OF_RESOURCES, 'OphGate could not write the instance to disk');
    }
    if (file.datasetSize === 0) {
      await unlink(file.path).catch(() => undefined);
      return answer(STATUS_CANNOT_UNDERSTAND, 'empty dataset');
    }
    const ctx: StoreContext = {
      callingAeTitle: this.callingAe,
      calledAeTitle: this.calledAe,
      associationId: this.associationId,
      remoteAddress: this.remoteAddress,
      sopClassUid: prep.sopClassUid,
      sopInstanceUid: prep.sopInstanceUid,
      transferSyntaxUid: prep.transferSyntaxUid,
    };
    let result: StoreResult;
    try {
      result = await this.handlers.onStore({ path: file.path, sha256: file.sha256, size: file.size }, ctx);
    } catch (err) {
      this.log.error({ event: 'dimse.handler.error', sopInstanceUid: prep.sopInstanceUid, err: (err as Error)?.message ?? String(err) }, 'onStore handler threw');
      await unlink(file.path).catch(() => undefined); // the handler may have moved it already
      return answer(STATUS_OUT_OF_RESOURCES, 'OphGate could not store the instance', { size: file.size });
    }
    const status = result?.status;
    if (!Number.isInteger(status) || status < 0 || status > 0xffff) {
      this.log.error({ event: 'dimse.handler.error', sopInstanceUid: prep.sopInstanceUid, returned: String(status) }, 'onStore returned an invalid status');
      return answer(STATUS_OUT_OF_RESOURCES, 'OphGate could not store the instance', { size: file.size });
    }
    return answer(status, result.errorComment, { size: file.size, sha256: file.sha256 });
  }

  // ---- connection life cycle ----------------------------------------------------------------------------

  onPduViolation(v: PduGuardViolation): void {
    this.log.warn({ event: 'dimse.protocol.violation', ...v }, v.kind === 'unknown-pdu-type' ? 'unknown PDU type; aborting' : 'PDU longer than allowed; aborting');
    this.teardown(v.kind === 'unknown-pdu-type' ? ABORT_REASON_UNRECOGNIZED_PDU : ABORT_REASON_INVALID_PDU_PARAMETER);
  }

  private onNetworkError(err?: Error): void {
    if (this.tearingDown || this.sock.destroyed) return;
    const message = err?.message ?? 'unknown';
    this.log.warn({ event: 'dimse.network.error', err: message }, 'DIMSE network error; closing the connection');
    if (/Exceeded (association|PDU) timeout/.test(message)) {
      // dcmjs-dimse has already sent A-ABORT for its own timeouts.
      this.tearingDown = true;
      this.closeSoon(1_000);
      return;
    }
    this.teardown(ABORT_REASON_NOT_SPECIFIED);
  }

  /** Sends A-ABORT (when an association exists) and closes the connection. */
  teardown(reason: number = ABORT_REASON_NOT_SPECIFIED): void {
    if (this.tearingDown || this.sock.destroyed) return;
    this.tearingDown = true;
    if (this.accepted && !this.released && this.sock.writable) {
      try {
        this.sendAbort(ABORT_SOURCE_PROVIDER, reason);
      } catch { /* the socket may already be gone */ }
    }
    this.closeSoon(1_000);
  }

  /** Ends our side now and destroys the socket if the peer has not closed it after `ms`. */
  private closeSoon(ms: number): void {
    if (this.sock.destroyed) return;
    this.sock.end();
    setTimeout(() => this.sock.destroy(), ms).unref();
  }

  private async onSocketClosed(): Promise<void> {
    if (this.receiving) {
      // The dataset being received will never complete: drop the partial file.
      const partial = this.receiving;
      this.receiving = undefined;
      this.log.warn({ event: 'dimse.store.incomplete', datasetBytes: partial.datasetBytes }, 'connection closed in the middle of a C-STORE; partial data discarded');
      partial.destroy();
    }
    await Promise.allSettled([...this.inflight]);
    this.log.info({
      event: 'dimse.connection.closed',
      released: this.released,
      abortedByPeer: this.abortedByPeer,
      stored: this.storesCompleted,
      failed: this.storesFailed,
      bytesReceived: (this as unknown as { getStatistics(): { getBytesReceived(): number } }).getStatistics().getBytesReceived(),
    }, 'DIMSE connection closed');
    this.resolveClosed();
  }
}

function dropErrorComment(response: CStoreResponse | CEchoResponse): void {
  // dcmjs-dimse puts an undefined ErrorComment into every response; leave the element out unless there is one.
  delete (response.getCommandDataset().getElements() as Record<string, unknown>).ErrorComment;
}

export class DimseScp {
  private server?: net.Server;
  private readonly connections = new Set<ScpConnection>();
  private closing?: Promise<void>;
  private readonly log: Logger;
  private readonly settings: ConnectionSettings;
  private readonly timeouts: { associationTimeoutMs: number; idleTimeoutMs: number };

  constructor(private readonly options: DimseScpOptions, private readonly handlers: DimseHandlers) {
    if (!isValidAeTitle(options.aeTitle)) throw new RangeError(`invalid AE title: ${JSON.stringify(options.aeTitle)}`);
    for (const ae of options.allowedCallingAeTitles) {
      if (!isValidAeTitle(ae)) throw new RangeError(`invalid calling AE title in allow list: ${JSON.stringify(ae)}`);
    }
    const maxPduLength = options.maxPduLength ?? 65536;
    if (!Number.isInteger(maxPduLength) || maxPduLength < MIN_PDU || maxPduLength > MAX_PDU) {
      throw new RangeError(`maxPduLength must be an integer from ${MIN_PDU} to ${MAX_PDU}`);
    }
    this.log = options.logger.child({ component: 'dimse-scp', aeTitle: options.aeTitle.trim() });
    this.settings = {
      aeTitle: options.aeTitle.trim(),
      allowedCallingAeTitles: new Set(options.allowedCallingAeTitles.map((ae) => ae.trim())),
      tmpDir: options.tmpDir,
      maxPduLength,
      maxAssociations: options.maxAssociations ?? 32,
      activeAssociations: () => [...this.connections].filter((c) => c.isOpenAssociation).length,
    };
    this.timeouts = {
      associationTimeoutMs: options.associationTimeoutMs ?? 30_000,
      idleTimeoutMs: options.idleTimeoutMs ?? 120_000,
    };
  }

  async listen(): Promise<{ port: number }> {
    if (this.server) throw new Error('DimseScp is already listening');
    if (this.closing) throw new Error('DimseScp has been closed');
    await mkdir(this.options.tmpDir, { recursive: true });
    const server = net.createServer((socket) => this.onConnection(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => { server.off('listening', onListening); reject(err); };
      const onListening = () => { server.off('error', onError); resolve(); };
      server.once('error', onError);
      server.once('listening', onListening);
      server.listen({ host: this.options.host, port: this.options.port });
    }).catch((err) => {
      this.server = undefined;
      throw err;
    });
    server.on('error', (err) => this.log.error({ event: 'dimse.listener.error', err: err.message }, 'DIMSE listener error'));
    const port = (server.address() as net.AddressInfo).port;
    this.log.info({ event: 'dimse.listening', host: this.options.host, port, maxPduLength: this.settings.maxPduLength }, 'DIMSE SCP listening');
    return { port };
  }

  /** Stops accepting connections, then aborts open associations (after `graceMs`) and waits for running C-STOREs. */
  close(options: DimseScpCloseOptions = {}): Promise<void> {
    this.closing ??= this.doClose(options.graceMs ?? 0);
    return this.closing;
  }

  private async doClose(graceMs: number): Promise<void> {
    const server = this.server;
    const serverClosed = new Promise<void>((resolve) => (server?.listening ? server.close(() => resolve()) : resolve()));
    if (graceMs > 0 && this.connections.size > 0) {
      const all = Promise.allSettled([...this.connections].map((c) => c.closed));
      await Promise.race([all, new Promise((r) => setTimeout(r, graceMs).unref())]);
    }
    for (const c of this.connections) c.teardown();
    await Promise.allSettled([...this.connections].map((c) => c.closed));
    await serverClosed;
    this.log.info({ event: 'dimse.closed' }, 'DIMSE SCP closed');
  }

  private onConnection(socket: net.Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    let conn: ScpConnection | undefined;
    // Before dcmjs-dimse attaches its own 'data' listener, so oversized PDUs are refused before being buffered.
    attachPduGuard(socket, Math.max(this.settings.maxPduLength, 1 << 20), (v) => conn?.onPduViolation(v));
    socket.on('error', () => { /* reported through the connection's networkError */ });
    conn = new ScpConnection(socket, this.settings, this.handlers, this.log, this.timeouts);
    this.connections.add(conn);
    const c = conn;
    void c.closed.then(() => this.connections.delete(c));
  }
}
