// The benchmark scripts' pure helpers: percentiles and rewriting one section of docs/benchmarks.md. No timing here:
// speed is measured by `npm run bench:infer` and `npm run bench:ingest`, never asserted by a test.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { KEPT_END, KEPT_START, replaceSection } from '../bench/docs-section.js';
import { percentile, summarise } from '../bench/stats.js';
import { PROJECT_ROOT } from '../src/project-root.js';

describe('percentile', () => {
  it('interpolates between order statistics like numpy', () => {
    expect(percentile([3, 1, 2], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentile([10, 20, 30, 40, 50], 95)).toBeCloseTo(48);
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([5, 1], 0)).toBe(1);
    expect(percentile([5, 1], 100)).toBe(5);
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });

  it('summarises runs of a batch: per-run percentiles and images per second over the total time', () => {
    const t = summarise([100, 300], 8);
    expect(t).toEqual({ n: 2, p50: 200, p95: 290, imagesPerSecond: 40 });
  });
});

describe('replaceSection', () => {
  const doc = [
    '# Benchmarks', '',
    '## Ingest: OphGate beside Orthanc', '', 'ingest figures', '```', '## not a heading (in a fence)', '```', '',
    KEPT_START, '## History (hand-written)', 'notes', KEPT_END, '',
    '## Inference: old', '', 'old figures', '',
    '## Other', '', 'other text', '',
  ].join('\n');

  it('replaces only its own section and keeps the title, other sections and kept notes byte for byte', () => {
    const out = replaceSection(doc, 'Inference', '## Inference: new\n\nnew figures\n');
    expect(out).toBe(doc.replace('## Inference: old\n\nold figures\n', '## Inference: new\n\nnew figures\n'));
    const ingest = replaceSection(doc, 'Ingest', '## Ingest: OphGate beside Orthanc\n\nnew ingest\n');
    // The fenced line did not end the section: it went with the old section's text.
    expect(ingest).not.toContain('ingest figures');
    expect(ingest).not.toContain('not a heading');
    expect(ingest).toMatch(/^# Benchmarks\n\n## Ingest: OphGate beside Orthanc\n\nnew ingest\n\n<!-- kept-notes:start -->/);
    expect(ingest.slice(ingest.indexOf(KEPT_START))).toBe(doc.slice(doc.indexOf(KEPT_START)));
  });

  it('adds a missing section at the end, and matches the heading as a whole word', () => {
    const out = replaceSection('# Benchmarks\n\n## Inferences\n\nkeep\n', 'Inference', '## Inference\n\nx');
    expect(out).toBe('# Benchmarks\n\n## Inferences\n\nkeep\n\n## Inference\n\nx\n');
  });

  it('gives back docs/benchmarks.md unchanged when a section is rewritten with its own text (ingest output unchanged)', () => {
    const file = readFileSync(path.join(PROJECT_ROOT, 'docs', 'benchmarks.md'), 'utf8');
    for (const heading of ['Ingest', 'Inference']) {
      const start = file.indexOf(`## ${heading}`);
      if (start < 0) continue;
      const rest = file.slice(start + 3);
      const ends = [rest.search(/^## /m), rest.indexOf(KEPT_START)].filter((i) => i >= 0);
      const section = file.slice(start, ends.length ? start + 3 + Math.min(...ends) : undefined);
      expect(replaceSection(file, heading, section)).toBe(file);
    }
  });
});
