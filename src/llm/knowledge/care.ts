// The care knowledge: the examinations, treatments and parts of the screening service people ask about once they
// have a result ("what is an OCT scan?", "can I drive after the drops?", "do the injections hurt?"). The knowledge
// base (knowledge-base.json) describes what OphGate finds; this file describes what happens to a person next. It is
// kept apart because its fields are not a finding's (no fundus appearance or symptoms of a laser), and because the
// bundled model's corpus is generated from the knowledge base alone: the model was trained without this file, and
// adding it must not change a byte of that corpus. The dialogue answers from it by retrieval (retrieval.ts) only.
import path from 'node:path';
import { z } from 'zod';
import { KEY, KNOWLEDGE_DIR, parseFile, sourceSchema, text } from './schema.js';

export const CARE_KNOWLEDGE_FORMAT = 'ophgate-care-knowledge/1';
export const CARE_KNOWLEDGE_FILE = path.join(KNOWLEDGE_DIR, 'care-knowledge.json');

/** The prose fields of a care entry: what it is, who it is for, what happens, what follows, when to get help. */
export const CARE_FIELDS = ['what', 'purpose', 'whatToExpect', 'afterwards', 'whenToSeekHelp'] as const;
export type CareField = (typeof CARE_FIELDS)[number];

export const careEntrySchema = z.object({
  key: z.string().regex(KEY, 'a key is lower-case letters, digits and "-"'),
  kind: z.enum(['examination', 'treatment', 'service']),
  name: text,
  synonyms: z.array(text).min(1),
  what: text,
  purpose: text,
  whatToExpect: text,
  afterwards: text,
  whenToSeekHelp: text,
  sources: z.array(sourceSchema).min(1),
}).strict();

export const careKnowledgeSchema = z.object({
  format: z.literal(CARE_KNOWLEDGE_FORMAT),
  description: text,
  entries: z.array(careEntrySchema).min(1),
}).strict().superRefine((file, ctx) => {
  const keys = new Set<string>();
  const names = new Map<string, string>();
  file.entries.forEach((e, i) => {
    if (keys.has(e.key)) ctx.addIssue({ code: 'custom', path: ['entries', i, 'key'], message: `duplicate key "${e.key}"` });
    keys.add(e.key);
    // A name is how a question is matched to an entry: one name, one entry.
    for (const n of [e.name, ...e.synonyms]) {
      const other = names.get(n.toLowerCase());
      if (other && other !== e.key) ctx.addIssue({ code: 'custom', path: ['entries', i, 'synonyms'], message: `"${n}" also names "${other}"` });
      names.set(n.toLowerCase(), e.key);
    }
  });
});

export type CareEntry = z.infer<typeof careEntrySchema>;
export type CareKnowledge = z.infer<typeof careKnowledgeSchema>;

/** Loads and validates the care knowledge (default: the project's care-knowledge.json). */
export function loadCareKnowledge(file: string = CARE_KNOWLEDGE_FILE): CareKnowledge {
  return parseFile(path.resolve(file), careKnowledgeSchema);
}
