// Findings aggregated per eye and per study, the way diabetic eye screening programmes report them: each eye gets
// its worst grade, the study gets one outcome (refer or not, why, how soon). Pure: no store, no FHIR, no clock.
//
// GRADABLE. An image is gradable when a classifier finding for it carries the quality output
// (mappings/fundus-findings.json#image-quality-issue) and that output is negative. Why: the quality output is the
// only signal OphGate has about whether a photograph can be read, and a screening report must never call an eye
// normal on a photograph nobody (human or model) has judged readable. So an image with no quality output at all
// (only segmenter findings, or a classifier without that head) is NOT gradable either: unknown quality is treated
// as insufficient quality. Caveat: the model card calls this output a weak proxy for gradability (ODIR test
// AUROC 0.58; at the manifest threshold 0.0075 its specificity is 34%), so with the current model many readable
// photographs will be reported ungradable. That errs on the safe side (re-imaging, never a false "normal");
// `qualityThreshold` lets a site move the operating point without touching the stored findings.
//
// Per eye, the DR grade, DME risk and referable-DR decision come from gradable images only. Lesions, other
// labels and the cup-to-disc ratio come from the gradable images when there are any, otherwise from all of the
// eye's images, flagged `limitedQuality`, because a screening grader still records what a poor photograph shows.
//
// URGENCY. OphGate's own three steps, set after the referral timescales of the NHS Diabetic Eye Screening
// Programme (proliferative retinopathy R3A: urgent referral, seen within about two weeks; pre-proliferative
// R2 and maculopathy M1: routine referral, seen within about thirteen weeks; ungradable U: re-image or
// slit-lamp assessment) and the ICO Guidelines for Diabetic Eye Care (2017), which count moderate NPDR or worse,
// and any macular oedema, as referable, with shorter intervals as severity rises and centre-involving oedema and
// proliferative disease most pressing. On the international scale used here: grade 4 -> urgent; grade 3 or DME
// risk 2 (exudates within one disc diameter of the macula centre) -> soon; grade 2, a referable-DR probability
// at or above threshold, or DME risk 1 (exudates in the photographed posterior pole, outside that disc
// diameter) -> routine; an ungradable eye -> re-imaging, then referral if it stays ungradable. A research
// mapping for the report's wording, not a clinical pathway.
import type { FindingResult } from '../inference/finding-result.js';

const FINDINGS = 'mappings/fundus-findings.json';
const QUALITY_CODE = `${FINDINGS}#image-quality-issue`;
const NORMAL_CODE = `${FINDINGS}#normal`;
const REFERABLE_CODE = `${FINDINGS}#referable-dr`;
const DISC_CODE = `${FINDINGS}#optic-disc`;
const CUP_CODE = `${FINDINGS}#optic-cup`;
const CDR_CODE = `${FINDINGS}#cup-to-disc-ratio`;

export type EyeSide = 'R' | 'L' | 'unknown';
export type Urgency = 'none' | 'routine' | 'soon' | 'urgent';
const URGENCY_RANK: Record<Urgency, number> = { none: 0, routine: 1, soon: 2, urgent: 3 };

export interface StudyImage {
  sopInstanceUid: string;
  laterality: 'R' | 'L' | null;
  findings: FindingResult[];
  /** DICOM DA (YYYYMMDD) or ISO date of the study the image belongs to. */
  studyDate?: string;
}

export interface SummaryOptions {
  /** Quality probability at or above which an image is ungradable; default: each finding's own decision. */
  qualityThreshold?: number;
}

export interface ImageGradability {
  sopInstanceUid: string;
  gradable: boolean;
  reason: 'quality-ok' | 'quality-issue' | 'no-quality-assessment';
  /** Highest quality-issue probability over the image's findings; null without a quality output. */
  qualityIssueProbability: number | null;
}

export interface GradeCall {
  grade: number;
  /** The model's probability of the predicted class on the image that gave this (worst) grade. */
  probability: number;
}

export interface LesionType {
  key: string;
  name: string;
  code: string;
  /** Most separate regions on any one image (images of one eye overlap, so counts are not added up). */
  maxComponents: number | null;
  /** Largest area on any one image, source pixels. */
  maxAreaPx: number;
  images: number;
}

export interface LabelFinding {
  key: string;
  name: string;
  code: string;
  /** Highest probability over the images it was positive on. */
  probability: number;
}

export interface EyeSummary {
  eye: EyeSide;
  images: number;
  gradableImages: number;
  /** 'ungradable': images were received but none is gradable; 'not-imaged': no image of this eye. */
  status: 'gradable' | 'ungradable' | 'not-imaged';
  imageQuality: ImageGradability[];
  /** Worst DR grade over the gradable images (null unless status is 'gradable' and a grade exists). */
  drGrade: GradeCall | null;
  dmeRisk: GradeCall | null;
  referableDr: {
    positive: boolean;
    /** Highest P(grade >= 2) over the gradable images, null when none gave one. */
    probability: number | null;
    threshold: number | null;
    byGrade: boolean;
    byProbability: boolean;
  };
  /** True when lesions, labels and CDR below were read from images judged ungradable. */
  limitedQuality: boolean;
  /** Some basis finding carried lesion channels (a segmenter ran), so an empty `lesions` means none seen. */
  lesionsAssessed: boolean;
  /** Pathological lesion types with pixels (optic disc and cup are anatomy, reported through the CDR). */
  lesions: LesionType[];
  /** Positive multi-label outputs (ODIR categories), normal included. */
  labels: LabelFinding[];
  /** Optic disc seen / cup seen on any basis image. */
  disc: { disc: boolean; cup: boolean };
  /** Highest vertical cup-to-disc ratio over the basis images. */
  cupToDisc: number | null;
}

export type Criterion = 'dr-grade' | 'referable-dr-probability' | 'dme-risk' | 'ungradable';

export interface ReferralReason {
  eye: EyeSide;
  criterion: Criterion;
  /** 'refer' to an eye service; 're-image' first (ungradable), then refer if it stays ungradable. */
  action: 'refer' | 're-image';
  urgency: Urgency;
  /** The grade or probability behind the criterion. */
  value: number;
}

export interface StudySummary {
  studyDate: string | null;
  /** "name version" of every model whose findings went in, sorted. */
  models: string[];
  eyes: { R: EyeSummary; L: EyeSummary; unknown: EyeSummary | null };
  /** True when any eye needs action: referral for DR/DME or re-imaging for an ungradable eye. */
  referable: boolean;
  /** Any reason with action 'refer'. */
  referableDisease: boolean;
  urgency: Urgency;
  /** Most urgent first, then right, left, eye not stated. */
  reasons: ReferralReason[];
}

const isQuality = (l: FindingResult['labels'][number]) => l.code === QUALITY_CODE || l.key === 'quality_issue';

export function imageGradability(image: StudyImage, options: SummaryOptions = {}): ImageGradability {
  let probability: number | null = null;
  let issue = false;
  for (const f of image.findings) {
    for (const l of f.labels.filter(isQuality)) {
      probability = Math.max(probability ?? 0, l.probability);
      // Without a site threshold, the stored decision; a label with no decision counts as an issue (unknown
      // quality is not gradable).
      if (options.qualityThreshold !== undefined ? l.probability >= options.qualityThreshold : l.positive !== false) issue = true;
    }
  }
  const reason = probability === null ? 'no-quality-assessment' : issue ? 'quality-issue' : 'quality-ok';
  return { sopInstanceUid: image.sopInstanceUid, gradable: reason === 'quality-ok', reason, qualityIssueProbability: probability };
}

function sideOf(image: StudyImage): EyeSide {
  const l = (image.laterality ?? image.findings.find((f) => f.laterality)?.laterality ?? '').toUpperCase();
  return l === 'R' || l === 'L' ? l : 'unknown';
}

function worstGrade(findings: FindingResult[], output: string): GradeCall | null {
  let worst: GradeCall | null = null;
  for (const f of findings) {
    for (const g of f.grades.filter((x) => x.output === output)) {
      const grade = Number.parseInt(g.predicted.key, 10);
      if (!Number.isFinite(grade)) continue;
      // Ties on grade keep the more confident call, so the result does not depend on image order.
      if (!worst || grade > worst.grade || (grade === worst.grade && g.predicted.probability > worst.probability)) {
        worst = { grade, probability: g.predicted.probability };
      }
    }
  }
  return worst;
}

function summariseEye(eye: EyeSide, images: StudyImage[], options: SummaryOptions): EyeSummary {
  const imageQuality = images.map((i) => imageGradability(i, options));
  const gradable = images.filter((_, k) => imageQuality[k]!.gradable);
  const status = images.length === 0 ? 'not-imaged' : gradable.length > 0 ? 'gradable' : 'ungradable';
  const graded = gradable.flatMap((i) => i.findings);
  const basis = (gradable.length > 0 ? gradable : images).flatMap((i) => i.findings);

  const drGrade = worstGrade(graded, 'dr_grade');
  const dmeRisk = worstGrade(graded, 'dme_risk');
  const derived = graded.flatMap((f) => f.derived).filter((d) => d.code === REFERABLE_CODE || d.name === 'referable_dr');
  const byProbability = derived.some((d) => d.positive === true);
  const byGrade = (drGrade?.grade ?? 0) >= 2;
  const referableDr = {
    positive: byGrade || byProbability,
    probability: derived.length ? Math.max(...derived.map((d) => d.probability)) : null,
    threshold: derived.find((d) => d.threshold !== undefined)?.threshold ?? null,
    byGrade, byProbability,
  };

  const lesions = new Map<string, LesionType>();
  const disc = { disc: false, cup: false };
  for (const img of gradable.length > 0 ? gradable : images) {
    const seen = new Set<string>();
    for (const l of img.findings.flatMap((f) => f.lesions)) {
      if (l.areaPx <= 0) continue;
      if (l.code === DISC_CODE || l.key === 'OD') { disc.disc = true; continue; }
      if (l.code === CUP_CODE || l.key === 'cup') { disc.cup = true; continue; }
      const t = lesions.get(l.code) ?? { key: l.key, name: l.name, code: l.code, maxComponents: null, maxAreaPx: 0, images: 0 };
      if (l.components !== null) t.maxComponents = Math.max(t.maxComponents ?? 0, l.components);
      t.maxAreaPx = Math.max(t.maxAreaPx, l.areaPx);
      if (!seen.has(l.code)) { t.images += 1; seen.add(l.code); }
      lesions.set(l.code, t);
    }
  }

  const labels = new Map<string, LabelFinding>();
  for (const l of basis.flatMap((f) => f.labels)) {
    if (isQuality(l) || l.positive !== true) continue;
    // A 'normal' label read off photographs judged ungradable is exactly the false reassurance this module
    // exists to prevent: left out.
    if (gradable.length === 0 && (l.code === NORMAL_CODE || l.key === 'N')) continue;
    const prev = labels.get(l.code);
    if (!prev || l.probability > prev.probability) labels.set(l.code, { key: l.key, name: l.name, code: l.code, probability: l.probability });
  }

  const ratios = basis.flatMap((f) => f.measurements)
    .filter((m) => (m.code === CDR_CODE || m.name === 'cup_to_disc_ratio') && m.value !== null)
    .map((m) => m.value as number);

  const byCode = (a: { code: string }, b: { code: string }) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0);
  return {
    eye, images: images.length, gradableImages: gradable.length, status, imageQuality,
    drGrade: status === 'gradable' ? drGrade : null,
    dmeRisk: status === 'gradable' ? dmeRisk : null,
    referableDr,
    limitedQuality: status === 'ungradable',
    lesionsAssessed: basis.some((f) => f.lesions.length > 0),
    lesions: [...lesions.values()].sort(byCode),
    // Normal first, then by code, so the narrative lists them in a fixed order.
    labels: [...labels.values()].sort((a, b) => (a.code === NORMAL_CODE ? -1 : b.code === NORMAL_CODE ? 1 : byCode(a, b))),
    disc,
    cupToDisc: ratios.length ? Math.max(...ratios) : null,
  };
}

function reasonsFor(e: EyeSummary): ReferralReason[] {
  const out: ReferralReason[] = [];
  if (e.status === 'ungradable') {
    out.push({ eye: e.eye, criterion: 'ungradable', action: 're-image', urgency: 'routine', value: e.images });
    return out;
  }
  if (e.status !== 'gradable') return out;
  const g = e.drGrade?.grade ?? null;
  if (g !== null && g >= 2) {
    out.push({ eye: e.eye, criterion: 'dr-grade', action: 'refer', urgency: g >= 4 ? 'urgent' : g === 3 ? 'soon' : 'routine', value: g });
  } else if (e.referableDr.byProbability && e.referableDr.probability !== null) {
    out.push({ eye: e.eye, criterion: 'referable-dr-probability', action: 'refer', urgency: 'routine', value: e.referableDr.probability });
  }
  const d = e.dmeRisk?.grade ?? null;
  if (d !== null && d >= 1) out.push({ eye: e.eye, criterion: 'dme-risk', action: 'refer', urgency: d >= 2 ? 'soon' : 'routine', value: d });
  return out;
}

const EYE_ORDER: Record<EyeSide, number> = { R: 0, L: 1, unknown: 2 };

export function summariseStudy(images: StudyImage[], options: SummaryOptions = {}): StudySummary {
  // Images in a fixed order so that the summary does not depend on the order they arrived in.
  const sorted = [...images].sort((a, b) => (a.sopInstanceUid < b.sopInstanceUid ? -1 : a.sopInstanceUid > b.sopInstanceUid ? 1 : 0));
  const of = (side: EyeSide) => sorted.filter((i) => sideOf(i) === side);
  const unknownImages = of('unknown');
  const eyes = {
    R: summariseEye('R', of('R'), options),
    L: summariseEye('L', of('L'), options),
    unknown: unknownImages.length ? summariseEye('unknown', unknownImages, options) : null,
  };
  const reasons = [eyes.R, eyes.L, ...(eyes.unknown ? [eyes.unknown] : [])].flatMap(reasonsFor)
    .sort((a, b) => URGENCY_RANK[b.urgency] - URGENCY_RANK[a.urgency] || EYE_ORDER[a.eye] - EYE_ORDER[b.eye]);
  const urgency = reasons.reduce<Urgency>((u, r) => (URGENCY_RANK[r.urgency] > URGENCY_RANK[u] ? r.urgency : u), 'none');
  const dates = sorted.map((i) => i.studyDate).filter((d): d is string => !!d);
  return {
    studyDate: dates[0] ?? null,
    models: [...new Set(sorted.flatMap((i) => i.findings.map((f) => `${f.model.name} ${f.model.version}`)))].sort(),
    eyes, reasons, urgency,
    referable: reasons.length > 0,
    referableDisease: reasons.some((r) => r.action === 'refer'),
  };
}

// ---- Prior comparison ----

export interface EyeComparison {
  eye: 'R' | 'L';
  /** Both studies gave this eye a gradable result; otherwise grade and lesion changes are not stated. */
  comparable: boolean;
  priorStatus: EyeSummary['status'];
  currentStatus: EyeSummary['status'];
  drGrade: { prior: number | null; current: number | null; change: 'worse' | 'better' | 'same' | 'not-comparable' };
  dmeRisk: { prior: number | null; current: number | null; change: 'worse' | 'better' | 'same' | 'not-comparable' };
  newLesions: LesionType[];
  resolvedLesions: LesionType[];
  /** Comparable and both ratios known: change rounded to 2 decimals (positive = larger cup). */
  cupToDisc: { prior: number; current: number; change: number } | null;
}

export interface PriorComparison {
  priorStudyDate: string | null;
  eyes: EyeComparison[];
}

function gradeChange(prior: GradeCall | null, current: GradeCall | null, comparable: boolean) {
  const p = prior?.grade ?? null;
  const c = current?.grade ?? null;
  const change = !comparable || p === null || c === null ? 'not-comparable' as const : c > p ? 'worse' as const : c < p ? 'better' as const : 'same' as const;
  return { prior: p, current: c, change };
}

/** How `current` differs from an earlier study of the same patient, per eye (eyes of unknown side cannot be paired). */
export function compareWithPrior(current: StudySummary, prior: StudySummary): PriorComparison {
  const eyes: EyeComparison[] = [];
  for (const side of ['R', 'L'] as const) {
    const c = current.eyes[side];
    const p = prior.eyes[side];
    if (c.status === 'not-imaged' || p.status === 'not-imaged') continue;
    const comparable = c.status === 'gradable' && p.status === 'gradable';
    const priorCodes = new Set(p.lesions.map((l) => l.code));
    const currentCodes = new Set(c.lesions.map((l) => l.code));
    eyes.push({
      eye: side, comparable, priorStatus: p.status, currentStatus: c.status,
      drGrade: gradeChange(p.drGrade, c.drGrade, comparable),
      dmeRisk: gradeChange(p.dmeRisk, c.dmeRisk, comparable),
      newLesions: comparable ? c.lesions.filter((l) => !priorCodes.has(l.code)) : [],
      resolvedLesions: comparable ? p.lesions.filter((l) => !currentCodes.has(l.code)) : [],
      cupToDisc: comparable && c.cupToDisc !== null && p.cupToDisc !== null
        ? { prior: p.cupToDisc, current: c.cupToDisc, change: Number((c.cupToDisc - p.cupToDisc).toFixed(2)) }
        : null,
    });
  }
  return { priorStudyDate: prior.studyDate, eyes };
}
