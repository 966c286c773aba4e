// Whether an LLM-written narrative or answer may be shown: every claim extracted from it (claims.ts) is checked
// against the study's eye summary, and with `coverage` every positive finding must be mentioned for its eye.
// A claim about a named eye is checked against that eye; a claim naming no eye against the only photographed eye,
// or, with several, against the study: present somewhere, absent everywhere, the worst grade, the study urgency.
// A false claim about one eye that is true of another eye is reported as 'wrong-eye'.
import type { EyeSide, EyeSummary, StudySummary, Urgency } from '../../report/eye-summary.js';
import { type Claim, type EyeRef, extractClaims, type Percent } from './claims.js';
import type { Entity } from './lexicon.js';

export type ViolationKind =
  | 'wrong-eye' | 'invented-finding' | 'denied-finding' | 'wrong-grade' | 'wrong-number' | 'wrong-urgency'
  | 'ungradable-called-normal' | 'missing-finding';

export interface Violation {
  kind: ViolationKind;
  /** The sentence that makes the claim ('' for a missing finding). */
  sentence: string;
  detail: string;
}

export interface GroundingOptions {
  /** Every positive finding must be mentioned for its eye (narratives: yes; dialogue answers: no). Default true. */
  coverage?: boolean;
  /**
   * Claims that name no eye: 'study' (default) checks them against the study, as a narrative means them;
   * 'general' checks them only in sentences that point at this case ("your", "this study", "the photographs",
   * "the findings", ...), so that a dialogue answer may explain a condition in general ("proliferative disease
   * needs laser treatment") without that being read as a finding.
   */
  unscoped?: 'study' | 'general';
}

/** A sentence that is about this case even though it names no eye. */
export const CASE_REFERENCE = /\b(?:your|you|this\s+(?:case|study|patient|photograph|image|report|screening|eye|examination)|these\s+(?:photographs|images|findings|results)|the\s+(?:photographs|images|report|findings|results)|here)\b/i;

export interface GroundingResult {
  ok: boolean;
  violations: Violation[];
  claims: Claim[];
}

const URGENCY_RANK: Record<Urgency, number> = { none: 0, routine: 1, soon: 2, urgent: 3 };
const EYE_NAME: Record<EyeSide, string> = { R: 'right eye', L: 'left eye', unknown: 'eye not stated' };
const LABEL_KEY: Record<string, Entity> = {
  N: 'normal', D: 'diabetic-retinopathy', G: 'glaucoma', C: 'cataract', A: 'age-related-macular-degeneration',
  H: 'hypertensive-retinopathy', M: 'pathological-myopia', O: 'other-abnormality',
};
const LESION_KEY: Record<string, Entity> = { MA: 'microaneurysm', HE: 'haemorrhage', EX: 'hard-exudate', SE: 'soft-exudate' };

/** The entity of a summary lesion or label: its mapping key, or the model's own key when it has no code. */
export function entityOf(item: { code: string; key: string }, table: 'label' | 'lesion'): Entity | undefined {
  const fromCode = item.code.includes('#') ? item.code.slice(item.code.indexOf('#') + 1) : undefined;
  return (fromCode as Entity | undefined) ?? (table === 'label' ? LABEL_KEY[item.key] : LESION_KEY[item.key]);
}

interface Failure { kind: ViolationKind; detail: string }
type Outcome = Failure | null;

const fail = (kind: ViolationKind, detail: string): Failure => ({ kind, detail });
const pct = (p: number) => Math.round(p * 100);

function percentMatches(q: Percent, p: number): boolean {
  if (q.bound === '<') return p * 100 < q.value + 0.5;
  if (q.bound === '>') return p * 100 > q.value - 0.5;
  return Math.abs(q.value - p * 100) <= 1 + 1e-9;
}

class Facts {
  constructor(readonly s: StudySummary) {}

  eyes(): EyeSummary[] {
    return [this.s.eyes.R, this.s.eyes.L, ...(this.s.eyes.unknown ? [this.s.eyes.unknown] : [])];
  }

  eye(ref: EyeRef): EyeSummary | null {
    return ref === 'unknown' ? this.s.eyes.unknown : this.s.eyes[ref];
  }

  imaged(): EyeSummary[] {
    return this.eyes().filter((e) => e.status !== 'not-imaged');
  }

  urgencyOf(e: EyeSummary): Urgency {
    return this.s.reasons.filter((r) => r.eye === e.eye)
      .reduce<Urgency>((u, r) => (URGENCY_RANK[r.urgency] > URGENCY_RANK[u] ? r.urgency : u), 'none');
  }

  refers(e: EyeSummary): boolean {
    return this.s.reasons.some((r) => r.eye === e.eye && r.action === 'refer');
  }

  lesion(e: EyeSummary, entity: Entity) {
    return e.lesions.filter((l) => {
      const x = entityOf(l, 'lesion');
      return x === entity || (entity === 'exudate' && (x === 'hard-exudate' || x === 'soft-exudate'));
    });
  }

  label(e: EyeSummary, entity: Entity) {
    return e.labels.find((l) => entityOf(l, 'label') === entity);
  }

  /** Positive in this eye (not 'normal', which is judged on its own). */
  has(e: EyeSummary, entity: Entity): boolean {
    switch (entity) {
      case 'microaneurysm': case 'haemorrhage': case 'hard-exudate': case 'soft-exudate': case 'exudate':
        return this.lesion(e, entity).length > 0;
      case 'diabetic-retinopathy': return !!this.label(e, entity) || (e.drGrade?.grade ?? 0) >= 1;
      case 'maculopathy': return (e.dmeRisk?.grade ?? 0) >= 1;
      case 'optic-disc': return e.disc.disc;
      case 'optic-cup': return e.disc.cup;
      case 'unreportable': return false;
      default: return !!this.label(e, entity);
    }
  }

  /** Gradable and nothing abnormal at all, or the classifier's own 'normal' label. */
  normal(e: EyeSummary): boolean {
    if (this.label(e, 'normal')) return true;
    return e.status === 'gradable' && (e.drGrade?.grade ?? 0) === 0 && (e.dmeRisk?.grade ?? 0) === 0 && !e.lesions.length
      && e.labels.every((l) => entityOf(l, 'label') === 'normal') && !this.refers(e);
  }
}

function allowed(grades: number[], negated: boolean, top: number): number[] {
  return negated ? Array.from({ length: top + 1 }, (_, k) => k).filter((g) => !grades.includes(g)) : grades;
}

const name = (e: EyeSummary) => EYE_NAME[e.eye];

/** One claim against one eye. */
function checkEye(c: Claim, e: EyeSummary, f: Facts): Outcome {
  const w = c.what;
  const ungradable = e.status === 'ungradable';
  // Nothing can be said of an eye without a photograph, present or absent, except that it was not photographed.
  if (e.status === 'not-imaged' && w.kind !== 'urgency' && !(w.kind === 'status' && (w.status === 'not-imaged' || w.status === 'not-assessed'))) {
    return fail(w.kind === 'dr-grade' || w.kind === 'dme-risk' ? 'wrong-grade' : 'invented-finding', `${name(e)} was not photographed: "${c.text}"`);
  }
  switch (w.kind) {
    case 'finding': {
      if (w.entity === 'normal') {
        if (c.negated) return f.label(e, 'normal') ? fail('denied-finding', `${name(e)}: the classifier labelled it normal`) : null;
        if (ungradable) return fail('ungradable-called-normal', `${name(e)} is ungradable and cannot be called normal`);
        if (e.status === 'not-imaged') return fail('invented-finding', `${name(e)} was not photographed`);
        return f.normal(e) ? percents(c, e, f) : fail('denied-finding', `${name(e)} has findings and is not normal`);
      }
      if (w.entity === 'diabetic-retinopathy' && c.negated) return gradeCheck(c, e, [0], 'no diabetic retinopathy', f);
      if (w.entity === 'maculopathy' && c.negated) {
        if (ungradable) return fail('ungradable-called-normal', `${name(e)} is ungradable: maculopathy cannot be ruled out`);
        return f.has(e, 'maculopathy') ? fail('denied-finding', `${name(e)} has DME risk ${e.dmeRisk!.grade}`) : null;
      }
      if (c.negated) return f.has(e, w.entity) ? fail('denied-finding', `${name(e)} has ${w.entity}`) : null;
      if (!f.has(e, w.entity)) return fail('invented-finding', `${name(e)} has no ${w.entity}`);
      if (c.count !== undefined && f.lesion(e, w.entity).length) {
        const counts = f.lesion(e, w.entity).map((l) => l.maxComponents);
        if (!counts.includes(c.count)) return fail('wrong-number', `${name(e)}: ${w.entity} count ${c.count}, findings ${counts.join('/')}`);
      }
      return percents(c, e, f);
    }
    case 'dr-grade':
      if (!w.grades.length) return e.drGrade ? fail('wrong-grade', `${name(e)} has DR grade ${e.drGrade.grade}`) : null;
      return gradeCheck(c, e, allowed(w.grades, c.negated, 4), c.text, f);
    case 'dme-risk': {
      const ok = allowed(w.grades, c.negated, 2);
      if (ungradable && ok.includes(0)) return fail('ungradable-called-normal', `${name(e)} is ungradable and has no DME risk grade`);
      if (!e.dmeRisk) return fail('wrong-grade', `${name(e)} has no DME risk grade`);
      if (!ok.includes(e.dmeRisk.grade)) return fail('wrong-grade', `${name(e)}: "${c.text}" but DME risk ${e.dmeRisk.grade}`);
      return c.negated ? null : percents(c, e, f);
    }
    case 'referable':
      if (c.negated) {
        if (ungradable) return fail('ungradable-called-normal', `${name(e)} is ungradable and cannot be called not referable`);
        return f.refers(e) ? fail('denied-finding', `${name(e)} is referable`) : null;
      }
      return f.refers(e) ? null : fail('invented-finding', `${name(e)} is not referable`);
    case 'probability': return percents(c, e, f);
    case 'cdr': {
      const have = e.cupToDisc !== null && e.cupToDisc > 0 ? e.cupToDisc : null;
      if (w.value === null) return have === null ? null : fail('wrong-number', `${name(e)} has a cup-to-disc ratio of ${have.toFixed(2)}`);
      if (have === null) return fail('wrong-number', `${name(e)} has no measured cup-to-disc ratio (text ${w.value})`);
      // Compared as printed: the narrative writes toFixed(2), which rounds binary halves differently from Math.round.
      return w.value.toFixed(2) === have.toFixed(2) ? null : fail('wrong-number', `${name(e)}: cup-to-disc ratio ${w.value}, findings ${have.toFixed(2)}`);
    }
    case 'urgency': {
      // "not urgent" says at most "soon"; other negated urgencies say too little to check.
      const level: Urgency | null = c.negated ? (w.level === 'urgent' ? 'soon' : null) : w.level;
      const need = f.urgencyOf(e);
      if (level === null) return null;
      // More urgent than this eye needs is caution, unless it is exactly what another eye needs: then the urgency
      // has moved to the wrong eye ("urgent referral for the right eye" when the left has the proliferative DR).
      if (URGENCY_RANK[level] > URGENCY_RANK[need]) {
        const other = f.eyes().find((o) => o.eye !== e.eye && f.urgencyOf(o) === level);
        return other ? fail('wrong-eye', `${name(e)}: "${c.text}" is the ${name(other)}'s urgency; the ${name(e)} needs ${need}`) : null;
      }
      if (URGENCY_RANK[level] === URGENCY_RANK[need]) return null;
      return fail('wrong-urgency', `${name(e)}: "${c.text}" is less than the findings' ${need}`);
    }
    case 'status': {
      const st = w.status;
      if (st === 'gradable') {
        if (c.negated) return e.status !== 'gradable' ? null : fail('invented-finding', `${name(e)} is gradable`);
        if (ungradable) return fail('ungradable-called-normal', `${name(e)} is ungradable, not gradable`);
        if (e.status !== 'gradable') return fail('invented-finding', `${name(e)} was not photographed`);
        return c.count === undefined || c.count === e.gradableImages ? null : fail('wrong-number', `${name(e)}: ${c.count} gradable photographs, findings ${e.gradableImages}`);
      }
      const ok = st === 'not-assessed' ? e.status !== 'gradable' : st === 'not-imaged' ? e.status === 'not-imaged' : e.status === 'ungradable';
      return ok ? null : fail('invented-finding', `${name(e)} is ${e.status}, not ${st}`);
    }
  }
}

function gradeCheck(c: Claim, e: EyeSummary, ok: number[], said: string, f: Facts): Outcome {
  if (e.status === 'ungradable') {
    return ok.includes(0)
      ? fail('ungradable-called-normal', `${name(e)} is ungradable: "${said}" cannot be said`)
      : fail('wrong-grade', `${name(e)} is ungradable and has no DR grade`);
  }
  if (!e.drGrade) return fail('wrong-grade', `${name(e)} has no DR grade`);
  if (!ok.includes(e.drGrade.grade)) return fail('wrong-grade', `${name(e)}: "${said}" but DR grade ${e.drGrade.grade}`);
  return c.negated || c.what.kind !== 'dr-grade' ? null : percents(c, e, f);
}

/** The percentages said with a claim against the probability the summary holds for it. */
function percents(c: Claim, e: EyeSummary, f: Facts): Outcome {
  if (!c.percents.length) return null;
  const w = c.what;
  let candidates: number[] = [];
  if (w.kind === 'dr-grade') candidates = e.drGrade ? [e.drGrade.probability] : [];
  else if (w.kind === 'dme-risk') candidates = e.dmeRisk ? [e.dmeRisk.probability] : [];
  else if (w.kind === 'probability') {
    if (w.subject === 'referable-probability') candidates = e.referableDr.probability === null ? [] : [e.referableDr.probability];
    // A threshold the summary does not hold may come from general knowledge: not checked.
    else if (w.subject === 'threshold') { if (e.referableDr.threshold === null) return null; candidates = [e.referableDr.threshold]; }
    else candidates = e.imageQuality.map((q) => q.qualityIssueProbability).filter((p): p is number => p !== null);
  } else if (w.kind === 'finding') {
    const l = w.entity === 'normal' || !['microaneurysm', 'haemorrhage', 'hard-exudate', 'soft-exudate', 'exudate', 'maculopathy', 'optic-disc', 'optic-cup'].includes(w.entity)
      ? f.label(e, w.entity) : undefined;
    if (!l) return null;
    candidates = [l.probability];
  } else return null;
  for (const q of c.percents) {
    if (!candidates.some((p) => percentMatches(q, p))) {
      return fail('wrong-number', `${name(e)}: ${q.bound === '=' ? '' : q.bound}${q.value}% with "${c.text}", findings ${candidates.map((p) => `${pct(p)}%`).join('/') || 'none'}`);
    }
  }
  return null;
}

/** A claim that names no eye, in a study with several photographed eyes. */
function checkStudy(c: Claim, f: Facts): Outcome {
  const s = f.s;
  const imaged = f.imaged();
  const w = c.what;
  const every = () => {
    const outcomes = imaged.map((e) => checkEye(c, e, f)).filter((o): o is Failure => o !== null);
    return outcomes.find((o) => o.kind === 'ungradable-called-normal') ?? outcomes[0] ?? null;
  };
  const some = () => {
    const outcomes = imaged.map((e) => checkEye(c, e, f));
    if (outcomes.some((o) => o === null)) return null;
    return outcomes.find((o) => o && o.kind !== 'invented-finding') ?? outcomes[0] ?? fail('invented-finding', 'no photographed eye');
  };
  switch (w.kind) {
    case 'finding':
      return c.negated || w.entity === 'normal' ? every() : some();
    case 'dr-grade': case 'dme-risk': {
      if (!w.grades.length) return some();
      const top = w.kind === 'dr-grade' ? 4 : 2;
      const ok = allowed(w.grades, c.negated, top);
      const graded = imaged.map((e) => (w.kind === 'dr-grade' ? e.drGrade : e.dmeRisk)).filter((g) => g !== null);
      if (ok.includes(0) && imaged.some((e) => e.status === 'ungradable')) {
        return fail('ungradable-called-normal', `"${c.text}" said of the study, which has an ungradable eye`);
      }
      if (!graded.length) return fail('wrong-grade', `no eye has a ${w.kind === 'dr-grade' ? 'DR grade' : 'DME risk grade'}`);
      const worst = Math.max(...graded.map((g) => g.grade));
      return ok.includes(worst) ? null : fail('wrong-grade', `"${c.text}" said of the study, whose worst ${w.kind === 'dr-grade' ? 'DR grade' : 'DME risk'} is ${worst}`);
    }
    case 'referable':
      if (c.negated) return s.referableDisease ? fail('denied-finding', 'the study has referable disease') : null;
      return s.referableDisease ? null : fail('invented-finding', 'the study has no referable disease');
    case 'urgency': {
      const level: Urgency | null = c.negated ? (w.level === 'urgent' ? 'soon' : null) : w.level;
      if (level === null || URGENCY_RANK[level] >= URGENCY_RANK[s.urgency]) return null;
      return fail('wrong-urgency', `"${c.text}" is less than the study's ${s.urgency}`);
    }
    case 'status':
      if (w.status === 'not-imaged') {
        return [s.eyes.R, s.eyes.L].some((e) => e.status === 'not-imaged') ? null : fail('invented-finding', 'both eyes were photographed');
      }
      return w.status === 'gradable' && c.negated ? every() : some();
    default:
      return some();
  }
}

/** Checks `text` against `summary`; see the module comment and README.md for the rules. */
export function checkGrounding(text: string, summary: StudySummary, options: GroundingOptions = {}): GroundingResult {
  const f = new Facts(summary);
  const claims = extractClaims(text);
  const violations: Violation[] = [];
  const imaged = f.imaged();
  const resolved = (c: Claim): EyeRef[] | null => c.eyes ?? (imaged.length === 1 ? [imaged[0]!.eye] : null);

  // Per claim: its outcome for each eye it names, and whether it would hold for another eye.
  const failures = new Map<Claim, Array<{ eye: EyeSummary; failure: Failure }>>();
  // Another eye, not one the claim itself names.
  const holdsElsewhere = (c: Claim) =>
    f.eyes().filter((e) => !(c.eyes ?? []).includes(e.eye)).find((e) => checkEye(c, e, f) === null);
  const general = options.unscoped === 'general';
  for (const c of claims) {
    if (general && c.eyes === null && !CASE_REFERENCE.test(c.sentence)) continue;
    const eyes = resolved(c);
    if (!eyes) {
      const o = checkStudy(c, f);
      if (o) violations.push({ kind: o.kind, sentence: c.sentence, detail: o.detail });
      continue;
    }
    for (const ref of eyes) {
      const e = f.eye(ref);
      if (!e) {
        violations.push({ kind: 'invented-finding', sentence: c.sentence, detail: 'the study has no photograph of an eye whose side is not stated' });
        continue;
      }
      const o = checkEye(c, e, f);
      if (o) failures.set(c, [...(failures.get(c) ?? []), { eye: e, failure: o }]);
    }
  }

  // A false claim about a named eye is a wrong eye when it is true of an eye it does not name, or (one eye named)
  // when everything said under that eye's mention, with at least one positive statement, is true of another eye.
  const scopeHoldsFor = (scope: number, ref: EyeRef): EyeSummary | undefined => {
    const group = claims.filter((c) => c.scope === scope && c.eyes?.length === 1);
    if (scope < 0 || !group.some((c) => !c.negated)) return undefined;
    return f.eyes().filter((e) => e.eye !== ref).find((e) => group.every((c) => checkEye(c, e, f) === null));
  };
  for (const [c, list] of failures) {
    for (const { eye, failure } of list) {
      let kind = failure.kind;
      let detail = failure.detail;
      // An urgency below one eye's need is wrong whatever other eye would allow it.
      if (c.eyes && kind !== 'ungradable-called-normal' && kind !== 'wrong-urgency') {
        const other = (!c.negated || eye.status === 'not-imaged' ? holdsElsewhere(c) : undefined)
          ?? (c.eyes.length === 1 ? scopeHoldsFor(c.scope, eye.eye) : undefined);
        if (other) { kind = 'wrong-eye'; detail = `said of the ${name(eye)} but true of the ${name(other)}: ${detail}`; }
      }
      violations.push({ kind, sentence: c.sentence, detail });
    }
  }

  if (options.coverage ?? true) violations.push(...coverage(claims, f, resolved));
  return { ok: violations.length === 0, violations, claims };
}

/** Every positive finding of every photographed eye must be mentioned for that eye. */
function coverage(claims: Claim[], f: Facts, resolved: (c: Claim) => EyeRef[] | null): Violation[] {
  const out: Violation[] = [];
  for (const e of f.imaged()) {
    const mine = claims.filter((c) => !c.negated && (resolved(c) ?? []).includes(e.eye));
    const said = (test: (c: Claim) => boolean) => mine.some(test);
    const need = (ok: boolean, what: string) => { if (!ok) out.push({ kind: 'missing-finding', sentence: '', detail: `${name(e)}: ${what} not mentioned` }); };
    const finding = (entity: Entity) => (c: Claim) => c.what.kind === 'finding' && c.what.entity === entity;
    if (e.status === 'ungradable') {
      need(said((c) => c.what.kind === 'status' && c.what.status !== 'gradable' && c.what.status !== 'not-imaged'), 'ungradable');
    }
    if ((e.drGrade?.grade ?? 0) >= 1) need(said((c) => c.what.kind === 'dr-grade' && c.what.grades.length > 0), `DR grade ${e.drGrade!.grade}`);
    if ((e.dmeRisk?.grade ?? 0) >= 1) need(said((c) => c.what.kind === 'dme-risk' || finding('maculopathy')(c)), `DME risk ${e.dmeRisk!.grade}`);
    for (const l of e.lesions) {
      const entity = entityOf(l, 'lesion');
      const generic = entity === 'hard-exudate' || entity === 'soft-exudate';
      need(said((c) => finding(entity!)(c) || (generic && finding('exudate')(c))), l.name);
    }
    for (const l of e.labels) {
      const entity = entityOf(l, 'label');
      if (entity === 'normal') continue;
      if (entity === 'diabetic-retinopathy') {
        need(said((c) => finding(entity)(c) || (c.what.kind === 'dr-grade' && c.what.grades.length > 0 && c.what.grades.every((g) => g >= 1))), l.name);
      } else need(said(finding(entity!)), l.name);
    }
    if (f.refers(e)) need(said((c) => c.what.kind === 'referable'), 'referable status');
  }
  return out;
}
