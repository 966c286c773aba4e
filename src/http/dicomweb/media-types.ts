// Accept header negotiation for the DICOMweb services (PS3.18 8.7: media types and their parameters).
// A small RFC 9110 parser: comma-separated media ranges with ;-parameters (quoted values may hold ; and ,), each
// with its q-value. The services pick the first range, highest q first, that they can honour.
import type { Request } from 'express';

export interface MediaRange {
  type: string;          // lower case, may be '*'
  subtype: string;       // lower case, may be '*'
  params: Record<string, string>; // names lower case; values unquoted, case kept
  q: number;
}

/** Splits on `sep` outside double quotes. */
function splitOutsideQuotes(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '"' ) quoted = !quoted;
    if (c === '\\' && quoted && i + 1 < s.length) {
      cur += c + s[i + 1]!;
      i++;
      continue;
    }
    if (c === sep && !quoted) {
      out.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  out.push(cur);
  return out;
}

function unquote(v: string): string {
  const t = v.trim();
  if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) return t.slice(1, -1).replace(/\\(.)/g, '$1');
  return t;
}

/** Parses an Accept header; malformed ranges are skipped. Ranges come back sorted by q, highest first (stable). */
export function parseAccept(header: string | undefined): MediaRange[] {
  if (header === undefined || header.trim() === '') return [];
  const ranges: MediaRange[] = [];
  for (const raw of splitOutsideQuotes(header, ',')) {
    const [typePart, ...paramParts] = splitOutsideQuotes(raw, ';');
    const m = /^\s*([!#$%&'*+.^_`|~0-9a-z-]+)\/([!#$%&'*+.^_`|~0-9a-z-]+)\s*$/i.exec(typePart ?? '');
    if (!m) continue;
    const params: Record<string, string> = {};
    let q = 1;
    for (const p of paramParts) {
      const eq = p.indexOf('=');
      if (eq < 0) continue;
      const name = p.slice(0, eq).trim().toLowerCase();
      const value = unquote(p.slice(eq + 1));
      if (name === 'q') {
        const n = Number(value);
        q = Number.isFinite(n) ? Math.min(1, Math.max(0, n)) : 1;
      } else {
        params[name] = value;
      }
    }
    ranges.push({ type: m[1]!.toLowerCase(), subtype: m[2]!.toLowerCase(), params, q });
  }
  return ranges.map((r, i) => ({ r, i })).sort((a, b) => b.r.q - a.r.q || a.i - b.i).map((x) => x.r).filter((r) => r.q > 0);
}

/** The Accept value to negotiate with: the `accept` query parameter (PS3.18 8.3.3.1) wins over the header. */
export function acceptOf(req: Request): string | undefined {
  const q = req.query.accept;
  if (typeof q === 'string' && q.trim() !== '') return q;
  if (Array.isArray(q) && q.length > 0) return q.map(String).join(',');
  return req.get('accept');
}

/** True when the range covers type/subtype (wildcards in the range allowed). */
export function covers(range: MediaRange, type: string, subtype: string): boolean {
  return (range.type === '*' || range.type === type) && (range.subtype === '*' || range.subtype === subtype);
}

/** Formats a media type with parameters (values quoted when they need it). */
export function formatMediaType(type: string, params: Record<string, string> = {}): string {
  const parts = [type];
  for (const [k, v] of Object.entries(params)) parts.push(`${k}=${/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(v) ? v : `"${v.replace(/(["\\])/g, '\\$1')}"`}`);
  return parts.join('; ');
}
