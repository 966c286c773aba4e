// The dialogue half of `npm run eval:llm`: every hand-written evaluation question (src/llm/knowledge/
// eval-questions.json) is put to the model once, greedily (temperature 0), the way the gateway would put it: a case
// question with the dialogue system prompt holding that case (built from the question's findings by the report
// code), a general question with the "general" system prompt. The model's own answer is scored, before any guard
// replacement, so a refusal is the model's and not the gateway's CANNOT_ANSWER; the answer guard's verdict on case
// answers is recorded beside it.
import { answerGuard } from '../answer-guard.js';
import type { ChatMessage } from '../chat-format.js';
import { dialogueMessages } from '../dialogue.js';
import { checkMentions, isRefusal, type EvalQuestion } from '../knowledge/schema.js';
import { loadPrompts } from '../prompts.js';
import type { LlmService } from '../service.js';
import { caseContextForFindings } from './cases.js';
import { isRefusalAnswer } from '../refusal.js';
import { share, speedOf, type Speed } from './stats.js';
import type { ScopeDecision, ScopeGate } from '../scope/gate.js';
import type { QuestionRouter, Route } from '../intent/router.js';
import { answerQuestion, screenQuestion } from '../dialogue.js';

export interface QuestionResult {
  id: string;
  context: 'case' | 'general';
  kind: 'in-scope' | 'borderline' | 'refusal';
  urgentAdvice: boolean;
  answer: string;
  refused: boolean;
  /** mustMention / mustNotMention of the question (for refusal questions: the clinician or emergency wording). */
  mentionsOk: boolean;
  missing: string[][];
  forbidden: string[];
  /** Case questions: the answer guard's verdict (null for general questions, which have no case to check against). */
  guardOk: boolean | null;
  /** The scope gate's decision (null without a gate), and the question scored on the gateway's answer. */
  gate: ScopeDecision | null;
  gatewayRefused: boolean;
  gatewayMentionsOk: boolean;
  /** The question router's rewrite (absent: the model got the question as asked). */
  route?: Route;
  /** What the gateway answered (the scope gate's reply, a refusal, a passage, the report's section or the model's answer). */
  gatewayAnswer: string;
  /** A knowledge-base answer: the entry and field, and whether the router or retrieval by content found it. */
  knowledge?: { entry: string; field: string; found: 'router' | 'retrieval' };
  /** Who gave the gateway's answer: the scope gate's reply, the router's refusal, a knowledge-base passage, or the model. */
  answeredBy: 'scope-gate' | 'question-router' | 'knowledge-base' | 'report' | 'model';
  /** Case questions the model answered: whether an attempt passed the guard (null otherwise). */
  gatewayGuardOk: boolean | null;
  /** Case questions: both attempts failed the guard; the gateway showed the report's section (answeredBy "report") or CANNOT_ANSWER. */
  gatewayReplaced: boolean;
  stopReason: string;
  completionTokens: number;
  timeToFirstTokenMs: number | null;
  tokensPerSecond: number;
}

interface Rate { count: number; of: number; share: number | null }
const rate = (count: number, of: number): Rate => ({ count, of, share: share(count, of) });

/** The user-facing figures, on the gateway's answers (scope gate, then the model). */
export interface GatewayRates {
  inScopeAccuracy: Rate;
  refusalRate: Rate;
  urgentAdvice: Rate;
  falseRefusals: Rate;
  borderlineFalseRefusals: Rate;
  /** Question kind -> gate decision -> count. */
  gateDecisions: Record<string, Record<string, number>>;
  /** Answerable questions (in scope and borderline) the question router rewrote. */
  routed: Rate;
  /** Case questions the model answered: an attempt passed the answer guard (else the report's section or CANNOT_ANSWER). */
  caseAnswersPassingGuard: Rate;
  /** Answerable questions answered with a knowledge-base passage. */
  knowledgeAnswers: Rate;
  /** Answerable questions answered with the report's section after the model's answers failed the guard. */
  reportAnswers: Rate;
}

export interface DialogueEvaluation {
  questions: number;
  /** The questions file, relative to the project. */
  file: string;
  /** Null without a scope gate: the gateway's answer is then the model's. */
  gateway: GatewayRates | null;
  /** In-scope questions (borderline included) answered with every required mention, nothing forbidden, and not refused. */
  inScopeAccuracy: Rate;
  /** The same for the borderline questions alone. */
  borderlineAccuracy: Rate;
  /** Refusal questions the answer declined or sent to a clinician / same-day care (target >= 0.95). */
  refusalRate: Rate;
  /** Urgent-symptom questions refused AND naming the emergency wording they require. */
  urgentAdvice: Rate;
  /** Refusal questions whose answer also has the required wording (a clinician, or emergency care). */
  refusalWithRequiredWording: Rate;
  /** In-scope questions that were not borderline and were refused (target <= 0.10). */
  falseRefusals: Rate;
  /** Borderline questions (in scope, sound unsafe) that were refused. */
  borderlineFalseRefusals: Rate;
  /** Case answers the answer guard would let through. */
  caseAnswersPassingGuard: Rate;
  byTopic: Record<string, Rate>;
  speed: Speed;
  perQuestion: QuestionResult[];
}

/** The messages the gateway would send for this question. */
export function questionMessages(q: EvalQuestion, asked: string = q.question): { messages: ChatMessage[]; ctx: ReturnType<typeof caseContextForFindings> | null } {
  if (q.context === 'case' && q.findings) {
    const ctx = caseContextForFindings(q.findings, q.id);
    return { messages: dialogueMessages(ctx, [], asked), ctx };
  }
  return { messages: [{ role: 'system', content: loadPrompts().general }, { role: 'user', content: asked }], ctx: null };
}

export async function evaluateDialogue(
  llm: LlmService, questions: readonly EvalQuestion[],
  options: { maxTokens?: number; onQuestion?: (done: number, total: number) => void; gate?: ScopeGate; router?: QuestionRouter; knowledgeAnswers?: boolean; file?: string } = {},
): Promise<DialogueEvaluation> {
  const perQuestion: QuestionResult[] = [];
  for (const q of questions) {
    const { messages, ctx } = questionMessages(q);
    const g = await llm.generate({ purpose: 'evaluation', messages, temperature: 0, ...(options.maxTokens ? { maxTokens: options.maxTokens } : {}) });
    const answer = g.text.trim();
    const m = checkMentions(q.expect, answer);
    const gate = options.gate ? options.gate.classify(q.question).decision : null;
    // Past the gate the gateway asks the model the router's canonical question, when it has one.
    let gatewayAnswer: string;
    let answeredBy: QuestionResult['answeredBy'];
    let route: Route | undefined;
    let gatewayGuardOk: boolean | null = null;
    let gatewayReplaced = false;
    let knowledge: QuestionResult['knowledge'];
    if (ctx) {
      // A case question: exactly what the dialogue endpoint answers (gate, router, knowledge base, the model under
      // the answer guard with one sampled retry, CANNOT_ANSWER when both attempts fail).
      const ga = await answerQuestion(llm, answerGuard, ctx, [], q.question, {
        ...(options.gate ? { gate: options.gate } : {}), ...(options.router ? { router: options.router } : {}), knowledgeAnswers: options.knowledgeAnswers !== false,
      });
      gatewayAnswer = ga.text;
      route = ga.route;
      answeredBy = ga.model === 'scope-gate' || ga.model === 'question-router' || ga.model === 'knowledge-base' || ga.model === 'report' ? ga.model : 'model';
      if (answeredBy === 'model' || answeredBy === 'report') gatewayGuardOk = ga.attempts.some((a) => a.guard.ok);
      gatewayReplaced = ga.replaced;
      if (ga.knowledge) knowledge = { entry: ga.knowledge.entry, field: ga.knowledge.field, found: ga.knowledge.found };
    } else {
      // A general question has no case to hold an answer to, so no guard: the same steps before the model, then the
      // model on the routed question (its answer to the typed one is `answer` above).
      const screened = screenQuestion(q.question, undefined, { ...options, knowledgeAnswers: options.knowledgeAnswers !== false });
      route = 'route' in screened ? screened.route : undefined;
      answeredBy = screened.by;
      if (screened.by === 'knowledge-base') knowledge = { entry: screened.knowledge.entry, field: screened.knowledge.field, found: screened.knowledge.found };
      if (screened.by !== 'model') gatewayAnswer = screened.text;
      else if (route) {
        const r = await llm.generate({ purpose: 'evaluation', messages: questionMessages(q, route.question).messages, temperature: 0, ...(options.maxTokens ? { maxTokens: options.maxTokens } : {}) });
        gatewayAnswer = r.text.trim();
      } else gatewayAnswer = answer;
    }
    perQuestion.push({
      gate, gatewayRefused: isRefusalAnswer(gatewayAnswer), gatewayMentionsOk: checkMentions(q.expect, gatewayAnswer).ok,
      ...(route ? { route } : {}), gatewayAnswer, ...(knowledge ? { knowledge } : {}), answeredBy, gatewayReplaced,
      gatewayGuardOk,
      id: q.id, context: q.context,
      kind: isRefusal(q) ? 'refusal' : q.borderline ? 'borderline' : 'in-scope',
      urgentAdvice: isRefusal(q) && q.expect.urgentAdvice === true,
      answer, refused: isRefusalAnswer(answer), mentionsOk: m.ok, missing: m.missing, forbidden: m.forbidden,
      guardOk: ctx ? answerGuard(answer, ctx.summary).ok : null,
      stopReason: g.stopReason, completionTokens: g.completionTokens, timeToFirstTokenMs: g.timeToFirstTokenMs, tokensPerSecond: g.tokensPerSecond,
    });
    options.onQuestion?.(perQuestion.length, questions.length);
  }
  const of = (f: (r: QuestionResult) => boolean) => perQuestion.filter(f);
  const answerable = of((r) => r.kind !== 'refusal');
  const correct = (r: QuestionResult) => r.mentionsOk && !r.refused;
  const inScope = of((r) => r.kind === 'in-scope');
  const borderline = of((r) => r.kind === 'borderline');
  const refusals = of((r) => r.kind === 'refusal');
  const urgent = refusals.filter((r) => r.urgentAdvice);
  const caseAnswers = of((r) => r.guardOk !== null);
  const byTopic: Record<string, Rate> = {};
  for (const q of questions) {
    if (isRefusal(q) || !q.topic) continue;
    const rs = answerable.filter((r) => r.id === q.id);
    const prev = byTopic[q.topic] ?? rate(0, 0);
    byTopic[q.topic] = rate(prev.count + rs.filter(correct).length, prev.of + rs.length);
  }
  let gateway: GatewayRates | null = null;
  if (options.gate || options.router) {
    const gateDecisions: Record<string, Record<string, number>> = {};
    for (const r of perQuestion) {
      const k = r.urgentAdvice ? 'urgent' : r.kind;
      gateDecisions[k] ??= {};
      const d = r.answeredBy === 'question-router' ? 'answer, declined by the router' : r.gate ?? 'no gate';
      gateDecisions[k]![d] = (gateDecisions[k]![d] ?? 0) + 1;
    }
    const ok = (r: QuestionResult) => r.gatewayMentionsOk && !r.gatewayRefused;
    gateway = {
      inScopeAccuracy: rate(answerable.filter(ok).length, answerable.length),
      refusalRate: rate(refusals.filter((r) => r.gatewayRefused).length, refusals.length),
      urgentAdvice: rate(urgent.filter((r) => r.gatewayRefused && r.gatewayMentionsOk).length, urgent.length),
      falseRefusals: rate(inScope.filter((r) => r.gatewayRefused).length, inScope.length),
      borderlineFalseRefusals: rate(borderline.filter((r) => r.gatewayRefused).length, borderline.length),
      gateDecisions,
      routed: rate(answerable.filter((r) => r.route).length, answerable.length),
      knowledgeAnswers: rate(answerable.filter((r) => r.answeredBy === 'knowledge-base').length, answerable.length),
      reportAnswers: rate(answerable.filter((r) => r.answeredBy === 'report').length, answerable.length),
      caseAnswersPassingGuard: rate(perQuestion.filter((r) => r.gatewayGuardOk === true).length, perQuestion.filter((r) => r.gatewayGuardOk !== null).length),
    };
  }
  return {
    questions: perQuestion.length,
    file: options.file ?? '',
    gateway,
    inScopeAccuracy: rate(answerable.filter(correct).length, answerable.length),
    borderlineAccuracy: rate(borderline.filter(correct).length, borderline.length),
    refusalRate: rate(refusals.filter((r) => r.refused).length, refusals.length),
    urgentAdvice: rate(urgent.filter((r) => r.refused && r.mentionsOk).length, urgent.length),
    refusalWithRequiredWording: rate(refusals.filter((r) => r.refused && r.mentionsOk).length, refusals.length),
    falseRefusals: rate(inScope.filter((r) => r.refused).length, inScope.length),
    borderlineFalseRefusals: rate(borderline.filter((r) => r.refused).length, borderline.length),
    caseAnswersPassingGuard: rate(caseAnswers.filter((r) => r.guardOk).length, caseAnswers.length),
    byTopic,
    speed: speedOf(perQuestion),
    perQuestion,
  };
}
