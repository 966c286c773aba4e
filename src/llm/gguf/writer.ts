import { open } from 'node:fs/promises';
import { quantizeQ8_0 } from './q8_0.js';
import {
  GGML_MAX_DIMS,
  GGML_MAX_NAME_BYTES,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_VERSION,
  GgmlType,
  type GgmlTypeName,
  GgufFormatError,
  GgufValueType,
  Q8_0_BLOCK_SIZE,
} from './types.js';

/** A metadata value with its GGUF type spelled out: JSON numbers alone cannot say uint32 from float32. */
export type GgufValue =
  | { type: 'uint8' | 'uint16' | 'uint32' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64'; value: number }
  | { type: 'uint64' | 'int64'; value: bigint }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'array'; itemType: 'string'; value: readonly string[] }
  | { type: 'array'; itemType: 'float32'; value: Float32Array | readonly number[] }
  | { type: 'array'; itemType: 'int32' | 'uint32'; value: Int32Array | Uint32Array | readonly number[] };

/** Shorthand constructors, e.g. `{ 'llama.block_count': gguf.u32(2) }`. */
export const gguf = {
  u32: (value: number): GgufValue => ({ type: 'uint32', value }),
  i32: (value: number): GgufValue => ({ type: 'int32', value }),
  f32: (value: number): GgufValue => ({ type: 'float32', value }),
  bool: (value: boolean): GgufValue => ({ type: 'bool', value }),
  str: (value: string): GgufValue => ({ type: 'string', value }),
  strings: (value: readonly string[]): GgufValue => ({ type: 'array', itemType: 'string', value }),
  f32s: (value: Float32Array | readonly number[]): GgufValue => ({ type: 'array', itemType: 'float32', value }),
  i32s: (value: Int32Array | readonly number[]): GgufValue => ({ type: 'array', itemType: 'int32', value }),
} as const;

export interface GgufTensorInput {
  name: string;
  /**
   * Row-major shape, outermost axis first, as in NumPy/PyTorch (a Linear weight is [out, in]). The writer stores
   * ggml's `ne`, which is this list REVERSED: ne[0] is the fastest-varying (innermost) axis.
   */
  shape: readonly number[];
  /** Row-major float32 values; the writer converts them to `type`. */
  data: Float32Array;
  type: GgmlTypeName;
}

export interface GgufWriteInput {
  /** Written in insertion order. `general.alignment` is added by the writer. */
  metadata: Readonly<Record<string, GgufValue>>;
  tensors: readonly GgufTensorInput[];
  /** Defaults to 32, the spec's default; always recorded as general.alignment. */
  alignment?: number;
}

const utf8 = new TextEncoder();

/** Collects little-endian fields into one growing buffer. */
class ByteSink {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): void { this.reserve(1); this.view.setUint8(this.length, v); this.length += 1; }
  i8(v: number): void { this.reserve(1); this.view.setInt8(this.length, v); this.length += 1; }
  u16(v: number): void { this.reserve(2); this.view.setUint16(this.length, v, true); this.length += 2; }
  i16(v: number): void { this.reserve(2); this.view.setInt16(this.length, v, true); this.length += 2; }
  u32(v: number): void { this.reserve(4); this.view.setUint32(this.length, v, true); this.length += 4; }
  i32(v: number): void { this.reserve(4); this.view.setInt32(this.length, v, true); this.length += 4; }
  f32(v: number): void { this.reserve(4); this.view.setFloat32(this.length, v, true); this.length += 4; }
  f64(v: number): void { this.reserve(8); this.view.setFloat64(this.length, v, true); this.length += 8; }
  u64(v: bigint | number): void { this.reserve(8); this.view.setBigUint64(this.length, BigInt(v), true); this.length += 8; }
  i64(v: bigint): void { this.reserve(8); this.view.setBigInt64(this.length, v, true); this.length += 8; }
  bytes(b: Uint8Array): void { this.reserve(b.length); this.buf.set(b, this.length); this.length += b.length; }
  /** gguf_string_t: uint64 byte length, then UTF-8 bytes without a terminating NUL. */
  str(s: string): void { const b = utf8.encode(s); this.u64(b.length); this.bytes(b); }
  padTo(alignment: number): void { const pad = alignPad(this.length, alignment); this.reserve(pad); this.length += pad; }
  result(): Uint8Array { return this.buf.subarray(0, this.length); }
}

function alignPad(offset: number, alignment: number): number {
  return (alignment - (offset % alignment)) % alignment;
}

function checkInt(key: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) throw new GgufFormatError(`metadata ${key}: ${v} is out of range`);
}

function writeScalar(sink: ByteSink, key: string, type: string, v: unknown): void {
  switch (type) {
    case 'uint8': checkInt(key, v as number, 0, 0xff); sink.u8(v as number); return;
    case 'int8': checkInt(key, v as number, -0x80, 0x7f); sink.i8(v as number); return;
    case 'uint16': checkInt(key, v as number, 0, 0xffff); sink.u16(v as number); return;
    case 'int16': checkInt(key, v as number, -0x8000, 0x7fff); sink.i16(v as number); return;
    case 'uint32': checkInt(key, v as number, 0, 0xffffffff); sink.u32(v as number); return;
    case 'int32': checkInt(key, v as number, -0x80000000, 0x7fffffff); sink.i32(v as number); return;
    case 'float32': sink.f32(v as number); return;
    case 'float64': sink.f64(v as number); return;
    case 'uint64': sink.u64(v as bigint); return;
    case 'int64': sink.i64(v as bigint); return;
    case 'bool': sink.u8(v ? 1 : 0); return;
    case 'string': sink.str(v as string); return;
    default: throw new GgufFormatError(`metadata ${key}: unsupported type ${type}`);
  }
}

function writeValue(sink: ByteSink, key: string, value: GgufValue): void {
  if (value.type === 'array') {
    sink.u32(GgufValueType.array);
    sink.u32(GgufValueType[value.itemType]);
    sink.u64(value.value.length);
    for (const item of value.value) writeScalar(sink, key, value.itemType, item);
    return;
  }
  sink.u32(GgufValueType[value.type]);
  writeScalar(sink, key, value.type, value.value);
}

interface PreparedTensor {
  name: string;
  ne: number[];
  type: GgmlTypeName;
  bytes: Uint8Array;
  offset: number;
}

function prepareTensor(t: GgufTensorInput): PreparedTensor {
  const nameBytes = utf8.encode(t.name).length;
  if (nameBytes === 0 || nameBytes > GGML_MAX_NAME_BYTES) {
    throw new GgufFormatError(`tensor name "${t.name}" must be 1..${GGML_MAX_NAME_BYTES} bytes`);
  }
  if (t.shape.length === 0 || t.shape.length > GGML_MAX_DIMS || t.shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new GgufFormatError(`tensor ${t.name}: shape [${t.shape.join(', ')}] needs 1..${GGML_MAX_DIMS} positive dimensions`);
  }
  const count = t.shape.reduce((a, b) => a * b, 1);
  if (t.data.length !== count) {
    throw new GgufFormatError(`tensor ${t.name}: shape [${t.shape.join(', ')}] needs ${count} values, got ${t.data.length}`);
  }
  const ne = [...t.shape].reverse();
  let bytes: Uint8Array;
  if (t.type === 'F32') {
    for (let i = 0; i < t.data.length; i++) {
      if (!Number.isFinite(t.data[i]!)) throw new GgufFormatError(`tensor ${t.name}: value at ${i} is not finite`);
    }
    // Copy so a view on a shared buffer with an odd offset is written as exactly its own bytes.
    bytes = new Uint8Array(Float32Array.from(t.data).buffer);
  } else if (t.type === 'Q8_0') {
    // Blocks run along ne[0], so each row (the innermost axis) must hold whole blocks.
    if (ne[0]! % Q8_0_BLOCK_SIZE !== 0) {
      throw new GgufFormatError(`tensor ${t.name}: Q8_0 needs the innermost dimension (${ne[0]}) to be a multiple of ${Q8_0_BLOCK_SIZE}`);
    }
    bytes = quantizeQ8_0(t.data);
  } else {
    throw new GgufFormatError(`tensor ${t.name}: the writer does not produce ${t.type}`);
  }
  return { name: t.name, ne, type: t.type, bytes, offset: 0 };
}

/** Encodes a whole GGUF v3 file in memory (the models written here are tens of MB at most). */
export function encodeGguf(input: GgufWriteInput): Uint8Array {
  const alignment = input.alignment ?? GGUF_DEFAULT_ALIGNMENT;
  if (!Number.isInteger(alignment) || alignment < 1 || alignment % 8 !== 0) {
    throw new GgufFormatError(`alignment ${alignment} must be a positive multiple of 8`);
  }
  if ('general.alignment' in input.metadata) {
    throw new GgufFormatError('general.alignment is written by the writer; pass `alignment` instead');
  }
  const names = new Set<string>();
  const tensors = input.tensors.map((t) => {
    if (names.has(t.name)) throw new GgufFormatError(`duplicate tensor name ${t.name}`);
    names.add(t.name);
    return prepareTensor(t);
  });
  // Offsets are relative to the start of the data section, each a multiple of the alignment.
  let dataSize = 0;
  for (const t of tensors) {
    dataSize += alignPad(dataSize, alignment);
    t.offset = dataSize;
    dataSize += t.bytes.length;
  }

  const metadata: [string, GgufValue][] = [
    ...Object.entries(input.metadata),
    ['general.alignment', { type: 'uint32', value: alignment }],
  ];
  const sink = new ByteSink();
  sink.u32(GGUF_MAGIC);
  sink.u32(GGUF_VERSION);
  sink.u64(tensors.length);
  sink.u64(metadata.length);
  for (const [key, value] of metadata) {
    if (key.length === 0) throw new GgufFormatError('metadata key must not be empty');
    sink.str(key);
    writeValue(sink, key, value);
  }
  for (const t of tensors) {
    sink.str(t.name);
    sink.u32(t.ne.length);
    for (const d of t.ne) sink.u64(d);
    sink.u32(GgmlType[t.type]);
    sink.u64(t.offset);
  }
  sink.padTo(alignment);
  const dataStart = sink.length;
  for (const t of tensors) {
    sink.padTo(alignment);
    if (sink.length - dataStart !== t.offset) throw new Error(`internal: tensor ${t.name} landed off its offset`);
    sink.bytes(t.bytes);
  }
  // ggml's own writer pads after every tensor, the last included; do the same so files compare alike.
  sink.padTo(alignment);
  return sink.result();
}

export async function writeGguf(path: string, input: GgufWriteInput): Promise<{ bytes: number }> {
  const bytes = encodeGguf(input);
  const fh = await open(path, 'w');
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return { bytes: bytes.length };
}
