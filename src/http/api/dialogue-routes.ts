// The case dialogue over HTTP (scope case:dialogue): POST a question about an analysed study, optionally within a
// conversation, and get the answer as Server-Sent Events (Accept: text/event-stream, or "stream": true) or as one
// JSON object. Conversations persist and can be read back. Events, in order:
//   conversation  {"conversationId"}                       once, first
//   token         {"text"}                                  the answer as it is generated
//   retract       {"violations"}                            the text streamed so far failed the guard: discard it
//   done          {"conversationId","answer","replaced",…}  the answer as kept (always the one to show); "gate"
//                                                           says what the scope gate decided (a reply of its own
//                                                           unless "answer")
//   error         {"error"}                                 instead of done, when generation failed
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { GatewayContext } from '../../gateway-context.js';
import { answerQuestion, caseContextOf, type DialogueAnswer } from '../../llm/dialogue.js';
import { answerGuard } from '../../llm/answer-guard.js';
import { LlmBusyError } from '../../llm/service.js';
import { LlmContextOverflowError, LlmTimeoutError, LlmAbortedError } from '../../llm/llama-runtime.js';
import type { ConversationRow, MessageRow } from '../../store/conversations.js';
import { requireScope, type Principal } from '../auth/api-keys.js';

const askBody = z.object({
  message: z.string().trim().min(1, 'message is empty').max(2000, 'message is longer than 2000 characters'),
  conversationId: z.string().uuid('conversationId is not a conversation id').optional(),
  stream: z.boolean().optional(),
}).strict();

function messageView(m: MessageRow) {
  return { seq: m.seq, role: m.role, content: m.content, createdAt: new Date(m.created_at).toISOString(), ...(m.role === 'assistant' ? { meta: m.meta } : {}) };
}

function conversationView(c: ConversationRow) {
  return { conversationId: c.id, studyInstanceUid: c.study_uid, startedBy: c.started_by, createdAt: new Date(c.created_at).toISOString(), updatedAt: new Date(c.updated_at).toISOString() };
}

function httpStatusOf(err: unknown): { status: number; error: string } {
  if (err instanceof LlmBusyError) return { status: 503, error: err.message };
  if (err instanceof LlmTimeoutError) return { status: 504, error: `the language model did not answer in time: ${err.message}` };
  if (err instanceof LlmContextOverflowError) return { status: 413, error: `the conversation no longer fits the model's context (${err.message}); start a new one` };
  if (err instanceof LlmAbortedError) return { status: 499, error: 'cancelled' };
  return { status: 500, error: 'the language model failed' };
}

export function dialogueRouter(ctx: GatewayContext): Router {
  const r = Router();
  const scope = requireScope(ctx.config.auth.apiKeys, 'case:dialogue');

  r.post('/cases/:study/dialogue', scope, async (req: Request, res: Response) => {
    const principal = res.locals.principal as Principal;
    const studyUid = String(req.params.study);
    const body = askBody.safeParse(req.body ?? {});
    if (!body.success) return void res.status(400).json({ error: body.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ') });
    if (!ctx.store.getStudy(studyUid)) return void res.status(404).json({ error: `no study ${studyUid}` });
    const caseCtx = caseContextOf(ctx.store, studyUid);
    if (!caseCtx) return void res.status(409).json({ error: `study ${studyUid} has no report yet: the dialogue starts once it is analysed` });
    const llm = ctx.llm;
    if (!llm) return void res.status(503).json({ error: 'no language model is loaded (llm.enabled, llm.modelPath): the case dialogue is unavailable' });
    let conversation: ConversationRow | undefined;
    if (body.data.conversationId) {
      conversation = ctx.store.conversations.get(body.data.conversationId);
      if (!conversation || conversation.study_uid !== studyUid) return void res.status(404).json({ error: `no conversation ${body.data.conversationId} about study ${studyUid}` });
    }
    const history = conversation ? ctx.store.conversations.messages(conversation.id) : [];
    const stream = body.data.stream ?? (req.accepts(['application/json', 'text/event-stream']) === 'text/event-stream');
    const abort = new AbortController();
    res.on('close', () => { if (!res.writableFinished) abort.abort(); });

    const keep = (answer: DialogueAnswer) => {
      conversation ??= ctx.store.conversations.start(studyUid, principal.keyName);
      ctx.store.conversations.appendTurn(conversation.id, body.data.message, answer.text, { model: answer.model, replaced: answer.replaced, attempts: answer.attempts, ...(answer.gate ? { gate: answer.gate } : {}), ...(answer.route ? { route: answer.route } : {}), ...(answer.knowledge ? { knowledge: answer.knowledge } : {}) });
      // No question or answer text in the log: both can carry a patient's findings.
      ctx.logger.info({ studyUid, conversationId: conversation.id, key: principal.keyName, replaced: answer.replaced, gate: answer.gate?.decision, attempts: answer.attempts.length }, 'dialogue turn');
      return conversation;
    };

    if (!stream) {
      try {
        const answer = await answerQuestion(llm, answerGuard, caseCtx, history, body.data.message, { signal: abort.signal, ...(ctx.scopeGate ? { gate: ctx.scopeGate } : {}), ...(ctx.questionRouter ? { router: ctx.questionRouter } : {}), knowledgeAnswers: ctx.config.llm.knowledgeAnswers === 'knowledge-base' });
        const c = keep(answer);
        res.json({ conversationId: c.id, answer: answer.text, replaced: answer.replaced, model: answer.model, attempts: answer.attempts, ...(answer.gate ? { gate: answer.gate.decision } : {}), ...(answer.route ? { route: answer.route } : {}), ...(answer.knowledge ? { knowledge: answer.knowledge } : {}) });
      } catch (err) {
        const { status, error } = httpStatusOf(err);
        if (status === 503) res.set('Retry-After', '10');
        if (!res.headersSent && status !== 499) res.status(status).json({ error });
      }
      return;
    }

    // A conversation id is promised before the first token; it exists once the turn is kept.
    conversation ??= ctx.store.conversations.start(studyUid, principal.keyName);
    res.status(200).set({ 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no' });
    res.flushHeaders();
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    send('conversation', { conversationId: conversation.id });
    try {
      const answer = await answerQuestion(llm, answerGuard, caseCtx, history, body.data.message, {
        signal: abort.signal,
        ...(ctx.scopeGate ? { gate: ctx.scopeGate } : {}),
        ...(ctx.questionRouter ? { router: ctx.questionRouter } : {}),
        knowledgeAnswers: ctx.config.llm.knowledgeAnswers === 'knowledge-base',
        onTextChunk: (text) => send('token', { text }),
        onRetract: (verdict) => send('retract', { violations: verdict.violations }),
      });
      const c = keep(answer);
      send('done', { conversationId: c.id, answer: answer.text, replaced: answer.replaced, model: answer.model, ...(answer.gate ? { gate: answer.gate.decision } : {}), ...(answer.route ? { route: answer.route } : {}), ...(answer.knowledge ? { knowledge: answer.knowledge } : {}) });
    } catch (err) {
      const { status, error } = httpStatusOf(err);
      if (status !== 499) send('error', { status, error });
    }
    res.end();
  });

  r.get('/cases/:study/dialogue', scope, (req, res) => {
    const studyUid = String(req.params.study);
    if (!ctx.store.getStudy(studyUid)) return void res.status(404).json({ error: `no study ${studyUid}` });
    res.json(ctx.store.conversations.ofStudy(studyUid).map(conversationView));
  });

  r.get('/cases/:study/dialogue/:conversation', scope, (req, res) => {
    const c = ctx.store.conversations.get(String(req.params.conversation));
    if (!c || c.study_uid !== String(req.params.study)) return void res.status(404).json({ error: `no conversation ${String(req.params.conversation)} about study ${String(req.params.study)}` });
    res.json({ ...conversationView(c), messages: ctx.store.conversations.messages(c.id).map(messageView) });
  });

  return r;
}
