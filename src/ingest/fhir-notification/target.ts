// From a notified ImagingStudy to what OphGate will fetch: the Study Instance UID and the configured DICOMweb
// source its WADO-RS endpoint names. An endpoint that is not a configured source is refused (422): a
// notification must not steer OphGate to arbitrary hosts.
import type { Config } from '../../config/schema.js';
import { imagingStudy, parseResource, type ImagingStudy } from './resources.js';
import { studyUidOf } from './study-uid.js';
import { wadoRsAddresses, type EndpointContext } from './endpoint.js';
import { dicomwebSourceFor, type DicomwebSource } from './sources.js';
import { unprocessable } from './outcome.js';

export type NotificationForm = 'rest-hook' | 'backport-full-resource' | 'backport-id-only';

export interface FetchTarget {
  studyUid: string;
  source: DicomwebSource;
  form: NotificationForm;
  /** The ImagingStudy as the notification named it (its reference or URL): for the task record and the logs. */
  resource: string;
}

const NOTHING_TO_FETCH = new Set(['cancelled', 'entered-in-error']);

export async function fetchTargetOf(config: Pick<Config, 'sources'>, raw: unknown, label: string, form: NotificationForm, ctx: EndpointContext): Promise<FetchTarget> {
  const study: ImagingStudy = parseResource(imagingStudy, raw, label);
  if (study.status && NOTHING_TO_FETCH.has(study.status)) {
    throw unprocessable(`${label} has status ${study.status}: there is nothing to retrieve`);
  }
  const studyUid = studyUidOf(study, label);
  const addresses = await wadoRsAddresses(study, label, ctx);
  for (const address of addresses) {
    const source = dicomwebSourceFor(config, address);
    if (source) return { studyUid, source, form, resource: label };
  }
  const shown = addresses.map((a) => JSON.stringify(a.slice(0, 200))).join(', ');
  throw unprocessable(`${label}: the WADO-RS endpoint address ${shown} is not a DICOMweb source configured in OphGate (sources.dicomweb); OphGate retrieves studies only from configured sources`, 'security');
}
