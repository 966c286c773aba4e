// What a dialogue question asks for (its intent) and the question the bundled model was trained to answer for
// that intent: the canonical question. The model (2 M parameters) answers the corpus's own phrasings well and
// free phrasings badly, so the router (router.ts) hands it the canonical question of the intent it recognises, with
// the slots (eye, lesion, condition) filled from the question or, failing that, from the case.
//
// Every canonical question is one of the corpus's templates (models/llm/corpus.py: q_* and FIELD_QUESTIONS); a test
// checks that each still occurs there, so a change to the corpus cannot silently leave the router behind.
import type { StudySummary } from '../../report/eye-summary.js';
import { KNOWLEDGE_FIELDS, loadKnowledgeBase } from '../knowledge/schema.js';
import { loadCareKnowledge } from '../knowledge/care.js';
import { imagedEyes as imaged } from '../guard/schema.js';

export const CASE_INTENTS = ['overall', 'which-eye', 'grade', 'urgency', 'next', 'lesion', 'cdr', 'eye', 'label', 'quality', 'macula'] as const;
/** The general intents: one per knowledge-base field. */
export const KNOWLEDGE_INTENTS = KNOWLEDGE_FIELDS;
export const INTENTS = [...CASE_INTENTS, ...KNOWLEDGE_INTENTS] as const;
export type Intent = (typeof INTENTS)[number];
export type KnowledgeIntent = (typeof KNOWLEDGE_INTENTS)[number];

/** FIELD_QUESTIONS' first template of each knowledge field. */
const FIELD_QUESTION: Record<KnowledgeIntent, string> = {
  what: 'What is {x}?',
  fundusAppearance: 'What does {x} look like on a fundus photograph?',
  symptoms: 'What are the symptoms of {x}?',
  causesAndRisks: 'What causes {x}?',
  confirmingExams: 'How is {x} confirmed?',
  treatmentAndPrevention: 'How is {x} treated?',
  prognosisAndLifestyle: 'What is the outlook for {x}?',
  urgencyAndReferral: 'How urgent is {x}?',
};

/** The case questions without slots, as q_overall ... q_macula ask them (a patient's "my"). */
const CASE_QUESTION: Record<Exclude<(typeof CASE_INTENTS)[number], 'grade' | 'lesion' | 'eye' | 'label'>, string> = {
  overall: 'What did the screening show?',
  'which-eye': 'Which eye is the problem?',
  urgency: 'How urgent is this?',
  next: 'What happens next?',
  cdr: 'What is the cup-to-disc ratio?',
  quality: 'Were the photos good enough?',
  macula: 'Is the macula affected?',
};

/** Lesion names as the case findings give them, with words people use for them. */
const LESIONS: Array<{ name: string; ask: string; kb: string; pattern: RegExp }> = [
  { name: 'microaneurysms', ask: 'microaneurysms', kb: 'microaneurysm', pattern: /\b[Mm]icro-?aneurysms?\b|\b[Rr]ed dots?\b|\bMAs?\b/ },
  { name: 'haemorrhages', ask: 'haemorrhages', kb: 'haemorrhage', pattern: /\bha?emorrh?ages?\b|\bbleed(?:s|ing)?\b|\bblood spots?\b|\bblots?\b/i },
  { name: 'soft exudates', ask: 'cotton wool spots', kb: 'soft-exudate', pattern: /\bcotton[- ]?wool\b|\bsoft exudates?\b|\bfluffy\b|\bCWS\b/i },
  { name: 'hard exudates', ask: 'hard exudates', kb: 'hard-exudate', pattern: /\bexudates?\b|\byellow (?:spots?|deposits?|patches?|dots?)\b|\blipid\b/i },
];

/** Classifier labels (case findings' names) with words people use for them, and their knowledge-base keys. */
const LABELS: Array<{ name: string; ask: string; kb: string; pattern: RegExp }> = [
  { name: 'glaucoma', ask: 'glaucoma', kb: 'glaucoma', pattern: /\bglaucoma/i },
  { name: 'cataract', ask: 'a cataract', kb: 'cataract', pattern: /\bcataracts?\b/i },
  { name: 'age-related macular degeneration', ask: 'macular degeneration', kb: 'age-related-macular-degeneration', pattern: /\bmacular degeneration\b|\bA?RMD\b|\bAMD\b/i },
  { name: 'hypertensive retinopathy', ask: 'hypertensive retinopathy', kb: 'hypertensive-retinopathy', pattern: /\bhypertensi|\bblood pressure\b|\bHTN\b/i },
  { name: 'pathological myopia', ask: 'pathological myopia', kb: 'pathological-myopia', pattern: /\bmyopi|\bshort[- ]sighted/i },
];

interface KbName { key: string; name: string; pattern: RegExp; length: number }

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** "Moderate non-proliferative diabetic retinopathy (DR grade 2)" -> "moderate non-proliferative diabetic retinopathy" (corpus.py plain_name). */
export function plainName(name: string): string {
  const n = name.replace(/\s*\([^)]*\)\s*$/, '').trim();
  return /^[A-Z]{2}/.test(n) ? n : n.charAt(0).toLowerCase() + n.slice(1);
}

/** Entries' names and synonyms as patterns, longest first; short all-capital ones match case-sensitively. */
function namePatterns(entries: ReadonlyArray<{ key: string; name: string; synonyms: readonly string[] }>): { names: KbName[]; plain: Map<string, string> } {
  const names: KbName[] = [];
  const plain = new Map<string, string>();
  for (const e of entries) {
    plain.set(e.key, plainName(e.name));
    for (const n of [plainName(e.name), e.name.replace(/\s*\([^)]*\)\s*$/, ''), ...e.synonyms]) {
      const acronym = /^[A-Z]{2,4}s?$/.test(n);
      // "cup", "the disc", "exudates" and the like are too common to name an entry on their own.
      if (!acronym && n.length < 5) continue;
      names.push({ key: e.key, name: n, pattern: new RegExp(`(?<![\\w-])${escape(n)}(?![\\w-])`, acronym ? '' : 'i'), length: n.length });
    }
  }
  names.sort((a, b) => b.length - a.length);
  return { names, plain };
}

let kbNames: { names: KbName[]; plain: Map<string, string> } | undefined;
/** Every knowledge-base entry's name and synonyms as patterns. */
function knowledgeNames(): { names: KbName[]; plain: Map<string, string> } {
  kbNames ??= namePatterns(loadKnowledgeBase().entries);
  return kbNames;
}

let careNames: KbName[] | undefined;
/**
 * The care knowledge's names (care.ts: examinations, treatments, the screening service). Retrieval may answer from
 * them; the router's knowledge intents do not (the bundled model was never taught them).
 */
function careNamePatterns(): KbName[] {
  careNames ??= namePatterns(loadCareKnowledge().entries).names;
  return careNames;
}

/** The knowledge-base entry a question names (its longest matching name), if any. */
export function namedEntry(question: string): string | undefined {
  return knowledgeNames().names.find((n) => n.pattern.test(question))?.key;
}

/** Everyday words for entries that their names and synonyms do not cover. */
const EVERYDAY: Array<{ kb: string; pattern: RegExp }> = [
  { kb: 'diabetic-retinopathy', pattern: /\bdiabet|\bretinopathy\b/i },
  { kb: 'glaucoma', pattern: /\beye pressure\b|\bpressure (?:in|inside|of) (?:the|my|your|his|her) eyes?\b/i },
  { kb: 'cup-to-disc-ratio', pattern: /\bcup\b|\bcupping\b|\bCDR\b/i },
  { kb: 'optic-disc', pattern: /\b(?:optic )?(?:disc|disk)\b|\boptic nerve\b/i },
  // Smoking: a risk factor the knowledge base names for AMD, cataract and diabetic retinopathy; retrieval picks among them.
  { kb: 'age-related-macular-degeneration', pattern: /\bsmok(?:e|es|er|ers|ing)\b|\bcigarettes?\b|\bvap(?:e|es|ing)\b/i },
  { kb: 'cataract', pattern: /\bsmok(?:e|es|er|ers|ing)\b|\bcigarettes?\b/i },
  { kb: 'diabetic-retinopathy', pattern: /\bsmok(?:e|es|er|ers|ing)\b|\bcigarettes?\b/i },
  // The 4-2-1 rule defines severe non-proliferative retinopathy.
  { kb: 'dr-grade-3', pattern: /\b4-2-1\b|\bfour-two-one\b/i },
  { kb: 'image-quality-issue', pattern: /\bungrad(?:e)?able\b|\b(?:photo|photograph|picture|image)s? (?:quality|(?:was|were|is) (?:blurry|poor|unclear|not clear))\b/i },
];

/**
 * Every knowledge-base entry a question mentions, by name, synonym or everyday word (a lesion, a label, "eye
 * pressure"), and every care entry it names ("OCT", "the injections"): the entries a passage found by content
 * (../knowledge/retrieval.ts) may come from.
 */
export function mentionedEntries(question: string): string[] {
  const keys = new Set<string>();
  for (const n of knowledgeNames().names) if (n.pattern.test(question)) keys.add(n.key);
  for (const x of [...LESIONS, ...LABELS, ...EVERYDAY]) if (x.pattern.test(question)) keys.add(x.kb);
  for (const n of careNamePatterns()) if (n.pattern.test(question)) keys.add(n.key);
  return [...keys];
}

/** The eye a question names; undefined for neither or both. "R" and "L" only as capitals ("how r my eyes"). */
export function namedSide(question: string): 'right' | 'left' | undefined {
  const q = question.replace(/\ball right\b|\bright (?:now|away)\b|\bis (?:that|this) right\b/gi, '');
  const right = /\bright\b/i.test(q) || /\b(?:R|RE)\b/.test(q);
  const left = /\bleft\b/i.test(q) || /\b(?:L|LE)\b/.test(q);
  return right === left ? undefined : right ? 'right' : 'left';
}

const SIDE_OF = { right: 'R', left: 'L' } as const;

/** The condition a question about "it" most likely means in this case: the worst DR grade, else a flagged label. */
function salientEntry(s: StudySummary): string | undefined {
  const grades = imaged(s).map((e) => e.drGrade?.grade ?? 0);
  const worst = Math.max(0, ...grades);
  if (worst >= 1) return `dr-grade-${worst}`;
  for (const e of imaged(s)) for (const l of e.labels) {
    const hit = LABELS.find((x) => x.name === l.name);
    if (hit) return hit.kb;
  }
  return undefined;
}

/**
 * The knowledge-base entries of what this case found: each photographed eye's DR grade and DME risk (and their
 * conditions when present), its lesions and labels, an ungradable photograph. What a case question that names
 * nothing ("will I need laser?") is most likely about.
 */
export function caseEntries(s: StudySummary): string[] {
  const keys = new Set<string>();
  for (const e of imaged(s)) {
    if (e.status === 'ungradable') keys.add('image-quality-issue');
    if (e.drGrade) {
      keys.add(`dr-grade-${e.drGrade.grade}`);
      if (e.drGrade.grade >= 1) keys.add('diabetic-retinopathy');
    }
    if (e.dmeRisk) {
      keys.add(`dme-risk-${e.dmeRisk.grade}`);
      if (e.dmeRisk.grade >= 1) keys.add('diabetic-macular-oedema');
    }
    for (const l of e.lesions) { const k = LESIONS.find((x) => x.name === l.name)?.kb; if (k) keys.add(k); }
    for (const l of e.labels) { const k = LABELS.find((x) => x.name === l.name)?.kb; if (k) keys.add(k); }
  }
  return [...keys];
}

export interface CanonicalQuestion {
  /** The intent the question is answered as (a case intent without its slot falls back to "overall"). */
  intent: Intent;
  question: string;
  /** Knowledge intents: the knowledge-base entry the question is about. */
  entry?: string;
}

/**
 * The canonical question of an intent for this question and case; undefined when a knowledge question names no
 * condition and the case suggests none, or a case intent comes without a case (a general question).
 */
export function canonicalQuestion(intent: Intent, question: string, summary?: StudySummary): CanonicalQuestion | undefined {
  if ((KNOWLEDGE_INTENTS as readonly string[]).includes(intent)) {
    const key = namedEntry(question) ?? (summary ? salientEntry(summary) : undefined);
    return key ? { intent, question: FIELD_QUESTION[intent as KnowledgeIntent].replace('{x}', knowledgeNames().plain.get(key)!), entry: key } : undefined;
  }
  if (!summary) return undefined;
  const side = namedSide(question);
  switch (intent) {
    case 'grade': {
      const graded = imaged(summary).filter((e) => e.drGrade);
      if (!graded.length) return { intent: 'overall', question: CASE_QUESTION.overall };
      const asked = side ? graded.find((e) => e.eye === SIDE_OF[side]) : undefined;
      const e = asked ?? graded.reduce((a, b) => (b.drGrade!.grade > a.drGrade!.grade ? b : a));
      return { intent, question: asked ? `What does DR grade ${e.drGrade!.grade} mean for my ${side} eye?` : `What does grade ${e.drGrade!.grade} mean?` };
    }
    case 'lesion': {
      const l = LESIONS.find((x) => x.pattern.test(question));
      return l ? { intent, question: `Were there ${l.ask}?` } : { intent: 'overall', question: CASE_QUESTION.overall };
    }
    case 'eye':
      return side ? { intent, question: `Tell me about the ${side} eye.` } : { intent: 'overall', question: CASE_QUESTION.overall };
    case 'label': {
      const l = LABELS.find((x) => x.pattern.test(question));
      return l ? { intent, question: `Does this show ${l.ask}?` } : { intent: 'overall', question: CASE_QUESTION.overall };
    }
    default:
      return { intent, question: CASE_QUESTION[intent as keyof typeof CASE_QUESTION] };
  }
}

/** Every template the canonical questions are built from, for the test that they are still the corpus's. */
export const CANONICAL_TEMPLATES = [
  ...Object.values(FIELD_QUESTION), ...Object.values(CASE_QUESTION),
  'What does DR grade {g} mean for {{my}} {e[\'eye\']} eye?', 'What does grade {g} mean?', 'Were there {ask}?', 'Tell me about the {side} eye.', 'Does this show {ask}?',
] as const;
