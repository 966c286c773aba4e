// Prints the table of docs/conformance.md section 2.2: what OphGate answers for each third-party broken file in
// ../shared/interop/malformed, through the same header gate as every protocol and the pipeline's decoder.
// test/malformed-docs.test.ts checks that the table in the docs still matches what the code does.
import { readdirSync, statSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { readInstanceHeader, DicomRejection } from '../src/dicom/part10-header.js';
import { statusOf } from '../src/ingest/status-codes.js';
import { decodeFile } from '../src/dicom/pixels/index.js';
import { PROJECT_ROOT } from '../src/project-root.js';

export interface MalformedRow { file: string; outcome: string; status: string; message: string }

const hex = (n: number) => n.toString(16).toUpperCase().padStart(4, '0');

export async function malformedRows(dir = path.resolve(PROJECT_ROOT, '..', 'shared', 'interop', 'malformed')): Promise<MalformedRow[]> {
  const rows: MalformedRow[] = [];
  for (const file of readdirSync(dir).sort()) {
    const p = path.join(dir, file);
    try {
      await readInstanceHeader(p, statSync(p).size);
      let decode = 'decodes';
      try {
        const frames = await decodeFile(readFileSync(p));
        decode = `decodes (${frames.length} frame${frames.length === 1 ? '' : 's'})`;
      } catch (err) {
        decode = `decode stage fails the job: ${(err as Error).message}`;
      }
      rows.push({ file, outcome: 'stored', status: '0000', message: decode });
    } catch (err) {
      const r = err instanceof DicomRejection ? err : new DicomRejection('unreadable', (err as Error).message);
      rows.push({ file, outcome: `rejected (${r.code})`, status: hex(statusOf({ status: 'rejected', code: r.code, reason: r.message })), message: r.message });
    }
  }
  return rows;
}

export function toMarkdown(rows: MalformedRow[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  return ['| file | outcome | status | message |', '|---|---|---|---|', ...rows.map((r) => `| ${esc(r.file)} | ${r.outcome} | ${r.status} | ${esc(r.message)} |`)].join('\n');
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  const dir = process.argv[2];
  console.log(toMarkdown(await malformedRows(dir ? path.resolve(dir) : undefined)));
}
