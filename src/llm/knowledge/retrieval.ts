// Passage retrieval over the knowledge base: which entry's field (what it is, how it looks, symptoms, causes,
// examinations, treatment, outlook, urgency) best answers a free question. The question router recognises the
// corpus's phrasings and a bank of others; a question it cannot place ("why do they put drops in your eyes?") would
// otherwise go to the bundled model as typed, and the model answers free phrasings badly. Retrieval finds the
// passage by its content instead: the words of the passage, the entry's names and a short list of the words people
// use when they ask for that field. Okapi BM25 (Robertson and Zaragoza, "The Probabilistic Relevance Framework:
// BM25 and Beyond", 2009) with its usual k1 = 1.2, b = 0.75.
//
// A retrieved passage is only used when it is clearly about the question: the entry must be named by the question
// (or be the case's own finding) and the score must reach a threshold; otherwise the gateway does what it did.
import { KNOWLEDGE_FIELDS, loadKnowledgeBase, type KnowledgeEntry, type KnowledgeField } from './schema.js';

export const PASSAGE_FIELDS = KNOWLEDGE_FIELDS;
export type PassageField = KnowledgeField;

/**
 * The words a question uses when it asks for a field, whatever the condition: the knowledge base's headings in
 * everyday language. Written from the knowledge base's field definitions (README), not from any evaluation question.
 */
const FIELD_CUES: Record<PassageField, string> = {
  what: 'what mean means meaning definition explain explained plain english term jargon word called name type kind',
  fundusAppearance: 'look looks appear appears appearance seen see visible photo photograph picture image fundus spot spots colour shape',
  symptoms: 'symptom symptoms notice feel vision sight blurry blurred blur distorted floater floaters pain painful sign signs affect',
  causesAndRisks: 'cause causes caused why reason risk risks factor factors family inherited genetic get develop fault happen',
  confirmingExams: 'test tests check checked exam examination confirm confirmed diagnose scan measure measured appointment clinic drops dilate',
  treatmentAndPrevention: 'treat treated treatment treatments cure cured fix therapy surgery operation laser injection injections medicine prevent stop',
  prognosisAndLifestyle: 'outlook future prognosis blind blindness worse progress lifestyle diet exercise smoking drive driving live long normal',
  urgencyAndReferral: 'urgent urgently soon quickly wait waiting refer referral referred emergency serious worry worried hurry',
};

// Function words carry no topic ("what" and "why" stay: they ask for a field); a question's other words are
// matched stemmed.
const STOP = new Set(`a about above after again all also am an and any are as at be been before being below between both but by can
could did do does doing down during each few for from further had has have having he her here hers him his how i if in into is
it its itself just me more most my no nor not now of off on once only or other our out over own same she should so some such than
that the their them then there these they this those through to too under until up very was we were when where which while who
whom will with would you your yours im ive dont cant whats thats please tell know got one two also like want need thing things
really ok okay hi hello thanks thank yes eye eyes`.split(/\s+/));

/**
 * A crude English stem, enough to join "treated"/"treatment"/"treats" and "haemorrhages"/"haemorrhage"/"hemorrhage":
 * a common suffix off, then a final "e" ("causes", "caused", "cause" all give "caus").
 */
export function stem(word: string): string {
  let w = word.toLowerCase().replace(/hemorrh/g, 'haemorrh').replace(/edema/g, 'oedema');
  for (const suffix of ['ments', 'ment', 'ings', 'ing', 'edly', 'ed', 'ies', 'ses', 'xes', 'ches', 'shes', 's', 'ly']) {
    if (w.length - suffix.length >= 4 && w.endsWith(suffix) && !(suffix === 's' && w.endsWith('ss'))) {
      w = w.slice(0, -(suffix === 'ses' || suffix === 'xes' || suffix === 'ches' || suffix === 'shes' ? 2 : suffix.length));
      break;
    }
  }
  return w.length > 4 && w.endsWith('e') ? w.slice(0, -1) : w;
}

export function terms(text: string): string[] {
  const ws = text.normalize('NFKC').toLowerCase().replace(/[\u2018\u2019']/g, '').match(/[a-z0-9]+/g) ?? [];
  return ws.filter((w) => !STOP.has(w) && w.length > 1).map(stem);
}

let cueTerms: Map<PassageField, Set<string>> | undefined;
/** The fields a question asks for in so many words (a cue word of the field among its terms: "treated", "why"...). */
export function fieldsAskedFor(question: string): PassageField[] {
  cueTerms ??= new Map(PASSAGE_FIELDS.map((f) => [f, new Set(terms(FIELD_CUES[f]))]));
  const q = terms(question);
  return PASSAGE_FIELDS.filter((f) => q.some((t) => cueTerms!.get(f)!.has(t)));
}

export interface Passage { entry: string; field: PassageField; terms: Map<string, number>; length: number }

/** How much the whole entry's relevance adds to a passage's own. */
const ENTRY_WEIGHT = 0.5;

export interface Retrieved { entry: string; field: PassageField; score: number }

/** Okapi BM25 over a fixed set of bags of words. */
class Bm25 {
  private readonly df = new Map<string, number>();
  private readonly avgLength: number;

  constructor(private readonly docs: ReadonlyArray<{ terms: Map<string, number>; length: number }>) {
    for (const d of docs) for (const t of d.terms.keys()) this.df.set(t, (this.df.get(t) ?? 0) + 1);
    this.avgLength = docs.reduce((s, d) => s + d.length, 0) / docs.length;
  }

  score(query: readonly string[], i: number): number {
    const d = this.docs[i]!;
    const k1 = 1.2;
    const b = 0.75;
    let score = 0;
    for (const t of query) {
      const f = d.terms.get(t);
      if (!f) continue;
      const df = this.df.get(t)!;
      const idf = Math.log(1 + (this.docs.length - df + 0.5) / (df + 0.5));
      score += idf * ((f * (k1 + 1)) / (f + k1 * (1 - b + (b * d.length) / this.avgLength)));
    }
    return score;
  }
}

function bag(ts: readonly string[]): { terms: Map<string, number>; length: number } {
  const tf = new Map<string, number>();
  for (const t of ts) tf.set(t, (tf.get(t) ?? 0) + 1);
  return { terms: tf, length: ts.length };
}

export class KnowledgeRetriever {
  private readonly passages: Passage[] = [];
  private readonly passageIndex: Bm25;
  /** Each entry as one document: which condition a question is about shows across all its fields. */
  private readonly entryIndex: Bm25;
  private readonly entryOf = new Map<string, number>();

  constructor(entries: readonly KnowledgeEntry[] = loadKnowledgeBase().entries) {
    const entryDocs: Array<{ terms: Map<string, number>; length: number }> = [];
    for (const e of entries) {
      const names = terms([e.name, ...e.synonyms].join(' '));
      for (const field of PASSAGE_FIELDS) this.passages.push({ entry: e.key, field, ...bag([...terms(e[field]), ...names, ...terms(FIELD_CUES[field])]) });
      this.entryOf.set(e.key, entryDocs.length);
      entryDocs.push(bag([...names, ...names, ...PASSAGE_FIELDS.flatMap((f) => terms(e[f]))]));
    }
    this.passageIndex = new Bm25(this.passages);
    this.entryIndex = new Bm25(entryDocs);

  }

  /** Passages by BM25 score, best first; `entries` restricts the search (the entries a question or case names). */
  search(question: string, options: { entries?: readonly string[]; limit?: number } = {}): Retrieved[] {
    const q = [...new Set(terms(question))];
    const entryScore = new Map<string, number>();
    for (const [key, i] of this.entryOf) entryScore.set(key, this.entryIndex.score(q, i));
    const out: Retrieved[] = [];
    this.passages.forEach((p, i) => {
      if (options.entries && !options.entries.includes(p.entry)) return;
      const score = this.passageIndex.score(q, i) + ENTRY_WEIGHT * entryScore.get(p.entry)!;
      if (score > 0) out.push({ entry: p.entry, field: p.field, score });
    });
    out.sort((a, b2) => b2.score - a.score);
    return out.slice(0, options.limit ?? 5);
  }
}
