// UID syntax (PS3.5 9.1) and minting under the configured root.
import { randomUUID } from 'node:crypto';

const UID_RE = /^(0|[1-9]\d*)(\.(0|[1-9]\d*))+$/;

export function isValidUid(uid: string): boolean {
  return uid.length > 0 && uid.length <= 64 && UID_RE.test(uid);
}

/** A new UID: root + "." + a UUID as decimal (PS3.5 B.2 for the 2.25 root), cut to the 64-character limit. */
export function mintUid(root: string): string {
  const decimal = BigInt('0x' + randomUUID().replace(/-/g, '')).toString();
  return root === '2.25' ? `2.25.${decimal}` : `${root}.${decimal}`.slice(0, 64).replace(/\.0+(\d)/g, '.$1');
}
