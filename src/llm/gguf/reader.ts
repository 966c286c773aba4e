import { readFile } from 'node:fs/promises';
import { dequantizeQ8_0 } from './q8_0.js';
import {
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GgmlType,
  type GgmlTypeName,
  GgufFormatError,
  GgufValueType,
  Q8_0_BLOCK_BYTES,
  Q8_0_BLOCK_SIZE,
} from './types.js';

/** A metadata value as read: numbers for 8..32-bit and float types, bigint for 64-bit integers. */
export type GgufReadValue = number | bigint | boolean | string | GgufReadValue[];

export interface GgufReadTensorInfo {
  name: string;
  /** ggml order as stored: ne[0] is the innermost axis. */
  ne: number[];
  /** Row-major shape (ne reversed), as the writer was given it. */
  shape: number[];
  type: GgmlTypeName;
  /** Relative to dataOffset. */
  offset: number;
  byteLength: number;
}

export interface GgufFile {
  version: number;
  metadata: Map<string, GgufReadValue>;
  /** GGUF value type code of each key (arrays: 9), so tests can check types, not just values. */
  metadataTypes: Map<string, { type: number; itemType?: number }>;
  tensors: GgufReadTensorInfo[];
  alignment: number;
  /** Absolute byte offset of the data section. */
  dataOffset: number;
  bytes: Uint8Array;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const typeNames = new Map<number, GgmlTypeName>(Object.entries(GgmlType).map(([k, v]) => [v, k as GgmlTypeName]));

class Cursor {
  pos = 0;
  private view: DataView;
  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  private need(n: number): number {
    if (this.pos + n > this.bytes.length) throw new GgufFormatError(`truncated GGUF: needs ${n} bytes at ${this.pos}`);
    const p = this.pos;
    this.pos += n;
    return p;
  }
  u8(): number { return this.view.getUint8(this.need(1)); }
  i8(): number { return this.view.getInt8(this.need(1)); }
  u16(): number { return this.view.getUint16(this.need(2), true); }
  i16(): number { return this.view.getInt16(this.need(2), true); }
  u32(): number { return this.view.getUint32(this.need(4), true); }
  i32(): number { return this.view.getInt32(this.need(4), true); }
  f32(): number { return this.view.getFloat32(this.need(4), true); }
  f64(): number { return this.view.getFloat64(this.need(8), true); }
  u64(): bigint { return this.view.getBigUint64(this.need(8), true); }
  i64(): bigint { return this.view.getBigInt64(this.need(8), true); }
  size(): number {
    const v = this.u64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new GgufFormatError(`size ${v} too large`);
    return Number(v);
  }
  str(): string {
    const n = this.size();
    const p = this.need(n);
    return utf8.decode(this.bytes.subarray(p, p + n));
  }
}

function readScalar(c: Cursor, type: number): GgufReadValue {
  switch (type) {
    case GgufValueType.uint8: return c.u8();
    case GgufValueType.int8: return c.i8();
    case GgufValueType.uint16: return c.u16();
    case GgufValueType.int16: return c.i16();
    case GgufValueType.uint32: return c.u32();
    case GgufValueType.int32: return c.i32();
    case GgufValueType.float32: return c.f32();
    case GgufValueType.float64: return c.f64();
    case GgufValueType.uint64: return c.u64();
    case GgufValueType.int64: return c.i64();
    case GgufValueType.bool: {
      const b = c.u8();
      if (b > 1) throw new GgufFormatError(`bool byte ${b} is neither 0 nor 1`);
      return b === 1;
    }
    case GgufValueType.string: return c.str();
    default: throw new GgufFormatError(`unknown metadata value type ${type}`);
  }
}

/** Parses a GGUF v2/v3 file: header, metadata, tensor infos; tensor data stays in `bytes`. */
export function parseGguf(bytes: Uint8Array): GgufFile {
  const c = new Cursor(bytes);
  const magic = c.u32();
  if (magic !== GGUF_MAGIC) throw new GgufFormatError('not a GGUF file (bad magic)');
  const version = c.u32();
  if (version !== 2 && version !== 3) throw new GgufFormatError(`unsupported GGUF version ${version}`);
  const tensorCount = c.size();
  const kvCount = c.size();
  const metadata = new Map<string, GgufReadValue>();
  const metadataTypes = new Map<string, { type: number; itemType?: number }>();
  for (let i = 0; i < kvCount; i++) {
    const key = c.str();
    if (metadata.has(key)) throw new GgufFormatError(`duplicate metadata key ${key}`);
    const type = c.u32();
    if (type === GgufValueType.array) {
      const itemType = c.u32();
      const n = c.size();
      const items: GgufReadValue[] = [];
      for (let j = 0; j < n; j++) items.push(readScalar(c, itemType));
      metadata.set(key, items);
      metadataTypes.set(key, { type, itemType });
    } else {
      metadata.set(key, readScalar(c, type));
      metadataTypes.set(key, { type });
    }
  }
  const alignmentValue = metadata.get('general.alignment') ?? GGUF_DEFAULT_ALIGNMENT;
  if (typeof alignmentValue !== 'number' || alignmentValue <= 0) throw new GgufFormatError('bad general.alignment');
  const alignment = alignmentValue;

  const tensors: GgufReadTensorInfo[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = c.str();
    const nDims = c.u32();
    const ne: number[] = [];
    for (let d = 0; d < nDims; d++) ne.push(c.size());
    const typeCode = c.u32();
    const type = typeNames.get(typeCode);
    if (type === undefined) throw new GgufFormatError(`tensor ${name}: ggml type ${typeCode} is not read by this reader`);
    const offset = c.size();
    const count = ne.reduce((a, b) => a * b, 1);
    const byteLength =
      type === 'F32' ? count * 4 : type === 'F16' ? count * 2 : (count / Q8_0_BLOCK_SIZE) * Q8_0_BLOCK_BYTES;
    tensors.push({ name, ne, shape: [...ne].reverse(), type, offset, byteLength });
  }
  const dataOffset = c.pos + ((alignment - (c.pos % alignment)) % alignment);
  for (const t of tensors) {
    if (t.offset % alignment !== 0) throw new GgufFormatError(`tensor ${t.name}: offset ${t.offset} is not aligned`);
    if (dataOffset + t.offset + t.byteLength > bytes.length) throw new GgufFormatError(`tensor ${t.name}: data past end of file`);
  }
  return { version, metadata, metadataTypes, tensors, alignment, dataOffset, bytes };
}

export async function readGguf(path: string): Promise<GgufFile> {
  return parseGguf(new Uint8Array(await readFile(path)));
}

/** A tensor's values as float32, row-major (Q8_0 dequantised). */
export function readTensorData(file: GgufFile, name: string): Float32Array {
  const t = file.tensors.find((x) => x.name === name);
  if (!t) throw new GgufFormatError(`no tensor ${name}`);
  const start = file.dataOffset + t.offset;
  const raw = file.bytes.slice(start, start + t.byteLength);
  const count = t.ne.reduce((a, b) => a * b, 1);
  if (t.type === 'F32') return new Float32Array(raw.buffer, 0, count);
  if (t.type === 'Q8_0') return dequantizeQ8_0(raw, count);
  throw new GgufFormatError(`tensor ${name}: reading ${t.type} data is not supported`);
}
