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
//
// The passages are the knowledge base's (what a finding is, looks like, ...) and the care knowledge's (care.ts: what
// an examination or treatment is, who it is for, what to expect, what follows, when to get help), in one index.
import { KNOWLEDGE_FIELDS, loadKnowledgeBase, type KnowledgeEntry, type KnowledgeField } from './schema.js';
import { CARE_FIELDS, loadCareKnowledge, type CareEntry, type CareField } from './care.js';
import { STOP_WORDS, words } from '../scope/features.js';

/** A passage's field: a knowledge-base field, or a care entry's. */
export type PassageField = KnowledgeField | CareField;

/**
 * The words a question uses when it asks for a field, whatever the condition: the knowledge base's headings in
 * everyday language. Written from the knowledge base's field definitions (README), not from any evaluation question.
 */
const FIELD_CUES: Record<KnowledgeField, string> = {
  what: 'what mean means meaning definition explain explained plain english term jargon word called name type kind',
  fundusAppearance: 'look looks appear appears appearance seen see visible photo photograph picture image fundus spot spots colour shape',
  symptoms: 'symptom symptoms notice feel vision sight blurry blurred blur distorted floater floaters pain painful sign signs affect',
  causesAndRisks: 'cause causes caused why reason risk risks factor factors family inherited genetic get develop fault happen',
  confirmingExams: 'test tests check checked exam examination confirm confirmed diagnose scan measure measured appointment clinic drops dilate',
  treatmentAndPrevention: 'treat treated treatment treatments cure cured fix therapy surgery operation laser injection injections medicine prevent stop',
  prognosisAndLifestyle: 'outlook future prognosis blind blindness worse progress lifestyle diet exercise smoking drive driving live long normal',
  urgencyAndReferral: 'urgent urgently soon quickly wait waiting refer referral referred emergency serious worry worried hurry',
};

/** The same for the care knowledge's fields ("what" is the knowledge base's). */
const CARE_CUES: Record<Exclude<CareField, 'what'>, string> = {
  purpose: 'why need needed for used use purpose reason show shows check checks detect find help who point benefit work works',
  whatToExpect: 'how done happen happens expect feel hurt hurts painful pain long take takes procedure sting stinging numb needle awake',
  afterwards: 'after afterwards later side effects recovery recover drive driving work home result results hours days sunglasses normal',
  whenToSeekHelp: 'worry worried wrong warning sign signs emergency urgent urgently help contact call problem problems',
};

const cuesOf = (field: PassageField): string => (field in FIELD_CUES ? FIELD_CUES[field as KnowledgeField] : CARE_CUES[field as Exclude<CareField, 'what'>]);

// The gate's function words carry no topic here either, except "what", "why" and "get", which ask for a field
// (FIELD_CUES); "eye" is in nearly every question and passage.
const STOP = new Set([...[...STOP_WORDS].filter((w) => w !== 'what' && w !== 'why' && w !== 'get'), 'eye', 'eyes']);

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

/** A text's topic words, stemmed. */
export function terms(text: string): string[] {
  return words(text).filter((w) => !STOP.has(w) && w.length > 1).map(stem);
}

const ALL_FIELDS: readonly PassageField[] = [...new Set<PassageField>([...KNOWLEDGE_FIELDS, ...CARE_FIELDS])];
let cueTerms: Map<PassageField, Set<string>> | undefined;
const fieldCueTerms = () => (cueTerms ??= new Map(ALL_FIELDS.map((f) => [f, new Set(terms(cuesOf(f)))])));

/** The fields a question asks for in so many words (a cue word of the field among its terms: "treated", "why"...). */
export function fieldsAskedFor(question: string): PassageField[] {
  const cues = fieldCueTerms();
  const q = terms(question);
  return ALL_FIELDS.filter((f) => q.some((t) => cues.get(f)!.has(t)));
}

export interface Passage { entry: string; field: PassageField; terms: Map<string, number>; length: number }

/** A word in the text of at most this many entries points to them (entriesByRareTerms). */
const RARE_IN = 2;

/** How much the whole entry's relevance adds to a passage's own. */
const ENTRY_WEIGHT = 0.5;

export interface Retrieved { entry: string; field: PassageField; score: number }

/**
 * Okapi BM25 over a fixed set of bags of words. The collection statistics (document frequencies, mean length) come
 * from the first `statsFrom` documents: the knowledge base's. Care passages added after them are scored on the same
 * scale without moving the knowledge base's scores, on which the thresholds below were chosen.
 */
class Bm25 {
  private readonly df = new Map<string, number>();
  private readonly avgLength: number;
  private readonly n: number;

  constructor(private readonly docs: ReadonlyArray<{ terms: Map<string, number>; length: number }>, statsFrom = docs.length) {
    const stats = docs.slice(0, statsFrom);
    for (const d of stats) for (const t of d.terms.keys()) this.df.set(t, (this.df.get(t) ?? 0) + 1);
    this.n = stats.length;
    this.avgLength = stats.reduce((s, d) => s + d.length, 0) / stats.length;
  }

  score(query: readonly string[], i: number): number {
    const d = this.docs[i]!;
    const k1 = 1.2;
    const b = 0.75;
    let score = 0;
    for (const t of query) {
      const f = d.terms.get(t);
      if (!f) continue;
      const df = this.df.get(t) ?? 0;
      const idf = Math.log(1 + (this.n - df + 0.5) / (df + 0.5));
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
  private readonly entryDocs: Array<{ terms: Map<string, number>; length: number }> = [];

  constructor(entries: readonly KnowledgeEntry[] = loadKnowledgeBase().entries, care: readonly CareEntry[] = loadCareKnowledge().entries) {
    const entryDocs = this.entryDocs;
    const add = (key: string, nameList: readonly string[], fields: ReadonlyArray<[PassageField, string]>) => {
      const names = terms(nameList.join(' '));
      for (const [field, prose] of fields) this.passages.push({ entry: key, field, ...bag([...terms(prose), ...names, ...terms(cuesOf(field))]) });
      this.entryOf.set(key, entryDocs.length);
      entryDocs.push(bag([...names, ...names, ...fields.flatMap(([, prose]) => terms(prose))]));
    };
    for (const e of entries) add(e.key, [e.name, ...e.synonyms], KNOWLEDGE_FIELDS.map((f) => [f, e[f]]));
    const [kbPassages, kbEntries] = [this.passages.length, entryDocs.length];
    for (const e of care) add(e.key, [e.name, ...e.synonyms], CARE_FIELDS.map((f) => [f, e[f]]));
    this.passageIndex = new Bm25(this.passages, kbPassages);
    this.entryIndex = new Bm25(entryDocs, kbEntries);
  }

  /**
   * The entries a question points to by a rare word of their text ("drusen", "tessellated") though it names none:
   * each topic word of the question found in at most RARE_IN entries' text brings those entries. Cue words (what a
   * question asks for) are left out: they say which field, not which entry. So are short words: the rare words of
   * everyday English in the prose ("right", "plan", "train") point to an entry by accident.
   */
  entriesByRareTerms(question: string): string[] {
    const cues = [...fieldCueTerms().values()];
    const out = new Set<string>();
    for (const t of new Set(terms(question))) {
      if (t.length < 6 || cues.some((c) => c.has(t)) || /^\d/.test(t)) continue;
      const having = [...this.entryOf].filter(([, i]) => this.entryDocs[i]!.terms.has(t)).map(([key]) => key);
      if (having.length && having.length <= RARE_IN) having.forEach((k) => out.add(k));
    }
    return [...out];
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
