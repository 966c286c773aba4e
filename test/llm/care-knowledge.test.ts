// The care knowledge (src/llm/knowledge/care-knowledge.json: examinations, treatments, the screening service): it
// validates, every entry is complete, sourced and in British spelling, its names name no knowledge-base entry, the
// dialogue finds its passages, and the bundled model's corpus generator never reads it.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/project-root.js';
import { CARE_FIELDS, CARE_KNOWLEDGE_FILE, loadCareKnowledge } from '../../src/llm/knowledge/care.js';
import { KnowledgeFileError, loadKnowledgeBase } from '../../src/llm/knowledge/schema.js';
import { KnowledgeRetriever, fieldsAskedFor } from '../../src/llm/knowledge/retrieval.js';
import { mentionedEntries, namedEntry } from '../../src/llm/intent/intents.js';
import { retrievedKnowledgeAnswer } from '../../src/llm/intent/knowledge-answer.js';
import { knowledgeLexicon } from '../../src/llm/scope/features.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ophgate-care-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const writeTmp = (name: string, data: unknown) => {
  const file = path.join(tmp, name);
  writeFileSync(file, typeof data === 'string' ? data : JSON.stringify(data));
  return file;
};

const care = loadCareKnowledge();
const raw = JSON.parse(readFileSync(CARE_KNOWLEDGE_FILE, 'utf8')) as { entries: Record<string, unknown>[] };
const sentences = (s: string) => s.trim().split(/(?<=[.!?])\s+/).filter(Boolean);
const byKey = new Map(care.entries.map((e) => [e.key, e]));

describe('care knowledge', () => {
  it('covers the examinations and treatments the knowledge base sends people to, and the screening service', () => {
    expect(care.entries.length).toBeGreaterThanOrEqual(12);
    const kinds = new Set(care.entries.map((e) => e.kind));
    expect([...kinds].sort()).toEqual(['examination', 'service', 'treatment']);
    // Every care entry is found by its own name.
    for (const e of care.entries) expect(mentionedEntries(`what is ${e.name}?`), e.key).toContain(e.key);
  });

  it('has every prose field filled with 2 to 5 sentences, in British spelling, and cites https sources', () => {
    for (const e of care.entries) {
      for (const f of CARE_FIELDS) {
        const n = sentences(e[f]).length;
        expect(n, `${e.key}.${f}: ${n} sentences`).toBeGreaterThanOrEqual(2);
        expect(n, `${e.key}.${f}: ${n} sentences`).toBeLessThanOrEqual(5);
        expect(e[f], `${e.key}.${f}`).not.toMatch(/\b(hemorrhag|edema|color|center|ischemi|anemi|gray|anesthe|optimiz|recogniz|stabiliz|minimiz|pediatric)/i);
      }
      for (const s of e.sources) expect(new URL(s.url).protocol, `${e.key}: ${s.url}`).toBe('https:');
    }
  });

  it('shares no key or name with the knowledge base, and every name finds its entry', () => {
    const kb = loadKnowledgeBase().entries;
    const kbKeys = new Set(kb.map((e) => e.key));
    const kbNames = new Set(kb.flatMap((e) => [e.name, ...e.synonyms]).map((n) => n.toLowerCase()));
    for (const e of care.entries) {
      expect(kbKeys.has(e.key), e.key).toBe(false);
      for (const n of [e.name, ...e.synonyms]) {
        expect(kbNames.has(n.toLowerCase()), `${e.key}: "${n}" is a knowledge-base name`).toBe(false);
        if (n.length >= 5 || /^[A-Z]{2,4}s?$/.test(n)) expect(mentionedEntries(n), `${e.key}: "${n}"`).toContain(e.key);
      }
    }
    // A care name that contains a finding's name ("diabetic retinopathy screening") still routes to the finding for
    // the router's knowledge intents; retrieval sees both.
    expect(namedEntry('diabetic retinopathy screening')).toBe('diabetic-retinopathy');
    expect(mentionedEntries('diabetic retinopathy screening')).toEqual(expect.arrayContaining(['diabetic-retinopathy', 'diabetic-eye-screening']));
  });

  it('rejects a file with a missing field, a duplicate key or a name given to two entries, naming the problem', () => {
    const entry = raw.entries[0]!;
    const base = { format: 'ophgate-care-knowledge/1', description: 'x' };
    const { afterwards: _dropped, ...noAfterwards } = entry;
    expect(() => loadCareKnowledge(writeTmp('a.json', { ...base, entries: [noAfterwards] }))).toThrow(/entries\[0\]\.afterwards/);
    expect(() => loadCareKnowledge(writeTmp('b.json', { ...base, entries: [entry, entry] }))).toThrow(/duplicate key/);
    const twin = { ...raw.entries[1]!, synonyms: [entry.name] };
    expect(() => loadCareKnowledge(writeTmp('c.json', { ...base, entries: [entry, twin] }))).toThrow(/also names/);
    expect(() => loadCareKnowledge(writeTmp('d.json', { ...base, entries: [{ ...entry, kind: 'surgery' }] }))).toThrow(KnowledgeFileError);
  });

  it('is never read by the corpus generator, so the bundled model\'s corpus does not change with it', () => {
    for (const f of ['models/llm/corpus.py', 'models/llm/chat_format.py']) {
      expect(readFileSync(path.join(PROJECT_ROOT, f), 'utf8'), f).not.toMatch(/care-knowledge|care_knowledge/);
    }
  });

  it('its words count as eye-care language for the scope gate', () => {
    const lex = knowledgeLexicon();
    const withoutCare = knowledgeLexicon([path.join(PROJECT_ROOT, 'src/llm/knowledge/knowledge-base.json')]);
    const added = [...lex].filter((w) => !withoutCare.has(w));
    expect(added.length).toBeGreaterThan(0);
    expect(lex.has('tonometry') || lex.has('perimetry') || lex.has('amsler')).toBe(true);
  });
});

describe('care knowledge in the dialogue', () => {
  it('answers a question naming an examination or treatment with the passage for what it asks', () => {
    const oct = [...byKey.values()].find((e) => /optical coherence/i.test(e.name) || e.synonyms.some((s) => /^OCT\b/.test(s)))!;
    expect(oct).toBeDefined();
    const a = retrievedKnowledgeAnswer('what is an OCT scan?')!;
    expect(a).toMatchObject({ entry: oct.key, field: 'what', found: 'retrieval' });
    expect(a.text.startsWith(oct.what)).toBe(true);
    expect(a.text).toMatch(/General information on .* from OphGate's knowledge base; sources: /);

    const drops = [...byKey.values()].find((e) => /dilat/i.test(e.name))!;
    const d = retrievedKnowledgeAnswer('can I drive home after the dilating drops?')!;
    expect(d).toMatchObject({ entry: drops.key, field: 'afterwards' });
    expect(fieldsAskedFor('can I drive home after the dilating drops?')).toContain('afterwards');
  });

  it('a question that names no entry is looked up by a rare word of the entries\' text, and only then', () => {
    const r = new KnowledgeRetriever();
    expect(r.entriesByRareTerms('what do drusen look like')).toContain('age-related-macular-degeneration');
    // Words in many entries ("vision", "eye") or asking for a field ("treated") point nowhere.
    expect(r.entriesByRareTerms('how is my vision treated')).toEqual([]);
    const drusen = retrievedKnowledgeAnswer('what do drusen look like')!;
    expect(drusen).toMatchObject({ field: 'fundusAppearance', found: 'retrieval' });
    expect(drusen.text).toMatch(/drusen/i);
    expect(retrievedKnowledgeAnswer('can you book me a taxi to the hospital')).toBeUndefined();
  });
});
