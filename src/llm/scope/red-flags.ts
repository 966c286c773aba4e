// Red-flag symptoms that send a person to same-day or emergency care whatever else the question asks: sudden loss
// or darkening of vision or vision fading fast, a swollen eye with a fever, blood pressure at 180/120 or more, a
// curtain or shadow over the sight, new flashes with floaters, a chemical in the eye, an eye injury, a severely painful red eye (with haloes or vomiting: acute angle closure), sudden double vision, and chest
// pain or stroke signs. The scope gate's classifier weighs words; a calmly worded emergency, or one buried in an
// ordinary question, can read as answerable to it. The list follows the NHS's advice on when to go to A&E or get
// an urgent appointment for eye problems (nhs.uk: "Eye injuries", "Floaters and flashes in the eyes", "Sudden loss of
// vision"), worded as people type it. It matches none of the banks' answerable questions (test/llm/scope-gate.test.ts).
const RED_FLAGS: RegExp[] = [
  /\bsudden(?:ly)?\b[^.?!]{0,40}\b(?:lost|loss of|lose|losing|can'?t see|cannot see|blind|dark(?:er|ness)?|went black|gone black|black(?:ed)? out|grey(?:ed)? out|vision (?:went|has gone|is gone|loss))\b/i,
  /\b(?:lost|loss of|lose|losing)\b[^.?!]{0,25}\b(?:vision|sight)\b[^.?!]{0,30}\b(?:sudden(?:ly)?|overnight|this morning|an hour ago|just now|today|all at once)\b/i,
  // Vision failing fast: "the vision in my left eye is fading quickly today".
  /\b(?:vision|sight|eyesight)\b[^.?!]{0,30}\b(?:fading|going|dimming|deteriorating|getting (?:worse|dimmer|darker)|disappearing|closing in)\b[^.?!]{0,20}\b(?:quickly|rapidly|fast|by the hour|today|this morning|tonight|overnight)\b/i,
  // A swollen eye with a fever, or swollen shut (orbital cellulitis).
  /\bswollen shut\b|\b(?:eye|eyelid|lid)s?\b[^.?!]{0,30}\b(?:swollen|swelling|puffy)\b[^.?!]{0,40}\b(?:fever|temperature|feverish|shivery)\b/i,
  /\b(?:curtain|shadow|veil|black cloud)\b[^.?!]{0,40}\b(?:over|across|coming|came|moving|creeping|blocking)\b/i,
  /\bflash(?:es|ing)?(?: of light| lights?)?\b[^.?!]{0,50}\bfloaters?\b|\bfloaters?\b[^.?!]{0,50}\bflash(?:es|ing)?\b|\bshower of (?:floaters|black spots|dots)\b|\b(?:lots of|loads of|hundreds of|sudden) new floaters\b/i,
  /\b(?:chemical|bleach|acid|alkali|oven cleaner|drain cleaner|lime|cement|ammonia|descaler|caustic|solvent)\b[^.?!]{0,40}\b(?:in|into|splash(?:ed)?|got in|went in|sprayed)\b[^.?!]{0,20}\beyes?\b/i,
  /\b(?:hit|punched|struck|poked|stabbed|scratched|whacked|smacked)\b[^.?!]{0,25}\b(?:in|on) (?:the|my|his|her|their) eyes?\b|\beye injury\b|\binjured (?:my|his|her|the) eye\b/i,
  // Blunt injury by a ball, fist or object, and blood seen in the front of the eye (hyphaema).
  /\b(?:ball|fist|elbow|punch|stick|branch|stone|firework|cork|shuttlecock|bungee|hook|bat|racket)\b[^.?!]{0,20}\b(?:to|in|into|hit|struck|caught) (?:the|my|his|her|their|an?) eyes?\b|\bblood (?:in|at|inside) the front of (?:the|my|his|her|their) eyes?\b|\bblood (?:at|in) the front\b/i,
  /\b(?:severe|agonising|agonizing|excruciating|terrible|unbearable|really bad|extreme)\b[^.?!]{0,15}\beye pain\b|\bpainful red eye\b|\beye\b[^.?!]{0,30}\b(?:agonising|agonizing|excruciating|unbearable)\b/i,
  /\b(?:sudden(?:ly)?|out of nowhere|came on)\b[^.?!]{0,30}\bdouble vision\b|\bdouble vision\b[^.?!]{0,30}\b(?:sudden(?:ly)?|out of nowhere|came on|this morning|today)\b/i,
  // Blood pressure at a hypertensive-emergency level (180/120 or more; NHS: with symptoms, same-day care).
  /\b(?:1[89]\d|2\d\d)\s*\/\s*\d{2,3}\b|\b\d{2,3}\s*\/\s*(?:1[2-9]\d)\b|\b(?:malignant hypertension|hypertensive (?:crisis|emergency|urgency))\b/i,
  /\bchest pain\b|\bcrushing (?:pain|chest)\b|\bpain (?:going |spreading )?(?:down|into|in) (?:my|his|her|the) (?:left )?arm\b|\bface (?:is )?droop|\bslurred speech\b/i,
];

// "Can diabetes cause sudden loss of vision?" asks about a cause in general: no one in it has the symptom.
const GENERAL_CAUSE = /\b(?:can|could|does|do|might|may|will|would)\b[^.?!]{0,40}\bcause\b/i;
const SOMEONE = /\b(?:i|i'm|im|i've|ive|i'd|my|me|he|she|his|her|him|they|their|wife|husband|partner|mum|mom|dad|son|daughter|patient|pt|friend)\b/i;

/** True when a question describes a red-flag symptom, however it is worded around it. */
export function redFlag(question: string): boolean {
  if (GENERAL_CAUSE.test(question) && !SOMEONE.test(question)) return false;
  return RED_FLAGS.some((re) => re.test(question));
}
