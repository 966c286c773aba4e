// The configured destinations (export.destinations), built once from the validated configuration.
import type { Config } from '../config/schema.js';
import type { Destination } from './destination.js';
import { DimseDestination } from './dimse-destination.js';
import { StowRsDestination } from './stow-rs-destination.js';

export function destinationsOf(config: Pick<Config, 'export' | 'peers' | 'dimse'>): Destination[] {
  return Object.entries(config.export.destinations).map(([name, d]) => {
    if (d.type === 'stow-rs') return new StowRsDestination(name, { url: d.url, timeoutSeconds: d.timeoutSeconds, ...(d.bearerToken ? { bearerToken: d.bearerToken } : {}) });
    const peer = config.peers[d.peer];
    if (!peer) throw new Error(`export.destinations.${name}: no peer named "${d.peer}"`); // the schema already refuses this
    return new DimseDestination(name, { ...peer, callingAeTitle: d.callingAeTitle ?? config.dimse.aeTitle }, d.timeoutSeconds);
  });
}
