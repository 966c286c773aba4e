// Numeric codes from ggml's docs/gguf.md ("GGUF" file format specification, version 3) and ggml.h.

export const GGUF_MAGIC = 0x46554747; // the bytes "GGUF" read as a little-endian uint32
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** ggml's GGML_MAX_NAME is 64 bytes including the terminating NUL. */
export const GGML_MAX_NAME_BYTES = 63;
export const GGML_MAX_DIMS = 4;

/** gguf_metadata_value_type */
export const GgufValueType = {
  uint8: 0,
  int8: 1,
  uint16: 2,
  int16: 3,
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  array: 9,
  uint64: 10,
  int64: 11,
  float64: 12,
} as const;
export type GgufScalarTypeName = Exclude<keyof typeof GgufValueType, 'array'>;

/** The ggml_type codes this project writes (and reads back). */
export const GgmlType = {
  F32: 0,
  F16: 1,
  Q8_0: 8,
} as const;
export type GgmlTypeName = keyof typeof GgmlType;

/** Q8_0: blocks of 32 values, each an fp16 scale followed by 32 int8 (block_q8_0 in ggml-common.h). */
export const Q8_0_BLOCK_SIZE = 32;
export const Q8_0_BLOCK_BYTES = 2 + Q8_0_BLOCK_SIZE;

/** llama_token_type as stored in tokenizer.ggml.token_type. */
export const TokenType = {
  normal: 1,
  unknown: 2,
  control: 3,
  userDefined: 4,
  unused: 5,
  byte: 6,
} as const;

/** general.file_type (llama_ftype) for a model whose 2-D weights are all of one type. */
export const LlamaFileType = {
  allF32: 0,
  mostlyF16: 1,
  mostlyQ8_0: 7,
} as const;

export class GgufFormatError extends Error {
  override name = 'GgufFormatError';
}
