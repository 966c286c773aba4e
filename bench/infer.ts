// Inference benchmark: every model under the models directory, on every execution provider that starts here, at
// batch 1 and 8, and the same networks in PyTorch in the same run.
//
//   npm run bench:infer [-- --models-dir models --iterations N --warmup N --threads 2 --providers cpu,webgpu,cuda
//                          --rounds 2 --fixture FILE --python /usr/bin/python3 --no-torch --quick
//                          --write-docs [--docs docs/benchmarks.md]]
//
// Timed, separately:
//   - the model run alone: ModelRegistry.runTensor, i.e. one onnxruntime-node session.run on a preprocessed NCHW
//     float32 batch (a real IDRiD fixture image, preprocessed once, copied into every slot); per batch and per image
//     (batch time / batch size), p50 and p95 over the timed runs, and images/s (images / total timed seconds);
//   - the whole path per image at batch 1, as the gateway's inference stage does it: ModelRegistry.run on the decode
//     stage's PNG file (sharp decode, fundus border crop, pad, resize, normalise, session.run, outputs read, masks
//     brought back to the source image);
//   - PyTorch on the same network (bench/infer_torch.py, /usr/bin/python3, same thread count, same batch sizes and
//     run counts, model(x) alone in eval mode under no_grad), and onnxruntime-node against it as a ratio:
//     PyTorch ms per image / ORT ms per image (> 1: ORT faster). ORT and PyTorch alternate in rounds per model and
//     batch, so load from other work on the machine falls on both.
// Providers that cannot start here are listed with the reason. Prints tables; --write-docs rewrites the
// `## Inference` section of docs/benchmarks.md (bench/docs-section.ts), nothing else. Never part of `npm test`.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { configSchema } from '../src/config/schema.js';
import { decodeFile } from '../src/dicom/pixels/index.js';
import type { Provider } from '../src/inference/execution-provider.js';
import { loadManifest } from '../src/inference/manifest.js';
import { ModelLoadError, ModelRegistry, type ModelInfo } from '../src/inference/model-registry.js';
import { preprocessSpec, toModelInput } from '../src/inference/preprocess.js';
import { PROJECT_ROOT } from '../src/project-root.js';
import { writeDocSection } from './docs-section.js';
import { summarise, type Timing } from './stats.js';

const ALL_PROVIDERS: Provider[] = ['cpu', 'webgpu', 'cuda'];
const BATCHES = [1, 8];

const { values: args } = parseArgs({
  options: {
    'models-dir': { type: 'string', default: 'models' },
    iterations: { type: 'string' },
    warmup: { type: 'string' },
    threads: { type: 'string' },
    providers: { type: 'string', default: ALL_PROVIDERS.join(',') },
    rounds: { type: 'string', default: '2' },
    fixture: { type: 'string' },
    python: { type: 'string', default: '/usr/bin/python3' },
    docs: { type: 'string', default: path.join('docs', 'benchmarks.md') },
    'no-torch': { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    'write-docs': { type: 'boolean', default: false },
  },
  strict: true,
});

const positive = (v: string | undefined, name: string, min = 1): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) { console.error(`--${name} must be an integer >= ${min}`); process.exit(2); }
  return n;
};
const MODELS_DIR = path.resolve(PROJECT_ROOT, args['models-dir']);
const THREADS = positive(args.threads, 'threads') ?? configSchema.parse({}).inference.intraOpThreads;
const ITERATIONS = positive(args.iterations, 'iterations');
const WARMUP = positive(args.warmup, 'warmup', 0);
const ROUNDS = positive(args.rounds, 'rounds')!;
const PROVIDERS = args.providers.split(',').map((p) => p.trim()).filter(Boolean);
for (const p of PROVIDERS) if (!ALL_PROVIDERS.includes(p as Provider)) { console.error(`--providers: unknown provider "${p}" (${ALL_PROVIDERS.join(', ')})`); process.exit(2); }
const DOCS = path.resolve(PROJECT_ROOT, args.docs);
const COMMAND = `npm run bench:infer${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;

/** Timed runs and warm-up runs for a model: a segmenter at 768 px takes about half a second a run on 2 cores. */
function plan(m: ModelInfo): { iterations: number; warmup: number } {
  const seg = m.task === 'segmentation';
  return {
    iterations: ITERATIONS ?? (args.quick ? (seg ? 2 : 4) : (seg ? 8 : 20)),
    warmup: WARMUP ?? (args.quick ? 1 : (seg ? 1 : 3)),
  };
}

const log = (msg: string) => console.log(`[bench] ${msg}`);
const fmt = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

// ---- machine ---------------------------------------------------------------------------------------------------

const started = new Date();
const load = os.loadavg();
const require = createRequire(import.meta.url);
const ortVersion = (JSON.parse(readFileSync(require.resolve('onnxruntime-node/package.json'), 'utf8')) as { version: string }).version;
const machine = {
  cpu: os.cpus()[0]?.model.trim() ?? '?',
  cores: os.cpus().length,
  memGiB: os.totalmem() / 2 ** 30,
  kernel: `${os.type()} ${os.release()}`,
  load: load.map((x) => x.toFixed(2)).join(', '),
  node: process.version,
  ort: ortVersion,
  sharp: sharp.versions.sharp,
};
log(`${machine.cores} cores (${machine.cpu}), ${fmt(machine.memGiB)} GiB; load average ${machine.load}; Node ${machine.node}, onnxruntime-node ${ortVersion}`);
const busy = load[0]! > 1;
if (busy) log(`WARNING: load average ${load[0]!.toFixed(2)} > 1 at start: other work is running, figures will be noisy (the ORT/PyTorch ratios alternate rounds and suffer less)`);

// ---- the image ---------------------------------------------------------------------------------------------------

interface FixtureEntry { path: string; valid: boolean; ophthalmic: boolean; description?: string }
const fixtures = (JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'fixtures', 'manifest.json'), 'utf8')) as { files: FixtureEntry[] }).files;
const fixture = args.fixture
  ? fixtures.find((f) => f.path === args.fixture || path.basename(f.path) === args.fixture)
  : fixtures.find((f) => f.valid && f.ophthalmic && /idrid/i.test(f.path));
if (!fixture) { console.error(`no fixture ${args.fixture ? `"${args.fixture}"` : 'of a valid IDRiD ophthalmic image'} in fixtures/manifest.json`); process.exit(2); }
const [frame] = await decodeFile(readFileSync(path.join(PROJECT_ROOT, 'fixtures', fixture.path)));
if (!frame) { console.error(`${fixture.path}: no frame`); process.exit(2); }
const work = mkdtempSync(path.join(os.tmpdir(), 'ophgate-bench-infer-'));
const png = path.join(work, 'frame-1.png');
// As the decode stage writes it (src/pipeline/stages/decode.ts): what the inference stage reads.
await sharp(frame.rgb, { raw: { width: frame.columns, height: frame.rows, channels: 3 } }).png({ compressionLevel: 3 }).toFile(png);
const image = { name: path.basename(fixture.path), width: frame.columns, height: frame.rows, description: fixture.description ?? '' };
log(`image: ${image.name} (${image.width} x ${image.height}), decoded once and written as the decode stage's PNG`);

// ---- providers ---------------------------------------------------------------------------------------------------

const registries = new Map<Provider, ModelRegistry>();
const absent: Array<{ provider: Provider; reason: string }> = [];
const notAsked = ALL_PROVIDERS.filter((p) => !PROVIDERS.includes(p));

/** The provider's own reason, once, without the per-model prefixes of the registry's error. */
function providerReason(err: unknown): string {
  const problems = err instanceof ModelLoadError ? err.problems : [(err as Error).message ?? String(err)];
  const reasons = [...new Set(problems.map((p) => p.replace(/^.*?\(configured explicitly\) failed: /, '')))];
  return reasons.join('; ');
}

class NoModels extends Error {}
let exitCode = 0;
try {
  for (const p of PROVIDERS as Provider[]) {
    try {
      const t0 = process.hrtime.bigint();
      const reg = await ModelRegistry.open({ modelsDir: MODELS_DIR, executionProvider: p, intraOpThreads: THREADS, batchSize: Math.max(...BATCHES) });
      if (reg.models.length === 0) {
        await reg.close();
        throw new NoModels(`no models in ${MODELS_DIR} (no sub-folder with a manifest.json)`);
      }
      registries.set(p, reg);
      log(`${p}: present; ${reg.models.map((m) => m.name).join(', ')} loaded and checked in ${fmt(ms(t0) / 1000, 1)} s`);
    } catch (err) {
      // A model the CPU cannot run is the model's problem, not the provider's.
      if (p === 'cpu' || err instanceof NoModels) throw err;
      absent.push({ provider: p, reason: providerReason(err) });
      log(`${p}: absent: ${providerReason(err)}`);
    }
  }
  if (registries.size === 0) throw new Error(`no execution provider of ${PROVIDERS.join(', ')} could run the models`);
} catch (err) {
  console.error(`[bench] FAILED: ${(err as Error).message}`);
  rmSync(work, { recursive: true, force: true });
  process.exit(1);
}
const present = [...registries.keys()];
const models = [...registries.values()][0]!.models.slice().sort((a, b) => a.name.localeCompare(b.name));

// ---- PyTorch -----------------------------------------------------------------------------------------------------

interface TorchInfo { task: string; network: string; size: number; weights: string; parameters: number; torch: string; threads: number; mkldnn: boolean; omp_wait_policy: string | null }

const TORCH_OMP_WAIT = process.env.OMP_WAIT_POLICY || 'PASSIVE';

/** bench/infer_torch.py --serve for one model: loaded once, asked for timed runs line by line. */
class TorchHelper {
  private stderr = '';
  private constructor(private readonly child: ChildProcessWithoutNullStreams, private readonly lines: AsyncIterator<string>, readonly info: TorchInfo) {}

  static async start(manifestFile: string): Promise<TorchHelper> {
    const child = spawn(args.python, [path.join(PROJECT_ROOT, 'bench', 'infer_torch.py'), '--manifest', manifestFile, '--threads', String(THREADS), '--serve'], {
      cwd: PROJECT_ROOT, stdio: ['pipe', 'pipe', 'pipe'],
      // GNU OpenMP's default spin-waiting makes PyTorch 10-30x slower as soon as other work shares the cores
      // (measured here: classifier batch 1, 2.4-7.9 s against 0.2 s); passive waiting unless the caller chose.
      env: { ...process.env, OMP_WAIT_POLICY: TORCH_OMP_WAIT },
    });
    child.stdin.on('error', () => undefined); // a helper that died answers the next request with the end of its output
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => { stderr = (stderr + c.toString('utf8')).slice(-4000); });
    const spawnError = new Promise<never>((_, reject) => child.once('error', (e) => reject(new Error(`${args.python}: ${e.message}`))));
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const first = await Promise.race([lines.next(), spawnError]);
    const msg = first.done ? undefined : JSON.parse(first.value) as ({ ready: true } & TorchInfo) | { error: string };
    if (!msg || !('ready' in msg)) {
      child.kill();
      throw new Error(msg && 'error' in msg ? msg.error : `infer_torch.py exited: ${stderr.trim().split('\n').slice(-3).join(' | ') || 'no output'}`);
    }
    const h = new TorchHelper(child, lines, msg);
    child.stderr.removeAllListeners('data');
    h.stderr = stderr;
    child.stderr.on('data', (c: Buffer) => { h.stderr = (h.stderr + c.toString('utf8')).slice(-4000); });
    return h;
  }

  async run(batch: number, iterations: number, warmup: number): Promise<number[]> {
    this.child.stdin.write(`${JSON.stringify({ batch, iterations, warmup })}\n`);
    const r = await this.lines.next();
    if (r.done) throw new Error(`infer_torch.py stopped: ${this.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    const msg = JSON.parse(r.value) as { ms?: number[]; error?: string };
    if (!msg.ms) throw new Error(msg.error ?? `infer_torch.py: unexpected answer ${r.value.slice(0, 200)}`);
    return msg.ms;
  }

  async close(): Promise<void> {
    this.child.stdin.end();
    if (this.child.exitCode === null) await new Promise((resolve) => this.child.once('exit', resolve));
  }
}

// ---- measuring ---------------------------------------------------------------------------------------------------

type Engine = Provider | 'pytorch';
interface ModelRow { engine: Engine; model: string; batch: number; timing: Timing }
interface PathRow { provider: Provider; model: string; timing: Timing }
interface TorchNote { model: string; info?: TorchInfo; reason?: string }
const modelRows: ModelRow[] = [];
const pathRows: PathRow[] = [];
const torchNotes: TorchNote[] = [];
const skipped: string[] = [];

/** Splits n runs into k rounds as evenly as possible. */
const split = (n: number, k: number) => Array.from({ length: Math.min(k, n) }, (_, i) => Math.floor(n / Math.min(k, n)) + (i < n % Math.min(k, n) ? 1 : 0));

try {
  for (const m of models) {
    const { iterations, warmup } = plan(m);
    log(`${m.name} (${m.task}, ${m.input.width} x ${m.input.height}): ${iterations} timed runs after ${warmup} warm-up, ${THREADS} threads`);
    const spec = preprocessSpec(loadManifest(path.join(m.dir, 'manifest.json')));
    const one = new Float32Array(3 * spec.width * spec.height);
    await toModelInput(png, spec, one, 0);

    let torch: TorchHelper | undefined;
    if (!args['no-torch']) {
      try {
        const t0 = process.hrtime.bigint();
        torch = await TorchHelper.start(path.join(m.dir, 'manifest.json'));
        torchNotes.push({ model: m.name, info: torch.info });
        log(`  PyTorch ${torch.info.torch}: ${torch.info.network}, ${torch.info.parameters} parameters, weights ${torch.info.weights}; started in ${fmt(ms(t0) / 1000)} s`);
      } catch (err) {
        torchNotes.push({ model: m.name, reason: (err as Error).message });
        log(`  PyTorch: not compared: ${(err as Error).message}`);
      }
    }

    for (const batch of BATCHES) {
      const data = new Float32Array(batch * one.length);
      for (let i = 0; i < batch; i++) data.set(one, i * one.length);
      const times = new Map<Engine, number[]>();
      const ort = async (p: Provider, n: number, keep: boolean) => {
        const reg = registries.get(p)!;
        for (let i = 0; i < n; i++) {
          const t0 = process.hrtime.bigint();
          await reg.runTensor(m.name, data, batch);
          if (keep) (times.get(p) ?? times.set(p, []).get(p)!).push(ms(t0));
        }
      };
      const engines: Engine[] = [...present, ...(torch ? ['pytorch' as const] : [])];
      for (const e of engines) {
        try {
          if (e === 'pytorch') await torch!.run(batch, 0, warmup);
          else await ort(e, warmup, false);
        } catch (err) {
          skipped.push(`${e}/${m.name}/${batch}`);
          log(`  ${e} batch ${batch}: not measured: ${(err as Error).message}`);
        }
      }
      let live = engines.filter((e) => !skipped.includes(`${e}/${m.name}/${batch}`));
      // Rounds: ORT then PyTorch, then PyTorch then ORT, ... so that a burst of other work hits both.
      for (const [r, n] of split(iterations, ROUNDS).entries()) {
        const order = r % 2 === 0 ? live : [...live].reverse();
        for (const e of order) {
          if (e !== 'pytorch') await ort(e, n, true);
          else {
            try {
              (times.get(e) ?? times.set(e, []).get(e)!).push(...await torch!.run(batch, n, 0));
            } catch (err) {
              // PyTorch failing (e.g. out of memory at batch 8) costs its figures for this batch, not the run.
              log(`  pytorch batch ${batch}: stopped: ${(err as Error).message}`);
              times.delete(e);
              live = live.filter((x) => x !== e);
              skipped.push(`${e}/${m.name}/${batch}`);
            }
          }
        }
      }
      for (const [engine, t] of times) {
        const row = { engine, model: m.name, batch, timing: summarise(t, batch) };
        modelRows.push(row);
        log(`  ${engine.padEnd(7)} batch ${batch}: ${fmt(row.timing.p50)} ms/batch p50, ${fmt(row.timing.p95)} p95, ${fmt(row.timing.imagesPerSecond, 2)} images/s`);
      }
    }
    await torch?.close();

    // The whole path for one image, on each provider: PNG file in, typed outputs (masks at source size) out.
    for (const p of present) {
      const reg = registries.get(p)!;
      const t: number[] = [];
      for (let i = 0; i < warmup + iterations; i++) {
        const t0 = process.hrtime.bigint();
        await reg.run(m.name, [png]);
        if (i >= warmup) t.push(ms(t0));
      }
      const row = { provider: p, model: m.name, timing: summarise(t, 1) };
      pathRows.push(row);
      log(`  ${p.padEnd(7)} whole path, batch 1: ${fmt(row.timing.p50)} ms p50, ${fmt(row.timing.p95)} p95`);
    }
  }
} catch (err) {
  exitCode = 1;
  console.error(`[bench] FAILED: ${(err as Error).stack ?? err}`);
} finally {
  for (const reg of registries.values()) await reg.close().catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
}

// ---- report ------------------------------------------------------------------------------------------------------

const engineName = (e: Engine) => (e === 'pytorch' ? `PyTorch ${torchNotes.find((n) => n.info)?.info?.torch ?? ''} (CPU)`.replace('  ', ' ') : `ORT ${e}`);
const header1 = ['engine', 'model', 'batch', 'runs', 'ms/batch p50', 'ms/batch p95', 'ms/image p50', 'ms/image p95', 'images/s'];
const rows1 = modelRows.map((r) => [engineName(r.engine), r.model, String(r.batch), String(r.timing.n), fmt(r.timing.p50), fmt(r.timing.p95), fmt(r.timing.p50 / r.batch), fmt(r.timing.p95 / r.batch), fmt(r.timing.imagesPerSecond, 2)]);
const header2 = ['provider', 'model', 'runs', 'ms/image p50', 'ms/image p95', 'images/s'];
const rows2 = pathRows.map((r) => [`ORT ${r.provider}`, r.model, String(r.timing.n), fmt(r.timing.p50), fmt(r.timing.p95), fmt(r.timing.imagesPerSecond, 2)]);
const header3 = ['model', 'batch', 'ORT provider', 'ORT ms/image p50', 'PyTorch ms/image p50', 'PyTorch/ORT'];
const rows3: string[][] = [];
for (const t of modelRows.filter((r) => r.engine === 'pytorch')) {
  for (const o of modelRows.filter((r) => r.engine !== 'pytorch' && r.model === t.model && r.batch === t.batch)) {
    rows3.push([t.model, String(t.batch), o.engine, fmt(o.timing.p50 / o.batch), fmt(t.timing.p50 / t.batch), `${fmt(t.timing.p50 / o.timing.p50, 2)}x`]);
  }
}

function plain(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const w = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => /^[\d.x-]+$/.test(r[i]!)));
  const line = (r: string[]) => r.map((c, i) => (numeric[i] ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join('  ');
  return [line(header), w.map((x) => '-'.repeat(x)).join('  '), ...rows.map(line)].join('\n');
}
const md = (header: string[], rows: string[][]) => [header, header.map((_, i) => (rows.length > 0 && rows.every((r) => /^[\d.x-]+$/.test(r[i]!)) ? '---:' : '---')), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');

const providerLines = [
  ...present.map((p) => `${p}: present`),
  ...absent.map((a) => `${a.provider}: absent: ${a.reason}`),
  ...notAsked.map((p) => `${p}: not asked (--providers)`),
];
const torchLines = torchNotes.map((n) => (n.info
  ? `${n.model}: PyTorch ${n.info.torch}, ${n.info.network} at ${n.info.size} px, ${n.info.parameters} parameters, weights ${n.info.weights}, ${n.info.threads} threads, oneDNN ${n.info.mkldnn ? 'on' : 'off'}, OMP_WAIT_POLICY=${n.info.omp_wait_policy ?? 'unset'}`
  : `${n.model}: not compared: ${n.reason}`));

console.log(`
Execution providers:
${providerLines.map((l) => `  ${l}`).join('\n')}

Model run alone (preprocessed NCHW float32 tensor in, one session.run / model(x) per run; ms/image = ms/batch / batch):
${plain(header1, rows1)}

Whole path per image at batch 1 (decode-stage PNG of ${image.name}, ${image.width} x ${image.height} -> sharp decode, crop, pad, resize, normalise -> run -> outputs, masks back to the source):
${plain(header2, rows2)}
${rows3.length ? `
onnxruntime-node against PyTorch, same network, same threads, same run (PyTorch ms per image / ORT ms per image; > 1: ORT faster):
${plain(header3, rows3)}
` : ''}${torchLines.length ? `\n${torchLines.join('\n')}\n` : ''}
${THREADS} threads; load average at start ${machine.load}${busy ? ' (above 1: other work was running, figures are noisy)' : ''}; ${COMMAND}
`);
if (modelRows.length === 0) exitCode = 1;

if (args['write-docs'] && exitCode === 0) {
  const section = `## Inference: onnxruntime-node, per execution provider, beside PyTorch

What is measured, in one run, for every model under the models directory (\`${path.relative(PROJECT_ROOT, MODELS_DIR) || '.'}\`), on every
execution provider that starts on the machine, with ${THREADS} intra-op threads:

- **Model run alone**: \`ModelRegistry.runTensor\`, one onnxruntime-node \`session.run\` on a preprocessed NCHW float32
  batch (the image below, preprocessed once and copied into every slot), at batch 1 and 8. Per batch and per image
  (batch time / batch size), median (p50) and 95th percentile over the timed runs after the warm-up runs, and
  images/s (images / total timed seconds). At batch 8 an image waits for the whole batch: its latency is the
  ms/batch column.
- **Whole path per image**, batch 1, as the gateway's inference stage does it: \`ModelRegistry.run\` on the decode
  stage's PNG of ${image.name} (${image.width} x ${image.height}, IDRiD at the fixtures' quarter resolution; a camera's 4288 x 2848
  costs more in decode, crop and masks back to the source): sharp decode, fundus border crop, pad to a square,
  resize, normalise, session.run, outputs read, each mask channel brought back to the source image. In the
  calling thread (the gateway runs the same code in a worker thread).
- **PyTorch on the same network**: \`bench/infer_torch.py\` (\`/usr/bin/python3\`, Debian's torch) rebuilds the
  manifest's \`architecture.network\` from \`models/train/models.py\` with the export wrapper (probabilities out),
  in eval mode under \`torch.no_grad()\`, \`torch.set_num_threads(${THREADS})\`, and times \`model(x)\` alone on a
  float32 tensor of the same shape, same batch sizes and run counts, with \`OMP_WAIT_POLICY=${TORCH_OMP_WAIT}\` (PASSIVE
  unless the environment sets it: with GNU OpenMP's default spinning PyTorch ran 10-30x slower here whenever other
  work shared the cores). Batch normalisation is a separate layer there
  (as trained); the ONNX export folds it into the convolutions. The ratio is PyTorch ms per image / ORT ms per
  image at the median (> 1: onnxruntime-node faster). ORT and PyTorch alternate in ${ROUNDS} rounds per model and batch
  (ORT first, then PyTorch first), so other work on the machine falls on both.

How: \`npm run bench:infer -- --write-docs\` (options: \`--models-dir DIR --iterations N --warmup N --threads N
--providers cpu,webgpu,cuda --rounds N --fixture FILE --python PATH --no-torch --quick --docs FILE\`; defaults: 20 timed runs after 3 warm-up
runs for a classifier, 8 after 1 for a segmenter). Source: \`bench/infer.ts\`, \`bench/infer_torch.py\`.

### Machine

- ${machine.cores} CPU cores (nproc): ${machine.cpu}; ${fmt(machine.memGiB)} GiB memory; ${machine.kernel}
- load average when the run started: ${machine.load}${busy ? ' (above 1: other work was running beside the benchmark, so the absolute figures are noisy; the ratios come from alternating rounds of the same run)' : ''}
- Node ${machine.node}; onnxruntime-node ${machine.ort}; sharp ${machine.sharp}${torchNotes.find((n) => n.info) ? `; PyTorch ${torchNotes.find((n) => n.info)!.info!.torch} (Debian, CPU, oneDNN ${torchNotes.find((n) => n.info)!.info!.mkldnn ? 'on' : 'off'})` : ''}
- command: \`${COMMAND}\`

### Results (${started.toISOString().slice(0, 10)})

Execution providers:

${providerLines.map((l) => `- ${l}`).join('\n')}

Model run alone:

${md(header1, rows1)}

Whole path per image, batch 1:

${md(header2, rows2)}
${rows3.length ? `
onnxruntime-node against PyTorch (PyTorch ms per image / ORT ms per image; > 1: ORT faster):

${md(header3, rows3)}
` : ''}${torchLines.length ? `\nPyTorch models:\n\n${torchLines.map((l) => `- ${l}`).join('\n')}\n` : ''}`;
  writeDocSection(DOCS, 'Inference', section);
  log(`wrote the Inference section of ${path.relative(PROJECT_ROOT, DOCS)}`);
}
process.exit(exitCode);
