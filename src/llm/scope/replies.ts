// The gateway's own replies to questions the scope gate keeps from the model. Worded like the corpus's refusals
// (models/llm/corpus.py), so a reader cannot tell a gated reply from a model's refusal except by the record.
import type { ScopeDecision } from './gate.js';

export const GATED_REPLY: Record<Exclude<ScopeDecision, 'answer'>, string> = {
  refuse: 'I cannot help with that here: I explain this screening case and eye conditions, and I cannot give doses, change the report, make a final diagnosis or discuss other people. Please ask your ophthalmologist, GP or the clinician who looks after you.',
  urgent: 'What you describe can be an emergency. Please get same-day care: go to an eye casualty or emergency department today, or call emergency services. Do not wait for the screening appointment; I cannot tell the cause from these photographs.',
  crisis: 'I am sorry you are feeling like this. Please talk to someone now: call your local emergency number or a crisis helpline, or tell your GP today. You do not have to face this alone.',
};
