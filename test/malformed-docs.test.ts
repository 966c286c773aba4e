// docs/conformance.md section 2.2 lists what every broken file gets; this keeps that table true.
import { describe, it, expect } from 'vitest';
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { malformedRows, toMarkdown } from '../scripts/malformed-table.js';
import { PROJECT_ROOT } from '../src/project-root.js';
import { SHARED_DIR, FIXTURES_DIR } from './helpers/paths.js';

const doc = readFileSync(path.join(PROJECT_ROOT, 'docs', 'conformance.md'), 'utf8');
function section(name: string): string {
  const m = doc.match(new RegExp(`<!-- malformed-table:${name}:start -->\\n([\\s\\S]*?)\\n<!-- malformed-table:${name}:end -->`));
  if (!m) throw new Error(`docs/conformance.md lacks the ${name} malformed table`);
  return m[1]!.trim();
}

describe('docs/conformance.md lists what each broken file gets', () => {
  const interop = path.join(SHARED_DIR, 'interop', 'malformed');
  it.skipIf(!existsSync(interop))('for every file of ../shared/interop/malformed (skipped when ../shared is absent)', async () => {
    const rows = await malformedRows(interop);
    expect(rows.length).toBeGreaterThan(30);
    for (const r of rows.filter((x) => x.outcome !== 'stored')) expect(r.message.length).toBeGreaterThan(20);
    expect(section('interop')).toBe(toMarkdown(rows));
  });

  it('for every file of fixtures/malformed, each rejected with its own reason', async () => {
    const rows = await malformedRows(path.join(FIXTURES_DIR, 'malformed'));
    expect(rows.map((r) => r.outcome)).toEqual([
      'rejected (bad-length)', 'rejected (missing-attribute)', 'rejected (no-file-meta)', 'rejected (not-dicom)', 'rejected (truncated)',
    ]);
    expect(section('fixtures')).toBe(toMarkdown(rows));
  });
});
