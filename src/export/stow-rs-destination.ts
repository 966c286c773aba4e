// Results to a DICOMweb origin server by STOW-RS (PS3.18 10.5): one multipart/related request per study with
// every object still owed to it, through dicomweb-client over Node's HTTP (xhr2 as its XMLHttpRequest).
//
// Outcomes per object come from the response (PS3.18 Table 10.5.3-1): 200 stored them all; 202 stored some, and
// the Failed SOP Sequence (0008,1198) names those refused, with a Failure Reason (0008,1197); 409 and other error
// statuses, a refused connection or a timeout fail every object of the request, to be retried.
import dicomweb from 'dicomweb-client';
import XHR from 'xhr2';
import { readFile } from 'node:fs/promises';
import type { Destination, OutgoingObject, SendOutcome } from './destination.js';

const FAILED_SOP_SEQUENCE = '00081198';
const REFERENCED_SOP_INSTANCE_UID = '00081155';
const FAILURE_REASON = '00081197';

export interface StowRsSettings { url: string; bearerToken?: string; timeoutSeconds: number }

interface DicomJsonResponse { [tag: string]: { vr: string; Value?: Array<Record<string, { Value?: unknown[] }>> } }

export class StowRsDestination implements Destination {
  readonly description: string;
  constructor(readonly name: string, private readonly settings: StowRsSettings) {
    const u = new URL(settings.url);
    this.description = `STOW-RS ${u.origin}${u.pathname}`;
  }

  async send(objects: OutgoingObject[]): Promise<SendOutcome[]> {
    const byStudy = new Map<string, number[]>();
    objects.forEach((o, i) => byStudy.set(o.studyUid, [...(byStudy.get(o.studyUid) ?? []), i]));
    const outcomes: SendOutcome[] = new Array(objects.length);
    for (const [studyUid, indexes] of byStudy) {
      const result = await this.storeStudy(studyUid, indexes.map((i) => objects[i]!));
      indexes.forEach((i, k) => { outcomes[i] = result[k]!; });
    }
    return outcomes;
  }

  private async storeStudy(studyUid: string, objects: OutgoingObject[]): Promise<SendOutcome[]> {
    const datasets = await Promise.all(objects.map(async (o) => {
      const b = await readFile(o.path);
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
    }));
    const client = new dicomweb.api.DICOMwebClient({
      url: this.settings.url,
      // Its console output would dump the request, headers included; OphGate reports failures in its own log.
      verbose: false,
      headers: { Accept: 'application/dicom+json', ...(this.settings.bearerToken ? { Authorization: `Bearer ${this.settings.bearerToken}` } : {}) },
    } as never);
    const xhr = new XHR() as XMLHttpRequest;
    xhr.responseType = 'text';
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => { xhr.abort(); reject(new Error(`no answer within ${this.settings.timeoutSeconds} s`)); }, this.settings.timeoutSeconds * 1000);
    });
    try {
      await Promise.race([client.storeInstances({ datasets, studyInstanceUID: studyUid, request: { instance: xhr } } as never), timeout]);
    } catch (err) {
      const status = (err as { status?: number }).status ?? xhr.status;
      const why = status ? `HTTP ${status}${reasonOf(xhr)}` : (err as Error).message === 'request failed' ? 'no connection (refused, reset or unreachable)' : (err as Error).message;
      return objects.map(() => ({ ok: false, error: `${this.description}: ${why}` }));
    } finally {
      clearTimeout(timer);
    }
    if (xhr.status === 200) return objects.map(() => ({ ok: true }));
    // 202: some were refused. Anything else that dicomweb-client resolved (204) stored nothing we can confirm.
    const failed = failedInstances(xhr.responseText);
    if (xhr.status === 202 && failed) {
      return objects.map((o) => failed.has(o.sopInstanceUid)
        ? { ok: false, error: `${this.description}: refused (Failure Reason ${failed.get(o.sopInstanceUid)})` }
        : { ok: true, warning: 'stored with warnings (HTTP 202)' });
    }
    return objects.map(() => ({ ok: false, error: `${this.description}: unexpected HTTP ${xhr.status} to STOW-RS` }));
  }
}

function reasonOf(xhr: XMLHttpRequest): string {
  const failed = failedInstances(xhr.responseText);
  if (failed && failed.size > 0) return ` (Failure Reasons ${[...new Set(failed.values())].join(', ')})`;
  const text = (xhr.responseText ?? '').replace(/\s+/g, ' ').trim().slice(0, 200);
  return text ? `: ${text}` : '';
}

/** SOP Instance UID -> Failure Reason from a STOW-RS response body, or null when it is not DICOM JSON. */
function failedInstances(body: string | null | undefined): Map<string, string> | null {
  if (!body) return null;
  try {
    const json = JSON.parse(body) as DicomJsonResponse | DicomJsonResponse[];
    const root = Array.isArray(json) ? json[0] : json;
    const items = root?.[FAILED_SOP_SEQUENCE]?.Value ?? [];
    return new Map(items.map((item) => [String(item[REFERENCED_SOP_INSTANCE_UID]?.Value?.[0] ?? ''), String(item[FAILURE_REASON]?.Value?.[0] ?? 'unknown')]));
  } catch {
    return null;
  }
}
