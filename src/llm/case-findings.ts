// The structured findings an LLM sees for a case: a projection of the study's eye summary (src/report/eye-summary.ts)
// with the same field names, minus what costs context and says nothing clinical (SOP UIDs, codes, per-image
// quality rows) and minus anything identifying. The corpus generator (models/llm/) trains on exactly this JSON,
// and the narrative stage and the case dialogue must hand the model the same: call caseFindingsJson on the summary.
import type { EyeSide, EyeSummary, StudySummary } from '../report/eye-summary.js';

export interface CaseEyeFindings {
  eye: 'right' | 'left' | 'not stated';
  status: EyeSummary['status'];
  images: number;
  gradableImages: number;
  drGrade?: { grade: number; probability: number };
  dmeRisk?: { grade: number; probability: number };
  referableDr?: { positive: boolean; probability: number | null };
  limitedQuality?: true;
  lesionsAssessed?: boolean;
  lesions?: { name: string; regions: number | null; images: number }[];
  labels?: { name: string; probability: number }[];
  disc?: { disc: boolean; cup: boolean };
  cupToDisc?: number | null;
}

export interface CaseFindings {
  studyDate: string | null;
  eyes: CaseEyeFindings[];
  referable: boolean;
  urgency: StudySummary['urgency'];
  reasons: { eye: 'right' | 'left' | 'not stated'; criterion: string; action: string; urgency: string; value: number }[];
}

const EYE: Record<EyeSide, CaseEyeFindings['eye']> = { R: 'right', L: 'left', unknown: 'not stated' };
const r2 = (x: number) => Math.round(x * 100) / 100;

function eyeFindings(e: EyeSummary): CaseEyeFindings {
  const out: CaseEyeFindings = { eye: EYE[e.eye], status: e.status, images: e.images, gradableImages: e.gradableImages };
  if (e.status === 'not-imaged') return out;
  if (e.drGrade) out.drGrade = { grade: e.drGrade.grade, probability: r2(e.drGrade.probability) };
  if (e.dmeRisk) out.dmeRisk = { grade: e.dmeRisk.grade, probability: r2(e.dmeRisk.probability) };
  if (e.status === 'gradable') {
    out.referableDr = { positive: e.referableDr.positive, probability: e.referableDr.probability === null ? null : r2(e.referableDr.probability) };
  }
  if (e.limitedQuality) out.limitedQuality = true;
  out.lesionsAssessed = e.lesionsAssessed;
  if (e.lesionsAssessed) out.lesions = e.lesions.map((l) => ({ name: l.name, regions: l.maxComponents, images: l.images }));
  // The normal label is implied by the rest; DR is reported through the grade.
  const labels = e.labels.filter((l) => l.key !== 'N' && l.key !== 'D');
  if (labels.length) out.labels = labels.map((l) => ({ name: l.name, probability: r2(l.probability) }));
  if (e.lesionsAssessed) {
    out.disc = { ...e.disc };
    out.cupToDisc = e.cupToDisc === null ? null : r2(e.cupToDisc);
  }
  return out;
}

export function caseFindings(summary: StudySummary): CaseFindings {
  const eyes = [summary.eyes.R, summary.eyes.L, ...(summary.eyes.unknown ? [summary.eyes.unknown] : [])];
  return {
    studyDate: summary.studyDate,
    eyes: eyes.map(eyeFindings),
    referable: summary.referable,
    urgency: summary.urgency,
    reasons: summary.reasons.map((r) => ({ eye: EYE[r.eye], criterion: r.criterion, action: r.action, urgency: r.urgency, value: r2(r.value) })),
  };
}

/** Compact JSON (no spaces): every character is context the small model has to read. */
export function caseFindingsJson(summary: StudySummary): string {
  return JSON.stringify(caseFindings(summary));
}
