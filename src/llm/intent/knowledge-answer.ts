// A general question the router recognises (what a condition is, its causes, treatment, outlook...) and that names
// a knowledge-base entry, or is about the case's main finding, is answered with that entry's own passage and its
// sources (llm.knowledgeAnswers: "knowledge-base"), not by the model: the passage is the reviewed, cited text the
// bundled model was trained to recite, and it recites it unreliably (docs/benchmarks.md). The answer names where it
// comes from, so a reader can tell it from the model's.
//
// A question the router cannot place is looked up by content instead (../knowledge/retrieval.ts): its best passage is
// used when its score reaches MIN_RETRIEVAL_SCORE, else the question goes on to the model as before.
import { KNOWLEDGE_FIELDS, loadKnowledgeBase, type KnowledgeEntry } from '../knowledge/schema.js';
import { KnowledgeRetriever, type PassageField } from '../knowledge/retrieval.js';
import { loadCareKnowledge, type CareEntry } from '../knowledge/care.js';
import type { StudySummary } from '../../report/eye-summary.js';
import { caseEntries, mentionedEntries, plainName, type KnowledgeIntent } from './intents.js';

export interface KnowledgeAnswer {
  text: string;
  entry: string;
  field: PassageField;
  sources: KnowledgeEntry['sources'];
  /** How the passage was found: the router's intent and the entry named, or retrieval by content (with its BM25 score). */
  found: 'router' | 'retrieval';
  score?: number;
}

/**
 * The least BM25 score at which a retrieved passage answers a question the router could not place. The passage must
 * come from an entry the question mentions (or the case found), which does most of the work; the score only drops a
 * passage that shares nothing with the question but the entry's name. Chosen on the first two evaluation sets (the
 * development sets; the third was not run while choosing): thresholds 3, 5, 6.5 and 8.5 refused no more unsafe
 * questions and gave 52, 49, 48 and 47 right answers of 116 on set 1 (14, 14, 12, 10 of 34 on set 2).
 */
export const MIN_RETRIEVAL_SCORE = 3;

let retriever: KnowledgeRetriever | undefined;

/**
 * The knowledge-base passage that answers a question by content, if one scores high enough: among the findings'
 * entries the question mentions; else among the care entries it names and, for a case's question, the case's own
 * findings; a general question that mentions nothing, among the entries a rare word of it points to ("drusen").
 */
export function retrievedKnowledgeAnswer(question: string, summary?: StudySummary): KnowledgeAnswer | undefined {
  retriever ??= new KnowledgeRetriever();
  const mentioned = mentionedEntries(question);
  // A case's question that names no finding ("will I need laser?") may be about the case's own findings as much as
  // about the treatment it names: both are searched. A general one that names nothing may use a rare word instead.
  const namesFinding = mentioned.some((k) => !isCareEntry(k));
  const rare = mentioned.length || summary ? [] : retriever.entriesByRareTerms(question);
  const entries = namesFinding ? mentioned : [...new Set([...mentioned, ...rare, ...(summary ? caseEntries(summary) : [])])];
  if (!entries.length) return undefined;
  const best = retriever.search(question, { entries, limit: 1 })[0];
  if (!best || best.score < MIN_RETRIEVAL_SCORE) return undefined;
  const a = knowledgeAnswer(best.entry, best.field);
  return a && { ...a, found: 'retrieval', score: Math.round(best.score * 100) / 100 };
}

/**
 * How much better (BM25 score on the question) a retrieved passage must be than the routed one to replace it. The
 * router picks the field from the question's wording and the entry from its names or the case; retrieval reads the
 * passages themselves, and a clearly better match ("is pregnancy relevant?" against the causes passage that names
 * pregnancy) is the better answer. Chosen on the development sets: margins 0, 2 and 4 gave 53, 57 and 53 right
 * answers of 116 on set 1 (15, 16, 16 of 34 on set 2), refusals unchanged.
 */
export const ROUTE_OVERRIDE_MARGIN = 2;

/** The passage for a routed knowledge question: the routed entry's field, unless retrieval finds a clearly better one. */
export function routedKnowledgeAnswer(entry: string, field: KnowledgeIntent, question: string, summary?: StudySummary): KnowledgeAnswer | undefined {
  const own = knowledgeAnswer(entry, field);
  const r = retrievedKnowledgeAnswer(question, summary);
  if (!r || (r.entry === entry && r.field === field)) return own;
  retriever ??= new KnowledgeRetriever();
  const ownScore = retriever.search(question, { entries: [entry], limit: KNOWLEDGE_FIELDS.length }).find((x) => x.field === field)?.score ?? 0;
  return (r.score ?? 0) >= ownScore + ROUTE_OVERRIDE_MARGIN ? r : own;
}

let loaded: { entries: Map<string, KnowledgeEntry | CareEntry>; careKeys: Set<string> } | undefined;
/** Both knowledge files' entries by key, and which keys are care entries; read once. */
function knowledgeEntries(): NonNullable<typeof loaded> {
  if (!loaded) {
    const care = loadCareKnowledge().entries;
    loaded = { entries: new Map<string, KnowledgeEntry | CareEntry>([...loadKnowledgeBase().entries, ...care].map((e) => [e.key, e])), careKeys: new Set(care.map((e) => e.key)) };
  }
  return loaded;
}
const isCareEntry = (key: string) => knowledgeEntries().careKeys.has(key);

/** An entry's field as an answer: the knowledge base's or the care knowledge's passage, under a label naming its sources. */
export function knowledgeAnswer(entryKey: string, field: PassageField): KnowledgeAnswer | undefined {
  const e = knowledgeEntries().entries.get(entryKey);
  const passage = e && (e as unknown as Record<string, unknown>)[field];
  if (!e || typeof passage !== 'string') return undefined;
  const publishers = [...new Set(e.sources.map((s) => s.publisher))];
  return {
    text: `${passage}\n\n(General information on ${plainName(e.name)} from OphGate's knowledge base; sources: ${publishers.join('; ')}.)`,
    entry: e.key, field, sources: e.sources, found: 'router',
  };
}
