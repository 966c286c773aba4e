// The report's text written from the eye summary by rules: the fallback whenever no LLM is configured or it
// fails, so it has to read as a screening report on its own. Deterministic (same summary -> same text: fixed
// orders, no clock, no locale-dependent formatting) and free of identifiers: it never prints a name, a patient ID
// or a UID, only eyes, counts, grades, probabilities and dates. British spelling, as the project writes.
import type { EyeComparison, EyeSide, EyeSummary, PriorComparison, ReferralReason, StudySummary, Urgency } from './eye-summary.js';

export interface NarrativeSections {
  findings: string;
  /** Present only when a prior comparison was given. */
  comparison?: string;
  impression: string;
  recommendation: string;
  caveat: string;
}

export interface Narrative {
  text: string;
  sections: NarrativeSections;
  producedBy: 'deterministic';
}

export const CAVEAT =
  'Automated research analysis, not for clinical use; produced by fundus models without clinician review, and every finding must be confirmed by a qualified grader or ophthalmologist.';

const EYE_NAME: Record<EyeSide, string> = { R: 'right eye', L: 'left eye', unknown: 'eye not stated' };
const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

const DR_GRADE: Record<number, string> = {
  0: 'no apparent diabetic retinopathy',
  1: 'mild non-proliferative diabetic retinopathy',
  2: 'moderate non-proliferative diabetic retinopathy',
  3: 'severe non-proliferative diabetic retinopathy',
  4: 'proliferative diabetic retinopathy',
};
const DME_RISK: Record<number, string> = {
  0: 'no hard exudates',
  1: 'hard exudates more than one disc diameter from the centre of the macula',
  2: 'hard exudates within one disc diameter of the centre of the macula',
};
const drText = (g: number) => DR_GRADE[g] ?? `DR grade ${g}`;
const dmeText = (g: number) => DME_RISK[g] ?? `DME risk ${g}`;

/** Probability as a whole percentage; the extremes are bounded so that a model is never reported as certain. */
export function percent(p: number): string {
  if (p < 0.005) return '<1%';
  if (p > 0.995) return '>99%';
  return `${Math.round(p * 100)}%`;
}
const ratio = (x: number) => x.toFixed(2);
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
/** DICOM DA (YYYYMMDD) or ISO date -> "12 March 2025"; anything else as given. */
export function formatStudyDate(d: string): string {
  const m = /^(\d{4})-?(\d{2})-?(\d{2})/.exec(d.trim());
  const month = m ? MONTHS[Number(m[2]) - 1] : undefined;
  return m && month && Number(m[3]) >= 1 && Number(m[3]) <= 31 ? `${Number(m[3])} ${month} ${m[1]}` : d;
}

/** "a", "a and b", "a, b and c". */
function list(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

function lesionPhrase(e: EyeSummary): string {
  return list(e.lesions.map((l) => {
    if (l.maxComponents === null) return l.name;
    const n = plural(l.maxComponents, 'region');
    return `${l.name} (${l.images > 1 ? `up to ${n} on one photograph` : n})`;
  }));
}

function discSentence(e: EyeSummary): string | null {
  // A ratio of exactly 0 is the measurement's way of saying it found a disc but no cup inside it: no cup to report.
  if (e.cupToDisc !== null && e.cupToDisc > 0) return `Optic disc and cup segmented; vertical cup-to-disc ratio ${ratio(e.cupToDisc)}.`;
  if (e.disc.disc) return `Optic disc segmented${e.disc.cup ? ' and optic cup seen' : ', optic cup not found'}; cup-to-disc ratio not measured.`;
  if (e.disc.cup) return 'Optic cup segmented without a disc; cup-to-disc ratio not measured.';
  return null;
}

function labelSentence(e: EyeSummary): string | null {
  if (!e.labels.length) return null;
  return `Classifier labels above threshold: ${list(e.labels.map((l) => `${l.name} (${percent(l.probability)})`))}.`;
}

function qualityClause(e: EyeSummary): string {
  const issues = e.imageQuality.filter((q) => q.reason === 'quality-issue');
  const unassessed = e.imageQuality.filter((q) => q.reason === 'no-quality-assessment').length;
  const parts: string[] = [];
  if (issues.length) {
    const top = Math.max(...issues.map((q) => q.qualityIssueProbability ?? 0));
    parts.push(`image quality issue flagged on ${issues.length}, highest ${percent(top)}`);
  }
  if (unassessed) parts.push(`${unassessed} without a quality assessment`);
  return parts.join(', ');
}

function eyeFindings(e: EyeSummary): string {
  const head = capital(EYE_NAME[e.eye]);
  if (e.status === 'not-imaged') return `${head}: no photograph received; not assessed.`;
  const out: string[] = [];
  if (e.status === 'ungradable') {
    const none = e.images === 1 ? 'The only photograph was not' : `None of the ${e.images} photographs was`;
    out.push(`${head}: UNGRADABLE. ${none} of sufficient quality to grade (${qualityClause(e)}); no DR grade or DME risk is given for this eye.`);
    // Screening graders still record what a poor photograph shows; it is reported, never graded.
    if (e.lesions.length) out.push(`On ${e.images === 1 ? 'this photograph' : 'these photographs'} of limited quality the segmenter nonetheless outlined ${lesionPhrase(e)}; they are not graded.`);
    const extra = [discSentence(e), labelSentence(e)].filter((x): x is string => !!x);
    if (extra.length) out.push(`Of limited reliability: ${extra.map((x) => x.charAt(0).toLowerCase() + x.slice(1)).join(' ')}`);
    return out.join(' ');
  }
  const ungradable = e.images - e.gradableImages;
  const gradedOn = ungradable
    ? `${e.gradableImages} of ${plural(e.images, 'photograph')} gradable; the ${ungradable === 1 ? 'other' : `other ${ungradable}`} not used for grading: ${qualityClause(e)}`
    : `${plural(e.images, 'photograph')}, gradable`;
  out.push(`${head} (${gradedOn}):`);
  out.push(e.drGrade ? `${capital(drText(e.drGrade.grade))} (DR grade ${e.drGrade.grade}, ${percent(e.drGrade.probability)}).` : 'DR grade not available.');
  if (e.dmeRisk) out.push(`DME risk ${e.dmeRisk.grade}: ${dmeText(e.dmeRisk.grade)} (${percent(e.dmeRisk.probability)}).`);
  if (e.referableDr.probability !== null) {
    const t = e.referableDr.threshold !== null ? `, threshold ${percent(e.referableDr.threshold)}` : '';
    out.push(`Probability of referable diabetic retinopathy (grade 2 or worse) ${percent(e.referableDr.probability)}${t}${e.referableDr.byProbability ? ', above threshold' : ''}.`);
  }
  if (e.lesions.length) out.push(`Lesions segmented: ${lesionPhrase(e)}.`);
  else if (e.lesionsAssessed) out.push('No microaneurysms, haemorrhages or exudates segmented.');
  const disc = discSentence(e);
  if (disc) out.push(disc);
  const labels = labelSentence(e);
  if (labels) out.push(labels);
  return out.join(' ');
}

function reasonText(r: ReferralReason): string {
  switch (r.criterion) {
    case 'dr-grade': return drText(r.value);
    case 'referable-dr-probability': return `probability of referable diabetic retinopathy ${percent(r.value)}, above threshold`;
    case 'dme-risk': return `${dmeText(r.value)} (DME risk ${r.value})`;
    case 'ungradable': return 'ungradable photographs';
  }
}

function eyeImpression(e: EyeSummary, reasons: ReferralReason[]): string | null {
  const name = EYE_NAME[e.eye];
  if (e.status === 'not-imaged') return null;
  if (e.status === 'ungradable') return `${capital(name)} ungradable: not assessed for diabetic retinopathy, and not to be read as normal.`;
  const mine = reasons.filter((r) => r.eye === e.eye && r.action === 'refer');
  if (mine.length) return `${capital(name)}: referable, ${list(mine.map(reasonText))}.`;
  const g = e.drGrade?.grade ?? null;
  if (g === null) return `${capital(name)}: no DR grade available.`;
  return g === 0
    ? `${capital(name)}: no referable diabetic retinopathy or maculopathy.`
    : `${capital(name)}: ${drText(g)}, below the referral threshold; no maculopathy.`;
}

function impression(s: StudySummary, c?: PriorComparison): string {
  const eyes = [s.eyes.R, s.eyes.L, ...(s.eyes.unknown ? [s.eyes.unknown] : [])];
  const out: string[] = [];
  if (s.referableDisease) out.push(`Referable diabetic eye disease (${s.urgency === 'urgent' ? 'urgent' : s.urgency === 'soon' ? 'to be seen soon' : 'routine'}).`);
  // With no gradable photograph at all there is nothing to call free of disease: say only that nothing was assessed.
  else if (s.reasons.length && !eyes.some((e) => e.status === 'gradable')) out.push('No photograph was gradable: the screening is incomplete and no eye has been assessed for diabetic eye disease.');
  else if (s.reasons.length) out.push('No referable diabetic eye disease on the gradable photographs, but the screening is incomplete.');
  else if (s.eyes.R.status === 'gradable' && s.eyes.L.status === 'gradable') out.push('No referable diabetic retinopathy or maculopathy in either eye.');
  else out.push('No referable diabetic eye disease on the photographs received, but the screening is incomplete.');
  for (const e of eyes) {
    const line = eyeImpression(e, s.reasons);
    if (line) out.push(line);
  }
  for (const side of ['R', 'L'] as const) {
    if (s.eyes[side].status === 'not-imaged') out.push(`${capital(EYE_NAME[side])} not assessed: no photograph of it was received.`);
  }
  // Non-diabetic labels (glaucoma, cataract, AMD, ...) grouped by condition, eyes in a fixed order.
  const other = new Map<string, string[]>();
  for (const e of eyes) {
    for (const l of e.labels.filter((x) => x.key !== 'N' && x.key !== 'D')) {
      other.set(l.name, [...(other.get(l.name) ?? []), `${EYE_NAME[e.eye]} ${percent(l.probability)}${e.limitedQuality ? ', limited-quality photograph' : ''}`]);
    }
  }
  if (other.size) out.push(`The classifier also suggests ${list([...other].map(([name, at]) => `${name} (${at.join('; ')})`))}; these lie outside the diabetic screening criteria and are for clinical review.`);
  const worse = c?.eyes.filter((e) => e.drGrade.change === 'worse' || e.dmeRisk.change === 'worse' || e.newLesions.length > 0) ?? [];
  if (c && worse.length) out.push(`Progression since the prior study${c.priorStudyDate ? ` of ${formatStudyDate(c.priorStudyDate)}` : ''} in the ${list(worse.map((e) => EYE_NAME[e.eye]))}.`);
  return out.join(' ');
}

const URGENT_TEXT: Record<Exclude<Urgency, 'none'>, string> = {
  urgent: 'Urgent referral to the hospital eye service',
  soon: 'Referral to the hospital eye service, to be seen soon,',
  routine: 'Routine referral to the hospital eye service',
};

function recommendation(s: StudySummary): string {
  const out: string[] = [];
  const refer = s.reasons.filter((r) => r.action === 'refer');
  // One sentence per eye, at the urgency of its most pressing reason (reasons come most urgent first), naming
  // all of its reasons; the most urgent eye first.
  for (const eye of [...new Set(refer.map((r) => r.eye))]) {
    const mine = refer.filter((r) => r.eye === eye);
    const whom = eye === 'unknown' ? 'the eye whose side is not stated' : `the ${EYE_NAME[eye]}`;
    out.push(`${URGENT_TEXT[mine[0]!.urgency as Exclude<Urgency, 'none'>]} for ${whom}: ${list(mine.map(reasonText))}.`);
  }
  if (s.urgency === 'urgent') out.push('Screening programmes aim for proliferative disease to be seen by an ophthalmologist within about two weeks.');
  const ungradable = s.reasons.filter((r) => r.action === 're-image').map((r) => EYE_NAME[r.eye]);
  if (ungradable.length) {
    out.push(`Re-image the ${list(ungradable)} (for example after pupil dilation); if still ungradable, refer for slit-lamp examination, as screening programmes do for ungradable eyes.`);
  }
  for (const side of ['R', 'L'] as const) {
    if (s.eyes[side].status === 'not-imaged') out.push(`Photograph the ${EYE_NAME[side]}; no image of it was received.`);
  }
  if (s.eyes.unknown) out.push('Record the laterality of the photographs reported under "eye not stated", so that their findings can be assigned to an eye.');
  if (!s.reasons.length && s.eyes.R.status === 'gradable' && s.eyes.L.status === 'gradable') {
    out.push('No referral needed on these findings; continue diabetic eye screening at the usual recall interval.');
  }
  return out.join(' ');
}

function gradeChangeText(what: 'DR grade' | 'DME risk', c: EyeComparison['drGrade']): string | null {
  if (c.change === 'not-comparable' || c.prior === null || c.current === null) return null;
  const name = what === 'DR grade' ? drText : dmeText;
  if (c.change === 'same') return `${what} unchanged at ${c.current}.`;
  const verb = c.change === 'worse' ? (what === 'DR grade' ? 'progressed' : 'increased') : (what === 'DR grade' ? 'improved' : 'decreased');
  return `${what} ${verb} from ${c.prior} (${name(c.prior)}) to ${c.current} (${name(c.current)}).`;
}

/** One eye's change since the prior study, as the Comparison section and the eye's comparison Observation say it. */
export function eyeComparisonText(e: EyeComparison): string {
  const head = capital(EYE_NAME[e.eye]);
  if (!e.comparable) {
    const which = e.priorStatus !== 'gradable' && e.currentStatus !== 'gradable' ? 'both studies' : e.priorStatus !== 'gradable' ? 'the prior study' : 'this study';
    return `${head}: not comparable, ungradable in ${which}.`;
  }
  const parts = [gradeChangeText('DR grade', e.drGrade), gradeChangeText('DME risk', e.dmeRisk)].filter((x): x is string => !!x);
  if (e.newLesions.length) parts.push(`New since then: ${list(e.newLesions.map((l) => l.name))}.`);
  if (e.resolvedLesions.length) parts.push(`No longer seen: ${list(e.resolvedLesions.map((l) => l.name))}.`);
  if (!e.newLesions.length && !e.resolvedLesions.length) parts.push('No change in the lesion types seen.');
  if (e.cupToDisc) {
    const d = e.cupToDisc;
    // The change is stated between the two ratios as printed, so the figures add up for the reader.
    const change = Number((Number(ratio(d.current)) - Number(ratio(d.prior))).toFixed(2));
    parts.push(change === 0
      ? `Vertical cup-to-disc ratio unchanged at ${ratio(d.current)}.`
      : `Vertical cup-to-disc ratio ${change > 0 ? 'increased' : 'decreased'} from ${ratio(d.prior)} to ${ratio(d.current)} (${change > 0 ? '+' : '-'}${ratio(Math.abs(change))}).`);
  }
  return `${head}: ${parts.join(' ')}`;
}

export function priorStudyText(c: PriorComparison): string {
  return c.priorStudyDate ? `the prior study of ${formatStudyDate(c.priorStudyDate)}` : 'the prior study (date not recorded)';
}

function comparisonText(c: PriorComparison): string {
  const when = priorStudyText(c);
  if (!c.eyes.length) return `Compared with ${when}: no eye was photographed in both studies.`;
  return [`Compared with ${when}:`, ...c.eyes.map(eyeComparisonText)].join(' ');
}

/** The deterministic report text for one study, with the comparison when a prior study is known. */
export function writeNarrative(summary: StudySummary, comparison?: PriorComparison): Narrative {
  const eyes = [summary.eyes.R, summary.eyes.L, ...(summary.eyes.unknown ? [summary.eyes.unknown] : [])];
  const sections: NarrativeSections = {
    findings: eyes.map(eyeFindings).join('\n'),
    ...(comparison ? { comparison: comparisonText(comparison) } : {}),
    impression: impression(summary, comparison),
    recommendation: recommendation(summary),
    caveat: summary.models.length ? `${CAVEAT} Models: ${summary.models.join(', ')}.` : CAVEAT,
  };
  const text = [
    `Findings\n${sections.findings}`,
    ...(sections.comparison ? [`Comparison\n${sections.comparison}`] : []),
    `Impression\n${sections.impression}`,
    `Recommendation\n${sections.recommendation}`,
    sections.caveat,
  ].join('\n\n');
  return { text, sections, producedBy: 'deterministic' };
}
