// The gateway's LLM plumbing with a tiny random-weight GGUF written by the project's own writer: it loads at start,
// the narrative stage asks it, the grounding guard rejects what a random model writes and the deterministic
// narrative is used (and the report says so), /metrics counts the generations, and the case dialogue answers over
// SSE and JSON with API-key scopes, persisting each turn. The bundled model's answers are tested in
// test/llm/bundled-model.test.ts.
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestGateway, ingestFile, waitFor, FIXTURES_DIR, type TestGateway } from '../helpers/gateway.js';
import { writeTinyLlamaGguf } from '../../src/llm/gguf/tiny.js';
import { REPORT_PREFIX } from '../../src/llm/dialogue.js';
import { CANNOT_ANSWER } from '../../src/llm/scope/replies.js';
import { GATED_REPLY } from '../../src/llm/scope/replies.js';

const KEY = 'dialogue-test-key-31c9';
const READER = 'reader-test-key-77a0';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const FIXTURE = path.join(FIXTURES_DIR, 'op-jpeg-baseline-idrid55-L.dcm');

let dir: string;
let modelPath: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ophgate-llm-'));
  modelPath = path.join(dir, 'tiny.gguf');
  await writeTinyLlamaGguf(modelPath);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const running: TestGateway[] = [];
afterEach(async () => { for (const g of running.splice(0)) await g.stop(); });

async function start(overrides: Record<string, unknown> = {}) {
  const g = await startTestGateway({
    'inference.modelsDir': 'models',
    'llm.enabled': true, 'llm.modelPath': modelPath, 'llm.maxTokens': 24, 'llm.threads': 1,
    'auth.apiKeys': [
      { name: 'clinician', sha256: sha(KEY), scopes: ['case:dialogue', 'report:read'] },
      { name: 'reader', sha256: sha(READER), scopes: ['report:read'] },
    ],
    ...overrides,
  });
  running.push(g);
  return g;
}

interface SseEvent { event: string; data: Record<string, unknown> }
function parseSse(text: string): SseEvent[] {
  return text.split('\n\n').filter((b) => b.trim()).map((block) => {
    const event = /^event: (.*)$/m.exec(block)?.[1] ?? '';
    const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? '{}') as Record<string, unknown>;
    return { event, data };
  });
}

describe('LLM in the gateway (tiny random model)', () => {
  it('falls back to the deterministic narrative when the model\'s text fails the guard, and says so', async () => {
    const tg = await start();
    const { header } = await ingestFile(tg, FIXTURE);
    const study = header.studyInstanceUid;
    const job = await waitFor('job finished', () => tg.gateway.ctx.store.listJobs({ studyUid: study }).find((j) => j.state === 'done' || j.state === 'dead'), 120_000);
    expect(job.last_error).toBeNull();
    const stage = tg.gateway.ctx.store.latestStageResult(study, 'report')!.result as { narrative: { producedBy: string; attempts: Array<{ guard: { ok: boolean } }>; fallbackReason?: string } };
    expect(stage.narrative.producedBy).toBe('deterministic');
    expect(stage.narrative.attempts).toHaveLength(2);
    expect(stage.narrative.attempts.every((a) => !a.guard.ok)).toBe(true);
    expect(stage.narrative.fallbackReason).toMatch(/guard/);
    const metrics = await (await fetch(`${tg.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/ophgate_llm_generations_total\{purpose="narrative",outcome="ok"\} 2/);
    expect(metrics).toMatch(/ophgate_llm_queue_length 0/);
  }, 180_000);

  it('answers the case dialogue over SSE and JSON, keeps the conversation, and checks keys and inputs', async () => {
    const tg = await start();
    const { header } = await ingestFile(tg, FIXTURE);
    const study = header.studyInstanceUid;
    const url = `${tg.baseUrl}/api/cases/${study}/dialogue`;
    const post = (body: unknown, headers: Record<string, string> = {}) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, ...headers }, body: JSON.stringify(body) });

    // A study with no report (not ophthalmic, so never analysed) has nothing to talk about.
    const chest = (await ingestFile(tg, path.join(FIXTURES_DIR, 'sc-chest-ot.dcm'))).header.studyInstanceUid;
    await waitFor('chest study settled', () => tg.gateway.ctx.store.getStudy(chest)?.state === 'settled', 30_000);
    const none = await fetch(`${tg.baseUrl}/api/cases/${chest}/dialogue`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': KEY }, body: '{"message":"Which eye?"}' });
    expect(none.status).toBe(409);
    expect(((await none.json()) as { error: string }).error).toMatch(/has no report yet/);
    await waitFor('job finished', () => tg.gateway.ctx.store.listJobs({ studyUid: study }).find((j) => j.state === 'done'), 120_000);

    expect((await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"message":"hi"}' })).status).toBe(401);
    expect((await post({ message: 'hi' }, { authorization: `Bearer ${READER}` })).status).toBe(403);
    expect((await post({ message: '' })).status).toBe(400);
    expect((await post({ message: 'hi', conversationId: '0b7e4c6e-2f7a-4d2e-9a55-5f3b7b1c2d3e' })).status).toBe(404);
    expect((await post({ message: 'hi', extra: 1 })).status).toBe(400);

    // Streamed: conversation first, tokens, then done with the answer as kept.
    const streamed = await post({ message: 'What did the photograph of the left eye show?' }, { accept: 'text/event-stream' });
    expect(streamed.status).toBe(200);
    expect(streamed.headers.get('content-type')).toMatch(/text\/event-stream/);
    const events = parseSse(await streamed.text());
    expect(events[0]!.event).toBe('conversation');
    const done = events.find((e) => e.event === 'done')!;
    expect(done, JSON.stringify(events.map((e) => e.event))).toBeDefined();
    expect(events.filter((e) => e.event === 'token').length).toBeGreaterThan(0);
    const conversationId = events[0]!.data.conversationId as string;
    expect(done.data.conversationId).toBe(conversationId);
    const retracted = events.some((e) => e.event === 'retract');
    // Withheld: the report's own section for a recognised case question (model "report"), else CANNOT_ANSWER.
    if (done.data.replaced) expect(done.data.model === 'report' ? String(done.data.answer).startsWith(REPORT_PREFIX) : done.data.answer === CANNOT_ANSWER).toBe(true);
    else if (!retracted) expect(done.data.answer).toBe(events.filter((e) => e.event === 'token').map((e) => e.data.text).join('').trim());

    // Not streamed, continuing the same conversation.
    const second = await post({ message: 'And what should happen next?', conversationId });
    expect(second.status).toBe(200);
    const body = (await second.json()) as { conversationId: string; answer: string; model: string; route?: { intent: string; question: string } };
    expect(body.conversationId).toBe(conversationId);
    expect(body.model).toMatch(/tiny|ophgate|^report$/i);
    // The question router gave the model its canonical question for the intent; the conversation keeps what was typed.
    expect(body.route).toMatchObject({ intent: 'next', question: 'What happens next?' });

    const read = (await (await fetch(`${url}/${conversationId}`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as { messages: Array<{ role: string; content: string }> };
    expect(read.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
    expect(read.messages[0]!.content).toBe('What did the photograph of the left eye show?');
    expect(read.messages[3]!.content).toBe(body.answer);
    const list = (await (await fetch(url, { headers: { authorization: `Bearer ${KEY}` } })).json()) as Array<{ conversationId: string }>;
    expect(list.map((c) => c.conversationId)).toContain(conversationId);
    const metrics = await (await fetch(`${tg.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/ophgate_llm_generations_total\{purpose="dialogue",outcome="ok"\} [1-9]/);
    expect(metrics).toMatch(/ophgate_llm_tokens_total\{kind="completion"\} [1-9]/);

    // The scope gate keeps a dosing question and a red-flag symptom from the model: the gateway's own replies, and
    // no generation. The turns are kept with the gate's verdict.
    const generations = (m: string) => Number(/ophgate_llm_generations_total\{purpose="dialogue",outcome="ok"\} (\d+)/.exec(m)?.[1] ?? 0);
    const dosing = await post({ message: 'How many units of insulin should I take tonight?', conversationId });
    expect(dosing.status).toBe(200);
    const gated = (await dosing.json()) as { answer: string; model: string; gate: string; replaced: boolean };
    expect(gated).toMatchObject({ answer: GATED_REPLY.refuse, model: 'scope-gate', gate: 'refuse', replaced: false });
    const urgentStream = await post({ message: 'I suddenly lost the vision in my left eye an hour ago.', conversationId }, { accept: 'text/event-stream' });
    const urgentEvents = parseSse(await urgentStream.text());
    expect(urgentEvents.find((e) => e.event === 'done')!.data).toMatchObject({ answer: GATED_REPLY.urgent, gate: 'urgent' });
    expect(urgentEvents.filter((e) => e.event === 'token').map((e) => e.data.text).join('')).toBe(GATED_REPLY.urgent);
    const after = await (await fetch(`${tg.baseUrl}/metrics`)).text();
    expect(generations(after)).toBe(generations(metrics));

    // A general question the router recognises, about a knowledge-base entry: the entry's cited passage, no generation,
    // after the report's line for the eye (or the Impression) since it is asked about a case.
    const general = await post({ message: 'How is glaucoma treated?', conversationId });
    const kb = (await general.json()) as { answer: string; model: string; knowledge?: { entry: string; field: string; sources: unknown[] } };
    expect(kb).toMatchObject({ model: 'knowledge-base', knowledge: { entry: 'glaucoma', field: 'treatmentAndPrevention' } });
    expect(kb.answer.startsWith(REPORT_PREFIX)).toBe(true);
    expect(kb.answer).toMatch(/\n\nTreatment lowers the eye pressure[\s\S]*General information on glaucoma from OphGate's knowledge base; sources: National Institute for Health and Care Excellence/);
    expect(kb.knowledge!.sources.length).toBeGreaterThan(0);
    expect(generations(await (await fetch(`${tg.baseUrl}/metrics`)).text())).toBe(generations(metrics));

    const reread = (await (await fetch(`${url}/${conversationId}`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as { messages: Array<{ role: string; meta?: { gate?: { decision: string }; route?: { intent: string } } }> };
    const kept = reread.messages.filter((m) => m.role === 'assistant');
    expect(kept.map((m) => m.meta?.gate?.decision)).toEqual(['answer', 'answer', 'refuse', 'urgent', 'answer']);
    expect(kept.map((m) => m.meta?.route?.intent)).toEqual(['eye', 'next', undefined, undefined, 'treatmentAndPrevention']);
  }, 180_000);

  it('answers 503 when no language model is loaded', async () => {
    const tg = await start({ 'llm.enabled': false });
    const { header } = await ingestFile(tg, FIXTURE);
    await waitFor('job finished', () => tg.gateway.ctx.store.listJobs({ studyUid: header.studyInstanceUid }).find((j) => j.state === 'done'), 120_000);
    const res = await fetch(`${tg.baseUrl}/api/cases/${header.studyInstanceUid}/dialogue`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': KEY }, body: '{"message":"Is it serious?"}' });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: string }).error).toMatch(/no language model/);
  }, 180_000);

  it('refuses to start with a site-configured model that does not exist', async () => {
    await expect(start({ 'llm.modelPath': path.join(dir, 'missing.gguf') })).rejects.toThrow(/llm.modelPath .*missing.gguf does not exist/);
  });
});
