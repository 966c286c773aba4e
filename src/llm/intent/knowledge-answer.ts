// A general question the router recognises (what a condition is, its causes, treatment, outlook...) and that names
// a knowledge-base entry, or is about the case's main finding, is answered with that entry's own passage and its
// sources (llm.knowledgeAnswers: "knowledge-base"), not by the model: the passage is the reviewed, cited text the
// bundled model was trained to recite, and it recites it unreliably (docs/benchmarks.md). The answer names where it
// comes from, so a reader can tell it from the model's.
import { loadKnowledgeBase, type KnowledgeEntry } from '../knowledge/schema.js';
import { plainName, type KnowledgeIntent } from './intents.js';

export interface KnowledgeAnswer {
  text: string;
  entry: string;
  field: KnowledgeIntent;
  sources: KnowledgeEntry['sources'];
}

let entries: Map<string, KnowledgeEntry> | undefined;

export function knowledgeAnswer(entryKey: string, field: KnowledgeIntent): KnowledgeAnswer | undefined {
  entries ??= new Map(loadKnowledgeBase().entries.map((e) => [e.key, e]));
  const e = entries.get(entryKey);
  if (!e) return undefined;
  const publishers = [...new Set(e.sources.map((s) => s.publisher))];
  return {
    text: `${e[field]}\n\n(General information on ${plainName(e.name)} from OphGate's knowledge base; sources: ${publishers.join('; ')}.)`,
    entry: e.key, field, sources: e.sources,
  };
}
