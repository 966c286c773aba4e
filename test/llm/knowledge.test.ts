// The knowledge base and the hand-written evaluation questions (src/llm/knowledge): both validate, every entry is
// complete and sourced, mapping keys resolve, and the question set has the counts issue 6 asks for without
// leaking into the knowledge base (the corpus generator's input).
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveCodeRef } from '../../src/report/codes.js';
import { PROJECT_ROOT } from '../../src/project-root.js';
import {
  EVAL_QUESTIONS_FILE, EVAL_TOPICS, KNOWLEDGE_BASE_FILE, KNOWLEDGE_FIELDS, KnowledgeFileError, REFUSAL_CATEGORIES,
  checkMentions, isRefusal, loadEvalQuestions, loadKnowledgeBase, mentions, normaliseText,
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

const set = loadEvalQuestions();
const setRaw = JSON.parse(readFileSync(EVAL_QUESTIONS_FILE, 'utf8')) as { questions: Record<string, unknown>[] };
const inScope = set.questions.filter((q) => !isRefusal(q));
const refusals = set.questions.filter(isRefusal);

describe('evaluation questions', () => {
  it('has the counts issue 6 asks for: >= 110 in scope, >= 35 to refuse, >= 20 borderline', () => {
    expect(inScope.length).toBeGreaterThanOrEqual(110);
    expect(refusals.length).toBeGreaterThanOrEqual(35);
    expect(inScope.filter((q) => q.borderline).length).toBeGreaterThanOrEqual(20);
  });

  it('spreads over the five OphGLM topics, case and general context, and every refusal category', () => {
    for (const t of EVAL_TOPICS) expect(inScope.filter((q) => q.topic === t).length, t).toBeGreaterThanOrEqual(10);
    expect(inScope.filter((q) => q.context === 'case').length).toBeGreaterThanOrEqual(40);
    expect(inScope.filter((q) => q.context === 'general').length).toBeGreaterThanOrEqual(40);
    for (const c of REFUSAL_CATEGORIES) expect(refusals.filter((q) => q.refusalCategory === c).length, c).toBeGreaterThanOrEqual(3);
    expect(new Set(set.questions.map((q) => q.asker)).size).toBeGreaterThanOrEqual(6);
  });

  it('asks for emergency wording on every urgent-symptom and self-harm question', () => {
    const urgent = refusals.filter((q) => q.expect.urgentAdvice);
    expect(urgent.length).toBeGreaterThanOrEqual(8);
    for (const q of refusals.filter((x) => x.refusalCategory === 'urgent-symptoms' || x.refusalCategory === 'self-harm')) {
      expect(q.expect.urgentAdvice, q.id).toBe(true);
      expect(q.expect.mustMention?.length, q.id).toBeGreaterThan(0);
    }
  });

  it('has no duplicate ids or question texts', () => {
    expect(new Set(set.questions.map((q) => q.id)).size).toBe(set.questions.length);
    expect(new Set(set.questions.map((q) => normaliseText(q.question))).size).toBe(set.questions.length);
  });

  it('leaks no question into the knowledge base, the corpus generator input', () => {
    const kbText = normaliseText(readFileSync(KNOWLEDGE_BASE_FILE, 'utf8'));
    for (const q of set.questions) expect(kbText.includes(normaliseText(q.question)), q.id).toBe(false);
  });

  it('is read by no corpus-generating code', () => {
    // The generator must never see the evaluation set; any source file about the corpus that names it is a leak.
    const hits: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const file = path.join(dir, name);
        if (name === 'node_modules' || name.startsWith('.')) continue;
        if (statSync(file).isDirectory()) walk(file);
        else if (/corpus/i.test(file) && /\.(ts|js|mjs|py|sh)$/.test(name)) {
          if (/eval-questions|loadEvalQuestions|EVAL_QUESTIONS_FILE/.test(readFileSync(file, 'utf8'))) hits.push(path.relative(PROJECT_ROOT, file));
        }
      }
    };
    for (const d of ['src', 'scripts', 'models', 'bin']) {
      try { walk(path.join(PROJECT_ROOT, d)); } catch (err) { if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; }
    }
    expect(hits).toEqual([]);
  });

  it('has criteria that its own answer key meets', () => {
    for (const q of inScope) {
      const expectation = q.expect as { mustMention: string[][]; mustNotMention: string[]; answerKey: string };
      const r = checkMentions(expectation, expectation.answerKey);
      expect(r, `${q.id}: ${expectation.answerKey}`).toEqual({ ok: true, missing: [], forbidden: [] });
    }
  });

  it('forbids naming an eye only when that eye is not in the case', () => {
    for (const q of set.questions.filter((x) => x.findings)) {
      const eyes = new Set(q.findings!.map((f) => f.eye));
      const forbidden = (q.expect.mustNotMention ?? []).map(normaliseText);
      if (forbidden.includes('right eye')) expect(eyes.has('R'), q.id).toBe(false);
      if (forbidden.includes('left eye')) expect(eyes.has('L'), q.id).toBe(false);
    }
  });

  it('rejects malformed questions with a message naming the problem', () => {
    const good = setRaw.questions.find((q) => q.id === 'q-001')!;
    const refusal = setRaw.questions.find((q) => (q.expect as Record<string, unknown>).refusal === true)!;
    const file = (questions: unknown[]) => writeTmp(`q-${Math.random().toString(36).slice(2)}.json`, {
      format: 'ophgate-eval-questions/1', description: 'x', writtenBefore: '2026-11-28', questions,
    });
    expect(() => loadEvalQuestions(file([good, good]))).toThrow(/duplicate id/);
    expect(() => loadEvalQuestions(file([good, { ...good, id: 'q-999' }]))).toThrow(/duplicate question text/);
    const { findings: _f, ...noFindings } = good;
    expect(() => loadEvalQuestions(file([noFindings]))).toThrow(/findings.*case question/);
    expect(() => loadEvalQuestions(file([{ ...good, findings: [{ eye: 'L', gradable: false, drGrade: 2 }] }]))).toThrow(/ungradable eye/);
    expect(() => loadEvalQuestions(file([{ ...refusal, topic: 'visual-diagnosis' }]))).toThrow(/refusal question has no topic/);
    expect(() => loadEvalQuestions(file([{ ...refusal, expect: { refusal: true, urgentAdvice: true, answerKey: 'x' } }]))).toThrow(/emergency wording/);
    expect(() => loadEvalQuestions(file([{ ...good, id: 'r-500' }]))).toThrow(/in-scope questions are q-NNN/);
  });
});
