// UID syntax (PS3.5 9.1) and minting under the configured root.
import { createHash, randomUUID } from 'node:crypto';

const UID_RE = /^(0|[1-9]\d*)(\.(0|[1-9]\d*))+$/;

export function isValidUid(uid: string): boolean {
  return uid.length > 0 && uid.length <= 64 && UID_RE.test(uid);
}

/** A new UID: root + "." + a UUID as decimal (PS3.5 B.2 for the 2.25 root), cut to the 64-character limit. */
export function mintUid(root: string): string {
  const decimal = BigInt('0x' + randomUUID().replace(/-/g, '')).toString();
  return root === '2.25' ? `2.25.${decimal}` : `${root}.${decimal}`.slice(0, 64).replace(/\.0+(\d)/g, '.$1');
}

/**
 * A UID that is a function of `parts` (under `root`): the same inputs give the same UID, so a stage that is
 * retried after a crash writes its objects again under the same UIDs instead of new ones (exactly-once results).
 * The parts must include what makes the object distinct (job, source image, a digest of its content).
 * Under 2.25 the SHA-256 digest's first 128 bits are made a name-based UUID (RFC 9562 version 8) as PS3.5 B.2 asks.
 */
export function deriveUid(root: string, ...parts: string[]): string {
  const digest = createHash('sha256').update(parts.join('\u0000')).digest();
  const bytes = Buffer.from(digest.subarray(0, 16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x80; // version 8
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC variant
  const decimal = BigInt('0x' + bytes.toString('hex')).toString();
  if (root === '2.25') return `2.25.${decimal}`;
  // Shorter roots keep more digits; a leading zero after a dot is not allowed (PS3.5 9.1).
  return `${root}.${decimal}`.slice(0, 64).replace(/\.0+(\d)/g, '.$1');
}
