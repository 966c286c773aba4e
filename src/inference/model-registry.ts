// The models the gateway runs. Scans the models directory for <folder>/manifest.json beside its ONNX file, loads
// each model once (one InferenceSession per model, reused for every run), checks the graph against the manifest,
// and runs images through it in batches, returning typed outputs per image: probabilities and decisions per label,
// the argmax class, masks brought back to the source image. A model that cannot be trusted (invalid manifest,
// wrong file, graph and manifest disagreeing) is refused with an error naming both files: a gateway that would
// otherwise report findings from a mis-described model must not start.
//
// onnxruntime-node runs a session synchronously on the calling thread; in the gateway, use
// ThreadedModelRegistry (threaded-registry.ts), which holds this registry in a worker thread.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Logger } from 'pino';
import { loadManifest, type Manifest, type ManifestOutput } from './manifest.js';
import { derivedScores } from './derived-scores.js';
import { ProviderSelector, type Provider, type ProviderChoice, type ProviderFailure } from './execution-provider.js';
import { applyPostprocessing, type Measurement, type Regions } from './postprocess/apply.js';
import { maskToSource, preprocessSpec, toModelInput, type Geometry, type ImageSource, type PreprocessSpec } from './preprocess.js';
import { publishInferenceStatus, type InferenceStatus } from './status.js';

export interface RegistryOptions {
  modelsDir: string;
  executionProvider: ProviderChoice;
  intraOpThreads: number;
  /** Most images per session run; fewer when a model's graph fixes a smaller batch. */
  batchSize: number;
  logger?: Logger;
  /** Publish the status for /readyz (the gateway's registry does; a side registry, e.g. in a script, need not). */
  publish?: boolean;
}

export class ModelLoadError extends Error {
  constructor(readonly problems: string[]) {
    super(`inference models refused:\n  ${problems.join('\n  ')}`);
    this.name = 'ModelLoadError';
  }
}

export interface ModelInfo {
  name: string;
  version: string;
  task: Manifest['task'];
  dir: string;
  provider: Provider;
  /** Providers tried for this model before the one that runs it, and why each was not used. */
  notUsed: ProviderFailure[];
  input: { name: string; width: number; height: number };
  /** Images per run: the configured batch size, or the graph's fixed batch. */
  batch: number;
  outputs: string[];
  intendedUse: string;
}

export interface LabelScore {
  index: number;
  key: string;
  name: string;
  code: string;
  probability: number;
  threshold?: number;
  /** probability >= threshold (labels with a threshold only). */
  positive?: boolean;
}

export interface MaskChannel {
  index: number;
  key: string;
  name: string;
  code: string;
  threshold: number;
  /** sourceWidth x sourceHeight, row-major, 1 where probability >= threshold, 0 elsewhere. */
  mask: Uint8Array;
  /** Pixels in the mask, in source pixels. */
  area: number;
  /** 8-connected components, when the manifest lists the `regions` step. */
  regions?: Regions;
}

export type OutputResult =
  | { name: string; kind: 'multilabel' | 'binary'; labels: LabelScore[] }
  | { name: string; kind: 'grade' | 'class'; labels: LabelScore[]; predicted: LabelScore }
  | {
    name: string; kind: 'masks'; width: number; height: number; channels: MaskChannel[];
    /** The model's own probability maps for this image: channels x modelHeight x modelWidth (NCHW slice). */
    probabilities: Float32Array; modelWidth: number; modelHeight: number;
  };

export interface DerivedScore { name: string; meaning: string; code: string; formula: string; probability: number; threshold?: number; positive?: boolean }

export interface ImageInference {
  model: { name: string; version: string };
  provider: Provider;
  /** Where the model input came from in the source image (field-of-view box, padded region). */
  geometry: Geometry;
  outputs: Record<string, OutputResult>;
  derived: DerivedScore[];
  /** Measurements of the post-processing steps (e.g. the cup-to-disc ratio). */
  measurements: Measurement[];
}

/** What the gateway calls, whether the models run in this thread or in a worker. */
export interface Inference {
  readonly models: readonly ModelInfo[];
  status(): InferenceStatus;
  run(model: string, images: ImageSource[]): Promise<ImageInference[]>;
  close(): Promise<void>;
}

interface LoadedModel {
  info: ModelInfo;
  manifest: Manifest;
  spec: PreprocessSpec;
  session: ort.InferenceSession;
  /** The graph fixes the batch (dimension 0 is a number): every run feeds exactly this many images. */
  fixedBatch: number | null;
  runs: number;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

export class ModelRegistry implements Inference {
  /** Sessions created, over this registry's life: one per model (the tests hold it to that). */
  sessionsCreated = 0;

  private constructor(
    private readonly loaded: Map<string, LoadedModel>,
    private readonly selector: ProviderSelector,
    private readonly options: RegistryOptions,
  ) {}

  static async open(options: RegistryOptions): Promise<ModelRegistry> {
    const dir = path.resolve(options.modelsDir);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ModelLoadError([`models directory ${dir} does not exist`]);
    if (!(options.batchSize >= 1) || !(options.intraOpThreads >= 1)) throw new Error('batchSize and intraOpThreads must be at least 1');
    const selector = new ProviderSelector(options.executionProvider, { intraOpThreads: options.intraOpThreads });
    const registry = new ModelRegistry(new Map(), selector, options);
    const problems: string[] = [];
    // Folders without a manifest (e.g. models/train, the training recipe) are not models.
    const folders = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && existsSync(path.join(dir, e.name, 'manifest.json')))
      .map((e) => path.join(dir, e.name))
      .sort();
    for (const folder of folders) {
      try {
        const model = await registry.load(folder);
        const twin = registry.loaded.get(model.info.name);
        if (twin) {
          await model.session.release();
          problems.push(`${folder}: model name "${model.info.name}" is already used by ${twin.info.dir}`);
          continue;
        }
        registry.loaded.set(model.info.name, model);
      } catch (err) {
        problems.push((err as Error).message.replace(/:\n\s*/, ': ').replace(/\n\s*/g, '; '));
      }
    }
    if (problems.length > 0) {
      await registry.close();
      throw new ModelLoadError(problems);
    }
    const status = registry.status();
    if (status.state === 'no models') options.logger?.warn({ modelsDir: dir }, 'inference: no models (no <folder>/manifest.json in the models directory)');
    else options.logger?.info({ executionProvider: status.executionProvider, choice: status.choice, notUsed: status.notUsed, models: status.models, intraOpThreads: options.intraOpThreads, batchSize: options.batchSize }, `inference: ${status.models!.length} model(s) on ${status.executionProvider}`);
    if (options.publish) publishInferenceStatus(status);
    return registry;
  }

  get models(): ModelInfo[] {
    return [...this.loaded.values()].map((m) => m.info);
  }

  /** Runs per model so far (each run is one batch through the model's one session). */
  runCounts(): Record<string, number> {
    return Object.fromEntries([...this.loaded].map(([name, m]) => [name, m.runs]));
  }

  status(): InferenceStatus {
    const models = this.models;
    if (models.length === 0) return { state: 'no models', choice: this.options.executionProvider, notUsed: this.selector.failures };
    return {
      state: 'ready',
      choice: this.options.executionProvider,
      executionProvider: [...new Set(models.map((m) => m.provider))].join(', '),
      notUsed: this.selector.failures,
      models: models.map((m) => ({ name: m.name, version: m.version, task: m.task, provider: m.provider })),
    };
  }

  async close(): Promise<void> {
    const sessions = [...this.loaded.values()].map((m) => m.session);
    this.loaded.clear();
    await Promise.all(sessions.map((s) => s.release()));
    if (this.options.publish) publishInferenceStatus({ state: 'no models' });
  }

  /** Runs the model on the images, in batches of at most the model's batch size; one result per image, in order. */
  async run(name: string, images: ImageSource[]): Promise<ImageInference[]> {
    const model = this.loaded.get(name);
    if (!model) throw new Error(`no model "${name}" (loaded: ${[...this.loaded.keys()].join(', ') || 'none'})`);
    const out: ImageInference[] = [];
    for (let i = 0; i < images.length; i += model.info.batch) {
      out.push(...await this.runBatch(model, images.slice(i, i + model.info.batch)));
    }
    return out;
  }

  /**
   * The model alone: one session run on an already preprocessed NCHW float32 batch of `batch` images, returning the
   * manifest's outputs as they come out of the graph (no decode, crop, resize or interpretation). For benchmarks.
   */
  async runTensor(name: string, data: Float32Array, batch: number): Promise<Record<string, ort.Tensor>> {
    const model = this.loaded.get(name);
    if (!model) throw new Error(`no model "${name}" (loaded: ${[...this.loaded.keys()].join(', ') || 'none'})`);
    const { spec, manifest } = model;
    if (model.fixedBatch !== null && batch !== model.fixedBatch) throw new Error(`${name}: the graph's batch is fixed at ${model.fixedBatch}, not ${batch}`);
    if (data.length !== batch * 3 * spec.height * spec.width) throw new Error(`${name}: ${data.length} values for a batch of ${batch} x 3 x ${spec.height} x ${spec.width}`);
    const feeds = { [manifest.input.name]: new ort.Tensor('float32', data, [batch, 3, spec.height, spec.width]) };
    const result = await model.session.run(feeds, manifest.outputs.map((o) => o.name));
    model.runs++;
    return result as Record<string, ort.Tensor>;
  }

  private async load(folder: string): Promise<LoadedModel> {
    const manifestFile = path.join(folder, 'manifest.json');
    const manifest = loadManifest(manifestFile);
    const onnxFile = path.join(folder, manifest.file);
    if (!existsSync(onnxFile)) throw new Error(`${manifestFile}: file: "${manifest.file}" is not in ${folder}`);
    const bytes = await readFile(onnxFile);
    if (manifest.bytes !== undefined && manifest.bytes !== bytes.length) {
      throw new Error(`${onnxFile} has ${bytes.length} bytes but ${manifestFile} bytes says ${manifest.bytes}: not the file the manifest describes`);
    }
    if (manifest.sha256 !== undefined) {
      const sha = createHash('sha256').update(bytes).digest('hex');
      if (sha !== manifest.sha256) throw new Error(`${onnxFile} has sha256 ${sha} but ${manifestFile} sha256 says ${manifest.sha256}: not the file the manifest describes`);
    }
    let fixedBatch: number | null = null;
    const { session, provider, tried } = await this.selector.create(bytes, async (s) => {
      fixedBatch = checkGraph(manifest, s, manifestFile, onnxFile);
      await warmUp(manifest, s, fixedBatch ?? 1, manifestFile, onnxFile);
    });
    this.sessionsCreated++;
    const [, , height, width] = manifest.input.shape;
    return {
      manifest, spec: preprocessSpec(manifest), session, fixedBatch, runs: 0,
      info: {
        name: manifest.name, version: manifest.version, task: manifest.task, dir: folder, provider, notUsed: tried,
        input: { name: manifest.input.name, width, height },
        batch: fixedBatch ?? this.options.batchSize,
        outputs: manifest.outputs.map((o) => o.name), intendedUse: manifest.intended_use,
      },
    };
  }

  private async runBatch(model: LoadedModel, images: ImageSource[]): Promise<ImageInference[]> {
    const { spec, manifest } = model;
    const n = model.fixedBatch ?? images.length; // a fixed batch is filled up with zeros
    const data = new Float32Array(n * 3 * spec.height * spec.width);
    const geometries: Geometry[] = [];
    // One image at a time: a 12-megapixel fundus photograph is ~36 MB decoded, so a batch is not decoded at once.
    for (const [slot, img] of images.entries()) geometries.push(await toModelInput(img, spec, data, slot));
    const feeds = { [manifest.input.name]: new ort.Tensor('float32', data, [n, 3, spec.height, spec.width]) };
    const result = await model.session.run(feeds, manifest.outputs.map((o) => o.name));
    model.runs++;
    return geometries.map((geometry, i) => {
      const outputs: Record<string, OutputResult> = {};
      for (const o of manifest.outputs) outputs[o.name] = interpret(o, result[o.name] as ort.Tensor, i, geometry);
      const derived = derivedScores(manifest, outputs);
      const measurements = applyPostprocessing(manifest, outputs, geometry);
      return { model: { name: manifest.name, version: manifest.version }, provider: model.info.provider, geometry, outputs, derived, measurements };
    });
  }
}

/** One image's slice of one output, as probabilities and decisions. */
function interpret(o: ManifestOutput, tensor: ort.Tensor, image: number, g: Geometry): OutputResult {
  const all = tensor.data as Float32Array;
  if (o.kind === 'masks') {
    const [, channels, mh, mw] = tensor.dims as [number, number, number, number];
    const plane = mh * mw;
    const probabilities = all.slice(image * channels * plane, (image + 1) * channels * plane);
    if (o.values === 'logits') for (let k = 0; k < probabilities.length; k++) probabilities[k] = sigmoid(probabilities[k]!);
    return {
      name: o.name, kind: 'masks', width: g.sourceWidth, height: g.sourceHeight, modelWidth: mw, modelHeight: mh, probabilities,
      channels: o.channels.map((c) => ({
        index: c.index, key: c.key, name: c.name, code: c.code, threshold: c.threshold,
        ...maskToSource(probabilities.subarray(c.index * plane, (c.index + 1) * plane), mw, mh, g, c.threshold),
      })),
    };
  }
  const n = o.labels.length;
  let p = Array.from(all.subarray(image * n, (image + 1) * n));
  if (o.values === 'logits') {
    if (o.activation === 'sigmoid') p = p.map(sigmoid);
    else {
      const max = Math.max(...p);
      const e = p.map((x) => Math.exp(x - max));
      const sum = e.reduce((a, b) => a + b, 0);
      p = e.map((x) => x / sum);
    }
  }
  const labels = o.labels.map((l): LabelScore => ({
    index: l.index, key: l.key, name: l.name, code: l.code, probability: p[l.index]!,
    ...(l.threshold !== undefined ? { threshold: l.threshold, positive: p[l.index]! >= l.threshold } : {}),
  }));
  if (o.kind === 'grade' || o.kind === 'class') {
    const predicted = labels.reduce((best, l) => (l.probability > best.probability ? l : best), labels[0]!);
    return { name: o.name, kind: o.kind, labels, predicted };
  }
  return { name: o.name, kind: o.kind, labels };
}

const dims = (d: ReadonlyArray<number | string>) => `[${d.join(', ')}]`;

/**
 * Names, element types and shapes of the graph against the manifest. Returns the graph's fixed batch size, if it
 * has one. Numbers must agree; a symbolic (dynamic) dimension on either side matches anything.
 */
function checkGraph(m: Manifest, s: ort.InferenceSession, manifestFile: string, onnxFile: string): number | null {
  const problems: string[] = [];
  if (s.inputNames.length !== 1) problems.push(`the graph has ${s.inputNames.length} inputs (${s.inputNames.join(', ')}); one image input is supported`);
  else if (s.inputNames[0] !== m.input.name) problems.push(`the graph's input is named "${s.inputNames[0]}" but input.name is "${m.input.name}"`);
  let fixedBatch: number | null = null;
  const input = s.inputMetadata[0];
  if (input?.isTensor && s.inputNames[0] === m.input.name) {
    if (input.type !== 'float32') problems.push(`the graph's input "${input.name}" is ${input.type}, input.dtype is float32`);
    problems.push(...shapeProblems(input.shape, m.input.shape, `input "${input.name}"`, 'input.shape'));
    if (typeof input.shape[0] === 'number') fixedBatch = input.shape[0];
  }
  m.outputs.forEach((o, i) => {
    const meta = s.outputMetadata.find((x) => x.name === o.name);
    if (!meta) {
      problems.push(`outputs[${i}].name is "${o.name}" but the graph has no such output (its outputs: ${s.outputNames.map((x) => `"${x}"`).join(', ')})`);
      return;
    }
    if (!meta.isTensor) return void problems.push(`the graph's output "${o.name}" is not a tensor`);
    if (meta.type !== 'float32') problems.push(`the graph's output "${o.name}" is ${meta.type}, expected float32`);
    problems.push(...shapeProblems(meta.shape, o.shape, `output "${o.name}"`, `outputs[${i}].shape`));
  });
  if (problems.length > 0) throw new Error(`${onnxFile} does not match ${manifestFile}: ${problems.join('; ')}`);
  return fixedBatch;
}

function shapeProblems(graph: ReadonlyArray<number | string>, manifest: ReadonlyArray<number | string>, what: string, key: string): string[] {
  if (graph.length === 0) return []; // the graph does not declare a shape; the warm-up run checks the real one
  if (graph.length !== manifest.length) return [`the graph's ${what} has shape ${dims(graph)} but ${key} is ${dims(manifest)}`];
  const bad = graph.some((d, k) => typeof d === 'number' && d > 0 && typeof manifest[k] === 'number' && d !== manifest[k]);
  return bad ? [`the graph's ${what} has shape ${dims(graph)} but ${key} is ${dims(manifest)}`] : [];
}

/** One run on a blank batch: the provider really runs the graph, and the outputs have the manifest's sizes. */
async function warmUp(m: Manifest, s: ort.InferenceSession, batch: number, manifestFile: string, onnxFile: string): Promise<void> {
  const [, c, h, w] = m.input.shape;
  const feeds = { [m.input.name]: new ort.Tensor('float32', new Float32Array(batch * c * h * w), [batch, c, h, w]) };
  const out = await s.run(feeds, m.outputs.map((o) => o.name));
  const problems: string[] = [];
  m.outputs.forEach((o, i) => {
    const t = out[o.name] as ort.Tensor;
    const want = o.shape.map((d, k) => (k === 0 ? batch : d));
    if (t.type !== 'float32') problems.push(`output "${o.name}" holds ${t.type}, expected float32`);
    if (t.dims.length !== want.length || want.some((d, k) => typeof d === 'number' && d !== t.dims[k])) {
      problems.push(`output "${o.name}" came out as ${dims(t.dims)} for a batch of ${batch}, but outputs[${i}].shape is ${dims(o.shape)}`);
    }
  });
  if (problems.length > 0) throw new Error(`${onnxFile} does not match ${manifestFile}: ${problems.join('; ')}`);
}
