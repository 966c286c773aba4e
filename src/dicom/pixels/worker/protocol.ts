// Messages between the decode pool (main thread) and its workers.
import type { DecodedFrame, PixelDecodeReason } from '../index.js';

export interface DecodeRequest { id: number; path: string }
export type TransferredFrame = Omit<DecodedFrame, 'rgb'> & { rgb: ArrayBuffer };
export type DecodeReply =
  | { id: number; frames: TransferredFrame[] }
  | { id: number; error: { pixel: boolean; reason?: PixelDecodeReason; message: string; frame?: number } };
