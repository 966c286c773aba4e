// The one place that imports dcmjs-dimse. It is a CommonJS bundle, so it is imported as a default export.
//
// Side effects, once per process:
// - dcmjs-dimse's own logger (loglevel) prints every association and command to the console as plain text;
//   it is silenced here and OphGate logs the events it cares about through pino instead.
// - The implementation class UID and version name it announces in association negotiation become OphGate's.
import dimse from 'dcmjs-dimse';
import type { association, requests, responses, Dataset as DatasetType } from 'dcmjs-dimse';
import { OPHGATE_IMPLEMENTATION_CLASS_UID, OPHGATE_IMPLEMENTATION_VERSION_NAME } from './implementation.js';

dimse.log.setLevel('silent');
dimse.Implementation.setImplementationClassUid(OPHGATE_IMPLEMENTATION_CLASS_UID);
dimse.Implementation.setImplementationVersion(OPHGATE_IMPLEMENTATION_VERSION_NAME);

export { dimse };

export type Association = association.Association;
export type PresentationContext = association.PresentationContext;
export type Dataset = DatasetType;
export type CStoreRequest = requests.CStoreRequest;
export type CEchoRequest = requests.CEchoRequest;
export type CStoreResponse = responses.CStoreResponse;
export type CEchoResponse = responses.CEchoResponse;

/** Fields of dcmjs-dimse's Network class that its type declarations leave out but that OphGate needs. */
export interface NetworkInternals {
  socket: import('node:net').Socket;
  association?: Association;
  connected: boolean;
  connectedTime?: number;
  lastPduTime?: number;
}

/** A-ABORT source and reason values (PS3.8 9.3.8). */
export const ABORT_SOURCE_USER = 0;
export const ABORT_SOURCE_PROVIDER = 2;
export const ABORT_REASON_NOT_SPECIFIED = 0;
export const ABORT_REASON_UNRECOGNIZED_PDU = 1;
export const ABORT_REASON_UNEXPECTED_PDU = 2;
export const ABORT_REASON_INVALID_PDU_PARAMETER = 6;

/** A-ASSOCIATE-RJ values (PS3.8 9.3.4). */
export const REJECT_RESULT_PERMANENT = 1;
export const REJECT_RESULT_TRANSIENT = 2;
export const REJECT_SOURCE_USER = 1;
export const REJECT_SOURCE_PROVIDER_PRESENTATION = 3;
export const REJECT_REASON_NO_REASON = 1;
export const REJECT_REASON_CALLING_AE = 3;
export const REJECT_REASON_CALLED_AE = 7;
/** With source 3 (service-provider, presentation related function). */
export const REJECT_REASON_LOCAL_LIMIT_EXCEEDED = 2;

export function describeAssociateReject(result: number, source: number, reason: number): string {
  const res = result === REJECT_RESULT_PERMANENT ? 'permanent' : result === REJECT_RESULT_TRANSIENT ? 'transient' : `result ${result}`;
  let why = `reason ${reason}`;
  if (source === REJECT_SOURCE_USER) {
    why = ({ 1: 'no reason given', 2: 'application context name not supported', 3: 'calling AE title not recognized', 7: 'called AE title not recognized' } as Record<number, string>)[reason] ?? why;
  } else if (source === 2) {
    why = ({ 1: 'no reason given', 2: 'protocol version not supported' } as Record<number, string>)[reason] ?? why;
  } else if (source === REJECT_SOURCE_PROVIDER_PRESENTATION) {
    why = ({ 1: 'temporary congestion', 2: 'local limit exceeded' } as Record<number, string>)[reason] ?? why;
  }
  return `${res}: ${why}`;
}
