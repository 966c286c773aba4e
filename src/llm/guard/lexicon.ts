// The words the grounding guard recognises, each mapped to what it claims. Written after the deterministic
// narrative's vocabulary (src/report/narrative.ts), the names in the model manifests and the synonyms of the
// knowledge base (src/llm/knowledge/knowledge-base.json), which test/llm/guard.test.ts checks are all recognised.
// Case-sensitive patterns are the abbreviations that are ordinary words in lower case ("os", "ma", "ex") or that
// clash ("Dr" the title); "OD" is always read as oculus dexter here, never as the optic disc.
import type { Urgency } from '../../report/eye-summary.js';

export type EyeRef = 'R' | 'L' | 'unknown';
/** An eye as the structured summary names it ("screening of the left eye and the eye whose side is not stated is incomplete"). */
const INCOMPLETE_EYE = String.raw`(?:right\s+eye|left\s+eye|eye\s+whose\s+side\s+is\s+not\s+stated)`;

/** Mapping keys (mappings/fundus-findings.json#<key>) plus three groupings the summary has no code for. */
export type Entity =
  | 'microaneurysm' | 'haemorrhage' | 'hard-exudate' | 'soft-exudate'
  /** "exudates" without hard/soft: either kind. */
  | 'exudate'
  | 'normal' | 'diabetic-retinopathy' | 'glaucoma' | 'cataract' | 'age-related-macular-degeneration'
  | 'hypertensive-retinopathy' | 'pathological-myopia' | 'other-abnormality'
  /** Diabetic macular oedema / maculopathy: DME risk 1 or more. */
  | 'maculopathy'
  | 'optic-disc' | 'optic-cup'
  /** A condition none of OphGate's models reports (retinal detachment, vein occlusion, papilloedema, ...). */
  | 'unreportable';

export const LESION_ENTITIES = ['microaneurysm', 'haemorrhage', 'hard-exudate', 'soft-exudate'] as const;
export const LABEL_ENTITIES = [
  'normal', 'diabetic-retinopathy', 'glaucoma', 'cataract', 'age-related-macular-degeneration',
  'hypertensive-retinopathy', 'pathological-myopia', 'other-abnormality',
] as const;

export type Status = 'ungradable' | 'not-assessed' | 'not-imaged' | 're-image';
export type Subject = 'referable-probability' | 'threshold' | 'quality';

export type TokenKind =
  | { t: 'eye'; eyes: EyeRef[]; negates?: true }
  | { t: 'finding'; entity: Entity }
  | { t: 'grade'; grades: number[] }
  | { t: 'dme'; grades: number[] }
  | { t: 'referable'; negated?: true }
  | { t: 'subject'; subject: Subject }
  | { t: 'cdr'; value: number | null | undefined }
  | { t: 'urgency'; level: Urgency }
  /** `eyes` when the phrase names its eye itself ("no photograph of the left eye was received"). */
  | { t: 'status'; status: Status; eyes?: EyeRef[] }
  | { t: 'gradable' }
  /** Words that take part in a list but claim nothing ("DR grade", "DME risk" with no number). */
  | { t: 'neutral' }
  | { t: 'neg-pre' }
  | { t: 'neg-post' }
  /** "assessed for", "to rule out": what follows is named, not claimed. */
  | { t: 'neutralizer' };

interface Entry { re: RegExp; kind: (m: RegExpExecArray) => TokenKind }

const I = 'gi';
const CS = 'g';
const e = (source: string, flags: string, kind: (m: RegExpExecArray) => TokenKind): Entry => ({ re: new RegExp(source, flags), kind });
const fixed = (source: string, flags: string, kind: TokenKind): Entry => e(source, flags, () => kind);

const DRW = String.raw`(?:diabetic\s+retinopathy|retinopathy|DR)`;
const SEVERITY: Record<string, number> = { mild: 1, moderate: 2, severe: 3 };
const MACULA = String.raw`(?:centre\s+of\s+the\s+macula|center\s+of\s+the\s+macula|macular?\s+cent(?:re|er)|macula|fovea)`;
const FAR = String.raw`(?:hard\s+)?exudates?\s+(?:lying\s+)?(?:more\s+than|further\s+than|farther\s+than|beyond|outside)\s+one\s+disc\s+diameter\s+(?:from|of)\s+the\s+${MACULA}`;
const NEAR = String.raw`(?:hard\s+)?exudates?\s+(?:lying\s+)?within\s+one\s+disc\s+diameter\s+of\s+the\s+${MACULA}`;
const AWAY = String.raw`(?:hard\s+)?exudates?\s+(?:lying\s+)?(?:away|far|distant)\s+from\s+the\s+${MACULA}`;
const CLOSE = String.raw`(?:hard\s+)?exudates?\s+(?:lying\s+)?(?:near|close\s+to|next\s+to|at|involving)\s+the\s+${MACULA}`;
/** NHS diabetic eye screening grades on the international scale (R1 background spans mild and moderate). */
const NHS_R: Record<string, number[]> = { 0: [0], 1: [1, 2], 2: [2, 3], 3: [4] };

export const LEXICON: Entry[] = [
  // ---- eyes ----
  fixed(String.raw`\bright(?:[\s-]+(?:eye|fundus|retina))\b|\bright\b(?=\s*:)`, I, { t: 'eye', eyes: ['R'] }),
  fixed(String.raw`\bleft(?:[\s-]+(?:eye|fundus|retina))\b|\bleft\b(?=\s*:)`, I, { t: 'eye', eyes: ['L'] }),
  fixed(String.raw`\b(?:R|RE)\b(?=\s*:)`, CS, { t: 'eye', eyes: ['R'] }),
  fixed(String.raw`\b(?:L|LE)\b(?=\s*:)`, CS, { t: 'eye', eyes: ['L'] }),
  fixed(String.raw`\bOD\b`, CS, { t: 'eye', eyes: ['R'] }),
  fixed(String.raw`\bOS\b`, CS, { t: 'eye', eyes: ['L'] }),
  fixed(String.raw`\bOU\b`, CS, { t: 'eye', eyes: ['R', 'L'] }),
  fixed(String.raw`\b(?:both|either|each)\s+(?:eyes?|fundi)\b|\bbilateral(?:ly)?\b|\b(?:right\s+and\s+(?:the\s+)?left|left\s+and\s+(?:the\s+)?right)\s+(?:eyes?|fundi)\b`, I, { t: 'eye', eyes: ['R', 'L'] }),
  fixed(String.raw`\bneither\s+eye\b`, I, { t: 'eye', eyes: ['R', 'L'], negates: true }),
  fixed(String.raw`\b(?:the\s+)?eye\s+whose\s+side\s+is\s+not\s+stated\b|\beye\s+not\s+stated\b|\bunstated\s+eye\b|\beye\s+of\s+unknown\s+(?:side|laterality)\b|\bunknown\s+eye\b`, I, { t: 'eye', eyes: ['unknown'] }),

  // ---- DR grade ----
  e(String.raw`\b(mild|moderate|severe)\s+(?:non[-\s]?proliferative(?:\s+${DRW})?|NPDR|diabetic\s+retinopathy|retinopathy|DR)\b`, I,
    (m) => ({ t: 'grade', grades: [SEVERITY[m[1]!.toLowerCase()]!] })),
  fixed(String.raw`\bnon[-\s]?proliferative(?:\s+${DRW})?\b|\bNPDR\b`, I, { t: 'grade', grades: [1, 2, 3] }),
  fixed(String.raw`\bpre-?proliferative(?:\s+${DRW})?\b`, I, { t: 'grade', grades: [3] }),
  fixed(String.raw`(?<![-\w])proliferative\s+(?:${DRW}|disease)\b|\bPDR\b`, I, { t: 'grade', grades: [4] }),
  fixed(String.raw`\bmicroaneurysms\s+only\b`, I, { t: 'grade', grades: [1] }),
  // The plain-language grade comments the bundled model is trained to write (src/llm/structured-narrative.ts).
  fixed(String.raw`\bno\s+diabetic\s+changes\s+(?:were\s+|was\s+)?(?:graded|seen|found)\b`, I, { t: 'grade', grades: [0] }),
  fixed(String.raw`\bearly\s+background\s+changes\b`, I, { t: 'grade', grades: [1] }),
  fixed(String.raw`\bchanges\s+beyond\s+the\s+earliest\s+stage(?:,?\s+without\s+the\s+features\s+of\s+severe\s+or\s+proliferative\s+disease)?`, I, { t: 'grade', grades: [2] }),
  fixed(String.raw`\bextensive\s+changes(?:,?\s+with\s+a\s+high\s+risk\s+of\s+progressing\s+to\s+proliferative\s+disease)?`, I, { t: 'grade', grades: [3] }),
  // "grade 2 or worse" (the referral line): any grade from 2 up.
  e(String.raw`\b(?:DR\s+)?grade\s+([0-4])\s+or\s+(?:worse|higher|more|above)\b`, I,
    (m) => ({ t: 'grade', grades: [0, 1, 2, 3, 4].filter((g) => g >= Number(m[1])) })),
  e(String.raw`\b(mild|moderate|severe)\s+(?:non[-\s]?proliferative\s+${DRW}|NPDR|${DRW})\s+or\s+worse\b`, I,
    (m) => ({ t: 'grade', grades: [0, 1, 2, 3, 4].filter((g) => g >= SEVERITY[m[1]!.toLowerCase()]!) })),
  e(String.raw`\b(?:DR\s+|retinopathy\s+)?grade\s*:?\s*([0-4])(?:\s+${DRW})?\b`, I, (m) => ({ t: 'grade', grades: [Number(m[1])] })),
  // "The right eye was graded 4: ..." (the case dialogue's grade answer): a number after "graded" is a DR grade.
  e(String.raw`\bgraded\s+(?:as\s+)?(?:DR\s+)?(?:grade\s+)?([0-4])\b`, I, (m) => ({ t: 'grade', grades: [Number(m[1])] })),
  // No grade at all (an eye without a classifier result).
  fixed(String.raw`\bno\s+DR\s+grade\s+(?:is\s+)?available\b|\bDR\s+grade\s+not\s+available\b`, I, { t: 'grade', grades: [] }),
  fixed(String.raw`\bDR\s+grade\b`, I, { t: 'neutral' }),
  e(String.raw`\bR([0-3])[AS]?\b`, CS, (m) => ({ t: 'grade', grades: NHS_R[m[1]!]! })),

  // ---- DME risk / maculopathy ----
  e(String.raw`\bDME\s+risk(?:\s+grade)?\s*:?\s*([0-2])(?:\s*:\s*(?:no\s+(?:apparent\s+)?hard\s+exudates|${FAR}|${NEAR}))?`, I,
    (m) => ({ t: 'dme', grades: [Number(m[1])] })),
  fixed(FAR, I, { t: 'dme', grades: [1] }),
  fixed(NEAR, I, { t: 'dme', grades: [2] }),
  fixed(AWAY, I, { t: 'dme', grades: [1] }),
  fixed(CLOSE, I, { t: 'dme', grades: [2] }),
  e(String.raw`\bM([01])\b`, CS, (m) => ({ t: 'dme', grades: m[1] === '0' ? [0] : [1, 2] })),
  fixed(String.raw`\bthe\s+cent(?:re|er)\s+of\s+the\s+macula\s+is\s+not\s+threatened\b`, I, { t: 'dme', grades: [0, 1] }),
  fixed(String.raw`\bthe\s+cent(?:re|er)\s+of\s+the\s+macula\s+is\s+threatened\b`, I, { t: 'dme', grades: [2] }),
  fixed(String.raw`\bDME\s+risk(?:\s+grade)?\b`, I, { t: 'neutral' }),
  fixed(String.raw`\b(?:clinically\s+significant\s+)?(?:diabetic\s+)?macular\s+o?edema\b|\b(?:diabetic\s+)?maculopathy\b`, I, { t: 'finding', entity: 'maculopathy' }),
  fixed(String.raw`\b(?:DM[EO]|CSM[EO])\b`, CS, { t: 'finding', entity: 'maculopathy' }),

  // ---- referable ----
  fixed(String.raw`\bprobability\s+of\s+referable\s+(?:diabetic\s+)?(?:retinopathy|DR)(?:\s*\((?:DR\s+)?grade\s+2\s+or\s+worse\))?`, I, { t: 'subject', subject: 'referable-probability' }),
  fixed(String.raw`\bbelow\s+the\s+referral\s+(?:threshold|line)\b`, I, { t: 'referable', negated: true }),
  fixed(String.raw`\bnothing\s+(?:here\s+)?meets\s+the\s+referral\s+criteria\b`, I, { t: 'referable', negated: true }),
  fixed(String.raw`\bmeets?\s+the\s+referral\s+criteria\b`, I, { t: 'referable' }),
  fixed(String.raw`\bnon-?referable(?:\s+(?:diabetic\s+)?(?:retinopathy|eye\s+disease|DR|disease|maculopathy))?\b`, I, { t: 'referable', negated: true }),
  fixed(String.raw`\breferable(?:\s+(?:diabetic\s+)?(?:retinopathy|eye\s+disease|DR|disease|maculopathy))?\b`, I, { t: 'referable' }),

  // ---- conditions (the classifier's labels) ----
  fixed(String.raw`\bhypertensive\s+(?:retinopathy|retinal\s+changes)\b|\bhigh\s+blood\s+pressure\s+retinopathy\b|\bHTN\s+retinopathy\b`, I, { t: 'finding', entity: 'hypertensive-retinopathy' }),
  fixed(String.raw`\bdiabetic\s+retinopathy\b|\bdiabetic\s+eye\s+disease\b|\bretinopathy\s+due\s+to\s+diabetes\b|\bdiabetic\s+retinal\s+disease\b|\bretinopathy\b`, I, { t: 'finding', entity: 'diabetic-retinopathy' }),
  fixed(String.raw`\bDR\b`, CS, { t: 'finding', entity: 'diabetic-retinopathy' }),
  fixed(String.raw`\bnormal\b`, I, { t: 'finding', entity: 'normal' }),
  fixed(String.raw`\b(?:suspected\s+|chronic\s+open-angle\s+)?glaucoma(?:\s+suspect)?\b|\bglaucomatous(?:\s+optic\s+(?:neuropathy|disc|disk))?\b`, I, { t: 'finding', entity: 'glaucoma' }),
  fixed(String.raw`\bCOAG\b`, CS, { t: 'finding', entity: 'glaucoma' }),
  fixed(String.raw`\b(?:age-related\s+)?cataracts?\b|\blens\s+opacit(?:y|ies)\b|\bcloudy\s+lens\b`, I, { t: 'finding', entity: 'cataract' }),
  fixed(String.raw`\b(?:age-related\s+)?macular\s+degeneration\b|\b(?:(?:dry|wet|neovascular)\s+)?(?:AMD|ARMD)\b|\bgeographic\s+atrophy\b`, I, { t: 'finding', entity: 'age-related-macular-degeneration' }),
  fixed(String.raw`\bpatholog(?:ical|ic)\s+myopia\b|\bdegenerative\s+myopia\b|\bmyopic\s+(?:maculopathy|degeneration)\b|\bhigh\s+myopia(?:\s+with\s+fundus\s+changes)?\b`, I, { t: 'finding', entity: 'pathological-myopia' }),
  fixed(String.raw`\bother\s+(?:disease\s+or\s+)?abnormality\b|\bother\s+fundus\s+(?:finding|abnormality)\b|\bODIR\s+other\b`, I, { t: 'finding', entity: 'other-abnormality' }),

  // ---- signs that mean a grade ----
  fixed(String.raw`\bneovasculari[sz]ation\b(?!\s+of\s+the\s+macula)|\bnew\s+vessels\b|\bNV[DE]\b|\bpre-?retinal\s+ha?emorrhages?\b|\bvitreous\s+ha?emorrhages?\b`, I, { t: 'grade', grades: [4] }),
  fixed(String.raw`\bIRMA\b|\bintraretinal\s+microvascular\s+abnormalit(?:y|ies)\b|\bvenous\s+beading\b`, I, { t: 'grade', grades: [3, 4] }),

  // ---- conditions OphGate's models never report: naming one as present is never grounded ----
  fixed(String.raw`\bretinal\s+detachment\b|\bdetached\s+retina\b|\b(?:central\s+|branch\s+)?retinal\s+(?:vein|artery)\s+occlusion\b|\b[CB]R[VA]O\b|\bvein\s+occlusion\b|\bpapill?o?edema\b|\bpapilloedema\b|\boptic\s+neuritis\b|\bdrusen\b|\bmacular\s+hole\b|\bepiretinal\s+membrane\b|\bretinitis\s+pigmentosa\b|\bchoroidal\s+(?:naevus|nevus|melanoma|neovascular\w*)\b|\bmelanoma\b|\blaser\s+scars?\b|\buveitis\b|\bvasculitis\b|\bretinoblastoma\b|\bcytomegalovirus\s+retinitis\b|\btoxoplasm\w*\b`, I, { t: 'finding', entity: 'unreportable' }),

  // ---- lesions (the segmenter's channels) ----
  fixed(String.raw`\b(?:retinal\s+)?micro-?aneurysms?\b|\bred\s+dots\b`, I, { t: 'finding', entity: 'microaneurysm' }),
  fixed(String.raw`\bMAs?\b`, CS, { t: 'finding', entity: 'microaneurysm' }),
  fixed(String.raw`\b(?:(?:dot[-\s]and[-\s]blot|dot|blot|flame(?:[-\s]shaped)?|retinal|intraretinal)\s+)?ha?emorrhages?\b|\bbleeding\s+in\s+the\s+retina\b`, I, { t: 'finding', entity: 'haemorrhage' }),
  fixed(String.raw`\b(?:hard|lipid)\s+exudates?\b|\byellow\s+deposits\b`, I, { t: 'finding', entity: 'hard-exudate' }),
  fixed(String.raw`\bEX\b`, CS, { t: 'finding', entity: 'hard-exudate' }),
  fixed(String.raw`\bsoft\s+exudates?\b|\bcotton[-\s]wool\s+spots?\b`, I, { t: 'finding', entity: 'soft-exudate' }),
  fixed(String.raw`\bCWS\b`, CS, { t: 'finding', entity: 'soft-exudate' }),
  fixed(String.raw`\bexudates?\b`, I, { t: 'finding', entity: 'exudate' }),

  // ---- disc, cup, ratio ----
  e(String.raw`(?:\bvertical\s+)?(?:\bcup[-\s]to[-\s]dis[ck]|\bcup:dis[ck]|\bcup\s+dis[ck]|\bC\/D|\bC:D)\s+ratio\b(?:\s+(?:was\s+|is\s+|could\s+)?(not)\s+(?:be\s+)?(?:measured|available|measurable)\b|\s*(?:of|is|was|=|:|at)?\s*(?:about|approximately|around|roughly|~)?\s*(\d*\.\d+|[01](?:\.0+)?)(?!\d|%|\.\d))?`, I,
    (m) => ({ t: 'cdr', value: m[1] ? null : m[2] !== undefined ? Number(m[2]) : undefined })),
  e(String.raw`\bV?CDR\b(?:\s+(?:was\s+|is\s+)?(not)\s+(?:be\s+)?(?:measured|available)\b|\s*(?:of|is|was|=|:)?\s*(?:about|approximately|around|~)?\s*(\d*\.\d+|[01](?:\.0+)?)(?!\d|%|\.\d))?`, CS,
    (m) => ({ t: 'cdr', value: m[1] ? null : m[2] !== undefined ? Number(m[2]) : undefined })),
  fixed(String.raw`\boptic\s+(?:disc\s+)?cup\b|\bphysiological\s+cup\b|\bcupping\b|\bcup\b(?![-:\s]*(?:to[-\s])?dis[ck])`, I, { t: 'finding', entity: 'optic-cup' }),
  fixed(String.raw`\boptic\s+(?:disc|disk|nerve\s+head)\b(?!\s+diameter)|\b(?:the|a)\s+disc\b(?!\s+diameter)`, I, { t: 'finding', entity: 'optic-disc' }),

  // ---- urgency ----
  fixed(String.raw`\bno\s+referral\s+(?:is\s+)?(?:needed|required|necessary)\b|\bno\s+need\s+(?:for|to)\s+(?:a\s+)?refer(?:ral)?\b|\b(?:does|do)\s+not\s+(?:need|require)\s+(?:a\s+)?referral\b|\b(?:at\s+)?the\s+usual\s+recall\s+interval\b|\bcontinue\s+(?:routine\s+|regular\s+|annual\s+|diabetic\s+eye\s+)?screening\b|\bannual\s+(?:screening|recall)\b`, I, { t: 'urgency', level: 'none' }),
  fixed(String.raw`\bnon-urgent(?:ly)?\b|\broutine(?:ly)?\b`, I, { t: 'urgency', level: 'routine' }),
  fixed(String.raw`\bto\s+be\s+seen\s+soon\b|\bsoon\b|\bwithin\s+(?:a\s+few|several|some)\s+weeks\b|\bsemi-urgent(?:ly)?\b`, I, { t: 'urgency', level: 'soon' }),
  fixed(String.raw`\burgent(?:ly)?\b|\bemergency\b|\bsame[-\s]day\b|\bwithin\s+(?:about\s+)?(?:two|2)\s+weeks\b`, I, { t: 'urgency', level: 'urgent' }),

  // ---- gradability ----
  fixed(String.raw`\bun-?grad(?:e)?able\b|\bnot\s+grad(?:e)?able\b|\b(?:could|can)(?:not|'t|\s+not)\s+be\s+graded\b|\bnot\s+of\s+(?:sufficient|adequate)\s+quality\b|\binsufficient\s+(?:image\s+)?quality\b|\bnone\s+of\s+the\s+(?:\w+\s+)?(?:photographs|images)\s+(?:was|were)\s+of\s+(?:sufficient|adequate)\s+quality\b`, I, { t: 'status', status: 'ungradable' }),
  // "screening of the left eye is incomplete" (the structured narrative's summary): that eye was not assessed. The
  // eye is part of the phrase, so it claims nothing about what precedes it in the sentence.
  e(String.raw`\bscreening\s+of\s+((?:the\s+)?${INCOMPLETE_EYE}(?:(?:,\s+|,?\s+and\s+)(?:the\s+)?${INCOMPLETE_EYE})*)\s+is\s+incomplete\b`, I,
    (m) => ({ t: 'status', status: 'not-assessed', eyes: [...m[1]!.matchAll(new RegExp(INCOMPLETE_EYE, 'gi'))].map((x) => (/^right/i.test(x[0]) ? 'R' : /^left/i.test(x[0]) ? 'L' : 'unknown')) as EyeRef[] })),
  fixed(String.raw`\bnot\s+(?:been\s+)?assessed\b(?!\s+for)|\b(?:could|can)(?:not|'t|\s+not)\s+be\s+assessed\b(?!\s+for)`, I, { t: 'status', status: 'not-assessed' }),
  e(String.raw`\bno\s+(?:photograph|image|picture)s?\s+(?:of\s+(?:it|this\s+eye|the\s+(right|left)\s+eye)\s+)?(?:was\s+|were\s+)?(?:received|taken|available)\b|\bnot\s+(?:photographed|imaged)\b`, I,
    (m) => ({ t: 'status', status: 'not-imaged', ...(m[1] ? { eyes: [m[1].toLowerCase() === 'right' ? 'R' : 'L'] as EyeRef[] } : {}) })),
  fixed(String.raw`\bre-?(?:image|photograph)(?:d|s|ing)?\b|\brepeat\s+(?:the\s+)?(?:photograph|photography|imaging)\b|\bretake\b`, I, { t: 'status', status: 're-image' }),
  fixed(String.raw`\bgrad(?:e)?able\b`, I, { t: 'gradable' }),

  // ---- what percentages belong to ----
  fixed(String.raw`\bthreshold\b`, I, { t: 'subject', subject: 'threshold' }),
  fixed(String.raw`\b(?:image\s+)?quality\s+(?:issue|remark|problem)s?\b|\bpoor\s+(?:image\s+)?quality\b|\binadequate\s+image\b|\btechnical\s+failure\b`, I, { t: 'subject', subject: 'quality' }),

  // ---- negation and naming without claiming ----
  fixed(String.raw`\b(?:assessed|graded|screened|examined|checked|tested|looked|evaluated|monitored)\s+for\b|\bto\s+(?:rule\s+out|exclude|check\s+for|look\s+for)\b|\brisk\s+of\b|\bprobability\s+of\b|\bsigns\s+and\s+symptoms\s+of\b|\bwhether\b|\b(?:cannot|can't|could\s+not|couldn't)\s+(?:say|tell|know|judge)\b|\bunable\s+to\s+(?:say|tell|judge)\b|\bif\s+(?:there\s+(?:is|are|were)|it\s+(?:has|shows|had))\b`, I, { t: 'neutralizer' }),
  fixed(String.raw`\b(?:is\s+|are\s+|was\s+|were\s+)?(?:not\s+(?:seen|found|detected|present|identified|visible|evident|segmented|observed|shown)|absent|ruled\s+out|excluded)\b`, I, { t: 'neg-post' }),
  fixed(String.raw`\bno\s+(?:evidence|signs?)\s+of\b|\babsence\s+of\b|\bfree\s+(?:of|from)\b|\bnegative\s+for\b|\b(?:does|did|do)(?:\s+not|n't)\s+(?:show|have)\b|\bno\b|\bnot\b|\bwithout\b|\bnor\b|\bneither\b|\bnone\b|\bnever\b|n't\b`, I, { t: 'neg-pre' }),
];

/** Clauses that speak about a condition in general, not about this case. */
export const GENERIC = /\b(?:screening\s+programmes?|in\s+general|generally|typically|usually|people\s+with|patients\s+with|(?:can|may|could)\s+(?:cause|lead|blur|affect|damage|reduce|threaten|progress|develop|occur)|such\s+as|which\s+is\s+why|is\s+where|is\s+treated|are\s+treated|means\s+that|is\s+the\s+(?:lowest|highest|mildest|most\s+severe)|OphGate\s+(?:also\s+)?(?:uses|flags|calls|reports|grades|counts)|(?:most|many|some)\s+(?:people|cases|patients|cataracts|eyes)|helps?\s+(?:to\s+)?(?:catch|prevent|slow|protect|detect))\b/i;

/** Ends a negation's reach. */
export const NEGATION_BOUNDARY = /[;:.!?]|\b(?:but|although|however|whereas|while|except|though|yet)\b/i;

/** Words that may stand between a negation and what it negates, or between the items of a negated list. */
export const FILLER = new Set([
  'or', 'and', 'nor', 'and/or', 'any', 'apparent', 'obvious', 'definite', 'clear', 'visible', 'signs', 'sign', 'of', 'evidence',
  'retinal', 'other', 'significant', 'the', 'a', 'an', 'new', 'further', 'diabetic', 'to', 'be', 'as', 'is', 'are', 'was', 'were',
  'been', 'has', 'have', 'had', 'also', 'show', 'shows', 'seen', 'found', 'there', 'with',
]);

export const NUMBER_WORDS: Record<string, number> = {
  one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10, eleven: 11, twelve: 12,
  thirteen: 13, fourteen: 14, fifteen: 15, sixteen: 16, seventeen: 17, eighteen: 18, nineteen: 19, twenty: 20,
};

export interface Token { start: number; end: number; text: string; kind: TokenKind }

/** Every lexicon match in `text`, overlaps resolved to the earliest, then longest, match. */
export function scan(text: string): Token[] {
  const all: Token[] = [];
  for (const entry of LEXICON) {
    entry.re.lastIndex = 0;
    for (const m of text.matchAll(entry.re)) {
      if (m[0].length === 0) continue;
      all.push({ start: m.index, end: m.index + m[0].length, text: m[0], kind: entry.kind(m as RegExpExecArray) });
    }
  }
  all.sort((a, b) => a.start - b.start || (b.end - b.start) - (a.end - a.start));
  const out: Token[] = [];
  let end = 0;
  for (const t of all) {
    if (t.start < end) continue;
    out.push(t);
    end = t.end;
  }
  return out;
}
