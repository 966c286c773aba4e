// The evaluation behind `npm run eval` (src/inference/evaluation/, scripts/eval-models.ts) against the training
// recipe's own definitions: every metric function on the same random inputs as models/train/metrics.py (AUC with
// ties, average precision, pixel AUPR from histograms, kappa, sensitivity / specificity, Dice / IoU, Pearson r,
// vertical CDR), the source-resolution probability map against data.py model_to_source, the records against
// data.py classifier_records / segmenter_records and build_cache's --limit rule, and the reference masks against
// load_source_mask (that one needs ../shared/data and is skipped without it). The comparison with a model card and
// the script's exit codes are checked on small made-up inputs. The eval's DICOM check (dicom-check.ts) wraps IDRiD
// test images as OP and runs the shipped models and the results stage's SEG / SR code on them (needs ../shared/data
// and dicom3tools; skipped without).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/project-root.js';
import {
  PIXEL_BINS, addPixelHistograms, auprFromHistograms, averagePrecision, diceIou, pearson, quadraticKappa, rocAuc, sensSpec,
  verticalCdr,
} from '../../src/inference/evaluation/metrics.js';
import {
  SEG_CHANNELS, classifierRecords, defectiveMasks, loadSourceMask, parseCsv, segmenterRecords, splitRecords,
} from '../../src/inference/evaluation/records.js';
import { compareMetrics } from '../../src/inference/evaluation/compare.js';
import { probabilityToSource, type Geometry } from '../../src/inference/preprocess.js';
import { DicomResultsCheck, missingDicomTools } from '../../src/inference/evaluation/dicom-check.js';
import { ModelRegistry, type Inference } from '../../src/inference/model-registry.js';
import { readInstanceHeader } from '../../src/dicom/part10-header.js';
import { FIXTURES_DIR, SHARED_DIR } from '../helpers/paths.js';
import { lcg } from './helpers.js';

const PYTHON = '/usr/bin/python3';
const TRAIN_DIR = path.join(PROJECT_ROOT, 'models', 'train');
const DATA = path.join(SHARED_DIR, 'data');
const haveData = existsSync(DATA);
const python = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import numpy, PIL'], { encoding: 'utf8', timeout: 60_000 }).status === 0;
if (!python) console.warn(`[test] ${PYTHON} cannot import numpy and PIL: the comparisons with models/train/metrics.py and data.py are skipped`);
if (!haveData) console.warn(`[test] ${DATA} is absent: the reference-mask comparison with data.py is skipped`);

/** Runs Python with models/train on its path; `input` goes in as JSON on stdin (as IN), the script prints JSON. */
function py(script: string, input: unknown = null, nullIsNaN = true): any {
  const prelude = 'import sys, json\nsys.path.insert(0, sys.argv[1])\nimport numpy as np\nIN = json.load(sys.stdin)\n';
  const run = spawnSync(PYTHON, ['-c', prelude + script, TRAIN_DIR], {
    input: JSON.stringify(input), encoding: 'utf8', timeout: 120_000, maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
  });
  if (run.status !== 0) throw new Error(`python failed: ${run.stderr}`);
  return nullIsNaN ? JSON.parse(run.stdout, (_k, v) => (v === null ? NaN : v)) : JSON.parse(run.stdout);
}

/** JSON with NaN as null, as the Python side prints it. */
const NAN_JSON = 'def out(o):\n  print(json.dumps(o, default=float).replace("NaN", "null"))\n';

function close(a: number, b: number, digits = 12): void {
  if (Number.isNaN(b)) expect(a).toBeNaN();
  else expect(a).toBeCloseTo(b, digits);
}

// Each check starts a Python process; on the 2-core machine with a training run beside it that takes seconds.
describe.skipIf(!python)(`metrics against models/train/metrics.py${python ? '' : ' (skipped: no numpy in /usr/bin/python3)'}`, { timeout: 180_000 }, () => {
  const rnd = lcg(20261128);
  // Scores on a coarse grid, so ties are frequent; labels correlated with the scores; some degenerate cases.
  const cases = Array.from({ length: 12 }, (_, c) => {
    const n = c === 0 ? 5 : 20 + Math.floor(rnd() * 180);
    const steps = [3, 10, 100, 1e6][c % 4]!;
    const s = Array.from({ length: n }, () => Math.floor(rnd() * steps) / steps);
    const y = s.map((v) => (c === 1 ? 1 : c === 2 ? 0 : rnd() < 0.2 + 0.6 * v ? 1 : 0));
    return { y, s, thr: [0.5, 0.3, 0.05, 0.9][c % 4]! };
  });
  cases.push({ y: [0, 1, 0, 1, 1, 0], s: [0.5, 0.5, 0.5, 0.5, 0.5, 0.5], thr: 0.5 }); // all tied

  it('ROC AUC (ties count half), average precision, sensitivity and specificity', () => {
    const ref = py(NAN_JSON + 'import metrics as MT\nout([[MT.roc_auc(c["y"], c["s"]), MT.average_precision(c["y"], c["s"]), *MT.sens_spec(c["y"], c["s"], c["thr"])] for c in IN])', cases);
    cases.forEach((c, k) => {
      close(rocAuc(c.y, c.s), ref[k][0]);
      close(averagePrecision(c.y, c.s), ref[k][1]);
      const [sens, spec] = sensSpec(c.y, c.s, c.thr);
      close(sens, ref[k][2]);
      close(spec, ref[k][3]);
    });
    expect(rocAuc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5])).toBe(0.5);
    // Average precision is the step sum, not the trapezoid: P = [1, 0.5, 2/3] at R = [1/2, 1/2, 1].
    expect(averagePrecision([1, 0, 1], [0.9, 0.8, 0.7])).toBeCloseTo(0.5 * 1 + 0.5 * (2 / 3), 12);
  });

  it('quadratic-weighted kappa', () => {
    const kc = Array.from({ length: 8 }, (_, c) => {
      const k = c % 2 ? 3 : 5;
      const n = c === 0 ? 0 : 10 + Math.floor(rnd() * 100);
      const t = Array.from({ length: n }, () => Math.floor(rnd() * k));
      const p = c === 7 ? t.map(() => 2) : t.map((v) => Math.max(0, Math.min(k - 1, v + Math.floor(rnd() * 3) - 1)));
      return { t, p, k };
    });
    const ref = py(NAN_JSON + 'import metrics as MT\nout([MT.quadratic_kappa(c["t"], c["p"], c["k"]) for c in IN])', kc);
    kc.forEach((c, k) => close(quadraticKappa(c.t, c.p, c.k), ref[k]));
  });

  it('Dice / IoU and Pearson r', () => {
    const dc = Array.from({ length: 6 }, (_, c) => {
      const n = 500;
      const a = Array.from({ length: n }, () => (c === 0 ? 0 : rnd() < 0.3 ? 1 : 0));
      const b = a.map((v) => (c === 0 ? 0 : rnd() < 0.2 ? 1 - v : v));
      const x = Array.from({ length: 30 }, () => rnd());
      const y = x.map((v) => v * (c - 2) + rnd() * 0.5);
      return { a, b, x, y };
    });
    const ref = py(NAN_JSON + 'import metrics as MT\nout([[*MT.dice_iou(np.array(c["a"]), np.array(c["b"])), float(np.corrcoef(c["x"], c["y"])[0, 1])] for c in IN])', dc);
    dc.forEach((c, k) => {
      const [d, j] = diceIou(c.a, c.b);
      close(d, ref[k][0]);
      close(j, ref[k][1]);
      close(pearson(c.x, c.y), ref[k][2]);
    });
  });

  it('pixel AUPR from 1000-bin histograms of float32 maps (bin edges, 1.0 in the last bin)', () => {
    const maps = Array.from({ length: 4 }, (_, c) => {
      const n = 4000;
      const prob = new Float32Array(n);
      for (let k = 0; k < n; k++) {
        const r = rnd();
        // exact bin edges, values that float32 rounds onto an edge, 0 and 1, and plain random values
        prob[k] = r < 0.1 ? Math.floor(rnd() * 1001) / 1000 : r < 0.15 ? 0.001 * Math.floor(rnd() * 1000) + 1e-9 : r < 0.2 ? (rnd() < 0.5 ? 0 : 1) : rnd() ** (c + 1);
      }
      const truth = Array.from(prob, (p) => (rnd() < 0.05 + 0.5 * p ? 1 : 0));
      return { prob: Array.from(prob), truth };
    });
    const ref = py(NAN_JSON + 'import metrics as MT\n'
      + 'res = []\npos = np.zeros(MT.PIXEL_BINS); neg = np.zeros(MT.PIXEL_BINS)\n'
      + 'for c in IN:\n  p, n = MT.pixel_histograms(np.array(c["prob"], dtype=np.float32), np.array(c["truth"]) > 0)\n'
      + '  pos += p; neg += n\n  res.append([MT.aupr_from_histograms(p, n), p.tolist(), n.tolist()])\n'
      + 'res.append([MT.aupr_from_histograms(pos, neg), pos.tolist(), neg.tolist()])\nout(res)', maps);
    const pooledPos = new Float64Array(PIXEL_BINS);
    const pooledNeg = new Float64Array(PIXEL_BINS);
    maps.forEach((m, k) => {
      const pos = new Float64Array(PIXEL_BINS);
      const neg = new Float64Array(PIXEL_BINS);
      addPixelHistograms(Float32Array.from(m.prob), m.truth, pos, neg);
      addPixelHistograms(Float32Array.from(m.prob), m.truth, pooledPos, pooledNeg);
      expect(Array.from(pos)).toEqual(ref[k][1]);
      expect(Array.from(neg)).toEqual(ref[k][2]);
      close(auprFromHistograms(pos, neg), ref[k][0]);
    });
    close(auprFromHistograms(pooledPos, pooledNeg), ref[maps.length][0]);
  });

  it('vertical cup-to-disc ratio of the largest 4-connected components', () => {
    const w = 40;
    const h = 30;
    const blobs = (n: number, r: number) => {
      const m = new Array<number>(w * h).fill(0);
      for (let b = 0; b < n; b++) {
        const cx = rnd() * w;
        const cy = rnd() * h;
        const rr = 1 + rnd() * r;
        for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if ((x - cx) ** 2 + (y - cy) ** 2 <= rr * rr) m[y * w + x] = 1;
      }
      return m;
    };
    const cc = Array.from({ length: 10 }, (_, c) => ({ disc: c === 0 ? new Array<number>(w * h).fill(0) : blobs(1 + (c % 3), 9), cup: c === 1 ? new Array<number>(w * h).fill(0) : blobs(1 + (c % 4), 5) }));
    // two equal components: the first in raster order wins
    const tie = new Array<number>(w * h).fill(0);
    for (let y = 2; y < 6; y++) for (let x = 2; x < 6; x++) tie[y * w + x] = 1;
    for (let y = 10; y < 12; y++) for (let x = 20; x < 28; x++) tie[y * w + x] = 1;
    cc.push({ disc: tie, cup: tie.map((v, k) => (v && Math.floor(k / w) < 4 ? 1 : 0)) });
    const ref = py(NAN_JSON + 'import metrics as MT\nout([MT.vertical_cdr(np.array(c["disc"]).reshape(30, 40) > 0, np.array(c["cup"]).reshape(30, 40) > 0) for c in IN])', cc);
    cc.forEach((c, k) => close(verticalCdr(c.disc, c.cup, w, h), ref[k]));
  });

  it('probabilityToSource is data.py model_to_source (float32, zero outside the box)', () => {
    const geoms: Geometry[] = [
      { sourceWidth: 107, sourceHeight: 71, box: { x0: 7, y0: 0, x1: 93, y1: 71 }, region: { left: 7, top: -7, width: 86, height: 86 } },
      { sourceWidth: 60, sourceHeight: 90, box: { x0: 0, y0: 5, x1: 60, y1: 85 }, region: { left: -10, top: 5, width: 80, height: 80 } },
      { sourceWidth: 20, sourceHeight: 20, box: { x0: 0, y0: 0, x1: 20, y1: 20 }, region: { left: 0, top: 0, width: 20, height: 20 } },
    ];
    const size = 32;
    const probs = geoms.map(() => Float32Array.from({ length: size * size }, () => rnd()));
    const ref = py('import data as D\nres = []\n'
      + 'for c in IN:\n  g = c["g"]\n  geo = D.Geometry(g["sourceWidth"], g["sourceHeight"], (g["box"]["x0"], g["box"]["y0"], g["box"]["x1"], g["box"]["y1"]), g["region"]["width"], g["region"]["left"], g["region"]["top"])\n'
      + '  p = np.array(c["p"], dtype=np.float32).reshape(32, 32)\n  res.append(D.model_to_source(p, geo).ravel().tolist())\nprint(json.dumps(res))',
    geoms.map((g, k) => ({ g, p: Array.from(probs[k]!) })));
    geoms.forEach((g, k) => expect(Array.from(probabilityToSource(probs[k]!, size, size, g))).toEqual(ref[k]));
  });
});

describe('records', { timeout: 180_000 }, () => {
  it('parses RFC 4180 CSV as Python csv does (quotes, commas and doubled quotes inside)', () => {
    expect(parseCsv('a,b,c\r\n1,"x, ""y""",\n2,z,3\n')).toEqual([{ a: '1', b: 'x, "y"', c: '' }, { a: '2', b: 'z', c: '3' }]);
  });

  it('classifier and segmenter records per split and source add up to the split CSVs', () => {
    const cls = classifierRecords();
    const seg = segmenterRecords(undefined, haveData ? DATA : path.join(os.tmpdir(), 'no-such-data'));
    for (const split of ['train', 'val', 'test']) {
      expect(splitRecords(cls, split).length).toBe(cls.filter((r) => r.split === split).length);
    }
    expect(cls.some((r) => r.split === 'excluded')).toBe(false);
    // the --limit rule of data.py build_cache: the first N of each source, sources in order of appearance
    const limited = splitRecords(cls, 'test', 3);
    expect(limited.map((r) => r.source)).toEqual(['odir', 'odir', 'odir', 'idrid', 'idrid', 'idrid']);
    expect(limited.slice(3).map((r) => r.image)).toEqual(cls.filter((r) => r.split === 'test' && r.source === 'idrid').slice(0, 3).map((r) => r.image));
    expect(splitRecords(seg, 'test', 2).map((r) => r.source)).toEqual(['idrid', 'idrid', 'drishti', 'drishti']);
  });

  it.skipIf(!python)(`equal data.py classifier_records and segmenter_records, split by split${python ? '' : ' (skipped: no numpy)'}`, () => {
    const data = haveData ? DATA : path.join(os.tmpdir(), 'no-such-data');
    const ref = py('import data as D\nfrom pathlib import Path\nfrom dataclasses import asdict\n'
      + 'def lim(recs, split, limit):\n  recs = [r for r in recs if r.split == split]\n  if not limit: return recs\n  by = {}\n'
      + '  for r in recs: by.setdefault(r.source, []).append(r)\n  return [r for rs in by.values() for r in rs[:limit]]\n'
      + 'cls = D.classifier_records(); seg = D.segmenter_records(data=Path(IN))\n'
      + 'out = {f"{s}/{l}": {"cls": [asdict(r) for r in lim(cls, s, l)], "seg": [asdict(r) for r in lim(seg, s, l)]} for s in ("train", "val", "test") for l in (None, 4)}\n'
      + 'print(json.dumps(out).replace("NaN", "null"))', data, false);
    const cls = classifierRecords();
    const seg = segmenterRecords(undefined, data);
    for (const split of ['train', 'val', 'test']) {
      for (const limit of [undefined, 4]) {
        const want = ref[`${split}/${limit ?? 'None'}`];
        const c = splitRecords(cls, split, limit).map((r) => ({
          image: r.image, source: r.source, split: r.split, group: r.group, multilabel: r.multilabel, multilabel_known: r.multilabelKnown,
          dr_grade: r.drGrade, dme_risk: r.dmeRisk, quality: r.quality, official_split: r.officialSplit,
        }));
        expect(c).toEqual(want.cls);
        const s = splitRecords(seg, split, limit).map((r) => ({
          image: r.image, source: r.source, split: r.split, group: r.group, masks: r.masks, known: r.known,
          cdr_expert: r.cdrExpert, official_split: r.officialSplit, extra: r.diagnosis === undefined ? {} : { diagnosis: r.diagnosis },
        }));
        expect(s).toEqual(want.seg.map((r: any) => ({ ...r, cdr_expert: r.cdr_expert === undefined ? null : r.cdr_expert })));
      }
    }
  });

  it.skipIf(!python || !haveData)(`reference masks at the source resolution equal data.py load_source_mask${python && haveData ? '' : ' (skipped: needs ../shared/data and numpy)'}`, async () => {
    const test = splitRecords(segmenterRecords(undefined, DATA), 'test');
    // IDRiD images with and without a soft-exudate mask file (absent lesion: all zero), and Drishti-GS1 soft maps
    const recs = [...test.filter((r) => r.source === 'idrid' && !r.masks.SE).slice(0, 1), ...test.filter((r) => r.source === 'idrid' && r.masks.SE).slice(0, 1),
      ...test.filter((r) => r.source === 'drishti').slice(0, 2)];
    expect(recs.length).toBe(4);
    const ref = py('import data as D, hashlib\nfrom pathlib import Path\nres = []\n'
      + 'for name in IN["images"]:\n  rec = next(r for r in D.segmenter_records(data=Path(IN["data"])) if r.image == name)\n  row = {}\n'
      + '  for ch in D.SEG_CHANNELS:\n    m = D.load_source_mask(Path(IN["data"]), rec, ch)\n'
      + '    if m is not None:\n      t = (np.asarray(m) > 0).astype(np.uint8)\n      row[ch] = [int(t.sum()), t.shape[1], t.shape[0], hashlib.sha1(t.tobytes()).hexdigest()]\n'
      + '  res.append(row)\nprint(json.dumps(res))', { data: DATA, images: recs.map((r) => r.image) }, false);
    const { createHash } = await import('node:crypto');
    for (const [k, rec] of recs.entries()) {
      const row: Record<string, unknown> = {};
      for (const ch of SEG_CHANNELS) {
        const m = await loadSourceMask(DATA, rec, ch);
        if (m) row[ch] = [m.data.reduce((a, b) => a + b, 0), m.width, m.height, createHash('sha1').update(m.data).digest('hex')];
      }
      expect(row).toEqual(ref[k]);
    }
  });

  it.skipIf(!haveData)(`leaves out exactly the defective reference masks (models/train/defective_masks.csv)${haveData ? '' : ' (skipped: needs ../shared/data)'}`, async () => {
    // A listed mask must really be no annotation (it covers the image, border included); every other IDRiD lesion
    // mask must cover well under a fifth of its image, so no other defect of that kind is scored.
    const defective = defectiveMasks();
    expect(defective.size).toBeGreaterThan(0);
    const all = segmenterRecords(undefined, DATA).filter((r) => r.source === 'idrid');
    for (const rec of all) {
      for (const ch of ['MA', 'HE', 'EX', 'SE', 'OD'] as const) {
        const listed = defective.has(`${rec.image}|${ch}`);
        expect(rec.known[SEG_CHANNELS.indexOf(ch)], `${rec.image} ${ch}`).toBe(listed ? 0 : 1);
        const file = rec.masks[ch];
        if (!file) continue;
        const m = await loadSourceMask(DATA, { ...rec, known: [1, 1, 1, 1, 1, 0] }, ch);
        const cover = m!.data.reduce((a, b) => a + b, 0) / m!.data.length;
        if (listed) expect(cover, `${rec.image} ${ch}`).toBeGreaterThan(0.99);
        else expect(cover, `${rec.image} ${ch}`).toBeLessThan(0.2);
      }
    }
  });
});

describe('comparison with a model card', () => {
  it('takes {value, ci95} by its value, counts exactly, confusion cells as shares, and flags metrics on one side only', () => {
    const card = {
      model: 'x', thresholds: { a: 0.5, chosen_on: 'validation' },
      data: { test: { odir_eyes: 10 } },
      test: {
        odir: {
          mean_auc: { value: 0.8, ci95: [0.7, 0.9], n_boot: 10, skipped: 0, clusters: 5, n: 10 },
          labels: { N: { positives: 3, auc: { value: null, ci95: [null, null] }, name: 'normal' } },
          grade: { confusion_rows_true_cols_pred: [[50, 1], [2, 47]] },
        },
        only_card: 0.3,
        per_image: [{ x: 1 }],
      },
    };
    const ts = {
      thresholds: { a: 0.5 }, data: { test: { odir_eyes: 10 } },
      test: { odir: { mean_auc: 0.8099, labels: { N: { positives: 4, auc: NaN } }, grade: { confusion_rows_true_cols_pred: [[49, 2], [2, 47]] } }, only_ts: 1 },
    };
    const rows = compareMetrics(card, ts, 0.01);
    const by = Object.fromEntries(rows.map((r) => [r.metric, r]));
    expect(by['thresholds.a']!.ok).toBe(true);
    expect(by['test.odir.mean_auc']).toMatchObject({ card: 0.8, ts: 0.8099, ok: true, kind: 'estimate' });
    expect(by['test.odir.labels.N.positives']).toMatchObject({ ok: false, kind: 'count', diff: 1 });
    expect(by['test.odir.labels.N.auc']!.ok).toBe(true); // NaN on both sides
    expect(by['test.odir.grade.confusion_rows_true_cols_pred[0][0]']).toMatchObject({ diff: -1, ok: true }); // 1 of 100 images
    expect(by['test.only_card']!.ok).toBe(false);
    expect(by['test.only_ts']!.ok).toBe(false);
    expect(rows.some((r) => r.metric.includes('per_image') || r.metric.includes('ci95') || r.metric.includes('chosen_on'))).toBe(false);
    expect(compareMetrics(card, { ...ts, test: { ...ts.test, odir: { ...ts.test.odir, mean_auc: 0.811 } } }, 0.01)
      .find((r) => r.metric === 'test.odir.mean_auc')!.ok).toBe(false);
  });
});

describe('npm run eval exit codes', { timeout: 300_000 }, () => {
  const script = path.join(PROJECT_ROOT, 'scripts', 'eval-models.ts');
  const tsx = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx');
  it('exits 2 with a message when the data folder is absent, 1 when a model folder is missing', () => {
    const none = spawnSync(tsx, [script, '--data', path.join(os.tmpdir(), 'no-such-ophgate-data')], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/no-such-ophgate-data is absent/);
    const data = mkdtempSync(path.join(os.tmpdir(), 'ophgate-eval-'));
    try {
      const noModel = spawnSync(tsx, [script, '--data', data, '--models-dir', data, '--model', 'classifier'], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 120_000 });
      expect(noModel.status).toBe(1);
      expect(noModel.stderr).toMatch(/fundus-classifier does not exist/);
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  });

  it('exits 1 with a message when dciodvfy / dcentvfy are absent, unless --no-dicom', () => {
    // node by its path and tsx by its script, so that PATH can be a folder without dicom3tools.
    const cli = path.join(PROJECT_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
    const empty = mkdtempSync(path.join(os.tmpdir(), 'ophgate-eval-path-'));
    try {
      const env = { ...process.env, PATH: empty };
      const noTools = spawnSync(process.execPath, [cli, script, '--data', empty, '--models-dir', empty], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 120_000, env });
      expect(noTools.status).toBe(1);
      expect(noTools.stderr).toMatch(/dciodvfy and dcentvfy are absent.*--no-dicom/s);
      const skipped = spawnSync(process.execPath, [cli, script, '--data', empty, '--models-dir', empty, '--no-dicom'], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 120_000, env });
      expect(skipped.status).toBe(1);
      expect(skipped.stderr).not.toMatch(/absent/);
      expect(skipped.stderr).toMatch(/fundus-classifier does not exist/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('the DICOM check of npm run eval', { timeout: 300_000 }, () => {
  const missing = missingDicomTools();
  if (missing.length) console.warn(`[test] ${missing.join(', ')} absent: the eval's DICOM check is not tested`);
  const noModels = { models: [] } as unknown as Inference;

  it.skipIf(missing.length > 0)(`counts Error lines, fails, and keeps the files for a look${missing.length ? ' (skipped: no dicom3tools)' : ''}`, () => {
    const check = DicomResultsCheck.create(os.tmpdir(), noModels);
    try {
      // A file without SOP Instance UID, checked as if OphGate had written it, with a valid source beside it.
      check.checkFile(path.join(FIXTURES_DIR, 'malformed', 'missing-sop-instance-uid.dcm'), 'SEG', [path.join(FIXTURES_DIR, 'op-jpeg-baseline-idrid57-R.dcm')]);
      const s = check.finish();
      expect(s.ok).toBe(false);
      expect(s.errors).toBeGreaterThanOrEqual(1);
      expect(Object.keys(s.errorsByKind).some((k) => k.startsWith('SEG dciodvfy:') && k.includes('Element=<SOPInstanceUID>'))).toBe(true);
      expect(s.checked).toEqual({ dciodvfy: 1, dcentvfy: 1 });
      expect(s.dir).toBe(check.dir);
      expect(existsSync(check.dir)).toBe(true);
    } finally {
      rmSync(check.dir, { recursive: true, force: true });
    }
  });

  it.skipIf(missing.length > 0 || !haveData)(`wraps IDRiD test images as OP; their SEG and SR pass dciodvfy and dcentvfy${missing.length || !haveData ? ' (skipped: needs dicom3tools and ../shared/data)' : ''}`, async () => {
    const registry = await ModelRegistry.open({ modelsDir: path.join(PROJECT_ROOT, 'models'), executionProvider: 'cpu', intraOpThreads: 1, batchSize: 1 });
    const check = DicomResultsCheck.create(DATA, registry);
    try {
      // One segmentation test image (IDRiD_55, a left eye: fixtures/op-jpeg-baseline-idrid55-L.dcm) and one grading one.
      const seg = splitRecords(segmenterRecords(undefined, DATA), 'test').find((r) => r.source === 'idrid')!;
      const grading = splitRecords(classifierRecords(), 'test').find((r) => r.source === 'idrid')!;
      expect(path.basename(seg.image)).toBe('IDRiD_55.jpg');
      await check.checkImage(seg);
      await check.checkImage(grading);

      const folders = readdirSync(check.dir).sort();
      expect(folders).toHaveLength(2);
      const op = path.join(check.dir, folders[0]!, 'op.dcm');
      const attrs = (await readInstanceHeader(op, statSync(op).size)).attributes;
      expect(attrs['00100010']!.Value).toEqual([{ Alphabetic: 'OPHGATE^EVAL' }]);
      expect(attrs['00200062']!.Value).toEqual(['L']);
      // Every loaded model's findings are in the SR, as the gateway's findings stage runs every model.
      for (const f of folders) {
        const sr = readFileSync(path.join(check.dir, f, 'sr.dcm')).toString('latin1');
        for (const m of registry.models) expect(sr, `${f}/sr.dcm names ${m.name}`).toContain(m.name);
      }

      const s = check.finish();
      expect({ errors: s.errors, sourceErrors: s.sourceErrors, buildFailures: s.buildFailures, notReported: s.notReported, examples: s.examples.filter((e) => e.lines.some((l) => l.startsWith('Error'))) })
        .toEqual({ errors: 0, sourceErrors: 0, buildFailures: [], notReported: {}, examples: [] });
      expect(s.ok).toBe(true);
      expect(s.written.OP).toBe(2);
      expect(s.written.SR).toBe(2);
      expect(s.written.SEG).toBeGreaterThanOrEqual(1);
      expect(s.checked).toEqual({ dciodvfy: s.written.OP + s.written.SEG + s.written.SR, dcentvfy: s.written.SEG + s.written.SR });
      // dciodvfy read OphGate's coded content: it warns about OphGate's private scheme, the one allowed warning.
      expect(s.allowedWarnings).toBeGreaterThan(0);
      expect(Object.values(s.warningsByKind).reduce((a, b) => a + b, 0)).toBe(s.warnings);
      expect(s.dir).toBeNull();
      expect(existsSync(check.dir)).toBe(false);
    } finally {
      rmSync(check.dir, { recursive: true, force: true });
      await registry.close();
    }
  });
});
