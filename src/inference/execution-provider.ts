// Which onnxruntime execution provider runs the models. onnxruntime-node 1.30 on linux-x64 bundles the CPU and
// WebGPU providers (WebGPU is Dawn on Vulkan: it needs libvulkan1 and a real GPU's Vulkan driver; without one the
// session fails with "No supported adapters"); its CUDA provider is a separate library that the package's
// postinstall downloads from outside npm, which package.json denies, so it is only there where a site approved it
// (see README.md). A provider is only known to work once a session has been created with it, so the choice is
// made by trying: 'auto' tries cuda, then webgpu, then cpu, keeping each failure's reason; an explicit choice
// that fails is an error (an operator who asked for CUDA must not silently get the CPU).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as ort from 'onnxruntime-node';

export type Provider = 'cuda' | 'webgpu' | 'cpu';
export type ProviderChoice = Provider | 'auto';
export const AUTO_ORDER: readonly Provider[] = ['cuda', 'webgpu', 'cpu'];

export interface ProviderFailure { provider: Provider; reason: string }

export interface SessionSettings { intraOpThreads: number }

export class ProviderError extends Error {
  constructor(message: string, readonly failures: ProviderFailure[]) {
    super(message);
    this.name = 'ProviderError';
  }
}

class Unavailable extends Error {}

/** The folder of onnxruntime-node's native libraries for this platform (where a CUDA install puts its .so files). */
function nativeDir(): string | undefined {
  try {
    const pkg = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
    return path.join(path.dirname(pkg), 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return undefined;
  }
}

const CUDA_LIBRARIES = ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'];

/**
 * Why a provider cannot be tried at all, before trying it. The CUDA provider's libraries are absent unless the
 * postinstall ran; trying anyway only makes the runtime print a load failure on stderr.
 */
function missing(provider: Provider): string | undefined {
  if (provider !== 'cuda') return undefined;
  const dir = nativeDir();
  const absent = dir ? CUDA_LIBRARIES.filter((f) => !existsSync(path.join(dir, f))) : [];
  if (absent.length === 0) return undefined;
  return `CUDA provider libraries are not installed (${absent.join(', ')} absent from ${dir}; onnxruntime-node's `
    + 'postinstall downloads them and package.json denies it: see src/inference/README.md, "GPU sites")';
}

/** A failure message an operator can act on; the runtime's own message is kept at the end. */
function explain(provider: Provider, err: unknown): string {
  const raw = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim();
  if (provider === 'cuda') return `CUDA provider failed to start (it needs CUDA 12, cuDNN 9 and an NVIDIA driver): ${raw}`;
  if (provider === 'webgpu' && /adapter/i.test(raw)) {
    return `no WebGPU adapter (Dawn on Vulkan needs a GPU with a Vulkan driver; software Vulkan is not used): ${raw}`;
  }
  return raw;
}

function sessionOptions(provider: Provider, s: SessionSettings): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [provider],
    intraOpNumThreads: s.intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  };
}

/**
 * Creates sessions on the configured provider. One selector serves the whole registry: a provider that failed
 * for one model is not tried again for the next (a missing library or absent GPU does not come back), so every
 * model normally ends on the same provider.
 */
export class ProviderSelector {
  readonly failures: ProviderFailure[] = [];
  private readonly unavailable = new Set<Provider>();

  constructor(readonly choice: ProviderChoice, private readonly settings: SessionSettings) {}

  get candidates(): Provider[] {
    return this.choice === 'auto' ? AUTO_ORDER.filter((p) => !this.unavailable.has(p)) : [this.choice];
  }

  /**
   * A session for the model on the first provider that accepts it. `check` (e.g. a warm-up run) must also pass for
   * a provider to count; its failure is recorded like a creation failure.
   */
  async create(
    model: Uint8Array, check?: (session: ort.InferenceSession) => Promise<void>,
  ): Promise<{ session: ort.InferenceSession; provider: Provider; tried: ProviderFailure[] }> {
    const tried: ProviderFailure[] = [];
    for (const provider of this.candidates) {
      let session: ort.InferenceSession | undefined;
      try {
        const absent = missing(provider);
        if (absent) throw new Unavailable(absent);
        session = await ort.InferenceSession.create(model, sessionOptions(provider, this.settings));
        if (check) await check(session);
        return { session, provider, tried };
      } catch (err) {
        await session?.release().catch(() => undefined);
        // A model the CPU cannot run is the model's fault (or the manifest's), not the provider's: report it as it is.
        if (provider === 'cpu') throw err;
        const failure = { provider, reason: err instanceof Unavailable ? err.message : explain(provider, err) };
        if (this.choice !== 'auto') {
          throw new ProviderError(`execution provider ${provider} (configured explicitly) failed: ${failure.reason}`, [failure]);
        }
        tried.push(failure);
        // Only a session that could not be created marks the provider unavailable; a failed check may be the model.
        if (session === undefined) {
          this.unavailable.add(provider);
          this.failures.push(failure);
        }
      }
    }
    throw new ProviderError(`no execution provider could run the model: ${tried.map((t) => `${t.provider}: ${t.reason}`).join('; ')}`, tried);
  }
}
