// The one error type the decoder throws. Callers (the pipeline's first stage) catch it to reject a study
// with a readable reason instead of crashing; `reason` is a stable machine-friendly code for metrics/logs.

export type PixelDecodeReason =
  | 'parse' // the DICOM dataset itself could not be read
  | 'no-pixel-data'
  | 'unsupported' // a transfer syntax, photometric or bit depth we do not decode
  | 'invalid-attributes' // Rows/Columns/Bits... missing or inconsistent
  | 'too-large' // refused before allocating (DoS guard)
  | 'short-data' // native pixel data or fragments shorter than the attributes require
  | 'truncated' // a compressed codestream ends early
  | 'malformed' // a codestream whose structure is broken
  | 'codec' // the WASM codec failed
  | 'timeout'; // the decode worker took longer than allowed and was stopped

export class PixelDecodeError extends Error {
  readonly reason: PixelDecodeReason;
  /** 1-based frame number when the problem is specific to one frame. */
  readonly frame?: number;

  constructor(reason: PixelDecodeReason, message: string, options?: { frame?: number; cause?: unknown }) {
    const text = options?.frame !== undefined ? `frame ${options.frame}: ${message}` : message;
    super(text, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'PixelDecodeError';
    this.reason = reason;
    if (options?.frame !== undefined) this.frame = options.frame;
  }
}

/** Re-throws a PixelDecodeError unchanged and wraps anything else (including strings thrown by libraries). */
export function asPixelDecodeError(err: unknown, reason: PixelDecodeReason, context: string, frame?: number): PixelDecodeError {
  if (err instanceof PixelDecodeError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new PixelDecodeError(reason, `${context}: ${detail}`, { frame, cause: err });
}
