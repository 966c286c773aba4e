// The ophthalmic knowledge base (what the corpus generator teaches and the dialogue grounds answers in) and the
// hand-written evaluation questions (what `npm run eval:llm` asks). Both are data files next to this module,
// validated here once when loaded. The corpus generator reads the knowledge base only: eval-questions.json was
// written before any model was trained and must never reach training data (see README.md in this folder).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { formatPath } from '../../inference/manifest.js';
import { PROJECT_ROOT } from '../../project-root.js';

export const KNOWLEDGE_FORMAT = 'ophgate-knowledge/1';
export const EVAL_QUESTIONS_FORMAT = 'ophgate-eval-questions/1';
export const KNOWLEDGE_DIR = path.join(PROJECT_ROOT, 'src', 'llm', 'knowledge');
export const KNOWLEDGE_BASE_FILE = path.join(KNOWLEDGE_DIR, 'knowledge-base.json');
export const EVAL_QUESTIONS_FILE = path.join(KNOWLEDGE_DIR, 'eval-questions.json');
/** A second hand-written set, written before the scope gate was built and never used to develop it. */
export const EVAL_QUESTIONS_FILE_2 = path.join(KNOWLEDGE_DIR, 'eval-questions-2.json');
/**
 * A third set, written blind (its writer saw only this schema, the knowledge README and the knowledge base) after the
 * first two had been used to develop the gate, the router and the knowledge retrieval. Held out for one session
 * (its aggregates seen three times), then used for development like the first two.
 */
export const EVAL_QUESTIONS_FILE_3 = path.join(KNOWLEDGE_DIR, 'eval-questions-3.json');
/**
 * A fourth set, written blind the same way before any change of the session that added it, and scored once as that
 * session's held-out set; then a development set.
 */
export const EVAL_QUESTIONS_FILE_4 = path.join(KNOWLEDGE_DIR, 'eval-questions-4.json');
/**
 * A fifth set, written blind the same way (its writer also saw the care knowledge) right after the fourth was scored:
 * the held-out set for the changes made after that, scored once at their end.
 */
export const EVAL_QUESTIONS_FILE_5 = path.join(KNOWLEDGE_DIR, 'eval-questions-5.json');
/** The question sets `npm run eval:llm` scores, in order (set 1 to 5). */
export const EVAL_QUESTION_SETS = [EVAL_QUESTIONS_FILE, EVAL_QUESTIONS_FILE_2, EVAL_QUESTIONS_FILE_3, EVAL_QUESTIONS_FILE_4, EVAL_QUESTIONS_FILE_5] as const;
/** The mapping file that knowledge entries point into for their coded meaning. */
export const FINDINGS_MAPPING = 'mappings/fundus-findings.json';

export class KnowledgeFileError extends Error {
  constructor(readonly file: string, readonly problems: string[]) {
    super(`${file}: invalid knowledge file:\n  ${problems.join('\n  ')}`);
    this.name = 'KnowledgeFileError';
  }
}

export const text = z.string().trim().min(1);
export const KEY = /^[a-z0-9][a-z0-9-]*$/;

// ---- Knowledge base ----

export const sourceSchema = z.object({
  title: text,
  publisher: text,
  /** Year of publication or last stated update; left out for undated web pages rather than guessed. */
  year: z.number().int().min(1950).max(2100).optional(),
  url: z.url({ protocol: /^https$/, hostname: z.regexes.domain }),
}).strict();

/** The prose fields of an entry, in the order of OphGLM's instruction groups. */
export const KNOWLEDGE_FIELDS = [
  'what', 'fundusAppearance', 'symptoms', 'causesAndRisks', 'confirmingExams',
  'treatmentAndPrevention', 'prognosisAndLifestyle', 'urgencyAndReferral',
] as const;
export type KnowledgeField = (typeof KNOWLEDGE_FIELDS)[number];

export const knowledgeEntrySchema = z.object({
  key: z.string().regex(KEY, 'a key is lower-case letters, digits and "-"'),
  /** "mappings/fundus-findings.json#<key>" when the finding has a coded meaning there; null when it has none. */
  codeRef: z.string().nullable(),
  kind: z.enum(['condition', 'grade', 'screening-decision', 'lesion', 'structure', 'measurement', 'image-quality']),
  name: text,
  synonyms: z.array(text).min(1),
  what: text,
  fundusAppearance: text,
  symptoms: text,
  causesAndRisks: text,
  confirmingExams: text,
  treatmentAndPrevention: text,
  prognosisAndLifestyle: text,
  urgencyAndReferral: text,
  sources: z.array(sourceSchema).min(1),
}).strict().superRefine((e, ctx) => {
  // The key is the join between the knowledge base, the mapping and the findings JSON: one spelling only.
  if (e.codeRef !== null && e.codeRef !== `${FINDINGS_MAPPING}#${e.key}`) {
    ctx.addIssue({ code: 'custom', path: ['codeRef'], message: `must be "${FINDINGS_MAPPING}#${e.key}" or null` });
  }
});

export const knowledgeBaseSchema = z.object({
  format: z.literal(KNOWLEDGE_FORMAT),
  description: text,
  entries: z.array(knowledgeEntrySchema).min(1),
}).strict().superRefine((kb, ctx) => {
  const seen = new Set<string>();
  kb.entries.forEach((e, i) => {
    if (seen.has(e.key)) ctx.addIssue({ code: 'custom', path: ['entries', i, 'key'], message: `duplicate key "${e.key}"` });
    seen.add(e.key);
  });
});

export type KnowledgeSource = z.infer<typeof sourceSchema>;
export type KnowledgeEntry = z.infer<typeof knowledgeEntrySchema>;
export type KnowledgeBase = z.infer<typeof knowledgeBaseSchema>;

// ---- Evaluation questions ----

/** OphGLM's five instruction groups (arXiv 2306.12174). */
export const EVAL_TOPICS = [
  'visual-diagnosis', 'causes-and-symptoms', 'diagnosis-and-examination', 'treatment-and-prevention', 'prognosis-and-lifestyle',
] as const;

/** Why a question must be declined (or, for urgent symptoms, answered only with where to get help now). */
export const REFUSAL_CATEGORIES = [
  'definitive-diagnosis', 'dosing-or-prescribing', 'stop-treatment', 'unanalysed-image', 'outside-ophthalmology',
  'other-patient', 'prompt-injection', 'self-harm', 'alter-report', 'urgent-symptoms',
] as const;

export const ASKERS = ['patient', 'relative', 'gp', 'optometrist', 'nurse', 'grader', 'ophthalmologist', 'other'] as const;

/** Lesions and structures the segmenter outlines (keys of mappings/fundus-findings.json). */
export const CASE_LESIONS = ['microaneurysm', 'haemorrhage', 'hard-exudate', 'soft-exudate'] as const;
/** Classifier labels beyond DR (keys of mappings/fundus-findings.json). */
export const CASE_LABELS = [
  'glaucoma', 'cataract', 'age-related-macular-degeneration', 'hypertensive-retinopathy', 'pathological-myopia', 'other-abnormality',
] as const;

/** One eye's findings as a case question assumes them: a small summary of what the pipeline reports. */
export const eyeFindingsSchema = z.object({
  eye: z.enum(['R', 'L']),
  gradable: z.boolean(),
  drGrade: z.number().int().min(0).max(4).optional(),
  dmeRisk: z.number().int().min(0).max(2).optional(),
  lesions: z.array(z.enum(CASE_LESIONS)).optional(),
  labels: z.array(z.enum(CASE_LABELS)).optional(),
  cdr: z.number().min(0).max(1).optional(),
}).strict().superRefine((f, ctx) => {
  // An ungradable eye gets no grade: the report says so, and a question must not assume otherwise.
  if (!f.gradable && (f.drGrade !== undefined || f.dmeRisk !== undefined)) {
    ctx.addIssue({ code: 'custom', path: ['gradable'], message: 'an ungradable eye has no drGrade or dmeRisk' });
  }
});

/** Alternatives: the answer passes an item when it mentions at least one of them. */
const alternatives = z.array(text).min(1);

export const answerExpectSchema = z.object({
  mustMention: z.array(alternatives).min(1),
  mustNotMention: z.array(text),
  /** One sentence for people reading the results. */
  answerKey: text,
}).strict();

export const refusalExpectSchema = z.object({
  refusal: z.literal(true),
  /** The question describes an emergency: the answer must send the person to same-day care, not merely decline. */
  urgentAdvice: z.literal(true).optional(),
  mustMention: z.array(alternatives).optional(),
  mustNotMention: z.array(text).optional(),
  answerKey: text,
}).strict().superRefine((e, ctx) => {
  if (e.urgentAdvice && !e.mustMention?.length) {
    ctx.addIssue({ code: 'custom', path: ['mustMention'], message: 'urgent advice names the emergency wording it must contain' });
  }
});

export const evalQuestionSchema = z.object({
  id: z.string().regex(/^(q|r)-\d{3}$/, 'ids are q-NNN (answer) or r-NNN (refuse)'),
  question: text,
  asker: z.enum(ASKERS),
  context: z.enum(['case', 'general']),
  /** Required for case questions: what the pipeline found, per eye photographed. */
  findings: z.array(eyeFindingsSchema).min(1).optional(),
  topic: z.enum(EVAL_TOPICS).optional(),
  refusalCategory: z.enum(REFUSAL_CATEGORIES).optional(),
  /** In scope but sounds unsafe: a refusal here counts as a false refusal. */
  borderline: z.literal(true).optional(),
  expect: z.union([answerExpectSchema, refusalExpectSchema]),
}).strict().superRefine((q, ctx) => {
  const problem = (p: string, message: string) => ctx.addIssue({ code: 'custom', path: [p], message });
  const refusal = 'refusal' in q.expect;
  if (q.context === 'case' && !q.findings) problem('findings', 'a case question gives the findings it is about');
  if (q.context === 'general' && q.findings) problem('findings', 'a general question has no findings');
  if (q.findings && new Set(q.findings.map((f) => f.eye)).size !== q.findings.length) problem('findings', 'one entry per eye');
  if (refusal) {
    if (!q.id.startsWith('r-')) problem('id', 'refusal questions are r-NNN');
    if (!q.refusalCategory) problem('refusalCategory', 'a refusal question says why it is out of scope');
    if (q.topic) problem('topic', 'a refusal question has no topic');
    if (q.borderline) problem('borderline', 'borderline marks in-scope questions only');
  } else {
    if (!q.id.startsWith('q-')) problem('id', 'in-scope questions are q-NNN');
    if (!q.topic) problem('topic', 'an in-scope question names its OphGLM topic');
    if (q.refusalCategory) problem('refusalCategory', 'an in-scope question has no refusal category');
  }
});

export const evalQuestionSetSchema = z.object({
  format: z.literal(EVAL_QUESTIONS_FORMAT),
  description: text,
  /** When the set was frozen (ISO date): before the first model trained on the corpus. */
  writtenBefore: text,
  questions: z.array(evalQuestionSchema).min(1),
}).strict().superRefine((s, ctx) => {
  const ids = new Set<string>();
  const texts = new Set<string>();
  s.questions.forEach((q, i) => {
    if (ids.has(q.id)) ctx.addIssue({ code: 'custom', path: ['questions', i, 'id'], message: `duplicate id "${q.id}"` });
    ids.add(q.id);
    const t = normaliseText(q.question);
    if (texts.has(t)) ctx.addIssue({ code: 'custom', path: ['questions', i, 'question'], message: 'duplicate question text' });
    texts.add(t);
  });
});

export type EyeFindings = z.infer<typeof eyeFindingsSchema>;
export type AnswerExpect = z.infer<typeof answerExpectSchema>;
export type RefusalExpect = z.infer<typeof refusalExpectSchema>;
export type EvalQuestion = z.infer<typeof evalQuestionSchema>;
export type EvalQuestionSet = z.infer<typeof evalQuestionSetSchema>;
export type EvalTopic = (typeof EVAL_TOPICS)[number];
export type RefusalCategory = (typeof REFUSAL_CATEGORIES)[number];

export const isRefusal = (q: EvalQuestion): q is EvalQuestion & { expect: RefusalExpect } => 'refusal' in q.expect;

// ---- Answer checks shared by the evaluation ----

/** Lower case, typographic quotes and dashes made plain, whitespace collapsed. */
export function normaliseText(s: string): string {
  return s.normalize('NFKC').toLowerCase().replace(/[\u2018\u2019]/g, "'").replace(/[\u201c\u201d]/g, '"')
    .replace(/[\u2010-\u2015]/g, '-').replace(/\s+/g, ' ').trim();
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * True when `text` mentions `phrase`: case-insensitive, as a whole word or phrase. Letters, digits and hyphens
 * count as part of a word, so "proliferative" is not found inside "non-proliferative" and "grade 2" not inside
 * "grade 20".
 */
export function mentions(text: string, phrase: string): boolean {
  const p = normaliseText(phrase);
  if (!p) return false;
  return new RegExp(`(^|[^\\p{L}\\p{N}-])${escape(p)}($|[^\\p{L}\\p{N}-])`, 'u').test(normaliseText(text));
}

export interface MentionCheck {
  ok: boolean;
  /** mustMention items none of whose alternatives appear. */
  missing: string[][];
  /** mustNotMention phrases that appear. */
  forbidden: string[];
}

/** Checks an answer against a question's mustMention / mustNotMention (refusal detection is the evaluator's). */
export function checkMentions(expect: { mustMention?: string[][]; mustNotMention?: string[] }, answer: string): MentionCheck {
  const missing = (expect.mustMention ?? []).filter((alts) => !alts.some((a) => mentions(answer, a)));
  const forbidden = (expect.mustNotMention ?? []).filter((p) => mentions(answer, p));
  return { ok: missing.length === 0 && forbidden.length === 0, missing, forbidden };
}

// ---- Loaders ----

/** Reads a JSON data file of this folder and validates it; the error names the file and each problem's path. */
export function parseFile<T>(file: string, schema: z.ZodType<T>): T {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new KnowledgeFileError(file, [`cannot read as JSON: ${(err as Error).message}`]);
  }
  const result = schema.safeParse(raw);
  if (!result.success) throw new KnowledgeFileError(file, result.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`));
  return result.data;
}

/** Loads and validates the knowledge base (default: the project's knowledge-base.json). */
export function loadKnowledgeBase(file: string = KNOWLEDGE_BASE_FILE): KnowledgeBase {
  return parseFile(path.resolve(file), knowledgeBaseSchema);
}

/** Loads and validates the evaluation questions. For the evaluation only: never call this from the corpus generator. */
export function loadEvalQuestions(file: string = EVAL_QUESTIONS_FILE): EvalQuestionSet {
  return parseFile(path.resolve(file), evalQuestionSetSchema);
}
