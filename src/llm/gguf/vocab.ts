import { GgufFormatError, TokenType } from './types.js';

export type TokenTypeName = keyof typeof TokenType;

export interface VocabEntry {
  text: string;
  /** SentencePiece log-probability-like score; llama.cpp's SPM tokenizer merges the highest-scoring pair first. */
  score: number;
  type: TokenTypeName;
}

/** The 256 byte-fallback pieces <0x00>..<0xFF> (upper-case hex, as SentencePiece and llama.cpp spell them). */
export function byteFallbackTokens(): VocabEntry[] {
  return Array.from({ length: 256 }, (_, b) => ({
    text: `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`,
    score: 0,
    type: 'byte' as const,
  }));
}

/**
 * Checks a SentencePiece-style ("llama") vocabulary: unique texts, every byte token present once with type byte,
 * no text piece containing a plain space (SentencePiece writes spaces as U+2581 "▁"). Without the byte tokens,
 * llama.cpp maps any character missing from the vocabulary to <unk>, and text does not round-trip.
 */
export function checkSpmVocab(entries: readonly VocabEntry[]): void {
  const seen = new Map<string, number>();
  entries.forEach((e, i) => {
    if (e.text.length === 0) throw new GgufFormatError(`vocab: token ${i} is empty`);
    const prev = seen.get(e.text);
    if (prev !== undefined) throw new GgufFormatError(`vocab: "${e.text}" appears at ${prev} and ${i}`);
    seen.set(e.text, i);
    if (!Number.isFinite(e.score)) throw new GgufFormatError(`vocab: token ${i} has score ${e.score}`);
    if (e.type === 'normal' && e.text.includes(' ')) {
      throw new GgufFormatError(`vocab: token ${i} "${e.text}" holds a space; SentencePiece pieces use "\u2581"`);
    }
  });
  for (const b of byteFallbackTokens()) {
    const id = seen.get(b.text);
    if (id === undefined) throw new GgufFormatError(`vocab: byte token ${b.text} is missing`);
    if (entries[id]!.type !== 'byte') throw new GgufFormatError(`vocab: ${b.text} must have type byte`);
  }
}
