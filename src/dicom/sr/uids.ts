// UIDs the SR derives from what it describes instead of minting at random, so that a report rebuilt or replaced
// for the same images keeps the same Tracking UIDs (TID 4108: the same finding tracked across reports) and the same
// Device Observer UID for the same device.
import { createHash } from 'node:crypto';

/**
 * "2.25." + a name-based UUID as a decimal integer (PS3.5 B.2). The UUID is RFC 9562 version 8 (custom) built
 * from SHA-256 of the parts, so equal parts give equal UIDs and different parts collide only by chance.
 */
export function derivedUid(namespace: string, ...parts: Array<string | number>): string {
  const hash = createHash('sha256').update([namespace, ...parts.map(String)].join('\u0000')).digest();
  const b = Buffer.from(hash.subarray(0, 16));
  b[6] = (b[6]! & 0x0f) | 0x80; // version 8
  b[8] = (b[8]! & 0x3f) | 0x80; // RFC 9562 variant
  return `2.25.${BigInt(`0x${b.toString('hex')}`).toString()}`;
}
