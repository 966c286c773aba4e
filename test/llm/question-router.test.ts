// The dialogue's question router (src/llm/intent/): the canonical questions are still the corpus's templates, the
// slots come from the question or the case, the bundled weights load and sort plain questions, and the router's
// own held-back validation (recorded when it was trained) stays above a floor.
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it, expect } from 'vitest';
import { PROJECT_ROOT } from '../../src/project-root.js';
import { CANONICAL_TEMPLATES, canonicalQuestion, namedEntry, namedSide, plainName } from '../../src/llm/intent/intents.js';
import { DEFAULT_QUESTION_ROUTER, QuestionRouter, ROUTER_CLASSES } from '../../src/llm/intent/router.js';
import { caseContextForFindings } from '../../src/llm/evaluation/cases.js';
import { answerQuestion, GATE_SURE } from '../../src/llm/dialogue.js';
import { answerGuard } from '../../src/llm/answer-guard.js';
import { GATED_REPLY } from '../../src/llm/scope/replies.js';
import { ScopeGate, SCOPE_GATE_FORMAT } from '../../src/llm/scope/gate.js';
import { QUESTION_ROUTER_FORMAT } from '../../src/llm/intent/router.js';
import type { LlmService } from '../../src/llm/service.js';

const corpus = readFileSync(path.join(PROJECT_ROOT, 'models/llm/corpus.py'), 'utf8');
const moderateLeft = caseContextForFindings([
  { eye: 'R', gradable: true, drGrade: 0, dmeRisk: 0 },
  { eye: 'L', gradable: true, drGrade: 2, dmeRisk: 1, lesions: ['haemorrhage', 'hard-exudate'] },
], 'router-test-1').summary;
const glaucomaOnly = caseContextForFindings([{ eye: 'R', gradable: true, drGrade: 0, dmeRisk: 0, labels: ['glaucoma'], cdr: 0.7 }], 'router-test-2').summary;
const clear = caseContextForFindings([{ eye: 'R', gradable: true, drGrade: 0, dmeRisk: 0 }], 'router-test-3').summary;

describe('question router: intents and canonical questions', () => {
  it('every canonical template is still one of the corpus\'s question templates', () => {
    for (const t of CANONICAL_TEMPLATES) {
      // In corpus.py a template is a Python string, plain or an f-string; {x} is FIELD_QUESTIONS' slot.
      expect(corpus.includes(`"${t}"`) || corpus.includes(`f"${t}"`), t).toBe(true);
    }
  });

  it('finds the eye a question names, and none when it names both or only says "all right"', () => {
    expect(namedSide('is my right eye ok')).toBe('right');
    expect(namedSide('What about the L eye?')).toBe('left');
    expect(namedSide('R eye: any exudates?')).toBe('right');
    expect(namedSide('how r my eyes')).toBeUndefined();
    expect(namedSide('is everything all right with the left one')).toBe('left');
    expect(namedSide('compare the right and left eyes')).toBeUndefined();
  });

  it('finds the knowledge-base entry a question names, longest name first', () => {
    expect(namedEntry('What does PDR mean?')).toBe('dr-grade-4');
    expect(namedEntry('are cotton wool spots dangerous')).toBe('soft-exudate');
    expect(namedEntry('what is moderate NPDR')).toBe('dr-grade-2');
    expect(namedEntry('what is diabetic retinopathy')).toBe('diabetic-retinopathy');
    expect(namedEntry('pdr')).toBeUndefined(); // an acronym only in capitals
    expect(namedEntry('how is the weather')).toBeUndefined();
    expect(plainName('Moderate non-proliferative diabetic retinopathy (DR grade 2)')).toBe('moderate non-proliferative diabetic retinopathy');
    expect(plainName('AMD')).toBe('AMD');
  });

  it('fills the slots from the question, else from the case, and falls back when a slot is missing', () => {
    expect(canonicalQuestion('grade', 'how bad is the left one', moderateLeft)).toEqual({ intent: 'grade', question: 'What does DR grade 2 mean for my left eye?' });
    expect(canonicalQuestion('grade', 'what stage is it', moderateLeft)).toEqual({ intent: 'grade', question: 'What does grade 2 mean?' });
    expect(canonicalQuestion('lesion', 'any bleeds?', moderateLeft)).toEqual({ intent: 'lesion', question: 'Were there haemorrhages?' });
    expect(canonicalQuestion('lesion', 'what about the yellow spots', moderateLeft)).toEqual({ intent: 'lesion', question: 'Were there hard exudates?' });
    expect(canonicalQuestion('lesion', 'were fluffy white soft exudates seen', moderateLeft)).toEqual({ intent: 'lesion', question: 'Were there cotton wool spots?' });
    expect(canonicalQuestion('lesion', 'anything else seen?', moderateLeft)).toEqual({ intent: 'overall', question: 'What did the screening show?' });
    expect(canonicalQuestion('eye', 'and the right?', moderateLeft)).toEqual({ intent: 'eye', question: 'Tell me about the right eye.' });
    expect(canonicalQuestion('label', 'did it pick up AMD', moderateLeft)).toEqual({ intent: 'label', question: 'Does this show macular degeneration?' });
    expect(canonicalQuestion('urgency', 'can it wait till spring', moderateLeft)).toEqual({ intent: 'urgency', question: 'How urgent is this?' });
    // A knowledge question about "it": the case's worst grade, else its flagged label, else nothing to ask.
    expect(canonicalQuestion('prognosisAndLifestyle', 'will I go blind', moderateLeft)?.question).toBe('What is the outlook for moderate non-proliferative diabetic retinopathy?');
    expect(canonicalQuestion('treatmentAndPrevention', 'how do they treat it', glaucomaOnly)?.question).toBe('How is glaucoma treated?');
    expect(canonicalQuestion('symptoms', 'would I notice it', clear)).toBeUndefined();
    expect(canonicalQuestion('causesAndRisks', 'why do people get cataracts', clear)?.question).toBe('What causes cataract?');
    // Without a case (a general question): knowledge intents that name an entry only.
    expect(canonicalQuestion('overall', 'what did it show', undefined)).toBeUndefined();
    expect(canonicalQuestion('what', 'what is a microaneurysm', undefined)?.question).toBe('What is microaneurysms?');
  });
});

describe('question router: weights', () => {
  it('refuses a file that is not a router, naming the problem', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ophgate-router-'));
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ format: 'ophgate-question-router/1', classes: ['overall'], minProbability: 0.3, weights: {}, training: {} }));
    expect(() => QuestionRouter.load(bad)).toThrow(/bad\.json: not a question router: classes/);
  });

  it('a low-confidence question goes to the model as asked', () => {
    const uniform = new QuestionRouter({ format: 'ophgate-question-router/1', classes: [...ROUTER_CLASSES], minProbability: 0.3, weights: {}, training: {} });
    expect(uniform.classify('anything').probability).toBeCloseTo(1 / ROUTER_CLASSES.length, 6);
    expect(uniform.route('anything', moderateLeft)).toBeUndefined();
  });

  it('the bundled router sorts plain questions of each kind and rewrites them for the case', () => {
    const router = QuestionRouter.load(DEFAULT_QUESTION_ROUTER);
    const cases: Array<[string, string]> = [
      ['Which of the two eyes needs the referral?', 'which-eye'],
      ['Were any haemorrhages found on the photos?', 'lesion'],
      ['How soon does the hospital need to see me?', 'urgency'],
      ['What happens now, will someone ring me?', 'next'],
      ['What is the cup to disc ratio on this scan?', 'cdr'],
      ['How is glaucoma treated?', 'treatmentAndPrevention'],
      ['What causes cataracts?', 'causesAndRisks'],
    ];
    for (const [q, intent] of cases) expect(router.classify(q).intent, q).toBe(intent);
    const r = router.route('Were any haemorrhages found on the photos?', moderateLeft);
    expect(r).toMatchObject({ intent: 'lesion', question: 'Were there haemorrhages?' });
  });

  it('declines a question it takes for unsafe, as a second opinion after the gate, without asking the model', async () => {
    const router = QuestionRouter.load(DEFAULT_QUESTION_ROUTER);
    expect(router.declines('How many units of insulin should I take tonight?')).toBe(true);
    expect(router.declines('How is glaucoma treated?')).toBe(false);
    const ctx = caseContextForFindings([{ eye: 'R', gradable: true, drGrade: 2, dmeRisk: 0, lesions: ['haemorrhage'] }], 'router-test-4');
    // No gate here, so only the router stands between the question and the model, which must not be asked.
    const noModel = { generate: () => { throw new Error('the model was asked'); }, modelName: 'none' } as unknown as LlmService;
    const a = await answerQuestion(noModel, answerGuard, ctx, [], 'How many units of insulin should I take tonight?', { router });
    expect(a).toMatchObject({ text: GATED_REPLY.refuse, model: 'question-router', replaced: false, attempts: [] });
    const kb = await answerQuestion(noModel, answerGuard, ctx, [], 'How is glaucoma treated?', { router });
    expect(kb).toMatchObject({ model: 'knowledge-base', knowledge: { entry: 'glaucoma', field: 'treatmentAndPrevention' } });
    await expect(answerQuestion(noModel, answerGuard, ctx, [], 'How is glaucoma treated?', { router, knowledgeAnswers: false })).rejects.toThrow(/the model was asked/);
  });

  it('the bundled router\'s held-back bases: most intent questions routed right, few unsafe ones routed at all', () => {
    type At = { routed: number; of: number; correct: number; noneRouted: number; noneOf: number };
    const file = JSON.parse(readFileSync(DEFAULT_QUESTION_ROUTER, 'utf8')) as { minProbability: number; training: { validationByThreshold: Record<string, At> } };
    const at = file.training.validationByThreshold[String(file.minProbability)]!;
    expect(at.of).toBeGreaterThan(100);
    expect(at.noneOf).toBeGreaterThan(100);
    expect(at.correct / at.of).toBeGreaterThanOrEqual(0.6);
    expect(at.noneRouted / at.noneOf).toBeLessThanOrEqual(0.1);
  });

  it('asks the router\'s second opinion only when the gate let the question through without conviction', async () => {
    // A gate with a fixed verdict (answer, at a chosen probability) and a router that takes everything for unsafe.
    const gateAt = (bias: number[]) => new ScopeGate({ format: SCOPE_GATE_FORMAT, classes: ['answer', 'refuse', 'urgent', 'crisis'], minDeclineProbability: 0.5, weights: { bias }, training: {} });
    const sure = gateAt([10, 0, 0, 0]);
    const unsure = gateAt([1, 0, -5, -5]);
    expect(sure.classify('x').probabilities.answer).toBeGreaterThanOrEqual(GATE_SURE);
    expect(unsure.classify('x')).toMatchObject({ decision: 'answer' });
    expect(unsure.classify('x').probabilities.answer).toBeLessThan(GATE_SURE);
    const declinesAll = new QuestionRouter({ format: QUESTION_ROUTER_FORMAT, classes: [...ROUTER_CLASSES], minProbability: 0.5, training: {}, weights: { bias: ROUTER_CLASSES.map((c) => (c === 'none' ? 20 : 0)) } });
    const ctx = caseContextForFindings([{ eye: 'R', gradable: true, drGrade: 2, dmeRisk: 0, lesions: ['soft-exudate'] }], 'router-test-5');
    const noModel = { generate: () => { throw new Error('the model was asked'); }, modelName: 'none' } as unknown as LlmService;
    const q = 'do cotton wool spots go away by themselves';
    expect(await answerQuestion(noModel, answerGuard, ctx, [], q, { gate: unsure, router: declinesAll })).toMatchObject({ model: 'question-router', text: GATED_REPLY.refuse });
    expect(await answerQuestion(noModel, answerGuard, ctx, [], q, { gate: sure, router: declinesAll })).toMatchObject({ model: 'knowledge-base', knowledge: { entry: 'soft-exudate', found: 'retrieval' } });
  });
});
