// The fixed data splits of models/train/splits/ (written by models/train/splits.py): no photograph on two sides of a
// split, no test photograph of either IDRiD model in the training or validation data of either model, duplicates
// handled as SPLITS.md says, ODIR split by patient, counts adding up to the datasets. When ../shared/data is present,
// every path resolves and rerunning splits.py reproduces the committed files byte for byte.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseCsvRows } from '../src/inference/evaluation/records.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SPLITS_DIR = path.join(REPO, 'models', 'train', 'splits');
const SCRIPT = path.join(REPO, 'models', 'train', 'splits.py');
const DATA = path.resolve(REPO, '..', 'shared', 'data');
const PYTHON = '/usr/bin/python3';
const COMMAND = '/usr/bin/python3 models/train/splits.py --data ../shared/data --out models/train/splits';

type Row = Record<string, string>;

function readTable(name: string): { header: string[]; rows: Row[] } {
  const [header, ...body] = parseCsvRows(readFileSync(path.join(SPLITS_DIR, name), 'utf8'));
  if (!header) throw new Error(`${name} is empty`);
  const rows = body.map((cells, i) => {
    if (cells.length !== header.length) throw new Error(`${name} line ${i + 2}: ${cells.length} fields, header has ${header.length}`);
    return Object.fromEntries(header.map((h, j) => [h, cells[j] ?? '']));
  });
  return { header, rows };
}

const grading = readTable('idrid_grading.csv');
const seg = readTable('idrid_segmentation.csv');
const odir = readTable('odir.csv');
const drishti = readTable('drishti.csv');

const LESIONS = ['MA', 'HE', 'EX', 'SE', 'OD'] as const;
const ODIR_LABELS = ['N', 'D', 'G', 'C', 'A', 'H', 'M', 'O'] as const;
const USED = new Set(['train', 'val', 'test']);

/** 'idrid/grading/images_quarter/train/IDRiD_073.jpg' -> 'G-train-073'; segmentation -> 'S-test-62'. */
function member(image: string): string {
  const m = /^idrid\/(grading|segmentation)\/.*\/(train|test)\/IDRiD_(\d+)\.jpg$/.exec(image);
  if (!m) throw new Error(`not an IDRiD image path: ${image}`);
  return `${m[1] === 'grading' ? 'G' : 'S'}-${m[2]}-${m[3]}`;
}

// The README's duplicate list, restated here so that the test does not trust the script's copy of it.
const DUPLICATES: [string, string][] = [
  ['G-train-118', 'G-test-064'],
  ['G-train-021', 'G-train-391'],
  ['G-train-028', 'G-train-327'],
  ['G-train-045', 'G-train-333'],
  ['G-train-073', 'G-train-375'],
  ['G-train-079', 'G-train-279'],
];
// The documented exclusions (SPLITS.md): both copies of each conflicting pair, the second copy of each consistent one.
const EXCLUDED_GRADING = ['G-test-064', 'G-train-118', 'G-train-021', 'G-train-391', 'G-train-028', 'G-train-327',
  'G-train-045', 'G-train-333', 'G-train-375', 'G-train-279'].sort();
const ODIR_DUPLICATE_PATIENTS = [['352', '973'], ['2487', '3185'], ['398', '668']];

const idridRows = [...grading.rows, ...seg.rows];
const byMember = new Map(idridRows.map((r) => [member(r.image!), r]));

/** Connected components of the photograph relation, built without the split column. */
function components(pairs: [string, string][]): Map<string, string> {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== undefined && parent.get(r) !== r) r = parent.get(r)!;
    return r;
  };
  for (const k of byMember.keys()) parent.set(k, k);
  for (const [a, b] of pairs) {
    if (!parent.has(a) || !parent.has(b)) throw new Error(`pair names an unknown image: ${a} ${b}`);
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent.set(ra < rb ? rb : ra, ra < rb ? ra : rb);
  }
  return new Map([...byMember.keys()].map((k) => [k, find(k)]));
}

function overlapPairs(): [string, string][] | null {
  const file = path.join(DATA, 'idrid', 'seg_grading_overlap.csv');
  if (!existsSync(file)) return null;
  const [, ...body] = parseCsvRows(readFileSync(file, 'utf8'));
  return body.map(([s, g]) => [
    member(`idrid/segmentation/quarter/images/${s}.jpg`),
    member(`idrid/grading/images_quarter/${g}.jpg`),
  ]);
}

const haveData = existsSync(DATA);
if (!haveData) console.warn(`[test] ${DATA} is absent: split checks against the data and the regeneration check are skipped`);

describe('IDRiD splits (grading and segmentation together)', () => {
  it('have the documented columns, split values and dataset sizes', () => {
    expect(grading.header).toEqual(['image', 'dr_grade', 'dme_risk', 'split', 'official_split', 'identity', 'notes']);
    expect(seg.header).toEqual(['image', ...LESIONS.map((l) => `mask_${l}`), 'split', 'official_split', 'identity', 'notes']);
    for (const r of idridRows) expect(['train', 'val', 'test', 'excluded']).toContain(r.split);
    const count = (rows: Row[], key: string) => rows.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r[key]!]: (acc[r[key]!] ?? 0) + 1 }), {});
    expect(count(grading.rows, 'official_split')).toEqual({ train: 413, test: 103 });
    expect(count(seg.rows, 'official_split')).toEqual({ train: 54, test: 27 });
    expect(new Set(idridRows.map((r) => r.image)).size).toBe(516 + 81);
    for (const r of grading.rows) {
      expect(r.official_split).toBe(member(r.image!).split('-')[1]);
      expect(['0', '1', '2', '3', '4']).toContain(r.dr_grade);
      expect(['0', '1', '2']).toContain(r.dme_risk);
    }
  });

  it('counts add up: every image is train, val, test or one of the documented exclusions', () => {
    const excluded = grading.rows.filter((r) => r.split === 'excluded').map((r) => member(r.image!)).sort();
    expect(excluded).toEqual(EXCLUDED_GRADING);
    const used = grading.rows.filter((r) => USED.has(r.split!));
    expect(used.length).toBe(516 - EXCLUDED_GRADING.length);
    expect(seg.rows.filter((r) => r.split === 'excluded')).toEqual([]);
    for (const rows of [grading.rows, seg.rows]) {
      for (const s of ['train', 'val', 'test']) expect(rows.filter((r) => r.split === s).length).toBeGreaterThan(0);
    }
  });

  it('identity column: each row names itself, and every identity names the same members wherever it appears', () => {
    const membersOf = new Map<string, string[]>();
    for (const r of idridRows) {
      const members = r.identity!.split('+');
      expect(members).toContain(member(r.image!));
      expect([...members].sort()).toEqual(members);
      for (const m of members) {
        expect(byMember.has(m)).toBe(true);
        expect(byMember.get(m)!.identity).toBe(r.identity);
      }
      membersOf.set(r.identity!, members);
    }
    const all = [...membersOf.values()].flat();
    expect(new Set(all).size).toBe(all.length);
    expect(all.length).toBe(516 + 81);
  });

  it('no identity in two splits, across both sets', () => {
    const splitsOf = new Map<string, Set<string>>();
    for (const r of idridRows) {
      if (r.split === 'excluded') continue;
      const s = splitsOf.get(r.identity!) ?? new Set<string>();
      s.add(r.split!);
      splitsOf.set(r.identity!, s);
    }
    const mixed = [...splitsOf].filter(([, s]) => s.size > 1).map(([id, s]) => `${id}: ${[...s].join('/')}`);
    expect(mixed).toEqual([]);
  });

  it('no test image of either model is in any training or validation split of either model', () => {
    // The photograph relation from the duplicate list and (with the data) the overlap list, else the identity column.
    const pairs: [string, string][] = [...DUPLICATES];
    const overlap = overlapPairs();
    if (overlap) {
      expect(overlap.length).toBe(60);
      pairs.push(...overlap);
    }
    for (const r of idridRows) {
      const [first, ...rest] = r.identity!.split('+');
      for (const m of rest) pairs.push([first!, m]);
    }
    const comp = components(pairs);
    const testComponents = new Set<string>();
    for (const r of idridRows) if (r.official_split === 'test' || r.split === 'test') testComponents.add(comp.get(member(r.image!))!);
    const leaks = idridRows
      .filter((r) => (r.split === 'train' || r.split === 'val') && testComponents.has(comp.get(member(r.image!))!))
      .map((r) => r.image);
    expect(leaks).toEqual([]);
    // Components are exactly the identities.
    for (const r of idridRows) {
      const same = [...comp].filter(([, root]) => root === comp.get(member(r.image!))).map(([m]) => m).sort();
      expect(same.join('+')).toBe(r.identity);
    }
  });

  it('keeps the official test sets as test', () => {
    const notTest = idridRows.filter((r) => r.official_split === 'test' && r.split !== 'test' && r.split !== 'excluded');
    expect(notTest.map((r) => r.image)).toEqual([]);
    expect(grading.rows.filter((r) => r.official_split === 'test' && r.split === 'test').length).toBe(102);
    expect(seg.rows.filter((r) => r.official_split === 'test' && r.split === 'test').length).toBe(27);
  });

  it('duplicates: conflicting labels exclude both copies; equal labels keep exactly one', () => {
    for (const [a, b] of DUPLICATES) {
      const ra = byMember.get(a)!;
      const rb = byMember.get(b)!;
      expect(ra.identity).toBe(rb.identity);
      const conflict = ra.dr_grade !== rb.dr_grade || ra.dme_risk !== rb.dme_risk;
      if (conflict) {
        expect([ra.split, rb.split]).toEqual(['excluded', 'excluded']);
        expect(ra.notes).toMatch(/labels differ/);
      } else {
        expect([ra.split, rb.split].filter((s) => s === 'excluded').length).toBe(1);
      }
    }
    // The conflicts the README names: 118/064, 021/391, 028/327, 045/333.
    const conflicting = DUPLICATES.filter(([a, b]) => {
      const ra = byMember.get(a)!;
      const rb = byMember.get(b)!;
      return ra.dr_grade !== rb.dr_grade || ra.dme_risk !== rb.dme_risk;
    });
    expect(conflicting.map(([a]) => a)).toEqual(['G-train-118', 'G-train-021', 'G-train-028', 'G-train-045']);
  });

  it('segmentation masks: paths follow the image, SE absent where the release has none', () => {
    for (const r of seg.rows) {
      const [, split, num] = member(r.image!).split('-');
      for (const l of LESIONS) {
        const p = r[`mask_${l}`]!;
        if (p) expect(p).toBe(`idrid/segmentation/quarter/masks/${split}/${l}/IDRiD_${num}_${l}.png`);
      }
    }
    const present = (l: string, s: string) => seg.rows.filter((r) => r.official_split === s && r[`mask_${l}`]).length;
    expect([present('MA', 'train'), present('MA', 'test')]).toEqual([54, 27]);
    expect([present('HE', 'train'), present('HE', 'test')]).toEqual([53, 27]);
    expect([present('SE', 'train'), present('SE', 'test')]).toEqual([26, 14]);
    expect(seg.rows.filter((r) => r.split === 'val' && r.mask_SE).length).toBeGreaterThan(0);
  });

  it('grading validation is about 15% of the training pool for each DR grade', () => {
    for (const g of ['0', '1', '2', '3', '4']) {
      const pool = grading.rows.filter((r) => r.dr_grade === g && (r.split === 'train' || r.split === 'val'));
      const val = pool.filter((r) => r.split === 'val').length;
      expect(Math.abs(val - 0.15 * pool.length)).toBeLessThanOrEqual(1.5);
    }
  });
});

describe('ODIR-5K split', () => {
  it('covers all 6392 eyes of 3358 patients, 80/10/10, nothing excluded', () => {
    expect(odir.header).toEqual(['image', 'patient_id', 'eye', ...ODIR_LABELS, 'dr_grade_from_keywords', 'quality_flag',
      'split', 'patient_group', 'notes']);
    expect(odir.rows.length).toBe(6392);
    expect(new Set(odir.rows.map((r) => r.image)).size).toBe(6392);
    expect(new Set(odir.rows.map((r) => r.patient_id)).size).toBe(3358);
    for (const r of odir.rows) {
      expect(USED.has(r.split!)).toBe(true);
      expect(r.image).toBe(`odir5k/images_256/${r.patient_id}_${r.eye}.jpg`);
    }
    for (const [s, f] of [['train', 0.8], ['val', 0.1], ['test', 0.1]] as const) {
      expect(Math.abs(odir.rows.filter((r) => r.split === s).length / 6392 - f)).toBeLessThan(0.01);
    }
  });

  it('never puts one patient, or one patient group of near-identical photographs, in two splits', () => {
    const splitOf = new Map<string, Set<string>>();
    for (const r of odir.rows) {
      for (const key of [`p:${r.patient_id}`, `g:${r.patient_group}`]) {
        const s = splitOf.get(key) ?? new Set<string>();
        s.add(r.split!);
        splitOf.set(key, s);
      }
      expect(r.patient_group!.split('+')).toContain(r.patient_id);
    }
    expect([...splitOf].filter(([, s]) => s.size > 1).map(([k]) => k)).toEqual([]);
    for (const group of ODIR_DUPLICATE_PATIENTS) {
      const rows = odir.rows.filter((r) => group.includes(r.patient_id!));
      expect(new Set(rows.map((r) => r.patient_group))).toEqual(new Set([group.join('+')]));
    }
  });

  it('is stratified: each label within 1.5 points of 80/10/10', () => {
    for (const l of ODIR_LABELS) {
      const pos = odir.rows.filter((r) => r[l] === '1');
      for (const [s, f] of [['train', 0.8], ['val', 0.1], ['test', 0.1]] as const) {
        expect(Math.abs(pos.filter((r) => r.split === s).length / pos.length - f)).toBeLessThan(0.015);
      }
    }
  });
});

describe('Drishti-GS1 split', () => {
  it('keeps the official 50/51 and carves validation from train', () => {
    expect(drishti.header).toEqual(['image', 'disc_softmap', 'cup_softmap', 'diagnosis', 'split', 'official_split']);
    expect(drishti.rows.length).toBe(101);
    expect(drishti.rows.filter((r) => r.official_split === 'train').length).toBe(50);
    expect(drishti.rows.filter((r) => r.official_split === 'test').every((r) => r.split === 'test')).toBe(true);
    expect(drishti.rows.filter((r) => r.split === 'test').length).toBe(51);
    const val = drishti.rows.filter((r) => r.split === 'val');
    expect(val.every((r) => r.official_split === 'train')).toBe(true);
    expect(val.length).toBeGreaterThanOrEqual(5);
    expect(val.length).toBeLessThanOrEqual(10);
    expect(new Set(val.map((r) => r.diagnosis))).toEqual(new Set(['N', 'G']));
  });
});

describe('SPLITS.md', () => {
  const md = readFileSync(path.join(SPLITS_DIR, 'SPLITS.md'), 'utf8');
  it('gives the regeneration command and counts that match the CSVs', () => {
    expect(md).toContain(COMMAND);
    const tableAfter = (headerStart: string): Map<string, string[]> => {
      const start = md.indexOf(headerStart);
      expect(start).toBeGreaterThanOrEqual(0);
      const lines = md.slice(start).split('\n').slice(2);
      const out = new Map<string, string[]>();
      for (const line of lines) {
        if (!line.startsWith('|')) break;
        const cells = line.split('|').slice(1, -1).map((c) => c.trim());
        out.set(cells[0]!, cells.slice(1));
      }
      return out;
    };
    const check = (headerStart: string, rows: Row[], splits: string[]) => {
      const t = tableAfter(headerStart);
      for (const s of splits) expect(t.get(s)?.[0]).toBe(String(rows.filter((r) => r.split === s).length));
      expect(t.get('all')?.[0]).toBe(String(rows.length));
    };
    check('| split | images | DR 0', grading.rows, ['train', 'val', 'test', 'excluded']);
    check('| split | images | with MA', seg.rows, ['train', 'val', 'test']);
    check('| split | images | N (normal)', drishti.rows, ['train', 'val', 'test']);
    const t = tableAfter('| split | patients | eyes');
    for (const s of ['train', 'val', 'test']) {
      const rows = odir.rows.filter((r) => r.split === s);
      expect(t.get(s)?.slice(0, 2)).toEqual([String(new Set(rows.map((r) => r.patient_id)).size), String(rows.length)]);
    }
  });
});

describe.skipIf(!haveData)(`against ../shared/data${haveData ? '' : ' (skipped: ../shared/data is absent)'}`, () => {
  it('every path in the CSVs exists, and an empty mask column means no mask file', () => {
    const missing: string[] = [];
    const check = (p: string) => {
      if (!existsSync(path.join(DATA, p))) missing.push(p);
    };
    for (const r of grading.rows) check(r.image!);
    for (const r of seg.rows) {
      check(r.image!);
      const [, split, num] = member(r.image!).split('-');
      for (const l of LESIONS) {
        const p = r[`mask_${l}`]!;
        if (p) check(p);
        else expect(existsSync(path.join(DATA, `idrid/segmentation/quarter/masks/${split}/${l}/IDRiD_${num}_${l}.png`))).toBe(false);
      }
    }
    for (const r of odir.rows) check(r.image!);
    for (const r of drishti.rows) for (const k of ['image', 'disc_softmap', 'cup_softmap']) check(r[k]!);
    expect(missing).toEqual([]);
  });

  // splits.py needs only the Python standard library (no numpy or PIL), so only the interpreter is probed.
  const python = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import csv, hashlib, argparse'], { encoding: 'utf8' }).status === 0;
  if (!python) console.warn(`[test] ${PYTHON} is missing or broken: the splits.py regeneration check is skipped`);
  it.skipIf(!python)(`splits.py reproduces the committed files byte for byte${python ? '' : ` (skipped: no usable ${PYTHON})`}`, () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'ophgate-splits-'));
    try {
      const run = spawnSync(PYTHON, [SCRIPT, '--data', DATA, '--out', out], { cwd: REPO, encoding: 'utf8', timeout: 120_000 });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      const committed = readdirSync(SPLITS_DIR).sort();
      expect(readdirSync(out).sort()).toEqual(committed);
      for (const f of committed) {
        expect(readFileSync(path.join(out, f)).equals(readFileSync(path.join(SPLITS_DIR, f))), `${f} differs`).toBe(true);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
