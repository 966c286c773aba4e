// The knowledge base and the hand-written evaluation questions (src/llm/knowledge): both validate, every entry is
// complete and sourced, mapping keys resolve, and the question set has the counts issue 6 asks for without
// leaking into the knowledge base (the corpus generator's input).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveCodeRef } from '../../src/report/codes.js';
import {
  KNOWLEDGE_BASE_FILE, KNOWLEDGE_FIELDS, KnowledgeFileError, checkMentions, loadKnowledgeBase, mentions,
} from '../../src/llm/knowledge/schema.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ophgate-knowledge-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const writeTmp = (name: string, data: unknown) => {
  const file = path.join(tmp, name);
  writeFileSync(file, typeof data === 'string' ? data : JSON.stringify(data));
  return file;
};

const kb = loadKnowledgeBase();
const kbRaw = JSON.parse(readFileSync(KNOWLEDGE_BASE_FILE, 'utf8')) as { entries: Record<string, unknown>[] };
const sentences = (s: string) => s.trim().split(/(?<=[.!?])\s+/).filter(Boolean);

describe('knowledge base', () => {
  it('covers every condition, grade, lesion and structure OphGate reports', () => {
    const keys = kb.entries.map((e) => e.key);
    for (const key of [
      'diabetic-retinopathy', 'dr-grade-0', 'dr-grade-1', 'dr-grade-2', 'dr-grade-3', 'dr-grade-4', 'referable-dr',
      'diabetic-macular-oedema', 'dme-risk-1', 'dme-risk-2', 'glaucoma', 'cataract', 'age-related-macular-degeneration',
      'hypertensive-retinopathy', 'pathological-myopia', 'other-abnormality', 'microaneurysm', 'haemorrhage',
      'hard-exudate', 'soft-exudate', 'optic-disc', 'optic-cup', 'cup-to-disc-ratio', 'image-quality-issue',
    ]) expect(keys, key).toContain(key);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('has every prose field filled with 2 to 5 sentences, in British spelling', () => {
    for (const e of kb.entries) {
      expect(e.synonyms.length, e.key).toBeGreaterThan(0);
      for (const f of KNOWLEDGE_FIELDS) {
        const n = sentences(e[f]).length;
        expect(n, `${e.key}.${f}: ${n} sentences`).toBeGreaterThanOrEqual(2);
        expect(n, `${e.key}.${f}: ${n} sentences`).toBeLessThanOrEqual(5);
        // Synonyms may carry American spellings (they help matching); the prose the model learns from may not.
        expect(e[f], `${e.key}.${f}`).not.toMatch(/\b(hemorrhag|edema|color|center|ischemi|anemi|gray|optimiz|recogniz)/i);
      }
    }
  });

  it('cites at least one public source with an https URL per entry', () => {
    for (const e of kb.entries) {
      expect(e.sources.length, e.key).toBeGreaterThan(0);
      for (const s of e.sources) expect(new URL(s.url).protocol, `${e.key}: ${s.url}`).toBe('https:');
    }
  });

  it('points entries with a coded meaning at mappings/fundus-findings.json, and the references resolve', () => {
    const unmapped = kb.entries.filter((e) => e.codeRef === null).map((e) => e.key);
    // Diabetic macular oedema itself has no mapping entry: OphGate reports only the IDRiD DME risk grades.
    expect(unmapped).toEqual(['diabetic-macular-oedema']);
    for (const e of kb.entries.filter((x) => x.codeRef !== null)) {
      const code = resolveCodeRef(e.codeRef!);
      expect(code.key).toBe(e.key);
    }
  });

  it('states the same urgency as the deterministic narrative', () => {
    const by = (k: string) => kb.entries.find((e) => e.key === k)!.urgencyAndReferral;
    expect(by('dr-grade-4')).toMatch(/urgent/i);
    expect(by('dr-grade-4')).toMatch(/two weeks/);
    expect(by('dr-grade-3')).toMatch(/seen soon/);
    expect(by('dr-grade-2')).toMatch(/routine/);
    expect(by('dme-risk-2')).toMatch(/seen soon/);
    expect(by('dme-risk-1')).toMatch(/routine/);
    expect(by('dr-grade-1')).toMatch(/below the referral threshold/);
    expect(by('image-quality-issue')).toMatch(/re-imaging/);
    expect(by('image-quality-issue')).toMatch(/slit-lamp/);
    for (const k of ['glaucoma', 'cataract', 'age-related-macular-degeneration', 'hypertensive-retinopathy', 'pathological-myopia', 'other-abnormality']) {
      expect(by(k), k).toMatch(/clinical review/);
    }
  });

  it('rejects an entry with a missing field, an http source or a codeRef that does not match its key', () => {
    const entry = kbRaw.entries[0]!;
    const base = { format: 'ophgate-knowledge/1', description: 'x' };
    const { symptoms: _dropped, ...noSymptoms } = entry;
    expect(() => loadKnowledgeBase(writeTmp('a.json', { ...base, entries: [noSymptoms] }))).toThrow(/entries\[0\]\.symptoms/);
    const http = { ...entry, sources: [{ title: 't', publisher: 'p', url: 'http://example.org/x' }] };
    expect(() => loadKnowledgeBase(writeTmp('b.json', { ...base, entries: [http] }))).toThrow(KnowledgeFileError);
    const wrongRef = { ...entry, codeRef: 'mappings/fundus-findings.json#glaucoma' };
    expect(() => loadKnowledgeBase(writeTmp('c.json', { ...base, entries: [wrongRef] }))).toThrow(/codeRef/);
    expect(() => loadKnowledgeBase(writeTmp('d.json', { ...base, entries: [entry, entry] }))).toThrow(/duplicate key/);
    expect(() => loadKnowledgeBase(writeTmp('e.json', '{ not json'))).toThrow(/cannot read as JSON/);
  });
});

describe('mentions / checkMentions', () => {
  it('matches whole words and phrases, case-insensitively, hyphens included in words', () => {
    expect(mentions('Moderate NON-PROLIFERATIVE diabetic retinopathy', 'non-proliferative')).toBe(true);
    expect(mentions('moderate non-proliferative diabetic retinopathy', 'proliferative diabetic retinopathy')).toBe(false);
    expect(mentions('Proliferative diabetic retinopathy, urgent.', 'proliferative diabetic retinopathy')).toBe(true);
    expect(mentions('DR grade 20', 'grade 2')).toBe(false);
    expect(mentions('DR grade 2.', 'grade 2')).toBe(true);
    expect(mentions('the left eye’s photo', "left eye's")).toBe(true);
    expect(mentions('anything', '   ')).toBe(false);
  });

  it('reports missing alternatives and forbidden phrases', () => {
    const r = checkMentions({ mustMention: [['left eye', 'left'], ['routine']], mustNotMention: ['right eye'] }, 'Your right eye is fine.');
    expect(r.ok).toBe(false);
    expect(r.missing).toEqual([['left eye', 'left'], ['routine']]);
    expect(r.forbidden).toEqual(['right eye']);
    expect(checkMentions({ mustMention: [['left eye', 'left']], mustNotMention: ['right eye'] }, 'In the LEFT eye: routine.').ok).toBe(true);
  });
});
