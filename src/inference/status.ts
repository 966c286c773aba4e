// What /readyz says about inference. The onnxruntime binding is one per process, so is the answer: whichever
// registry the gateway opened (in this thread or in its inference worker) publishes here, and health.ts reads it.
import type { Provider, ProviderChoice, ProviderFailure } from './execution-provider.js';

export interface InferenceStatus {
  /** 'no models': nothing loaded (no registry opened, or an empty models directory); 'failed': the worker died. */
  state: 'no models' | 'ready' | 'failed';
  /** The configured choice, and the provider(s) the loaded models run on ("cpu"; "cuda" ...). */
  choice?: ProviderChoice;
  executionProvider?: string;
  /** Providers tried before the one that runs, and why each was not used. */
  notUsed?: ProviderFailure[];
  models?: Array<{ name: string; version: string; task: string; provider: Provider }>;
  error?: string;
}

let current: InferenceStatus = { state: 'no models' };

export function publishInferenceStatus(status: InferenceStatus): void {
  current = status;
}

export function inferenceStatus(): InferenceStatus {
  return current;
}
