// The case dialogue: a clinician (or a patient, through one) asks about one analysed study; the LLM answers from
// the study's findings and report, which its system prompt carries. Every answer passes the grounding guard
// (src/llm/guard/) before it is kept: one that contradicts the findings is generated once more, and if that fails
// too it is replaced by the report's own section for a recognised case question (with a knowledge-base passage on
// what was asked, when one is found), else a plain statement that the question cannot be answered. Before any of that,
// the scope gate (src/llm/scope/) may keep the question from the model: doses, report changes, other patients and
// anything outside eye care get a refusal, red-flag symptoms same-day care, a crisis the crisis line. After it, the
// question router (src/llm/intent/) may give the model the canonical question of the recognised intent instead of
// the typed one; the conversation keeps what was typed. A recognised general question about a knowledge-base entry
// gets that entry's cited passage instead of a generation (llm.knowledgeAnswers), and so does a question the router
// cannot place when retrieval by content finds one among the entries it mentions or the case found; for a case the
// report's line for the eye asked about comes first.
import type { StudySummary } from '../report/eye-summary.js';
import type { SqliteStore } from '../store/sqlite-store.js';
import type { MessageRow } from '../store/conversations.js';
import type { ChatMessage } from './chat-format.js';
import { caseFindingsJson } from './case-findings.js';
import { dialogueSystemPrompt } from './prompts.js';
import type { LlmService } from './service.js';
import type { ScopeGate, ScopeVerdict } from './scope/gate.js';
import { CANNOT_ANSWER, GATED_REPLY, missingEyeReply } from './scope/replies.js';
import { isRefusalAnswer } from './refusal.js';
import type { QuestionRouter, Route } from './intent/router.js';
import { retrievedKnowledgeAnswer, routedKnowledgeAnswer, type KnowledgeAnswer } from './intent/knowledge-answer.js';
import { CASE_INTENTS, namedSide, type KnowledgeIntent } from './intent/intents.js';
import { fieldsAskedFor } from './knowledge/retrieval.js';

/** What the model is told about a case: the report stage's summary and narrative of the study's latest analysis. */
export interface CaseContext {
  studyUid: string;
  summary: StudySummary;
  /** The report's Findings section, one line per eye (absent in reports stored before it was kept here). */
  findings?: string;
  impression: string;
  recommendation: string;
}

export function caseContextOf(store: SqliteStore, studyUid: string): CaseContext | undefined {
  const result = store.latestStageResult(studyUid, 'report')?.result as { summary?: StudySummary; narrative?: { sections?: { findings?: string; impression?: string; recommendation?: string } } } | undefined;
  const summary = result?.summary;
  const sections = result?.narrative?.sections;
  if (!summary?.eyes || typeof sections?.impression !== 'string' || typeof sections.recommendation !== 'string') return undefined;
  return { studyUid, summary, ...(typeof sections.findings === 'string' ? { findings: sections.findings } : {}), impression: sections.impression, recommendation: sections.recommendation };
}

export interface GuardVerdict {
  ok: boolean;
  violations: Array<{ kind: string; sentence: string; detail: string }>;
}
export type AnswerGuard = (text: string, summary: StudySummary) => GuardVerdict;

export interface AnswerOptions {
  signal?: AbortSignal;
  /** Streams the text of each attempt as it is generated. */
  onTextChunk?: (text: string) => void;
  /** An attempt that failed the guard: whatever was streamed of it is withdrawn. */
  onRetract?: (verdict: GuardVerdict) => void;
  /** Questions it does not pass never reach the model: they get the gateway's reply (src/llm/scope/). */
  gate?: ScopeGate;
  /** Gives the model the canonical question of the question's intent (src/llm/intent/). */
  router?: QuestionRouter;
  /** With a router: answer recognised general questions from the knowledge base (default true). */
  knowledgeAnswers?: boolean;
}

export interface DialogueAnswer {
  text: string;
  /**
   * True when both attempts failed the guard: the answer is then the report's own section for the question (model
   * "report"; the Impression and Recommendation for a question the router could not place), else CANNOT_ANSWER.
   */
  replaced: boolean;
  attempts: Array<{ guard: GuardVerdict; completionTokens: number; timeToFirstTokenMs: number | null; tokensPerSecond: number }>;
  model: string;
  /** The scope gate's verdict when one was asked; a decision other than "answer" means the model was not. */
  gate?: ScopeVerdict;
  /** What the model was asked instead of the typed question, when the router rewrote it. */
  route?: Route;
  /** Set when the answer is a knowledge-base passage (model "knowledge-base"): which entry and field, and its sources. */
  knowledge?: Omit<KnowledgeAnswer, 'text'>;
}

/** The knowledge-base passage a routed question gets instead of a generation, if any (a general intent with its entry). */
export function knowledgeAnswerFor(route: Route | undefined, question: string, summary?: StudySummary): KnowledgeAnswer | undefined {
  return route?.entry ? routedKnowledgeAnswer(route.entry, route.intent as KnowledgeIntent, question, summary) : undefined;
}

const isCaseIntent = (intent: string) => (CASE_INTENTS as readonly string[]).includes(intent);

/** The messages the model sees: the case in the system prompt, the conversation so far, the new question. */
export function dialogueMessages(ctx: CaseContext, history: readonly MessageRow[], question: string): ChatMessage[] {
  return [
    { role: 'system', content: dialogueSystemPrompt(caseFindingsJson(ctx.summary), ctx.impression, ctx.recommendation) },
    ...history.map((m): ChatMessage => ({ role: m.role, content: m.content })),
    { role: 'user', content: question },
  ];
}

/**
 * The scope gate's probability of "answer" above which the router's second opinion is not asked. On the banks'
 * held-back questions that the gate lets through and the router declines (scope and intent banks, seed 6), the three
 * unsafe ones had p(answer) 0.46 to 0.67 and the two answerable ones 0.97 and 0.99: the second opinion is for
 * questions the gate let through without conviction.
 */
export const GATE_SURE = 0.9;

/** What the gateway decides before any generation: a reply of its own, or the question (maybe routed) for the model. */
export type Screened =
  | { by: 'scope-gate' | 'question-router' | 'report'; text: string; gate?: ScopeVerdict }
  | { by: 'knowledge-base'; text: string; gate?: ScopeVerdict; route?: Route; knowledge: Omit<KnowledgeAnswer, 'text'> }
  | { by: 'model'; gate?: ScopeVerdict; route?: Route };

/**
 * The scope gate, the router's second opinion, the router's rewrite and the knowledge base's answer, in that order.
 * `summary` is the case's (a question without a case, as in the evaluation's general questions: undefined).
 */
export function screenQuestion(question: string, summary: StudySummary | undefined, options: Pick<AnswerOptions, 'gate' | 'router' | 'knowledgeAnswers'>): Screened {
  const gate = options.gate?.classify(question);
  if (gate && gate.decision !== 'answer') return { by: 'scope-gate', text: GATED_REPLY[gate.decision], gate };
  const g = gate ? { gate } : {};
  // About an eye this study has no photograph of: say so, whatever else is asked of it.
  const missing = summary && missingEye(question, summary);
  if (missing) return { by: 'report', text: missingEyeReply(missing), ...g };
  // The router's second opinion: a question it takes for unsafe gets the gate's refusal, not the model, unless the
  // gate was sure the question is one to answer.
  if (options.router?.declines(question) && !(gate && gate.probabilities.answer >= GATE_SURE)) return { by: 'question-router', text: GATED_REPLY.refuse, ...g };
  const route = options.router?.route(question, summary);
  // A question the router could not place is looked up by its content; the bundled model would answer it as typed.
  const kb = options.knowledgeAnswers === false || !options.router ? undefined : route ? knowledgeAnswerFor(route, question, summary) : retrievedKnowledgeAnswer(question, summary);
  if (kb) {
    const { text, ...knowledge } = kb;
    return { by: 'knowledge-base', text, ...g, ...(route ? { route } : {}), knowledge };
  }
  return { by: 'model', ...g, ...(route ? { route } : {}) };
}

/**
 * The eye a question asks about when the study has no photograph of it (and no photograph of unstated laterality
 * that might be it). The asked eye is the one the question's last sentence names ("the report only has my right eye.
 * so what does my left one show?"), else the one the whole question names.
 */
export function missingEye(question: string, summary: StudySummary): 'right' | 'left' | undefined {
  if (summary.eyes.unknown && summary.eyes.unknown.status !== 'not-imaged') return undefined;
  const sentences = question.split(/(?<=[.?!])\s+/).filter((x) => /[a-z]/i.test(x));
  const side = namedSide(sentences[sentences.length - 1] ?? '') ?? namedSide(question);
  return side && summary.eyes[side === 'right' ? 'R' : 'L'].status === 'not-imaged' ? side : undefined;
}

export async function answerQuestion(llm: LlmService, guard: AnswerGuard, ctx: CaseContext, history: readonly MessageRow[], question: string, options: AnswerOptions = {}): Promise<DialogueAnswer> {
  const screened = screenQuestion(question, ctx.summary, options);
  const gate = screened.gate;
  if (screened.by !== 'model') {
    const { by, ...rest } = screened;
    // General information about a case's question comes after what the report says of the eye asked about.
    const text = by === 'knowledge-base' ? withCaseLine(ctx, question, screened.text) : screened.text;
    options.onTextChunk?.(text);
    return { ...rest, text, replaced: false, attempts: [], model: by };
  }
  const route = screened.route;
  // Earlier questions are rewritten the same way, so the model sees a conversation in the form it was trained on.
  const modelHistory = options.router ? history.map((m) => (m.role === 'user' ? { ...m, content: options.router!.route(m.content, ctx.summary)?.question ?? m.content } : m)) : history;
  const messages = dialogueMessages(ctx, modelHistory, route?.question ?? question);
  const extra = { ...(gate ? { gate } : {}), ...(route ? { route } : {}) };
  const attempts: DialogueAnswer['attempts'] = [];
  for (let attempt = 0; attempt < 2; attempt++) {
    const g = await llm.generate({
      purpose: 'dialogue', messages,
      ...(attempt > 0 ? llm.retrySampling() : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onTextChunk ? { onTextChunk: options.onTextChunk } : {}),
    });
    const text = g.text.trim();
    const guarded = guard(text, ctx.summary);
    // A recognised question about the case is one the model should answer: a refusal of it fails like a contradiction.
    // So does a refusal of a question the router could not place but the gate was sure is one to answer: the report
    // answers it better than a refusal (the gate, not the model, is what keeps unsafe questions out).
    const mustAnswer = route ? isCaseIntent(route.intent) : gate !== undefined && gate.probabilities.answer >= GATE_SURE;
    const declined = mustAnswer && isRefusalAnswer(text);
    const verdict: GuardVerdict = declined
      ? { ok: false, violations: [...guarded.violations, { kind: 'declined', sentence: text, detail: route ? `the model declined a recognised question about the case (${route.intent})` : 'the model declined a question about the case that the scope gate passed' }] }
      : guarded;
    attempts.push({ guard: verdict, completionTokens: g.completionTokens, timeToFirstTokenMs: g.timeToFirstTokenMs, tokensPerSecond: g.tokensPerSecond });
    if (verdict.ok && text) return { text, replaced: false, attempts, model: llm.modelName, ...extra };
    options.onRetract?.(verdict);
  }
  // Both attempts failed: for a recognised question about the case, the report's own section (deterministic, and
  // itself checked) rather than nothing, as the narrative falls back to the deterministic text.
  const fromReport = reportAnswer(route, ctx, question);
  if (fromReport && guard(fromReport, ctx.summary).ok) {
    // The report says what was found; a retrieved passage may follow under its own label: what the finding is or
    // looks like always, treatment, causes, outlook or urgency only when the question asks for them in so many words
    // ("what grade was found?" needs no passage on the outlook).
    const found = options.router && options.knowledgeAnswers !== false ? retrievedKnowledgeAnswer(question, ctx.summary) : undefined;
    const kb = found && (found.field === 'what' || found.field === 'fundusAppearance' || fieldsAskedFor(question).includes(found.field)) ? found : undefined;
    if (!kb) return { text: fromReport, replaced: true, attempts, model: 'report', ...extra };
    const { text: passage, ...knowledge } = kb;
    return { text: `${fromReport}\n\n${passage}`, replaced: true, attempts, model: 'report', ...extra, knowledge };
  }
  return { text: CANNOT_ANSWER, replaced: true, attempts, model: llm.modelName, ...extra };
}

/**
 * The report section that answers a case intent: the Findings line of the eye asked about, the Findings for what was
 * seen, the Impression for the overall result, the Recommendation for what happens next; both of the last two for a
 * question without an intent.
 */
export const REPORT_PREFIX = 'From OphGate\'s findings for this study (the deterministic report text): ';

/** The Findings lines a question is about: the eye it names, else every photographed eye. */
function askedLines(ctx: CaseContext, question: string): string[] {
  const lines = ctx.findings?.split('\n').filter((l) => l.trim()) ?? [];
  const side = namedSide(question);
  return side ? lines.filter((l) => l.toLowerCase().startsWith(`${side} eye`)) : lines.filter((l) => !/: no photograph received/.test(l));
}

/**
 * The Findings line of the eye a question is about: the eye it names, else the only eye photographed; undefined for
 * a question about both eyes of a two-eye study, or a report without its Findings kept.
 */
function eyeFindingsLine(ctx: CaseContext, question: string): string | undefined {
  const asked = askedLines(ctx, question);
  return asked.length === 1 ? asked[0] : undefined;
}

/** A knowledge-base passage for a case's question: the report's line for the eye asked about (or its Impression) first. */
function withCaseLine(ctx: CaseContext, question: string, passage: string): string {
  return `${REPORT_PREFIX}${eyeFindingsLine(ctx, question) ?? ctx.impression}\n\n${passage}`;
}

/** The sentences of a Findings line that answer each finding intent (the rest of the line is left out). */
const SENTENCES_FOR: Partial<Record<string, RegExp>> = {
  grade: /\(DR grade \d|^Probability of referable/,
  macula: /^DME risk/,
  lesion: /^Lesions segmented|^No microaneurysms|lesion/i,
  cdr: /cup-to-disc|^Optic disc/,
  label: /^Classifier labels/,
};

/**
 * Of each Findings line the question is about (the eye it names, else every photographed eye), the eye's heading and
 * the sentences that answer the intent: "what grade?" gets the grades, not the lesion counts and labels as well. An
 * ungradable eye's line stays whole (that it could not be graded is the answer to anything asked of it).
 */
function findingsFor(ctx: CaseContext, question: string, intent: string): string | undefined {
  const asked = askedLines(ctx, question);
  const pattern = SENTENCES_FOR[intent];
  if (!asked.length) return undefined;
  return asked.map((line) => {
    const colon = line.indexOf(': ');
    if (!pattern || colon < 0 || /UNGRADABLE/.test(line)) return line;
    const kept = line.slice(colon + 2).split(/(?<=\.)\s+(?=[A-Z])/).filter((x) => pattern.test(x));
    return kept.length ? `${line.slice(0, colon)}: ${kept.join(' ')}` : line;
  }).join('\n');
}

function reportAnswer(route: Route | undefined, ctx: CaseContext, question: string): string | undefined {
  const findings = ctx.findings ?? ctx.impression;
  switch (route?.intent) {
    case 'eye': case 'quality':
      // The eye the question names, else the only eye photographed.
      return `${REPORT_PREFIX}${eyeFindingsLine(ctx, question) ?? findings}`;
    case 'grade': case 'lesion': case 'label': case 'macula': case 'cdr':
      return `${REPORT_PREFIX}${findingsFor(ctx, question, route.intent) ?? findings}`;
    case 'overall': case 'which-eye':
      return `${REPORT_PREFIX}${ctx.impression}`;
    case 'urgency': case 'next':
      return `${REPORT_PREFIX}${ctx.recommendation}`;
    case undefined:
      // A question the router could not place: the report's result and what happens next.
      return `${REPORT_PREFIX}${ctx.impression}\n\n${ctx.recommendation}`;
    default:
      return undefined;
  }
}
