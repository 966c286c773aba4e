// Messages between ThreadedModelRegistry (main thread) and the inference worker.
import type { ImageInference, ModelInfo, RegistryOptions } from '../model-registry.js';
import type { InferenceStatus } from '../status.js';

/** An image as it crosses the thread boundary (a Buffer arrives as a plain Uint8Array, so the kind is explicit). */
export type WireImage = { path: string } | { encoded: Uint8Array } | { rgb: Uint8Array; width: number; height: number };

export type WorkerRequest =
  | { id: number; op: 'open'; options: Omit<RegistryOptions, 'logger' | 'publish'> }
  | { id: number; op: 'run'; model: string; images: WireImage[] }
  | { id: number; op: 'stats' }
  | { id: number; op: 'close' };

export interface OpenReply { models: ModelInfo[]; status: InferenceStatus }
export interface WorkerStats { sessionsCreated: number; runs: Record<string, number> }
export type RunReply = ImageInference[];

export interface WireError { name: string; message: string; problems?: string[] }

export type WorkerReply =
  | { id: number; ok: true; value: OpenReply | RunReply | WorkerStats | null }
  | { id: number; ok: false; error: WireError };
