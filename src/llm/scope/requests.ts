// Requests the assistant declines whatever words surround them: to alter the report, to approve stopping a
// treatment, to settle a diagnosis the photographs cannot settle. The gate's classifier weighs words and word pairs,
// so a request worded around eye-care vocabulary ("mark the left eye as gradable", "can I just stop going to the
// injections?") can read as an ordinary question to it; these patterns catch the request itself. They match none of
// the banks' answerable questions (1,616 in the scope bank, 3,261 in the intent bank; test/llm/scope-gate.test.ts),
// and when written matched only refusal turns among the corpus's 18,092 user questions (112 of them).
export type ExplicitRequest = 'alter-report' | 'stop-treatment' | 'definitive-diagnosis';

const PATTERNS: Array<[ExplicitRequest, RegExp]> = [
  // "change my grade to 0", "rewrite the report to say urgent", "delete the glaucoma bit before the report goes..."
  ['alter-report', /\b(?:mark|change|alter|edit|amend|rewrite|re-?write|delete|remove|update|upgrade|downgrade|put)\b[^.?!]{0,40}\b(?:report|grade|grading|result|letter)\b[^.?!]{0,30}\b(?:to say|as|to)\b|\bmark (?:the |my |his |her )?(?:left |right )?eye as\b/i],
  // "can I just stop the injections / going / my drops": permission to stop a treatment (not "stop it getting worse").
  ['stop-treatment', /\b(?:can|could|should|shall|may) (?:i|he|she|we|they|my \w+) (?:just |now |simply )?(?:stop|quit|skip|come off|give up|cancel|miss)\b (?:\w+ ){0,3}?(?:injections?|drops|tablets|pills|meds|medications?|medicines?|treatments?|laser|appointments?|going|attending|them|insulin|metformin|it)\b/i],
  // "is it wet or dry AMD?", "confirm for me this is wet AMD": a verdict only an examination can give.
  ['definitive-diagnosis', /\bis it (?:wet|dry) or (?:wet|dry)\b|\b(?:wet|dry) (?:AMD|macular degeneration) or (?:wet|dry)\b|\bconfirm (?:for me )?(?:that )?(?:this|it|she|he|i) (?:is|has|have)\b/i],
];

/** The explicit request a question makes that the assistant must decline, if any. */
export function explicitRequest(question: string): ExplicitRequest | undefined {
  return PATTERNS.find(([, re]) => re.test(question))?.[0];
}
