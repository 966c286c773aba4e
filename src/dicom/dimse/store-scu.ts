// Storage SCU and Verification SCU: sends PS3.10 files to a DICOM peer over one association (PS3.4 B, PS3.7 9.1.1).
// The gateway uses it to return its results (SEG, SR) to a PACS.
//
// Presentation contexts are built from the files themselves, not from dcmjs-dimse's list of storage classes (which
// lacks Segmentation and others): one context per (SOP class, transfer syntax) found, proposing only the file's own
// transfer syntax, so that an accepted context carries the dataset bytes exactly as they are in the file. For files
// in a native encoding (implicit/explicit VR little endian, explicit VR big endian) one more context per SOP class
// proposes explicit and implicit VR little endian, used only when the peer refuses the file's own syntax; those
// files are then decoded and re-encoded by dcmjs (reported in `transcodedTo`).
//
// dcmjs-dimse's Client always adds contexts of its own, so the association is driven through its Scp class, which
// is the library's generic DUL/DIMSE engine over a socket (Network) with no SCU-specific behaviour.
import { open, stat } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import {
  dimse,
  describeAssociateReject,
  ABORT_SOURCE_USER,
  ABORT_REASON_NOT_SPECIFIED,
  type Association,
  type CStoreRequest,
  type CStoreResponse,
  type CEchoResponse,
  type Dataset,
  type NetworkInternals,
} from './library.js';
import { readFileMeta, FileMetaError } from './part10.js';
import { explicitToImplicitLittleEndian } from './explicit-to-implicit.js';
import {
  EXPLICIT_VR_LE,
  IMPLICIT_VR_LE,
  NATIVE_TRANSFER_SYNTAXES,
  VERIFICATION_SOP_CLASS,
  isStoreSuccessOrWarning,
} from './uids.js';

export interface DimsePeer {
  host: string;
  port: number;
  /** The peer's (called) AE title. */
  aeTitle: string;
  /** OphGate's (calling) AE title for this association. */
  callingAeTitle: string;
}

export interface SendOptions {
  /** Whole operation (connect, negotiate, send everything, release), in ms. Default 300000. */
  timeoutMs?: number;
  /** Largest PDU OphGate accepts from the peer (announced in A-ASSOCIATE-RQ). Default 65536. */
  maxPduLength?: number;
}

export interface SendFileResult {
  path: string;
  /** From the File Meta; '' when the file could not be read. */
  sopInstanceUid: string;
  /** The C-STORE-RSP status; -1 when there was none (not sent, or the association failed first). */
  status: number;
  /** True for success and warning statuses (0000, 0001, Bxxx). */
  ok: boolean;
  error?: string;
  /** Peer's Error Comment (0000,0902), when it sent one. */
  errorComment?: string;
  /** The transfer syntax the dataset was sent in. */
  transferSyntaxUid?: string;
  /** Set when the dataset had to be re-encoded (the peer refused the file's own transfer syntax). */
  transcodedTo?: string;
}

export interface EchoResult {
  ok: boolean;
  /** C-ECHO-RSP status; -1 when there was none. */
  status: number;
  error?: string;
}

const DEFAULT_TIMEOUT_MS = 300_000;
const META_READ_BYTES = 64 * 1024;
const MAX_PRESENTATION_CONTEXTS = 128; // odd IDs 1..255 (PS3.8 9.3.2.2)

interface FileEntry {
  index: number;
  path: string;
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  datasetOffset: number;
}

/** What happened on the association, for the caller's result list. */
interface AssociationOutcome {
  error?: string;
}

/** The dcmjs-dimse engine, used as an association requester. Requests from the peer are answered with failures. */
class RequesterNetwork extends dimse.Scp {
  peerAbort?: { source: number; reason: number };
  override abort(source: number, reason: number): void {
    this.peerAbort = { source, reason };
    (this as unknown as NetworkInternals).socket.destroy();
  }
  override associationRequested(): void {
    this.sendAssociationReject();
  }
  override associationReleaseRequested(): void {
    this.sendAssociationReleaseResponse();
  }
}

async function readHeader(path: string): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(META_READ_BYTES);
    const { bytesRead } = await fh.read(buf, 0, META_READ_BYTES, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/**
 * A Dataset that hands the library the file's dataset bytes as they are, read when the request is sent (one
 * file in memory at a time), instead of encoding parsed elements.
 */
function rawDataset(entry: FileEntry): Dataset {
  const ds = new dimse.Dataset({ SOPClassUID: entry.sopClassUid, SOPInstanceUID: entry.sopInstanceUid }, entry.transferSyntaxUid);
  ds.getDenaturalizedDataset = () => readFileSync(entry.path).subarray(entry.datasetOffset);
  return ds;
}

function describePcResult(result: number): string {
  return ({ 1: 'rejected by the user', 2: 'rejected (no reason)', 3: 'abstract syntax not supported', 4: 'transfer syntaxes not supported' } as Record<number, string>)[result]
    ?? `result ${result}`;
}

interface Session {
  network: RequesterNetwork;
  socket: net.Socket;
  /** Resolves when the connection has closed, with what went wrong (if anything). */
  finished: Promise<AssociationOutcome>;
}

/**
 * Opens a connection and requests `association`; `onAccepted` runs once the peer accepts and returns the
 * requests to send (none: release at once). The association is released after the last response.
 */
function runAssociation(
  peer: DimsePeer,
  association: Association,
  timeoutMs: number,
  onAccepted: (association: Association) => Array<CStoreRequest | InstanceType<typeof dimse.requests.CEchoRequest>>,
): Session {
  const socket = net.connect({ host: peer.host, port: peer.port });
  const network = new RequesterNetwork(socket, { connectTimeout: timeoutMs, associationTimeout: timeoutMs, pduTimeout: timeoutMs });
  const outcome: AssociationOutcome = {};
  const fail = (message: string) => {
    outcome.error ??= message;
  };
  const finished = new Promise<AssociationOutcome>((resolve) => {
    const timer = setTimeout(() => {
      fail(`timed out after ${timeoutMs} ms`);
      try {
        if ((network as unknown as NetworkInternals).association) network.sendAbort(ABORT_SOURCE_USER, ABORT_REASON_NOT_SPECIFIED);
      } catch { /* gone already */ }
      socket.destroy();
    }, timeoutMs);
    socket.on('error', (err) => fail(`connection to ${peer.host}:${peer.port} failed: ${err.message}`));
    socket.on('close', () => {
      clearTimeout(timer);
      if (network.peerAbort) fail(`association aborted by the peer (source ${network.peerAbort.source}, reason ${network.peerAbort.reason})`);
      resolve(outcome);
    });
  });
  network.on('connect', () => network.sendAssociationRequest(association));
  network.on('associationAccepted', (accepted?: Association) => {
    let toSend: ReturnType<typeof onAccepted>;
    try {
      toSend = onAccepted(accepted ?? association);
    } catch (err) {
      fail(`could not prepare the requests: ${(err as Error).message}`);
      toSend = [];
    }
    if (toSend.length === 0) network.sendAssociationReleaseRequest();
    else network.sendRequests(toSend);
  });
  // Emitted by dcmjs-dimse once every request has had its final response (or was skipped).
  network.on('done', () => network.sendAssociationReleaseRequest());
  network.on('associationReleaseResponse', () => socket.end());
  network.on('associationRejected', (rj?: { result: number; source: number; reason: number }) => {
    fail(rj ? `association rejected (${describeAssociateReject(rj.result, rj.source, rj.reason)})` : 'association rejected');
    socket.end();
  });
  network.on('networkError', (err?: Error) => {
    // dcmjs-dimse prefixes its messages with "<AE title> -> ".
    fail(`network error: ${(err?.message ?? 'unknown').replace(/^.*?-> /, '')}`);
    socket.destroy();
  });
  return { network, socket, finished };
}

/**
 * Sends the PS3.10 files to `peer` over one association and returns one result per file, in the given order.
 * Never throws for a peer or file problem: each file's result says what happened.
 */
export async function sendFiles(peer: DimsePeer, files: string[], opts: SendOptions = {}): Promise<SendFileResult[]> {
  const results: SendFileResult[] = files.map((path) => ({ path, sopInstanceUid: '', status: -1, ok: false }));
  const entries: FileEntry[] = [];
  for (const [index, path] of files.entries()) {
    try {
      if (!(await stat(path)).isFile()) throw new Error('not a regular file');
      const meta = readFileMeta(await readHeader(path));
      if (!meta.hasFileMeta) throw new Error('not a PS3.10 file: no File Meta Information');
      const { transferSyntaxUid, mediaStorageSopClassUid, mediaStorageSopInstanceUid } = meta;
      if (!transferSyntaxUid || !mediaStorageSopClassUid || !mediaStorageSopInstanceUid) {
        throw new Error('File Meta lacks TransferSyntaxUID, MediaStorageSOPClassUID or MediaStorageSOPInstanceUID');
      }
      results[index]!.sopInstanceUid = mediaStorageSopInstanceUid;
      results[index]!.transferSyntaxUid = transferSyntaxUid;
      entries.push({ index, path, sopClassUid: mediaStorageSopClassUid, sopInstanceUid: mediaStorageSopInstanceUid, transferSyntaxUid, datasetOffset: meta.datasetOffset });
    } catch (err) {
      results[index]!.error = err instanceof FileMetaError ? `unreadable File Meta: ${err.message}` : (err as Error).message;
    }
  }
  if (entries.length === 0) return results;

  // Presentation contexts: exact (SOP class, file's syntax) first, then the little endian fallbacks.
  const association = new dimse.association.Association(peer.callingAeTitle, peer.aeTitle);
  association.setMaxPduLength(opts.maxPduLength ?? 65536);
  const exact = new Map<string, number>();
  const fallback = new Map<string, number>();
  const proposable: FileEntry[] = [];
  const key = (sopClass: string, ts: string) => `${sopClass}|${ts}`;
  const needed = new Set(entries.map((e) => key(e.sopClassUid, e.transferSyntaxUid)));
  const nativeClasses = new Set(entries.filter((e) => NATIVE_TRANSFER_SYNTAXES.has(e.transferSyntaxUid)).map((e) => e.sopClassUid));
  if (needed.size + nativeClasses.size > MAX_PRESENTATION_CONTEXTS) {
    // Keep the association within the 128-context limit: the native fallbacks go first, then files beyond the limit.
    nativeClasses.clear();
  }
  for (const e of entries) {
    const k = key(e.sopClassUid, e.transferSyntaxUid);
    if (!exact.has(k)) {
      if (exact.size >= MAX_PRESENTATION_CONTEXTS) {
        results[e.index]!.error = `too many distinct (SOP class, transfer syntax) pairs for one association (max ${MAX_PRESENTATION_CONTEXTS})`;
        continue;
      }
      const id = association.addPresentationContext(e.sopClassUid);
      association.addTransferSyntaxToPresentationContext(id, e.transferSyntaxUid);
      exact.set(k, id);
    }
    proposable.push(e);
  }
  for (const sopClass of nativeClasses) {
    const id = association.addPresentationContext(sopClass);
    association.addTransferSyntaxToPresentationContext(id, EXPLICIT_VR_LE);
    association.addTransferSyntaxToPresentationContext(id, IMPLICIT_VR_LE);
    fallback.set(sopClass, id);
  }
  if (proposable.length === 0) return results;

  const pending = new Map<FileEntry, CStoreRequest>();
  const session = runAssociation(peer, association, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, (accepted) => {
    const requests: CStoreRequest[] = [];
    for (const e of proposable) {
      const result = results[e.index]!;
      const exactCtx = accepted.getPresentationContext(exact.get(key(e.sopClassUid, e.transferSyntaxUid))!);
      const accept = dimse.constants.PresentationContextResult.Accept;
      let request: CStoreRequest;
      if (exactCtx.getResult() === accept && exactCtx.getAcceptedTransferSyntaxUid() === e.transferSyntaxUid) {
        request = new dimse.requests.CStoreRequest(rawDataset(e));
      } else {
        const fbId = fallback.get(e.sopClassUid);
        const fbCtx = fbId === undefined ? undefined : accepted.getPresentationContext(fbId);
        const target = fbCtx?.getResult() === accept ? fbCtx.getAcceptedTransferSyntaxUid() : undefined;
        if (!NATIVE_TRANSFER_SYNTAXES.has(e.transferSyntaxUid) || !target) {
          result.error = `the peer did not accept ${e.sopClassUid} in ${e.transferSyntaxUid} (${describePcResult(exactCtx.getResult())})`;
          continue;
        }
        try {
          // Re-encoded: no longer byte-identical to the file. Explicit to implicit VR (OphGate's own results to a
          // peer that accepts only implicit VR) changes element headers only and keeps every value's bytes
          // (explicit-to-implicit.ts); other conversions go through dcmjs's decoder and the library's transcoder.
          let reencoded: Dataset;
          if (e.transferSyntaxUid === EXPLICIT_VR_LE && target === IMPLICIT_VR_LE) {
            const bytes = explicitToImplicitLittleEndian(readFileSync(e.path).subarray(e.datasetOffset));
            reencoded = new dimse.Dataset({ SOPClassUID: e.sopClassUid, SOPInstanceUID: e.sopInstanceUid }, target);
            reencoded.getDenaturalizedDataset = () => bytes;
          } else {
            const parsed = dimse.Dataset.fromFile(e.path);
            if (!parsed) throw new Error('dcmjs could not read the file');
            reencoded = dimse.Transcoding.transcodeDataset(parsed, target);
          }
          request = new dimse.requests.CStoreRequest(reencoded);
        } catch (err) {
          result.error = `could not re-encode to ${target}: ${(err as Error).message}`;
          continue;
        }
        result.transcodedTo = target;
        result.transferSyntaxUid = target;
      }
      request.on('response', (response?: CStoreResponse) => {
        if (!response) return;
        result.status = response.getStatus();
        result.ok = isStoreSuccessOrWarning(result.status);
        const comment = response.getErrorComment();
        if (typeof comment === 'string' && comment.trim()) result.errorComment = comment.trim();
        if (!result.ok) result.error ??= `C-STORE failed with status 0x${result.status.toString(16).padStart(4, '0').toUpperCase()}`;
      });
      pending.set(e, request);
      requests.push(request);
    }
    return requests;
  });
  const outcome = await session.finished;
  for (const e of proposable) {
    const result = results[e.index]!;
    if (result.status === -1 && !result.error) {
      result.error = outcome.error ?? (pending.has(e) ? 'no C-STORE response received' : 'not sent');
    }
  }
  return results;
}

/** C-ECHO: checks that `peer` accepts an association from OphGate and answers Verification. */
export async function echo(peer: DimsePeer, opts: { timeoutMs?: number } = {}): Promise<EchoResult> {
  const association = new dimse.association.Association(peer.callingAeTitle, peer.aeTitle);
  const id = association.addPresentationContext(VERIFICATION_SOP_CLASS);
  association.addTransferSyntaxToPresentationContext(id, IMPLICIT_VR_LE);
  association.addTransferSyntaxToPresentationContext(id, EXPLICIT_VR_LE);
  const result: EchoResult = { ok: false, status: -1 };
  const session = runAssociation(peer, association, opts.timeoutMs ?? 30_000, (accepted) => {
    if (accepted.getPresentationContext(id).getResult() !== dimse.constants.PresentationContextResult.Accept) {
      result.error = 'the peer did not accept the Verification SOP class';
      return [];
    }
    const request = new dimse.requests.CEchoRequest();
    request.on('response', (response?: CEchoResponse) => {
      if (!response) return;
      result.status = response.getStatus();
      result.ok = result.status === 0;
    });
    return [request];
  });
  const outcome = await session.finished;
  if (result.status === -1) result.error ??= outcome.error ?? 'no C-ECHO response received';
  else if (!result.ok) result.error ??= `C-ECHO failed with status 0x${result.status.toString(16).padStart(4, '0').toUpperCase()}`;
  return result;
}
