// The model manifest: the test models' and the shipped models' manifests validate; each kind of mistake is
// refused with a message that names the file and the key.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadManifest, ManifestError, parseManifest } from '../../src/inference/manifest.js';
import { preprocessSpec } from '../../src/inference/preprocess.js';
import { PROJECT_ROOT } from '../../src/project-root.js';
import { CLASSIFIER, SEGMENTER, TEST_MODELS_DIR, modelsCopy } from './helpers.js';

const read = (name: string) => JSON.parse(readFileSync(path.join(TEST_MODELS_DIR, name, 'manifest.json'), 'utf8')) as Record<string, any>;

function refusal(raw: unknown, file = 'models/x/manifest.json'): string {
  try {
    parseManifest(raw, file);
  } catch (err) {
    expect(err).toBeInstanceOf(ManifestError);
    return (err as Error).message;
  }
  throw new Error('manifest was accepted');
}

describe('model manifest', () => {
  it('reads both test models, whose inputs, normalisations and labels differ', () => {
    const c = loadManifest(path.join(TEST_MODELS_DIR, CLASSIFIER, 'manifest.json'));
    const s = loadManifest(path.join(TEST_MODELS_DIR, SEGMENTER, 'manifest.json'));
    expect(c.input.shape).toEqual(['batch', 3, 64, 64]);
    expect(s.input.shape).toEqual(['batch', 3, 96, 96]);
    expect(c.input.name).not.toBe(s.input.name);
    expect(preprocessSpec(c)).toMatchObject({ width: 64, height: 64, mean: [0.5, 0.4, 0.3], std: [0.25, 0.2, 0.1], crop: { threshold: 25, minFraction: 0.02, minSide: 0.25 }, pad: [0, 0, 0], kernel: 'lanczos3' });
    expect(preprocessSpec(s)).toMatchObject({ width: 96, height: 96, mean: [0.485, 0.456, 0.406] });
    expect(preprocessSpec(s).scale).toBeCloseTo(1 / 255, 12);
    expect(c.intended_use).toMatch(/TEST MODEL/);
    const cls = c.outputs[0]!;
    expect(cls.kind === 'multilabel' && cls.labels.map((l) => l.key)).toEqual(['a', 'b', 'c']);
    const seg = s.outputs[0]!;
    expect(seg.kind === 'masks' && seg.channels.map((l) => l.key)).toEqual(['red', 'green']);
  });

  it('accepts the full format models/train/export_onnx.py writes (grades, a derived score, a binary output, cup-to-disc post-processing)', () => {
    const base = read(CLASSIFIER);
    const code = (k: string) => `mappings/fundus-findings.json#${k}`;
    const cls = {
      ...base, name: 'fundus-classifier', version: '0.1.0',
      outputs: [
        { name: 'multilabel', shape: ['batch', 2], activation: 'sigmoid', kind: 'multilabel', labels: [
          { index: 0, key: 'N', name: 'normal', threshold: 0.44, code: code('normal') },
          { index: 1, key: 'D', name: 'diabetic retinopathy', threshold: 0.52, code: code('diabetic-retinopathy') }] },
        { name: 'dr_grade', shape: ['batch', 3], activation: 'softmax', kind: 'grade', decision: 'argmax', scale: 'international clinical DR severity scale',
          labels: [0, 1, 2].map((g) => ({ index: g, key: String(g), name: `grade ${g}`, code: code(`dr-grade-${g}`) })),
          derived: [{ name: 'referable_dr', formula: 'dr_grade[1] + dr_grade[2]', meaning: 'P(grade >= 1)', threshold: 0.38, code: code('referable-dr') }] },
        { name: 'quality', shape: ['batch', 1], activation: 'sigmoid', kind: 'binary', labels: [
          { index: 0, key: 'quality_issue', name: 'image quality remark', threshold: 0.5, code: code('image-quality-issue') }] },
      ],
      data: [{ name: 'ODIR-5K', licence: 'none stated; research use only' }, { name: 'IDRiD', licence: 'CC BY 4.0', attribution: 'Porwal et al. 2018' }],
      thresholds_chosen_on: 'validation split', architecture: { network: 'FundusClassifier(width=16)', parameters: 1621249 },
      training: { checkpoint_epoch: 3, commit: 'abc' }, export_check: { max_abs_diff: 1e-6 }, metrics: 'metrics.json',
    };
    expect(parseManifest(cls, 'cls.json').outputs).toHaveLength(3);
    const seg = {
      ...read(SEGMENTER),
      outputs: [{ name: 'lesions', shape: ['batch', 2, 96, 96], activation: 'sigmoid', kind: 'masks', channels: [
        { index: 0, key: 'OD', name: 'optic disc', threshold: 0.737, code: code('optic-disc') },
        { index: 1, key: 'cup', name: 'optic cup', threshold: 0.793, code: code('optic-cup') }] }],
      postprocessing: [
        { op: 'to_source', interpolation: 'bilinear', description: 'back to the source' },
        { op: 'regions', description: 'area and 8-connected components' },
        { op: 'cup_to_disc_ratio', disc_channel: 'OD', cup_channel: 'cup', kind: 'vertical', code: code('cup-to-disc-ratio') },
      ],
    };
    expect(parseManifest(seg, 'seg.json').postprocessing).toHaveLength(3);
  });

  it('validates every manifest shipped in models/ (skipped while none is there)', () => {
    const dir = path.join(PROJECT_ROOT, 'models');
    const manifests = readdirSync(dir).map((d) => path.join(dir, d, 'manifest.json')).filter((f) => existsSync(f));
    for (const f of manifests) expect(() => loadManifest(f)).not.toThrow();
  });

  it('names the file and the key of each problem', () => {
    const m = read(SEGMENTER);
    m.input.normalization.std[1] = 0;
    m.outputs[0].channels[1].treshold = 0.5; // a typo must not pass: the real threshold is then missing
    delete m.outputs[0].channels[1].threshold;
    m.task = 'detection';
    const msg = refusal(m, 'models/site-model/manifest.json');
    expect(msg).toMatch(/^models\/site-model\/manifest\.json: invalid model manifest/);
    expect(msg).toMatch(/input\.normalization\.std\[1\]: .*>0/);
    expect(msg).toMatch(/outputs\[0\]\.channels\[1\]: Unrecognized key.*"treshold"/);
    expect(msg).toMatch(/outputs\[0\]\.channels\[1\]\.threshold: /);
    expect(msg).toMatch(/task: /);
  });

  it('refuses manifests whose parts disagree with each other', () => {
    const resize = read(CLASSIFIER);
    resize.preprocessing[3].width = 128;
    expect(refusal(resize)).toMatch(/preprocessing\[3\]: resize to 128x64 but input\.shape is 64x64/);

    const norm = read(CLASSIFIER);
    norm.preprocessing[5].mean = [0.1, 0.2, 0.3];
    expect(refusal(norm)).toMatch(/preprocessing\[5\]\.mean: differs from input\.normalization\.mean/);

    const order = read(CLASSIFIER);
    order.preprocessing = [order.preprocessing[3], order.preprocessing[1], order.preprocessing[4], order.preprocessing[5]];
    expect(refusal(order)).toMatch(/preprocessing\[1\]\.op: "fundus_crop" out of order/);

    const count = read(CLASSIFIER);
    count.outputs[0].shape = ['batch', 4];
    expect(refusal(count)).toMatch(/outputs\[0\]\.shape\[1\]: 4 but 3 labels are listed/);

    const formula = read(CLASSIFIER);
    formula.outputs[1].derived[0].formula = 'grade[1] + dr_grade[3]';
    expect(refusal(formula)).toMatch(/outputs\[1\]\.derived\[0\]\.formula: names no output "dr_grade"/);

    const index = read(CLASSIFIER);
    index.outputs[0].labels[2].index = 5;
    expect(refusal(index)).toMatch(/outputs\[0\]\.labels\[2\]\.index: expected 2/);

    const code = read(CLASSIFIER);
    code.outputs[0].labels[0].code = 'SNOMED:12345';
    expect(refusal(code)).toMatch(/outputs\[0\]\.labels\[0\]\.code: a reference "mappings\/<file>\.json#<key>"/);

    const task = read(SEGMENTER);
    task.task = 'classification';
    expect(refusal(task)).toMatch(/outputs: a classification model has no masks output/);

    const cdr = read(SEGMENTER);
    cdr.postprocessing.push({ op: 'cup_to_disc_ratio', disc_channel: 'OD', cup_channel: 'green', kind: 'vertical' });
    expect(refusal(cdr)).toMatch(/postprocessing\[2\]\.disc_channel: no mask channel has the key "OD"/);
  });

  it('says when a manifest is not JSON', () => {
    const dir = modelsCopy(CLASSIFIER);
    const file = path.join(dir, CLASSIFIER, 'manifest.json');
    writeFileSync(file, '{ "format": ');
    expect(() => loadManifest(file)).toThrow(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: invalid model manifest:\\s+cannot read as JSON`));
  });
});
