// Searches gateway logs for the fixtures' patient names and IDs (read from the fixture files themselves).
import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import dicomParser from 'dicom-parser';
import { FIXTURES_DIR } from '../helpers/paths.js';

function fixtureFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? fixtureFiles(p) : p.endsWith('.dcm') ? [p] : [];
  });
}

export function fixturePhi(): string[] {
  const values = new Set<string>();
  for (const f of fixtureFiles(FIXTURES_DIR)) {
    try {
      const ds = dicomParser.parseDicom(new Uint8Array(readFileSync(f)), { untilTag: 'x7fe00010' } as dicomParser.ParseDicomOptions);
      for (const tag of ['x00100010', 'x00100020', 'x00080050']) {
        const v = ds.string(tag)?.trim();
        if (v && v.length >= 4) {
          values.add(v);
          // A name may be logged with its components joined differently; the full name in any spacing counts.
          if (v.includes('^')) values.add(v.split('^').filter(Boolean).join(' '));
        }
      }
    } catch {
      // malformed fixtures carry no new names
    }
  }
  return [...values];
}

export function findPhiInLogs(logDir: string): string[] {
  const phi = fixturePhi();
  const hits: string[] = [];
  if (!existsSync(logDir)) return hits;
  for (const f of readdirSync(logDir)) {
    const text = readFileSync(path.join(logDir, f), 'utf8');
    for (const v of phi) if (text.includes(v)) hits.push(`${f}: contains "${v}"`);
  }
  return hits;
}
