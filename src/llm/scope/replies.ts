// The gateway's own replies to questions the scope gate keeps from the model. Worded like the corpus's refusals
// (models/llm/corpus.py), so a reader cannot tell a gated reply from a model's refusal except by the record.
//
// The refusal carries a conditional safety net (emergencies, not only eye ones): a question the gate or the router
// refuses can still be an emergency told badly, and the refusal is then the only thing the person reads. The urgent
// reply's first-aid line for chemicals follows the NHS's advice on eye injuries (nhs.uk/conditions/eye-injuries:
// rinse the eye with clean water, then get help): the one emergency where what is done in the first minutes matters.
import type { ScopeDecision } from './gate.js';

export const GATED_REPLY: Record<Exclude<ScopeDecision, 'answer'>, string> = {
  refuse: 'I cannot help with that here: I explain this screening case and eye conditions, and I cannot give doses, change the report, make a final diagnosis or discuss other people. Please ask your ophthalmologist, GP or the clinician who looks after you. If you have sudden loss of vision, severe eye pain, an eye injury or chest pain, call emergency services or go to an emergency department now.',
  urgent: 'What you describe can be an emergency. Please get same-day care: go to an eye casualty or emergency department today, or call emergency services. Do not wait for the screening appointment; I cannot tell the cause from these photographs. If a chemical has got into the eye, rinse it straight away with plenty of clean water for at least 15 minutes while help is called.',
  crisis: 'I am sorry you are feeling like this. Please talk to someone now: call your local emergency number or a crisis helpline, or tell your GP today. You do not have to face this alone.',
};

/** What a case question gets when neither the model's answers nor the report's section can be shown. */
export const CANNOT_ANSWER =
  'I cannot answer that reliably from this case\'s findings. Please ask the ophthalmologist or screening clinician who reviews this report.';

/**
 * What a case question about an eye the study has no photograph of gets: the report says nothing of that eye, and
 * a model asked about it could only invent.
 */
export const missingEyeReply = (side: 'right' | 'left'): string =>
  `This study has no photograph of the ${side} eye, so I cannot tell you anything about it. Please ask the screening service or your optometrist whether it was photographed elsewhere.`;
