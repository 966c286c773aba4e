// The one door every instance comes through, whatever the protocol (STOW-RS, C-STORE, import, fetch):
// check the header, keep the bytes, index them, and tell the study assembler.
import type { Logger } from 'pino';
import { readInstanceHeader, DicomRejection, type RejectCode, type InstanceHeader } from '../dicom/part10-header.js';
import { firstNumber, firstString, pick, type DicomJson } from '../dicom/json-model.js';
import type { SpooledFile } from '../store/blob-store.js';
import type { NewInstance, SqliteStore } from '../store/sqlite-store.js';
import type { Metrics, Protocol } from '../metrics/registry.js';
import { STUDY_LEVEL_TAGS, SERIES_LEVEL_TAGS } from '../dicom/attribute-levels.js';

export interface InstanceSource { protocol: Protocol; callingAe?: string; associationId?: string }

export type AcceptOutcome =
  | { status: 'stored'; sopClassUid: string; sopInstanceUid: string; studyUid: string; seriesUid: string; reopened: boolean }
  | { status: 'duplicate'; sopClassUid: string; sopInstanceUid: string; studyUid: string; seriesUid: string }
  | { status: 'conflict'; sopClassUid: string; sopInstanceUid: string; studyUid: string; seriesUid: string; reason: string }
  | { status: 'rejected'; code: RejectCode; reason: string; sopClassUid?: string; sopInstanceUid?: string };

export interface StudyListener { instanceArrived(studyUid: string, source: InstanceSource): void }

export class InstanceAcceptor {
  constructor(
    private readonly store: SqliteStore,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly listener: StudyListener,
  ) {}

  /** Takes ownership of the spooled file: it ends stored, quarantined or deleted. */
  async accept(file: SpooledFile, source: InstanceSource, expectedStudyUid?: string): Promise<AcceptOutcome> {
    this.metrics.bytesReceived.inc({ protocol: source.protocol }, file.size);
    let header;
    try {
      header = await readInstanceHeader(file.path, file.size);
    } catch (err) {
      this.store.blobs.discard(file);
      const rejection = err instanceof DicomRejection ? err : new DicomRejection('unreadable', (err as Error).message);
      this.metrics.instancesReceived.inc({ protocol: source.protocol, outcome: 'rejected' });
      this.logger.warn({ protocol: source.protocol, callingAe: source.callingAe, code: rejection.code, reason: rejection.message }, 'instance rejected');
      return { status: 'rejected', code: rejection.code, reason: rejection.message };
    }
    const ids = { sopClassUid: header.sopClassUid, sopInstanceUid: header.sopInstanceUid, studyUid: header.studyInstanceUid, seriesUid: header.seriesInstanceUid };
    if (expectedStudyUid && expectedStudyUid !== header.studyInstanceUid) {
      this.store.blobs.discard(file);
      this.metrics.instancesReceived.inc({ protocol: source.protocol, outcome: 'rejected' });
      const reason = `Study Instance UID ${header.studyInstanceUid} differs from the study in the request URL (${expectedStudyUid})`;
      return { status: 'rejected', code: 'bad-uid', reason, sopClassUid: ids.sopClassUid, sopInstanceUid: ids.sopInstanceUid };
    }
    const outcome = await this.store.recordInstance(file, newInstanceOf(header, source));
    const log = { protocol: source.protocol, callingAe: source.callingAe, studyUid: ids.studyUid, sopInstanceUid: ids.sopInstanceUid };
    switch (outcome.kind) {
      case 'stored':
        this.metrics.instancesReceived.inc({ protocol: source.protocol, outcome: 'stored' });
        this.logger.info({ ...log, bytes: file.size, reopened: outcome.reopened }, outcome.reopened ? 'instance stored; study re-opened' : 'instance stored');
        this.listener.instanceArrived(ids.studyUid, source);
        return { status: 'stored', ...ids, reopened: outcome.reopened };
      case 'duplicate':
        this.metrics.instancesReceived.inc({ protocol: source.protocol, outcome: 'duplicate' });
        this.logger.info(log, 'duplicate instance with identical bytes: nothing changed');
        return { status: 'duplicate', ...ids };
      case 'conflict': {
        this.metrics.instancesReceived.inc({ protocol: source.protocol, outcome: 'conflict' });
        const reason = `SOP Instance UID ${ids.sopInstanceUid} is already stored with different content (stored sha256 ${outcome.storedSha256.slice(0, 12)}…, received ${file.sha256.slice(0, 12)}…); the stored instance is kept and the new one quarantined`;
        this.logger.warn(log, 'conflicting duplicate refused');
        return { status: 'conflict', ...ids, reason };
      }
    }
  }
}

/** The index rows' content for an instance whose header was read (also used for the objects OphGate writes). */
export function newInstanceOf(header: InstanceHeader, source: InstanceSource): NewInstance {
  const a = header.attributes;
  return {
    sopClassUid: header.sopClassUid, sopInstanceUid: header.sopInstanceUid, studyUid: header.studyInstanceUid, seriesUid: header.seriesInstanceUid,
    transferSyntaxUid: header.transferSyntaxUid,
    instanceNumber: firstNumber(a, '00200013') ?? null,
    datasetOffset: header.datasetOffset,
    attributes: a,
    studyAttributes: pick(a, STUDY_LEVEL_TAGS),
    seriesAttributes: pick(a, SERIES_LEVEL_TAGS),
    study: {
      patientId: str(a, '00100020'), patientName: str(a, '00100010'), patientBirthDate: str(a, '00100030'), patientSex: str(a, '00100040'),
      studyDate: str(a, '00080020'), studyTime: str(a, '00080030'), accessionNumber: str(a, '00080050'), studyId: str(a, '00200010'),
      studyDescription: str(a, '00081030'), referringPhysicianName: str(a, '00080090'),
    },
    series: { modality: str(a, '00080060'), seriesNumber: firstNumber(a, '00200011') ?? null, seriesDescription: str(a, '0008103E') },
    protocol: source.protocol,
    callingAe: source.callingAe ?? null,
  };
}

function str(json: DicomJson, tag: string): string | null {
  const v = firstString(json, tag)?.trim();
  return v ? v : null;
}
