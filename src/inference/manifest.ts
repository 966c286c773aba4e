// The model manifest: what the gateway must know to feed an ONNX model and read its outputs. Every model, ours
// (written by models/train/export_onnx.py) or a site's own, is described by one manifest.json beside its
// model.onnx; the format is documented field by field in src/inference/README.md. It is validated once, when the
// model is loaded, and an error names the file and the key, so a typo in a threshold cannot pass silently.
import { readFileSync } from 'node:fs';
import { z } from 'zod';

export const MANIFEST_FORMAT = 'ophgate-model-manifest/1';

export class ManifestError extends Error {
  constructor(readonly file: string, readonly problems: string[]) {
    super(`${file}: invalid model manifest:\n  ${problems.join('\n  ')}`);
    this.name = 'ManifestError';
  }
}

const text = z.string().min(1);
const probability = z.number().min(0).max(1);
const rgbTriple = z.tuple([z.number(), z.number(), z.number()]);
// A dimension is a size or the name of a dynamic axis (the batch).
const dim = z.union([z.number().int().positive(), text]);
// Codes live in mappings/ (SNOMED CT, LOINC, DICOM, each with its source); a manifest only points there.
const codeRef = z.string().regex(/^[^#\s]+\.json#[^#\s]+$/, 'a reference "mappings/<file>.json#<key>" into mappings/');

const label = z.object({
  index: z.number().int().min(0),
  key: text,
  name: text,
  threshold: probability.optional(),
  code: codeRef,
}).strict();
const thresholdedLabel = label.extend({ threshold: probability });

const derived = z.object({
  name: text,
  /** A sum of probabilities of other outputs, e.g. "dr_grade[2] + dr_grade[3] + dr_grade[4]". */
  formula: z.string().regex(/^\s*[A-Za-z_][\w.-]*\[\d+\](\s*\+\s*[A-Za-z_][\w.-]*\[\d+\])*\s*$/, 'a sum of terms output[index]'),
  meaning: text,
  threshold: probability.optional(),
  code: codeRef,
}).strict();

// What the graph's last layer already applied. 'probabilities' (the default, and what export_onnx.py writes):
// the output holds probabilities; 'logits': the gateway applies the activation itself.
const values = z.enum(['probabilities', 'logits']).default('probabilities');
const common = { name: text, shape: z.array(dim).min(2), values, derived: z.array(derived).default([]) };

const scoresOutput = z.object({
  ...common,
  kind: z.enum(['multilabel', 'binary']),
  activation: z.literal('sigmoid'),
  /** Every label is positive when its probability is at or above its threshold. */
  labels: z.array(thresholdedLabel).min(1),
}).strict();

const classOutput = z.object({
  ...common,
  kind: z.enum(['grade', 'class']),
  activation: z.literal('softmax'),
  decision: z.literal('argmax').default('argmax'),
  /** The grading scale, in words (e.g. "international clinical DR severity scale"). */
  scale: text.optional(),
  labels: z.array(label).min(2),
}).strict();

const masksOutput = z.object({
  ...common,
  kind: z.literal('masks'),
  activation: z.literal('sigmoid'),
  channels: z.array(thresholdedLabel).min(1),
}).strict();

const output = z.discriminatedUnion('kind', [scoresOutput, classOutput, masksOutput]);

const description = { description: z.string().optional() };
const preprocessingStep = z.discriminatedUnion('op', [
  z.object({ op: z.literal('decode'), output: z.string().optional(), ...description }).strict(),
  z.object({
    op: z.literal('fundus_crop'), ...description,
    threshold: z.number().int().min(0).max(254),
    min_fraction: z.number().min(0).max(1),
    min_side: z.number().min(0).max(1),
  }).strict(),
  z.object({ op: z.literal('pad_square'), ...description, fill: z.tuple([z.number().int().min(0).max(255), z.number().int().min(0).max(255), z.number().int().min(0).max(255)]).default([0, 0, 0]) }).strict(),
  z.object({
    op: z.literal('resize'), ...description,
    width: z.number().int().positive(), height: z.number().int().positive(),
    // sharp's kernels; lanczos3 matches PIL's LANCZOS used in training.
    kernel: z.enum(['nearest', 'linear', 'cubic', 'mitchell', 'lanczos2', 'lanczos3']).default('lanczos3'),
  }).strict(),
  z.object({ op: z.literal('to_float'), ...description, scale: z.number().positive() }).strict(),
  z.object({ op: z.literal('normalize'), ...description, mean: rgbTriple.optional(), std: rgbTriple.optional() }).strict(),
]);
const STEP_ORDER = ['decode', 'fundus_crop', 'pad_square', 'resize', 'to_float', 'normalize'] as const;
const REQUIRED_STEPS = ['resize', 'to_float', 'normalize'];

const postprocessingStep = z.discriminatedUnion('op', [
  z.object({ op: z.literal('to_source'), ...description, interpolation: z.literal('bilinear').default('bilinear') }).strict(),
  z.object({ op: z.literal('regions'), ...description }).strict(),
  z.object({
    op: z.literal('cup_to_disc_ratio'), ...description,
    disc_channel: text, cup_channel: text, kind: z.literal('vertical'), code: codeRef.optional(),
  }).strict(),
]);

export const manifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits, ".", "_" and "-"'),
  version: text,
  task: z.enum(['classification', 'segmentation']),
  /** The ONNX file, beside the manifest. */
  file: z.string().regex(/^[^/\\]+\.onnx$/, 'a file name ending in .onnx, in the manifest\'s folder').default('model.onnx'),
  /** Checked at load when given: the file is the one the manifest was written for. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  bytes: z.number().int().positive().optional(),
  onnx_opset: z.number().int().positive().optional(),
  intended_use: text,
  licence: text.optional(),
  description: z.string().optional(),
  input: z.object({
    name: text,
    shape: z.tuple([dim, z.literal(3), z.number().int().positive(), z.number().int().positive()]),
    dtype: z.literal('float32'),
    layout: z.literal('NCHW'),
    channel_order: z.enum(['RGB', 'BGR']),
    value_scale: z.string().optional(),
    normalization: z.object({
      mean: rgbTriple,
      std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]),
    }).strict(),
  }).strict(),
  preprocessing: z.array(preprocessingStep).min(1),
  outputs: z.array(output).min(1),
  postprocessing: z.array(postprocessingStep).default([]),
  // Provenance, kept as written (free-form): the data and their licences, thresholds' origin, training run.
  data: z.array(z.looseObject({ name: text, licence: text })).optional(),
  thresholds_chosen_on: z.string().optional(),
  architecture: z.record(z.string(), z.unknown()).optional(),
  training: z.record(z.string(), z.unknown()).optional(),
  export_check: z.record(z.string(), z.unknown()).optional(),
  metrics: z.string().optional(),
}).strict().superRefine((m, ctx) => {
  const problem = (path: Array<string | number>, message: string) => ctx.addIssue({ code: 'custom', path, message });
  const [, , height, width] = m.input.shape;

  // Preprocessing: known steps, in the one order the gateway applies them.
  let last = -1;
  m.preprocessing.forEach((step, i) => {
    const at = STEP_ORDER.indexOf(step.op);
    if (at <= last) problem(['preprocessing', i, 'op'], `"${step.op}" out of order or repeated; the order is ${STEP_ORDER.join(', ')}`);
    last = Math.max(last, at);
    if (step.op === 'resize' && (step.width !== width || step.height !== height)) {
      problem(['preprocessing', i], `resize to ${step.width}x${step.height} but input.shape is ${width}x${height} (width x height)`);
    }
    if (step.op === 'normalize') {
      for (const k of ['mean', 'std'] as const) {
        const v = step[k];
        if (v && v.some((x, c) => Math.abs(x - m.input.normalization[k][c]!) > 1e-9)) {
          problem(['preprocessing', i, k], `differs from input.normalization.${k}`);
        }
      }
    }
  });
  for (const op of REQUIRED_STEPS) {
    if (!m.preprocessing.some((s) => s.op === op)) problem(['preprocessing'], `the step "${op}" is missing`);
  }

  // Outputs: unique names; labels indexed 0..n-1 with unique keys; sizes that agree with the shape.
  const outputs = new Map(m.outputs.map((o) => [o.name, o]));
  if (outputs.size !== m.outputs.length) problem(['outputs'], 'output names must be unique');
  m.outputs.forEach((o, i) => {
    const list = o.kind === 'masks' ? o.channels : o.labels;
    const field = o.kind === 'masks' ? 'channels' : 'labels';
    list.forEach((l, j) => {
      if (l.index !== j) problem(['outputs', i, field, j, 'index'], `expected ${j} (entries are listed in index order 0..${list.length - 1})`);
    });
    if (new Set(list.map((l) => l.key)).size !== list.length) problem(['outputs', i, field], 'keys must be unique');
    const n = o.shape[1];
    if (typeof n === 'number' && n !== list.length) problem(['outputs', i, 'shape', 1], `${n} but ${list.length} ${field} are listed`);
    if (o.kind === 'masks') {
      if (o.shape.length !== 4) problem(['outputs', i, 'shape'], 'a masks output is [batch, channels, height, width]');
      if (o.shape.slice(2).some((d) => typeof d !== 'number')) problem(['outputs', i, 'shape'], 'mask height and width must be numbers');
    } else if (o.shape.length !== 2) {
      problem(['outputs', i, 'shape'], 'a scores or class output is [batch, labels]');
    }
    if (o.kind === 'binary' && o.labels.length !== 1) problem(['outputs', i, 'labels'], 'a binary output has exactly one label');
    o.derived.forEach((d, j) => {
      for (const t of parseFormula(d.formula) ?? []) {
        const target = outputs.get(t.output);
        const size = target ? (target.kind === 'masks' ? -1 : target.labels.length) : 0;
        if (!target) problem(['outputs', i, 'derived', j, 'formula'], `names no output "${t.output}"`);
        else if (size < 0) problem(['outputs', i, 'derived', j, 'formula'], `"${t.output}" is a masks output`);
        else if (t.index >= size) problem(['outputs', i, 'derived', j, 'formula'], `${t.output}[${t.index}] is out of range (${size} labels)`);
      }
    });
  });
  const hasMasks = m.outputs.some((o) => o.kind === 'masks');
  if (m.task === 'segmentation' && !hasMasks) problem(['outputs'], 'a segmentation model has a masks output');
  if (m.task === 'classification' && hasMasks) problem(['outputs'], 'a classification model has no masks output (task: segmentation)');

  const channelKeys = new Set(m.outputs.flatMap((o) => (o.kind === 'masks' ? o.channels.map((c) => c.key) : [])));
  m.postprocessing.forEach((p, i) => {
    if (p.op !== 'cup_to_disc_ratio') return;
    for (const k of ['disc_channel', 'cup_channel'] as const) {
      if (!channelKeys.has(p[k])) problem(['postprocessing', i, k], `no mask channel has the key "${p[k]}"`);
    }
  });
});

export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestOutput = Manifest['outputs'][number];
export type PreprocessingStep = Manifest['preprocessing'][number];

export interface FormulaTerm { output: string; index: number }

/** The terms of a derived formula, or null when it is not a sum of output[index] terms. */
export function parseFormula(formula: string): FormulaTerm[] | null {
  const terms: FormulaTerm[] = [];
  for (const term of formula.split('+')) {
    const m = /^\s*([A-Za-z_][\w.-]*)\[(\d+)\]\s*$/.exec(term);
    if (!m) return null;
    terms.push({ output: m[1]!, index: Number(m[2]) });
  }
  return terms;
}

/** "input.normalization.std[1]" from zod's path. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out ? '.' : ''}${String(p)}`;
  return out || '(top level)';
}

/** Validates a parsed manifest; `file` only names the source in errors. */
export function parseManifest(raw: unknown, file: string): Manifest {
  const result = manifestSchema.safeParse(raw);
  if (!result.success) {
    throw new ManifestError(file, result.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`));
  }
  return result.data;
}

export function loadManifest(file: string): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ManifestError(file, [`cannot read as JSON: ${(err as Error).message}`]);
  }
  return parseManifest(raw, file);
}
