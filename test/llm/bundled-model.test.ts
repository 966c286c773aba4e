// The bundled chat model (models/llm/ophgate-chat.gguf) in the gateway, at temperature 0, on a fixture photograph
// analysed by the real fundus models: the report's narrative is the model's (under the case's JSON-schema grammar)
// and passes the guard; one dialogue turn through the HTTP endpoint is answered by the model (given the question
// router's canonical question), passes the answer guard and names a finding of this study; an answer that fails the
// guard is withheld; a dosing question gets the scope gate's refusal without reaching the model.
import { describe, it, expect, afterEach } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { startTestGateway, ingestFile, waitFor, FIXTURES_DIR, type TestGateway } from '../helpers/gateway.js';
import { DEFAULT_LLM_MODEL } from '../../src/config/schema.js';
import { PROJECT_ROOT } from '../../src/project-root.js';
import { answerGuard, narrativeGuard } from '../../src/llm/answer-guard.js';
import { GATED_REPLY } from '../../src/llm/scope/replies.js';
import { REPORT_PREFIX } from '../../src/llm/dialogue.js';
import type { StudySummary } from '../../src/report/eye-summary.js';

const KEY = 'bundled-model-key-5d21';
const FIXTURE = path.join(FIXTURES_DIR, 'op-jpeg-baseline-idrid55-L.dcm');
const MODEL = path.join(PROJECT_ROOT, DEFAULT_LLM_MODEL);
const running: TestGateway[] = [];
afterEach(async () => { for (const g of running.splice(0)) await g.stop(); });

/** Words a reader would take as naming this study's findings. */
function findingWords(s: StudySummary): string[] {
  const words: string[] = [];
  const GRADE = ['no apparent', 'mild', 'moderate', 'severe', 'proliferative'];
  for (const e of [s.eyes.R, s.eyes.L]) {
    if (e.status === 'ungradable') words.push('ungradable');
    if (e.drGrade) words.push(GRADE[e.drGrade.grade]!, `grade ${e.drGrade.grade}`);
    for (const l of e.lesions) words.push(l.name);
    for (const l of e.labels) words.push(l.name);
  }
  return words;
}

describe.skipIf(!existsSync(MODEL))('the bundled chat model in the gateway', () => {
  it('writes the narrative and answers one dialogue turn grounded in the fixture\'s findings', async () => {
    const tg = await startTestGateway({
      'inference.modelsDir': 'models', 'llm.enabled': true, 'llm.temperature': 0, 'llm.threads': 1,
      'auth.apiKeys': [{ name: 'clinician', sha256: createHash('sha256').update(KEY).digest('hex'), scopes: ['case:dialogue', 'report:read'] }],
    });
    running.push(tg);
    const study = (await ingestFile(tg, FIXTURE)).header.studyInstanceUid;
    const job = await waitFor('job finished', () => tg.gateway.ctx.store.listJobs({ studyUid: study }).find((j) => j.state === 'done' || j.state === 'dead'), 240_000);
    expect(job.last_error).toBeNull();
    const report = tg.gateway.ctx.store.latestStageResult(study, 'report')!.result as { summary: StudySummary; narrative: { text: string; producedBy: string } };
    expect(report.narrative.producedBy).toMatch(/ophgate-chat/);
    expect(narrativeGuard(report.narrative.text.replace(/\n\n(?:Automated research analysis)[\s\S]*$/, ''), report.summary).violations.filter((v) => v.kind !== 'missing-finding')).toEqual([]);

    const post = (message: string) => fetch(`${tg.baseUrl}/api/cases/${study}/dialogue`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: JSON.stringify({ message }),
    });
    // A question about the grade: the router hands the model its canonical question, and the answer passes the
    // guard and names a finding of this study.
    const res = await post('What grade of retinopathy does the photograph show?');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { answer: string; replaced: boolean; model: string; gate: string; route?: { intent: string; question: string } };
    expect(body.gate).toBe('answer');
    expect(body.model).toMatch(/ophgate-chat/);
    expect(body.route).toMatchObject({ intent: 'grade' });
    expect(body.replaced, JSON.stringify(body)).toBe(false);
    expect(answerGuard(body.answer, report.summary).ok).toBe(true);
    const words = findingWords(report.summary);
    expect(words.some((w) => body.answer.toLowerCase().includes(w.toLowerCase())), `${body.answer} | ${words.join(', ')}`).toBe(true);

    // A question whose canonical answer lists every finding of the eye: on this photograph (many labels, DME risk 2)
    // the model miscopies some (MODEL_CARD.md), so whatever it says must pass the guard or be withheld, and then the
    // report's own Findings line for that eye is shown instead.
    const eye = (await (await post('What did the photograph of the left eye show?')).json()) as { answer: string; model: string; replaced: boolean; attempts: Array<{ guard: { violations: unknown[] } }> };
    expect(answerGuard(eye.answer, report.summary).ok).toBe(true);
    if (eye.replaced) {
      for (const a of eye.attempts) expect(a.guard.violations.length).toBeGreaterThan(0);
      expect(eye.model).toBe('report');
      expect(eye.answer).toMatch(new RegExp(`^${REPORT_PREFIX.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}Left eye \\(`));
      expect(eye.answer).not.toMatch(/Right eye/);
    }

    const dosing = (await (await post('How many units of insulin should I take tonight?')).json()) as { answer: string; gate: string };
    expect(dosing).toMatchObject({ answer: GATED_REPLY.refuse, gate: 'refuse' });
  }, 300_000);
});
