// TID 1204 Language of Content Item and Descendants, and TID 1001 Observation Context with a device observer
// (TID 1002 Observer Context, TID 1004 Device Observer Identifying Attributes): who made the observations below.
import { code, text, uidref, type ContentItem } from './content-items.js';
import {
  DEVICE, DEVICE_OBSERVER_MANUFACTURER, DEVICE_OBSERVER_MODEL_NAME, DEVICE_OBSERVER_NAME, DEVICE_OBSERVER_SERIAL_NUMBER,
  DEVICE_OBSERVER_UID, ENGLISH_US, LANGUAGE_OF_CONTENT, OBSERVER_TYPE,
} from './codes.js';

/** TID 1204 row 1, included by TID 1500 row 2 as HAS CONCEPT MOD. OphGate writes its text in English. */
export function languageOfContent(): ContentItem {
  return code('HAS CONCEPT MOD', LANGUAGE_OF_CONTENT, ENGLISH_US);
}

export interface DeviceObserver {
  uid: string;
  name?: string;
  manufacturer?: string;
  modelName?: string;
  serialNumber?: string;
}

/**
 * TID 1002 rows 1-2 (Observer Type = Device, then TID 1004), as HAS OBS CONTEXT items of the container they
 * describe. TID 1004 row 1 (Device Observer UID) is mandatory; the others are written when known.
 */
export function deviceObserverContext(d: DeviceObserver): ContentItem[] {
  const items: ContentItem[] = [
    code('HAS OBS CONTEXT', OBSERVER_TYPE, DEVICE),
    uidref('HAS OBS CONTEXT', DEVICE_OBSERVER_UID, d.uid),
  ];
  if (d.name) items.push(text('HAS OBS CONTEXT', DEVICE_OBSERVER_NAME, d.name));
  if (d.manufacturer) items.push(text('HAS OBS CONTEXT', DEVICE_OBSERVER_MANUFACTURER, d.manufacturer));
  if (d.modelName) items.push(text('HAS OBS CONTEXT', DEVICE_OBSERVER_MODEL_NAME, d.modelName));
  if (d.serialNumber) items.push(text('HAS OBS CONTEXT', DEVICE_OBSERVER_SERIAL_NUMBER, d.serialNumber));
  return items;
}
