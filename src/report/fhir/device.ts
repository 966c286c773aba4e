// A Device per AI model version: what Observation.device and Provenance.agent point to, so the EHR can tell which
// model (and which version of it) produced a result.
import type { Device, Identifier } from '@medplum/fhirtypes';
import { OPHGATE_ID } from './common.js';

export interface ModelInfo {
  name: string;
  version: string;
}

/** One Device per name and version: results of an upgraded model point to a new Device, not a rewritten one. */
export function deviceIdentifier(model: ModelInfo): Identifier {
  return { system: OPHGATE_ID.device, value: `${model.name}@${model.version}` };
}

export function buildDevice(model: ModelInfo): Device {
  return {
    resourceType: 'Device',
    identifier: [deviceIdentifier(model)],
    status: 'active',
    manufacturer: 'OphGate',
    deviceName: [{ name: model.name, type: 'model-name' }],
    version: [{ value: model.version }],
    type: { text: 'AI model for colour fundus photograph analysis (research software, not for clinical use)' },
  };
}
