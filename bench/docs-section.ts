// docs/benchmarks.md holds one `## ` section per benchmark script; each script rewrites only its own section and
// leaves the rest of the file as it is: the title, the other benchmarks' sections and the hand-written blocks
// between `<!-- kept-notes:start -->` and `<!-- kept-notes:end -->`.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const KEPT_START = '<!-- kept-notes:start -->';
export const KEPT_END = '<!-- kept-notes:end -->';
const TITLE = '# Benchmarks\n';

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * `doc` with the section whose heading starts with `## ${heading}` replaced by `section` (which starts with its own
 * `## ` heading). A section runs from its heading to the next `## ` heading, the next kept-notes block or the end
 * (headings inside ``` fences do not count); kept-notes blocks are never part of a section. A section that is not
 * there yet is added at the end. Everything outside the replaced range is kept byte for byte.
 */
export function replaceSection(doc: string, heading: string, section: string): string {
  const head = new RegExp(`^## ${escape(heading)}(?![\\w-])`);
  const lines = doc.split('\n');
  const offsets: number[] = [];
  let at = 0;
  for (const line of lines) { offsets.push(at); at += line.length + 1; }
  let start = -1;
  let end = doc.length;
  let fenced = false;
  let kept = false;
  for (const [i, line] of lines.entries()) {
    if (line.startsWith(KEPT_START)) { kept = true; if (start >= 0) { end = offsets[i]!; break; } continue; }
    if (line.startsWith(KEPT_END)) { kept = false; continue; }
    if (kept) continue;
    if (line.startsWith('```')) fenced = !fenced;
    if (fenced || !line.startsWith('## ')) continue;
    if (start >= 0) { end = offsets[i]!; break; }
    if (head.test(line)) start = offsets[i]!;
  }
  const body = section.replace(/\s+$/, '');
  if (start < 0) {
    const before = doc.replace(/\s+$/, '');
    return `${before ? `${before}\n\n` : ''}${body}\n`;
  }
  const after = doc.slice(end);
  return `${doc.slice(0, start)}${body}\n${after ? '\n' : ''}${after}`;
}

/** Rewrites one section of the benchmarks file (created with its title when absent). */
export function writeDocSection(file: string, heading: string, section: string): void {
  const old = existsSync(file) ? readFileSync(file, 'utf8') : TITLE;
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, replaceSection(old, heading, section));
}
