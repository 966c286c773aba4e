// What the scope gate sees of a question: its words and word pairs, and how much of it is the language of the
// knowledge base. The second matters most for questions unlike anything in the corpus ("can you book me a taxi"):
// they share no learned word with a refusal, but they share almost nothing with eye care either.
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { KNOWLEDGE_BASE_FILE } from '../knowledge/schema.js';
import { CARE_KNOWLEDGE_FILE } from '../knowledge/care.js';

// Words too common to say anything about a topic (English function words, question words, pronouns).
export const STOP_WORDS: ReadonlySet<string> = new Set(`a about above after again all also am an and any are as at be been before being below between both but by
can could did do does doing down during each few for from further had has have having he her here hers him his how i if in
into is it its itself just me more most my no nor not now of off on once only or other our out over own same she should so
some such than that the their them then there these they this those through to too under until up very was we were what
when where which while who whom why will with would you your yours yourself im ive dont cant whats thats please tell know
get got one two also like want need thing things really ok okay hi hello thanks thank yes`.split(/\s+/));

export function words(text: string): string[] {
  return text.normalize('NFKC').toLowerCase().replace(/[\u2018\u2019']/g, '').match(/[a-z0-9]+/g) ?? [];
}

/**
 * The content words of the knowledge base and the care knowledge (names, synonyms and every prose field), singular
 * and plural alike: the language of what OphGate finds and of the examinations and treatments that follow.
 */
export function knowledgeLexicon(files: readonly string[] = [KNOWLEDGE_BASE_FILE, CARE_KNOWLEDGE_FILE]): Set<string> {
  const lexicon = new Set<string>();
  const add = (value: unknown): void => {
    if (typeof value === 'string') for (const w of words(value)) if (!STOP_WORDS.has(w) && w.length > 2 && !/^\d+$/.test(w)) lexicon.add(w.replace(/s$/, ''));
    else if (Array.isArray(value)) value.forEach(add);
  };
  for (const file of files) {
    const data = JSON.parse(readFileSync(file, 'utf8')) as { entries: Record<string, unknown>[] };
    for (const e of data.entries) for (const [k, v] of Object.entries(e)) if (k !== 'sources' && k !== 'key' && k !== 'codeRef') add(v);
  }
  return lexicon;
}

/** A committed weights file (the gate's, the router's), validated once when loaded; the error names the file and the field. */
export function readWeightsFile<S extends z.ZodType>(file: string, schema: S, what: string): z.infer<S> {
  const parsed = schema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) throw new Error(`${file}: not ${what}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** A linear classifier's class scores: the sum of each present feature's weights (the gate's and the router's). */
export function linearScores(features: readonly string[], weights: Readonly<Record<string, readonly number[]>>, classes: number): number[] {
  const s = new Array<number>(classes).fill(0);
  for (const f of features) {
    const w = weights[f];
    if (w) for (let k = 0; k < classes; k++) s[k]! += w[k]!;
  }
  return s;
}

/** Sparse binary features of one question. */
export function questionFeatures(text: string, lexicon: ReadonlySet<string>): string[] {
  const ws = words(text);
  const out = new Set<string>(['bias']);
  ws.forEach((w, i) => {
    out.add(`w:${w}`);
    if (i > 0) out.add(`b:${ws[i - 1]} ${w}`);
  });
  const content = ws.filter((w) => !STOP_WORDS.has(w) && w.length > 2);
  const inDomain = content.filter((w) => lexicon.has(w.replace(/s$/, ''))).length;
  out.add(`domain:${Math.min(inDomain, 3)}`);
  const share = content.length ? inDomain / content.length : 0;
  out.add(`share:${share === 0 ? 0 : share < 0.25 ? 1 : share < 0.5 ? 2 : 3}`);
  return [...out];
}
