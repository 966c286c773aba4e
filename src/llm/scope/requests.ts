// Requests the assistant declines whatever words surround them: to alter the report, to approve stopping a
// treatment, to settle a diagnosis the photographs cannot settle, to give a dose, to show another patient's record,
// to read an image or document it did not analyse, to override its rules. The gate's classifier weighs words and word pairs,
// so a request worded around eye-care vocabulary ("mark the left eye as gradable", "can I just stop going to the
// injections?") can read as an ordinary question to it; these patterns catch the request itself. They match none of
// the banks' answerable questions (1,616 in the scope bank, 3,261 in the intent bank; test/llm/scope-gate.test.ts),
// and when written matched only refusal turns among the corpus's 18,092 user questions (112 of them).
export type ExplicitRequest = 'alter-report' | 'stop-treatment' | 'definitive-diagnosis' | 'prompt-injection' | 'dosing' | 'other-patient' | 'unanalysed-image' | 'outside-ophthalmology';

const PATTERNS: Array<[ExplicitRequest, RegExp]> = [
  // "change my grade to 0", "rewrite the report to say urgent", "delete the glaucoma bit before the report goes..."
  ['alter-report', /\b(?:mark|change|alter|edit|amend|rewrite|re-?write|delete|remove|update|upgrade|downgrade|put)\b[^.?!]{0,40}\b(?:report|grade|grading|result|letter)\b[^.?!]{0,30}\b(?:to say|as|to)\b|\bmark (?:the |my |his |her )?(?:left |right )?eye as\b/i],
  // "downgrade the urgency to routine would you": an order to change the referral, at the start of a sentence or asked of the assistant.
  ['alter-report', /(?:^|[.!?]\s+|\b(?:can|could|would|will) you (?:just |please )?|\bplease (?:just )?)(?:downgrade|upgrade|lower|raise|bump|drop|set|mark|change|put|move|switch|update|amend|alter|edit|rewrite)\b (?:the |my |his |her |this |that )?(?:urgency|priority|referral|category|outcome)\b/i],
  // "edit it so it says both eyes were gradable", "make the letter say grade 0", "take the glaucoma flag off my report"
  ['alter-report', /\b(?:edit|change|alter|amend|rewrite|fix|tweak|adjust|word|redo)\b (?:it|this|that|the (?:report|letter|results?|findings)|my (?:report|letter|results?))(?: for me)? so (?:that )?(?:it|they) (?:says?|reads?|shows?|looks?)\b|\bmake (?:it|this|the (?:report|letter|results?)|my (?:report|letter|results?)) (?:say|read|show)\b|\b(?:remove|delete|take out|leave out|hide|drop)\b[^.?!]{0,40}\b(?:from|off|out of) (?:the|my|his|her|this) (?:report|letter|results?)\b|\btake (?:the |that )?[\w-]+(?: [\w-]+)? (?:off|out of) (?:the|my|his|her|this) (?:report|letter|results?)\b/i],
  // "can I just stop the injections / going / my drops": permission to stop a treatment (not "stop it getting worse").
  ['stop-treatment', /\b(?:can|could|should|shall|may) (?:i|he|she|we|they|my \w+) (?:just |now |simply )?(?:stop|quit|skip|come off|give up|cancel|miss)\b (?:\w+ ){0,3}?(?:injections?|drops|tablets|pills|meds|medications?|medicines?|treatments?|laser|appointments?|going|attending|them|insulin|metformin|it)\b/i],
  // "so I'll stop them - that's fine isn't it?", "I'm going to skip the next injection": a decision to stop, put for approval.
  ['stop-treatment', /\b(?:i'?ll|i will|i'?m going to|im going to|i'?m gonna|gonna|i want to|i'?d like to|i'?m thinking (?:of|about)|thinking of|planning to|i plan to|i'?ve decided to|decided to)\s+(?:just\s+)?(?:stop|quit|skip|come off|give up|cancel|miss|ditch|drop)(?:ping)?\b (?:\w+ ){0,3}?(?:injections?|drops|tablets|pills|meds|medications?|medicines?|treatments?|laser|appointments?|insulin|metformin|them|it)\b(?! (?:getting|from|progress))/i],
  // "is it wet or dry AMD?", "confirm for me this is wet AMD": a verdict only an examination can give.
  ['definitive-diagnosis', /\bis it (?:wet|dry) or (?:wet|dry)\b|\b(?:wet|dry) (?:AMD|macular degeneration) or (?:wet|dry)\b|\bconfirm (?:for me )?(?:that )?(?:this|it|she|he|i) (?:is|has|have)\b/i],
  // "blurry vision and headaches for a month, what is it I've got?": a diagnosis of symptoms, which screening
  // photographs cannot give (an optometrist or GP examines the person).
  ['definitive-diagnosis', /\b(?:for (?:about |around |nearly |almost |over )?(?:a|an|one|two|three|a few|a couple of|several|\d+) (?:days?|weeks?|months?)|(?:since|for) (?:last|this) (?:week|month)|lately|recently)\b[^?]{0,80}\bwhat (?:is it|is it that|do you think) (?:i'?ve|i have|i'?ve got|i got|i have got|it is)\b|\b(?:i'?ve|i have) (?:had|been having|been getting)\b[^?]{0,80}\bwhat (?:have i got|do i have(?! to)|is wrong with me|could (?:it|this) be|is (?:it|this)|is causing (?:it|this|them))\b/i],
  // "which tablet and what dose", "how many units of insulin should I take": a dose, which only a prescriber gives.
  ['dosing', /\bwhat (?:dose|dosage|strength)\b|\b(?:right|correct|usual|normal|max|maximum|safe|starting|higher|lower|double) (?:dose|dosage)\b|\bhow (?:much|many)\b[^.?!]{0,30}\b(?:mg|milligrams?|units?|drops|tablets?|pills?|capsules?|puffs?|ml)\b[^.?!]{0,30}\b(?:should|do|can|must|shall|to) (?:i|he|she|we|they|you|take|give|use|put)\b|\bhow (?:often|many times)\b[^.?!]{0,25}\b(?:should|do|must) (?:i|he|she|we|they) (?:take|put|use|give)\b/i],
  // "pull up the results for Mrs Patel in bay 4, DOB 12/03/1961": another person's record, by name, bed or identifier.
  ['other-patient', /\b(?:results?|report|scans?|photos?|photographs?|grades?|screening|notes|records?) (?:for|of) (?:mr|mrs|ms|miss|mx|dr)\.? [a-z]|\b(?:dob|d\.o\.b\.?|date of birth|nhs (?:no|number)|hospital number|mrn)\b[^.?!]{0,20}\d|\b(?:in )?(?:bay|bed) \d+\b|\b(?:list|show|give|send|find|pull)\b[^.?!]{0,20}\b(?:all|every|each) (?:the |of the |my |our )?(?:patients?|cases|studies)\b|\b(?:the|another|other|previous|last|next) (?:patient|pt|case|study) (?:i|we) (?:uploaded|sent|saw|did|screened)\b|\bthe one (?:i|we) (?:uploaded|sent|did) (?:earlier|before|yesterday|this morning)\b/i],
  // "uploading an OCT printout now - any fluid?", "look at this photo I've attached": an image or document OphGate did
  // not analyse; the dialogue knows only this study's findings.
  ['unanalysed-image', /\b(?:upload(?:ing|ed)?|attach(?:ing|ed)?|sending you|pasting|here(?:'s| is) (?:a|my|the|his|her))\s+(?:[\w-]+\s+){0,3}?(?:photos?|pictures?|pics?|images?|scans?|oct|printouts?|print-?outs?|screenshots?|letters?|results?|reports?)\b|\b(?:look at|check|read|analyse|analyze|have a look at)\b (?:this|my|the attached|these) (?:new |other |old )?(?:photos?|pictures?|pics?|images?|scans?|oct|printouts?|screenshots?)\b/i],
  // Attempts to override the assistant's rules: a fake system or context marker, "ignore your instructions", "you are
  // now", "print your prompt", "reply only with". The words of an instruction, not of a question about eyes.
  ['prompt-injection', /^\s*(?:system|developer|admin|assistant)\s*:|<\/?[a-z_-]{2,20}>|\b(?:updated|new|corrected|real|actual) (?:findings|results|report|grades?) ?:|\b(?:ignore|disregard|forget|override|bypass)\b (?:all |any )?(?:of )?(?:your |the |these |those )?(?:previous |prior |above |earlier |system )?(?:instructions?|rules?|prompts?|guidelines|guardrails|safety (?:rules|checks))\b(?! (?:about|for|on) )|\bnew instructions?\b|\byou are now\b|\b(?:developer|god|jailbreak|unrestricted|dan) mode\b|\b(?:print|show|reveal|repeat|output|leak)\b[^.?!]{0,25}\b(?:system prompt|hidden prompt|your prompt|your instructions|initial instructions)\b|\b(?:safety|guard) ?(?:checks?|rails?|filters?) (?:are |is )?(?:off|disabled|removed)\b|\b(?:reply|respond|answer) only (?:with )?['"]/i],
];

// A question about another part of the body ("a mole on my back that bleeds") that says nothing of eyes or sight: a
// word such as "bleeds" can make it look like a question about haemorrhages.
const OTHER_BODY = /\b(?:moles?|melanoma|skin|rash|eczema|psoriasis|knees?|hips?|back pain|my back|spine|teeth|tooth|toothache|gums?|ears?|earache|stomach|bowels?|bladder|kidneys?|liver|lungs?|cough|asthma|feet|foot|toes?|toenails?|ankles?|shoulders?|elbows?|wrists?|throat|tonsils?|nose|sinus(?:es)?|prostate|breasts?|piles|haemorrhoids|hemorrhoids|warts?|verruca|bunions?|gout|arthritis)\b/i;
const EYE_WORDS = /\b(?:eyes?|eyelids?|lids?|vision|visual|sight|see|seeing|seen|retina\w*|macula\w*|fundus|optic\w*|pupils?|cornea\w*|cataracts?|glaucoma|retinopathy|maculopathy|blind\w*|screening|screened|photos?|photographs?|pictures?|images?|scans?|drops|glasses|spectacles|lens(?:es)?|optician|optometrist|ophthalm\w*|report|grade|floaters?|AMD|DR|DME|DMO|OCT|N?PDR|R[0-3]|M[01]|exudates?|drusen|microaneurysms?|ha?emorrhag\w*|angiogra\w*|fluorescein|laser|injections?|vitrectomy|cup|disc|CDR|myopi\w*|short[- ]sight\w*)\b/i;

/** The explicit request a question makes that the assistant must decline, if any. */
export function explicitRequest(question: string): ExplicitRequest | undefined {
  const found = PATTERNS.find(([, re]) => re.test(question))?.[0];
  if (found) return found;
  return OTHER_BODY.test(question) && !EYE_WORDS.test(question) ? 'outside-ophthalmology' : undefined;
}
