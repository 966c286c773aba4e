// Passage retrieval over the knowledge base (src/llm/knowledge/retrieval.ts) and its use in the dialogue: a
// question the router cannot place, about an entry it mentions, gets that entry's best passage by content; a case's
// question gets the report's line for the eye asked about first; a question that mentions no entry, or whose best
// passage scores too low, still goes to the model.
import { describe, it, expect } from 'vitest';
import { KnowledgeRetriever, stem, terms } from '../../src/llm/knowledge/retrieval.js';
import { loadKnowledgeBase } from '../../src/llm/knowledge/schema.js';
import { caseEntries, mentionedEntries } from '../../src/llm/intent/intents.js';
import { MIN_RETRIEVAL_SCORE, retrievedKnowledgeAnswer, routedKnowledgeAnswer } from '../../src/llm/intent/knowledge-answer.js';
import { QuestionRouter, QUESTION_ROUTER_FORMAT, ROUTER_CLASSES } from '../../src/llm/intent/router.js';
import { caseContextForFindings } from '../../src/llm/evaluation/cases.js';
import { answerQuestion, missingEye, REPORT_PREFIX } from '../../src/llm/dialogue.js';
import { isRefusalAnswer } from '../../src/llm/refusal.js';
import { answerGuard } from '../../src/llm/answer-guard.js';
import type { LlmService } from '../../src/llm/service.js';
import { ScopeGate, SCOPE_CLASSES, SCOPE_GATE_FORMAT } from '../../src/llm/scope/gate.js';

const kb = new Map(loadKnowledgeBase().entries.map((e) => [e.key, e]));
/** A router that places nothing (every class equally likely, below any threshold) and declines nothing. */
const placesNothing = new QuestionRouter({ format: QUESTION_ROUTER_FORMAT, classes: [...ROUTER_CLASSES], minProbability: 0.5, weights: {}, training: {} });
const noModel = { generate: () => { throw new Error('the model was asked'); }, modelName: 'none' } as unknown as LlmService;
/** A router that sends every question to the "eye" intent. */
const alwaysEye = new QuestionRouter({
  format: QUESTION_ROUTER_FORMAT, classes: [...ROUTER_CLASSES], minProbability: 0.5, training: {},
  weights: { bias: ROUTER_CLASSES.map((c) => (c === 'eye' ? 20 : 0)) },
});
/** A model that always says the right eye has proliferative retinopathy: the guard rejects it for any other grade. */
const wrongModel = {
  modelName: 'wrong', retrySampling: () => ({ temperature: 1, seed: 1 }),
  generate: async () => ({ text: 'The right eye shows proliferative diabetic retinopathy (DR grade 4).', completionTokens: 12, timeToFirstTokenMs: 1, tokensPerSecond: 100, stopReason: 'eogToken' }),
} as unknown as LlmService;
/** A model that declines everything. */
const decliningModel = {
  modelName: 'declining', retrySampling: () => ({ temperature: 1, seed: 1 }),
  generate: async () => ({ text: 'I cannot advise on these photographs. Please ask your GP.', completionTokens: 10, timeToFirstTokenMs: 1, tokensPerSecond: 100, stopReason: 'eogToken' }),
} as unknown as LlmService;

describe('knowledge retrieval', () => {
  it('stems word forms together and drops function words', () => {
    expect([stem('treated'), stem('treatment'), stem('treats')]).toEqual(['treat', 'treat', 'treat']);
    expect(stem('haemorrhages')).toBe(stem('hemorrhage'));
    expect(terms('Is the cup in my eye?')).toEqual(['cup']);
    expect(terms('Why?')).toEqual(['why']); // "what" and "why" ask for a field: kept
  });

  it('ranks an entry\'s passages by what the question asks for', () => {
    const r = new KnowledgeRetriever();
    const best = (q: string, entries: string[]) => r.search(q, { entries, limit: 1 })[0];
    expect(best('How is glaucoma treated, is it just drops forever?', ['glaucoma'])).toMatchObject({ entry: 'glaucoma', field: 'treatmentAndPrevention' });
    expect(best('what would a cataract look like on the photo', ['cataract'])).toMatchObject({ entry: 'cataract', field: 'fundusAppearance' });
    expect(best('do cotton wool spots go away by themselves', ['soft-exudate'])).toMatchObject({ entry: 'soft-exudate', field: 'treatmentAndPrevention' });
    // Restricted to the entries given; unrestricted it may look anywhere.
    expect(r.search('drusen', { entries: ['glaucoma'] }).every((x) => x.entry === 'glaucoma')).toBe(true);
    expect(r.search('drusen', { limit: 3 }).map((x) => x.entry)).toContain('age-related-macular-degeneration');
    expect(r.search('banana bread recipe')).toEqual([]);
  });

  it('answers only about an entry the question mentions, and only above the score threshold', () => {
    expect(mentionedEntries('my eye pressure was high at the optician')).toContain('glaucoma');
    expect(mentionedEntries('the bleeding spots in my left eye')).toContain('haemorrhage');
    expect(mentionedEntries('can you book me a taxi to the hospital')).toEqual([]);
    // Everyday words that point to entries: smoking (a risk factor of three), the 4-2-1 rule (severe NPDR).
    expect(mentionedEntries('does smoking harm your eyes?').sort()).toEqual(['age-related-macular-degeneration', 'cataract', 'diabetic-retinopathy']);
    expect(retrievedKnowledgeAnswer("what's the 4-2-1 rule?")).toMatchObject({ entry: 'dr-grade-3', field: 'what' });
    expect(retrievedKnowledgeAnswer('can you book me a taxi to the hospital')).toBeUndefined();
    const a = retrievedKnowledgeAnswer('do cotton wool spots go away by themselves')!;
    expect(a).toMatchObject({ entry: 'soft-exudate', field: 'treatmentAndPrevention', found: 'retrieval' });
    expect(a.score).toBeGreaterThanOrEqual(MIN_RETRIEVAL_SCORE);
    expect(a.text.startsWith(kb.get('soft-exudate')!.treatmentAndPrevention)).toBe(true);
    // A bare name asks what it is; "my disc" mentions the optic disc (everyday words), but "my" and "disc" alone
    // score under the threshold (stop word, and "disc" is in many entries' prose).
    expect(retrievedKnowledgeAnswer('glaucoma?')).toMatchObject({ entry: 'glaucoma', field: 'what' });
    expect(mentionedEntries('my disc')).toEqual(['optic-disc']);
    expect(retrievedKnowledgeAnswer('my disc')).toBeUndefined();
  });

  it('in the dialogue: a question the router cannot place gets the retrieved passage after the asked eye\'s report line', async () => {
    const ctx = caseContextForFindings([{ eye: 'R', gradable: true, drGrade: 2, dmeRisk: 0, lesions: ['soft-exudate', 'haemorrhage'] }], 'retrieval-test-1');
    const q = 'do cotton wool spots go away by themselves';
    const a = await answerQuestion(noModel, answerGuard, ctx, [], q, { router: placesNothing });
    expect(a).toMatchObject({ model: 'knowledge-base', knowledge: { entry: 'soft-exudate', found: 'retrieval' }, replaced: false, attempts: [] });
    expect(a.route).toBeUndefined();
    // The only photographed eye's Findings line, not the "no photograph received" line of the other.
    expect(a.text.startsWith(`${REPORT_PREFIX}Right eye (`)).toBe(true);
    expect(a.text).not.toMatch(/Left eye/);
    expect(a.text).toContain(kb.get('soft-exudate')!.treatmentAndPrevention);
    // Without a router (a site's own model reads free questions) or with knowledge answers off, the model is asked.
    await expect(answerQuestion(noModel, answerGuard, ctx, [], q, {})).rejects.toThrow(/the model was asked/);
    await expect(answerQuestion(noModel, answerGuard, ctx, [], q, { router: placesNothing, knowledgeAnswers: false })).rejects.toThrow(/the model was asked/);
    // Nothing mentioned: the model.
    await expect(answerQuestion(noModel, answerGuard, ctx, [], 'and what now?', { router: placesNothing })).rejects.toThrow(/the model was asked/);
  });

  it('a two-eye case\'s general question names the eye asked about, else gives the Impression', async () => {
    const ctx = caseContextForFindings([
      { eye: 'R', gradable: true, drGrade: 0, dmeRisk: 0 },
      { eye: 'L', gradable: true, drGrade: 0, dmeRisk: 0, labels: ['cataract'] },
    ], 'retrieval-test-2');
    const left = await answerQuestion(noModel, answerGuard, ctx, [], 'what would a cataract look like on the photo of my left eye', { router: placesNothing });
    expect(left.text.startsWith(`${REPORT_PREFIX}Left eye (`)).toBe(true);
    const both = await answerQuestion(noModel, answerGuard, ctx, [], 'what would a cataract look like on the photo', { router: placesNothing });
    expect(both.text.startsWith(`${REPORT_PREFIX}${ctx.impression}`)).toBe(true);
  });

  it('a case question that names no entry is looked up among the case\'s own findings', () => {
    const ctx = caseContextForFindings([
      { eye: 'R', gradable: true, drGrade: 4, dmeRisk: 1, lesions: ['haemorrhage', 'hard-exudate'] },
      { eye: 'L', gradable: false },
    ], 'retrieval-test-3');
    expect(caseEntries(ctx.summary).sort()).toEqual(['diabetic-macular-oedema', 'diabetic-retinopathy', 'dme-risk-1', 'dr-grade-4', 'haemorrhage', 'hard-exudate', 'image-quality-issue']);
    // "How is it treated?" names no entry; in this case it is about the proliferative retinopathy's treatment.
    expect(retrievedKnowledgeAnswer('how would they treat it?')).toBeUndefined();
    const a = retrievedKnowledgeAnswer('how would they treat it?', ctx.summary);
    expect(a?.field).toBe('treatmentAndPrevention');
    expect(caseEntries(ctx.summary)).toContain(a!.entry);
    // A treatment it names (care knowledge) is searched together with the case's findings.
    expect(retrievedKnowledgeAnswer('what happens at the laser appointment?', ctx.summary)).toMatchObject({ entry: 'retinal-laser', field: 'whatToExpect' });
  });

  it('when the model\'s answers to a case question fail the guard, the report\'s line comes first and a retrieved passage after', async () => {
    const ctx = caseContextForFindings([
      { eye: 'R', gradable: true, drGrade: 2, dmeRisk: 0, lesions: ['haemorrhage'] },
      { eye: 'L', gradable: true, drGrade: 0, dmeRisk: 0, labels: ['cataract'] },
    ], 'retrieval-test-4');
    const a = await answerQuestion(wrongModel, answerGuard, ctx, [], 'How is the cataract in my left eye treated?', { router: alwaysEye });
    expect(a.attempts.map((x) => x.guard.ok)).toEqual([false, false]);
    expect(a).toMatchObject({ model: 'report', replaced: true, knowledge: { entry: 'cataract', field: 'treatmentAndPrevention', found: 'retrieval' } });
    const [line, passage] = a.text.split('\n\n');
    expect(line!.startsWith(`${REPORT_PREFIX}Left eye (`)).toBe(true);
    expect(passage).toBe(kb.get('cataract')!.treatmentAndPrevention);
    // With knowledge answers off, the report's line alone.
    const plain = await answerQuestion(wrongModel, answerGuard, ctx, [], 'How is the cataract in my left eye treated?', { router: alwaysEye, knowledgeAnswers: false });
    expect(plain).toMatchObject({ model: 'report', text: line });
    expect(plain.knowledge).toBeUndefined();
  });

  it('keeps the routed passage unless retrieval finds a clearly better one in what the question mentions', () => {
    // The router read "what does ... look like"-style wording into a question about pregnancy; the causes passage
    // names pregnancy.
    expect(routedKnowledgeAnswer('diabetic-retinopathy', 'fundusAppearance', 'Is pregnancy relevant to diabetic retinopathy?'))
      .toMatchObject({ entry: 'diabetic-retinopathy', field: 'causesAndRisks', found: 'retrieval' });
    expect(routedKnowledgeAnswer('glaucoma', 'fundusAppearance', 'What does glaucoma look like on a photo?'))
      .toMatchObject({ entry: 'glaucoma', field: 'fundusAppearance', found: 'router' });
    expect(routedKnowledgeAnswer('glaucoma', 'treatmentAndPrevention', 'how is glaucoma treated')).toMatchObject({ field: 'treatmentAndPrevention', found: 'router' });
  });

  it('a model that declines a recognised case question has failed it: the report\'s line is shown instead', async () => {
    const ctx = caseContextForFindings([{ eye: 'L', gradable: true, drGrade: 3, dmeRisk: 0, lesions: ['haemorrhage'] }], 'retrieval-test-5');
    const a = await answerQuestion(decliningModel, answerGuard, ctx, [], 'tell me about my left eye', { router: alwaysEye });
    expect(a.attempts.map((x) => x.guard.violations.map((v) => v.kind))).toEqual([['declined'], ['declined']]);
    expect(a.model).toBe('report');
    expect(a.text.startsWith(`${REPORT_PREFIX}Left eye (`)).toBe(true);
    // Unrouted, the same refusal stands: the gate and router did not recognise the question as one to answer.
    const asTyped = await answerQuestion(decliningModel, answerGuard, ctx, [], 'and then?', { router: placesNothing });
    expect(asTyped).toMatchObject({ model: 'declining', replaced: false, text: 'I cannot advise on these photographs. Please ask your GP.' });
    // Unrouted but passed by a gate sure it is one to answer: the refusal fails, and the report's result and next
    // step are shown. A gate that let it through unsure leaves the refusal standing.
    const gateWith = (answerScore: number) => new ScopeGate({ format: SCOPE_GATE_FORMAT, classes: [...SCOPE_CLASSES], minDeclineProbability: 0.5, weights: { bias: [answerScore, 0, 0, 0] }, training: {} });
    const sure = await answerQuestion(decliningModel, answerGuard, ctx, [], 'and then?', { router: placesNothing, gate: gateWith(10) });
    expect(sure.attempts.map((x) => x.guard.violations.map((v) => v.kind))).toEqual([['declined'], ['declined']]);
    expect(sure).toMatchObject({ model: 'report', replaced: true, text: `${REPORT_PREFIX}${ctx.impression}\n\n${ctx.recommendation}` });
    const unsure = await answerQuestion(decliningModel, answerGuard, ctx, [], 'and then?', { router: placesNothing, gate: gateWith(0.5) });
    expect(unsure.gate?.decision).toBe('answer');
    expect(unsure).toMatchObject({ model: 'declining', replaced: false });
  });

  it('a question about an eye the study has no photograph of is told so, without the model', async () => {
    const ctx = caseContextForFindings([{ eye: 'R', gradable: true, drGrade: 1, dmeRisk: 0, lesions: ['microaneurysm'] }], 'retrieval-test-7');
    expect(missingEye('the report only has my right eye. so what does my left one show?', ctx.summary)).toBe('left');
    expect(missingEye('what does my right eye show?', ctx.summary)).toBeUndefined();
    expect(missingEye('how are my eyes?', ctx.summary)).toBeUndefined();
    const a = await answerQuestion(noModel, answerGuard, ctx, [], 'is the left eye ok?', { router: placesNothing });
    expect(a).toMatchObject({ model: 'report', replaced: false, attempts: [] });
    expect(a.text).toMatch(/no photograph of the left eye/);
    expect(isRefusalAnswer(a.text)).toBe(true);
  });

  it('the report\'s fallback for a finding question keeps each asked eye\'s heading and the sentences that answer it', async () => {
    const ctx = caseContextForFindings([
      { eye: 'R', gradable: true, drGrade: 2, dmeRisk: 1, lesions: ['haemorrhage', 'hard-exudate'], labels: ['glaucoma'], cdr: 0.7 },
      { eye: 'L', gradable: false },
    ], 'retrieval-test-6');
    const to = (intent: string) => new QuestionRouter({ format: QUESTION_ROUTER_FORMAT, classes: [...ROUTER_CLASSES], minProbability: 0.5, training: {}, weights: { bias: ROUTER_CLASSES.map((c) => (c === intent ? 20 : 0)) } });
    const grade = await answerQuestion(wrongModel, answerGuard, ctx, [], 'so how bad is it then', { router: to('grade') });
    const [right, left] = grade.text.replace(REPORT_PREFIX, '').split('\n');
    expect(right).toMatch(/^Right eye \(1 photograph, gradable\): Moderate non-proliferative diabetic retinopathy \(DR grade 2, \d+%\)\. Probability of referable/);
    expect(right).not.toMatch(/DME risk|Lesions|cup-to-disc|Classifier/);
    expect(left).toMatch(/^Left eye: UNGRADABLE\./); // kept whole: that it could not be graded is the answer
    const macula = await answerQuestion(wrongModel, answerGuard, ctx, [], 'and the right macula?', { router: to('macula') });
    expect(macula.text).toBe(`${REPORT_PREFIX}Right eye (1 photograph, gradable): DME risk 1: hard exudates more than one disc diameter from the centre of the macula (${/DME risk 1: [^(]+\((\d+%)\)/.exec(ctx.findings!)![1]}).`);
  });
});
