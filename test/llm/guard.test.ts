// The grounding guard (src/llm/guard/): no false alarm on the deterministic narrative of generated cases, every
// seeded error in corrupted narratives caught with the right kind, hand-written negation and abbreviation cases,
// every knowledge-base synonym recognised, and the case-built JSON schema with its renderer (checked through
// node-llama-cpp's own JSON-schema grammar).
import fc from 'fast-check';
import { getLlama, type Llama } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractClaims, type Claim } from '../../src/llm/guard/claims.js';
import { checkGrounding, entityOf, type ViolationKind } from '../../src/llm/guard/check.js';
import { narrativeSchemaFor, renderStructuredNarrative, type StructuredNarrative } from '../../src/llm/guard/schema.js';
import { KNOWLEDGE_FIELDS, loadKnowledgeBase } from '../../src/llm/knowledge/schema.js';
import { summariseStudy, type EyeSummary, type StudySummary } from '../../src/report/eye-summary.js';
import { writeNarrative } from '../../src/report/narrative.js';
import { classifierFinding, segmenterFinding } from '../sr/samples.js';
import { caseContextForFindings } from '../../src/llm/evaluation/cases.js';
import { sampleSummaries } from './guard-studies.js';

const CASES = sampleSummaries(300, 20_260_601);
const FINDINGS = 'mappings/fundus-findings.json';

// ---- helpers ----

/** Deterministic choices for the corruptions (mulberry32). */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]! };
}

const eyesOf = (s: StudySummary): EyeSummary[] => [s.eyes.R, s.eyes.L, ...(s.eyes.unknown ? [s.eyes.unknown] : [])];
const HEAD = { R: 'Right eye', L: 'Left eye', unknown: 'Eye not stated' } as const;
const NAME = { R: 'right eye', L: 'left eye', unknown: 'eye not stated' } as const;
const DR_TEXT = ['no apparent diabetic retinopathy', 'mild non-proliferative diabetic retinopathy', 'moderate non-proliferative diabetic retinopathy', 'severe non-proliferative diabetic retinopathy', 'proliferative diabetic retinopathy'];
const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const kinds = (text: string, s: StudySummary, coverage = true) => checkGrounding(text, s, { coverage }).violations.map((v) => v.kind);

/** Replaces the Findings line of one eye (its paragraph) using `edit`; null when the line is not there or unchanged. */
function editLine(text: string, eye: keyof typeof HEAD, edit: (line: string) => string): string | null {
  const lines = text.split('\n');
  const k = lines.findIndex((l) => l.startsWith(`${HEAD[eye]}:`) || l.startsWith(`${HEAD[eye]} (`));
  if (k < 0) return null;
  const changed = edit(lines[k]!);
  if (changed === lines[k]) return null;
  lines[k] = changed;
  return lines.join('\n');
}

/** Everything the Findings line of `x` states (probabilities aside) is also true of `y`: swapping them would change nothing checkable. */
function lineHoldsFor(x: EyeSummary, y: EyeSummary): boolean {
  if (x.status !== y.status) return false;
  if (x.status === 'not-imaged') return true;
  const lesion = (e: EyeSummary) => new Map(e.lesions.map((l) => [entityOf(l, 'lesion'), l.maxComponents]));
  const ly = lesion(y);
  if ([...lesion(x)].some(([k, n]) => !ly.has(k) || (n !== null && ly.get(k) !== n))) return false;
  const labelsY = new Set(y.labels.map((l) => entityOf(l, 'label')));
  if (x.labels.some((l) => !labelsY.has(entityOf(l, 'label')))) return false;
  if (x.status === 'gradable') {
    if (x.drGrade && x.drGrade.grade !== y.drGrade?.grade) return false;
    if (x.dmeRisk && x.dmeRisk.grade !== y.dmeRisk?.grade) return false;
    if (x.lesionsAssessed && !x.lesions.length && y.lesions.length) return false;
  }
  const cdr = (e: EyeSummary) => (e.cupToDisc !== null && e.cupToDisc > 0 ? e.cupToDisc.toFixed(2) : null);
  if (cdr(x) !== cdr(y) && (cdr(x) !== null || x.disc.disc)) return false;
  if (x.disc.disc && !y.disc.disc) return false;
  if (x.disc.cup !== y.disc.cup && cdr(x) === null && (x.disc.disc || x.disc.cup)) return false;
  return true;
}

/**
 * Whether an Impression or Recommendation sentence about eye x, said of eye y instead, states something false of
 * y (not merely less than the whole truth), judged from the summary the way the narrative words it.
 */
function impressionSwapShows(sentence: string, x: EyeSummary, y: EyeSummary, s: StudySummary): boolean {
  if (x.status !== y.status) return true;
  if (x.status !== 'gradable') return false;
  const refers = (e: EyeSummary) => s.reasons.filter((q) => q.eye === e.eye && q.action === 'refer');
  const same = (a: StudySummary['reasons'][number], b: StudySummary['reasons'][number]) => a.criterion === b.criterion
    && (a.criterion === 'referable-dr-probability' ? Math.abs(Math.round(a.value * 100) - Math.round(b.value * 100)) <= 1 : a.value === b.value);
  if (/: referable, |referral to the hospital eye service/i.test(sentence)) {
    const mine = refers(x);
    return !refers(y).length || mine.some((q) => !refers(y).some((w) => same(q, w))
      && !(q.criterion === 'referable-dr-probability' && y.referableDr.probability !== null && Math.abs(Math.round(q.value * 100) - Math.round(y.referableDr.probability * 100)) <= 1));
  }
  if (/no DR grade available/.test(sentence)) return y.drGrade !== null;
  if (/no referable diabetic retinopathy or maculopathy/.test(sentence)) return refers(y).length > 0;
  if (/below the referral threshold/.test(sentence)) return refers(y).length > 0 || y.drGrade?.grade !== x.drGrade?.grade;
  return false;
}

// ---- the seeded errors ----

/** The corrupted text, or null when the error cannot be made in this case; `expect` overrides the kind expected. */
type Corruption = (s: StudySummary, text: string, r: ReturnType<typeof rng>) => string | { text: string; expect: ViolationKind } | null;

const LABEL_NAMES: Record<string, string> = {
  glaucoma: 'glaucoma', cataract: 'cataract', 'age-related-macular-degeneration': 'age-related macular degeneration',
  'hypertensive-retinopathy': 'hypertensive retinopathy', 'pathological-myopia': 'pathological myopia', 'other-abnormality': 'other disease or abnormality',
};
const LESION_NAMES: Record<string, string> = { microaneurysm: 'microaneurysms', haemorrhage: 'haemorrhages', 'hard-exudate': 'hard exudates', 'soft-exudate': 'soft exudates' };

const CORRUPTIONS: Record<string, { expect: ViolationKind; apply: Corruption }> = {
  'swap right/left eye': {
    expect: 'wrong-eye',
    apply: (s, text, r) => {
      const from = r.pick(['R', 'L'] as const);
      const to = from === 'R' ? 'L' : 'R';
      if (lineHoldsFor(s.eyes[from], s.eyes[to])) return null;
      return editLine(text, from, (l) => l.replace(HEAD[from], HEAD[to]));
    },
  },
  'swap right/left eye in an impression or recommendation sentence': {
    expect: 'wrong-eye',
    apply: (s, text, r) => {
      const from = r.pick(['R', 'L'] as const);
      const to = from === 'R' ? 'L' : 'R';
      const x = s.eyes[from];
      const y = s.eyes[to];
      const [, rest] = text.split('\nImpression\n');
      const sentences = (rest ?? '').split(/\n+/).flatMap((para) => para.split(/(?<=\.) (?=[A-Z])/))
        .filter((t) => (t.includes(HEAD[from]) || t.includes(NAME[from])) && !t.includes(HEAD[to]) && !t.includes(NAME[to]) && !t.startsWith('The classifier'));
      if (!sentences.length) return null;
      const sentence = r.pick(sentences);
      if (!impressionSwapShows(sentence, x, y, s)) return null;
      const swapped = text.replace(sentence, sentence.replace(HEAD[from], HEAD[to]).replace(NAME[from], NAME[to]));
      // A sentence that only denies ("no referable retinopathy or maculopathy") points at no eye: a denied finding.
      return /: no referable diabetic retinopathy or maculopathy\.$/.test(sentence) && y.status === 'gradable' ? { text: swapped, expect: 'denied-finding' } : swapped;
    },
  },
  'invented disease or lesion': {
    expect: 'invented-finding',
    apply: (s, text, r) => {
      const eyes = eyesOf(s).filter((e) => e.status !== 'not-imaged');
      const present = new Set(eyesOf(s).flatMap((e) => [...e.labels.map((l) => entityOf(l, 'label')), ...e.lesions.map((l) => entityOf(l, 'lesion'))]));
      const absent = Object.entries({ ...LABEL_NAMES, ...LESION_NAMES }).filter(([k]) => !present.has(k as never));
      if (!eyes.length || !absent.length) return null;
      const e = r.pick(eyes);
      const [key, name] = r.pick(absent);
      const isLesion = key in LESION_NAMES;
      const style = r.pick(['list', 'sentence', 'impression'] as const);
      if (style === 'impression') return text.replace('\n\nRecommendation', ` The ${NAME[e.eye]} also shows ${name}.\n\nRecommendation`);
      return editLine(text, e.eye, (l) => {
        const listHead = isLesion ? 'Lesions segmented: ' : 'Classifier labels above threshold: ';
        if (style === 'list' && l.includes(listHead)) return l.replace(listHead, `${listHead}${name} (${isLesion ? '4 regions' : '41%'}), `);
        return `${l} ${cap(name)} noted.`;
      });
    },
  },
  'changed DR grade': {
    expect: 'wrong-grade',
    apply: (s, text, r) => {
      const graded = eyesOf(s).filter((e) => e.drGrade);
      if (!graded.length) return null;
      const e = r.pick(graded);
      const g = e.drGrade!.grade;
      const taken = new Set(graded.map((x) => x.drGrade!.grade));
      const to = r.pick([0, 1, 2, 3, 4].filter((x) => !taken.has(x)));
      const style = r.pick(['word and number', 'number', 'word', 'impression'] as const);
      if (style === 'impression') {
        const lines = text.split('\n');
        const k = lines.findIndex((l) => l.includes(`${HEAD[e.eye]}: `) && !l.startsWith(HEAD[e.eye]));
        const at = k < 0 ? -1 : lines[k]!.indexOf(`${HEAD[e.eye]}: `);
        const end = at < 0 ? -1 : lines[k]!.indexOf('.', at);
        const sentence = end < 0 ? '' : lines[k]!.slice(at, end);
        if (!sentence.includes(DR_TEXT[g]!)) return null;
        lines[k] = lines[k]!.replace(sentence, sentence.replace(DR_TEXT[g]!, DR_TEXT[to]!));
        return lines.join('\n');
      }
      return editLine(text, e.eye, (l) => {
        if (style === 'number') return l.replace(`(DR grade ${g},`, `(DR grade ${to},`);
        if (style === 'word') return l.replace(`${cap(DR_TEXT[g]!)} (DR grade`, `${cap(DR_TEXT[to]!)} (DR grade`);
        return l.replace(`${cap(DR_TEXT[g]!)} (DR grade ${g},`, `${cap(DR_TEXT[to]!)} (DR grade ${to},`);
      });
    },
  },
  'changed lesion count or cup-to-disc ratio': {
    expect: 'wrong-number',
    apply: (s, text, r) => {
      const counted = eyesOf(s).flatMap((e) => e.lesions.filter((l) => l.maxComponents !== null).map((l) => ({ e, l })));
      const ratios = eyesOf(s).filter((e) => e.cupToDisc !== null && e.cupToDisc > 0);
      const options = [...(counted.length ? ['count'] : []), ...(ratios.length ? ['cdr'] : [])];
      if (!options.length) return null;
      if (r.pick(options) === 'count') {
        const { e, l } = r.pick(counted);
        const taken = new Set(eyesOf(s).flatMap((x) => x.lesions.filter((y) => y.code === l.code).map((y) => y.maxComponents)));
        let to = l.maxComponents! + 1 + Math.floor(r.next() * 20);
        while (taken.has(to)) to += 1;
        const n = l.maxComponents!;
        return editLine(text, e.eye, (line) => line
          .replace(`${l.name} (${n} ${n === 1 ? 'region' : 'regions'}`, `${l.name} (${to} regions`)
          .replace(`${l.name} (up to ${n} regions`, `${l.name} (up to ${to} regions`));
      }
      const e = r.pick(ratios);
      const taken = new Set(ratios.map((x) => x.cupToDisc!.toFixed(2)));
      let to = Math.round((0.1 + r.next() * 0.8) * 100) / 100;
      while (taken.has(to.toFixed(2))) to = Math.round((to + 0.07) % 0.9 * 100) / 100 + 0.05;
      return editLine(text, e.eye, (line) => line.replace(`ratio ${e.cupToDisc!.toFixed(2)}`, `ratio ${to.toFixed(2)}`));
    },
  },
  'ungradable eye called normal': {
    expect: 'ungradable-called-normal',
    apply: (s, text, r) => {
      const poor = eyesOf(s).filter((e) => e.status === 'ungradable');
      if (!poor.length) return null;
      const e = r.pick(poor);
      const said = `${HEAD[e.eye]} ungradable: not assessed for diabetic retinopathy, and not to be read as normal.`;
      const instead = r.pick([
        `${HEAD[e.eye]}: no referable diabetic retinopathy or maculopathy.`,
        `${HEAD[e.eye]}: normal fundus.`,
        `${HEAD[e.eye]}: no apparent diabetic retinopathy.`,
        `The ${NAME[e.eye]} appears normal.`,
        `${HEAD[e.eye]}: no evidence of retinopathy.`,
      ]);
      return text.includes(said) ? text.replace(said, instead) : null;
    },
  },
  'lowered urgency': {
    expect: 'wrong-urgency',
    apply: (s, text, r) => {
      const swaps: Array<[string, string[]]> = [
        ['Referable diabetic eye disease (urgent).', ['Referable diabetic eye disease (to be seen soon).', 'Referable diabetic eye disease (routine).']],
        ['Referable diabetic eye disease (to be seen soon).', ['Referable diabetic eye disease (routine).']],
        ['Referable diabetic eye disease (routine).', ['Referable diabetic eye disease (no referral needed).']],
        ['Urgent referral to the hospital eye service for', ['Routine referral to the hospital eye service for', 'Referral to the hospital eye service, to be seen soon, for']],
        ['Referral to the hospital eye service, to be seen soon, for', ['Routine referral to the hospital eye service for']],
        ['Routine referral to the hospital eye service for', ['No referral needed for']],
      ];
      const there = swaps.filter(([from]) => text.includes(from));
      if (!there.length) return null;
      const [from, to] = r.pick(there);
      return text.replace(from, r.pick(to));
    },
  },
  'deleted positive finding': {
    expect: 'missing-finding',
    apply: (s, _text, r) => {
      // The narrative of the same case without one of its positive findings: consistent in itself, incomplete.
      const options = eyesOf(s).flatMap((e) => [
        ...((e.drGrade?.grade ?? 0) >= 1 ? [{ e, what: 'grade' as const, key: '' }] : []),
        ...((e.dmeRisk?.grade ?? 0) >= 1 ? [{ e, what: 'dme' as const, key: '' }] : []),
        ...e.lesions.map((l) => ({ e, what: 'lesion' as const, key: l.code })),
        // The DR label is said by the DR grade when the eye has one (grade 1 or more), so only its own mention can go.
        ...e.labels.filter((l) => l.key !== 'N' && !(l.key === 'D' && (e.drGrade?.grade ?? 0) >= 1))
          .map((l) => ({ e, what: 'label' as const, key: l.code })),
      ]);
      if (!options.length) return null;
      const { e, what, key } = r.pick(options);
      const t: StudySummary = structuredClone(s);
      const te = t.eyes[e.eye === 'unknown' ? 'unknown' : e.eye]!;
      if (what === 'grade') { te.drGrade = null; t.reasons = t.reasons.filter((x) => !(x.eye === e.eye && x.criterion === 'dr-grade')); }
      if (what === 'dme') { te.dmeRisk = null; t.reasons = t.reasons.filter((x) => !(x.eye === e.eye && x.criterion === 'dme-risk')); }
      if (what === 'lesion') te.lesions = te.lesions.filter((l) => l.code !== key);
      if (what === 'label') te.labels = te.labels.filter((l) => l.code !== key);
      const rank = { none: 0, routine: 1, soon: 2, urgent: 3 } as const;
      t.urgency = t.reasons.reduce<StudySummary['urgency']>((u, x) => (rank[x.urgency] > rank[u] ? x.urgency : u), 'none');
      t.referable = t.reasons.length > 0;
      t.referableDisease = t.reasons.some((x) => x.action === 'refer');
      return writeNarrative(t).text;
    },
  },
};

describe('grounding guard on the deterministic narrative', () => {
  it('passes the narrative of 300 generated cases with coverage on: no false alarm', () => {
    const failed = CASES.map((s) => ({ s, r: checkGrounding(writeNarrative(s).text, s) })).filter(({ r }) => !r.ok);
    const claims = CASES.reduce((n, s) => n + extractClaims(writeNarrative(s).text).length, 0);
    console.log(`guard false positives: ${failed.length} of ${CASES.length} narratives (${claims} claims checked)`);
    expect(failed.map(({ r }) => r.violations)).toEqual([]);
    // The cases cover what the guard must handle.
    const eyes = CASES.flatMap(eyesOf);
    expect(eyes.filter((e) => e.status === 'ungradable').length).toBeGreaterThan(20);
    expect(new Set(eyes.map((e) => e.drGrade?.grade)).size).toBe(6);
    expect(CASES.filter((s) => s.eyes.unknown).length).toBeGreaterThan(20);
    expect(new Set(CASES.map((s) => s.urgency)).size).toBe(4);
  });

  it('catches every seeded error in corrupted narratives, with the right kind', () => {
    const rates: Record<string, string> = {};
    for (const [name, { expect: kind, apply }] of Object.entries(CORRUPTIONS)) {
      let applied = 0;
      const missed: string[] = [];
      CASES.forEach((s, k) => {
        const original = writeNarrative(s).text;
        const result = apply(s, original, rng(k * 7919 + name.length));
        const corrupted = typeof result === 'string' ? result : result?.text;
        if (!corrupted || corrupted === original) return;
        applied += 1;
        const found = kinds(corrupted, s);
        if (!found.includes(typeof result === 'string' ? kind : result!.expect)) {
          const changed = corrupted.split('\n').filter((l) => !original.split('\n').includes(l));
          missed.push(`case ${k}: got [${found.join(', ')}]; changed lines:\n${changed.join('\n')}`);
        }
      });
      rates[name] = `${applied - missed.length}/${applied}`;
      expect(applied, `${name} applied to enough cases`).toBeGreaterThanOrEqual(40);
      expect(missed.slice(0, 2), name).toEqual([]);
    }
    console.log('guard catch rate per seeded error type:', rates);
  });
});

// ---- hand-written cases ----

const ref = (k: string) => `${FINDINGS}#${k}`;
/** Right eye gradable, DR grade 2, 10 microaneurysms and 3 haemorrhages, CDR 0.45; left eye ungradable. */
function handCase(): StudySummary {
  const s = summariseStudy([
    { sopInstanceUid: '2.25.1', laterality: 'R', findings: [classifierFinding('R', 1, 2), segmenterFinding('R', { MA: 370, HE: 111, OD: 900, cup: 300 }, 0.45)] },
    { sopInstanceUid: '2.25.2', laterality: 'L', findings: [classifierFinding('L', 4, 0)] },
  ]);
  s.eyes.R.labels = [{ key: 'G', name: 'glaucoma', code: ref('glaucoma'), probability: 0.63 }];
  s.eyes.L.labels = [];
  return s;
}

describe('grounding guard: hand-written text', () => {
  const s = handCase();
  it('the hand-written case is what the examples assume', () => {
    expect(s.eyes.R.status).toBe('gradable');
    expect(s.eyes.R.drGrade?.grade).toBe(2);
    expect(s.eyes.R.lesions.map((l) => [l.key, l.maxComponents])).toEqual([['HE', 3], ['MA', 10]]);
    expect(s.eyes.R.cupToDisc).toBe(0.45);
    expect(s.eyes.L.status).toBe('ungradable');
    expect(s.urgency).toBe('routine');
  });

  const cases: Array<[string, ViolationKind[]]> = [
    ['No haemorrhages in the left eye.', []],
    ['No haemorrhages in the right eye.', ['denied-finding']],
    ['Haemorrhages were not seen in the right eye.', ['denied-finding']],
    ['Right eye: microaneurysms absent.', ['denied-finding']],
    ['Haemorrhages have been ruled out in the right eye.', ['denied-finding']],
    ['There is no evidence of glaucoma in the right eye.', ['denied-finding']],
    ['No haemorrhages, but microaneurysms are present in the right eye.', ['denied-finding']],
    ['The right eye shows microaneurysms but no cotton wool spots.', []],
    ['The right eye has no cataract; glaucoma is suspected.', []],
    ['OD: moderate NPDR.', []],
    ['OD: mild NPDR.', ['wrong-grade']],
    ['OS: moderate NPDR.', ['wrong-eye']],
    ['OU: moderate NPDR.', ['wrong-grade']],
    ['R2 in the right eye.', []],
    ['R3A in the right eye.', ['wrong-grade']],
    ['The left eye could not be graded.', []],
    ['The right eye could not be graded.', ['wrong-eye']],
    ['The left eye shows no diabetic retinopathy.', ['ungradable-called-normal']],
    ['The left eye is normal.', ['ungradable-called-normal']],
    ['The right eye is fine; the left eye is normal.', ['ungradable-called-normal']],
    ['Neither eye shows maculopathy.', ['ungradable-called-normal']],
    ['The left eye has no referable disease.', ['ungradable-called-normal']],
    ['No evidence of diabetic retinopathy in either eye.', ['wrong-grade', 'ungradable-called-normal']],
    ['The right eye has 10 microaneurysms and three haemorrhages.', []],
    ['The right eye has 12 microaneurysms and three haemorrhages.', ['wrong-number']],
    ['Right eye: cup-to-disc ratio 0.45.', []],
    ['The vertical CDR of the right eye is 0.5.', ['wrong-number']],
    ['Glaucoma (63%) in the right eye.', []],
    ['Glaucoma (80%) in the right eye.', ['wrong-number']],
    ['Cataract in the right eye.', ['invented-finding']],
    ['The left eye shows glaucoma.', ['wrong-eye']],
    ['Moderate NPDR in the right eye and mild NPDR in the left eye.', ['wrong-grade']],
    ['Right eye: referable, moderate non-proliferative diabetic retinopathy; routine referral.', []],
    ['Right eye: moderate non-proliferative diabetic retinopathy; no referral needed.', ['wrong-urgency']],
    ['The right eye is not referable.', ['denied-finding']],
    ['Hard exudates within one disc diameter of the centre of the macula in the right eye.', ['wrong-grade']],
    ['Your right eye shows moderate diabetic retinopathy, so an eye specialist should see you routinely.', []],
    ['Diabetic retinopathy can cause bleeding inside the eye; people with diabetes usually have yearly screening.', []],
    ['The left eye was not assessed for diabetic retinopathy.', []],
    ['R: moderate NPDR. L: ungradable.', []],
    ['RE: DR grade: 2.', []],
    ['The right eye and the left eye show glaucoma.', ['invented-finding']],
    ['Both the right and left eyes have microaneurysms.', ['invented-finding']],
    ['There is a retinal vein occlusion in the right eye.', ['invented-finding']],
    ['No retinal detachment is seen in the right eye.', []],
    ['New vessels at the disc in the right eye.', ['wrong-grade']],
    ['The right eye has CSME.', ['invented-finding']],
    ['We cannot say whether the left eye has glaucoma.', []],
    ['No photograph of the left eye was received.', ['invented-finding']],
    ['The left eye is ungradable, so I cannot tell if there are haemorrhages in it.', []],
  ];
  it.each(cases)('%s', (text, expected) => {
    expect([...new Set(kinds(text, s, false))].sort()).toEqual([...expected].sort());
  });

  it('coverage: a narrative that leaves out a positive finding is reported, naming the finding and eye', () => {
    const full = 'Right eye: moderate NPDR, referable; 10 microaneurysms and 3 haemorrhages; glaucoma (63%). Left eye: ungradable.';
    expect(checkGrounding(full, s).violations).toEqual([]);
    const v = checkGrounding('Right eye: moderate NPDR, referable; 10 microaneurysms; glaucoma (63%). Left eye: ungradable.', s).violations;
    expect(v).toEqual([{ kind: 'missing-finding', sentence: '', detail: 'right eye: haemorrhages not mentioned' }]);
    expect(checkGrounding('Right eye: moderate NPDR; 10 microaneurysms and 3 haemorrhages; glaucoma (63%).', s).violations.map((x) => x.detail).sort())
      .toEqual(['left eye: ungradable not mentioned', 'right eye: referable status not mentioned']);
    // Dialogue answers need not mention everything.
    expect(checkGrounding('The right eye has moderate NPDR.', s, { coverage: false }).ok).toBe(true);
  });

  it('a narrative in other words than the deterministic one passes with coverage; its slips do not', () => {
    const llm = [
      'Findings',
      'Right eye: moderate non-proliferative diabetic retinopathy (DR grade 2). Ten microaneurysms and 3 haemorrhages were segmented. Vertical cup-to-disc ratio 0.45. The classifier suggests glaucoma (63%).',
      'Left eye: ungradable; the photograph was of insufficient quality.',
      '',
      'Impression',
      'Referable diabetic retinopathy in the right eye. The left eye could not be graded and must not be read as normal.',
      '',
      'Recommendation',
      'Routine referral to the hospital eye service for the right eye. Re-image the left eye.',
    ].join('\n');
    expect(checkGrounding(llm, s).violations).toEqual([]);
    const slip = (from: string, to: string) => [...new Set(kinds(llm.replace(from, to), s))];
    expect(slip('Ten microaneurysms', 'Eleven microaneurysms')).toEqual(['wrong-number']);
    expect(slip('must not be read as normal', 'is otherwise normal')).toEqual(['ungradable-called-normal']);
    expect(slip('Routine referral', 'No referral needed')).toEqual(['wrong-urgency']);
    expect(slip('The classifier suggests glaucoma (63%).', 'The classifier suggests glaucoma (63%) and cataract.')).toEqual(['invented-finding']);
    expect(slip(' and 3 haemorrhages were', ' were')).toEqual(['missing-finding']);
  });

  it('claims carry eye, negation, count and percentage', () => {
    const c = extractClaims('Left eye: no haemorrhages or exudates. OD: 12 microaneurysms; glaucoma (63%).');
    const brief = (x: Claim) => [x.what.kind === 'finding' ? x.what.entity : x.what.kind, x.eyes?.join('') ?? '-', x.negated, x.count ?? null, x.percents.map((p) => p.value)];
    expect(c.map(brief)).toEqual([
      ['haemorrhage', 'L', true, null, []],
      ['exudate', 'L', true, null, []],
      ['microaneurysm', 'R', false, 12, []],
      ['glaucoma', 'R', false, null, [63]],
    ]);
  });
});

describe('grounding guard: dialogue mode', () => {
  const s = handCase();
  const dialogue = { coverage: false, unscoped: 'general' } as const;
  it('checks sentences about this case and leaves general explanations alone', () => {
    expect(kinds('Proliferative diabetic retinopathy needs laser treatment. Your right eye has moderate NPDR.', s, false)).toEqual(['wrong-grade']);
    expect(checkGrounding('Proliferative diabetic retinopathy needs laser treatment. Your right eye has moderate NPDR.', s, dialogue).ok).toBe(true);
    expect(checkGrounding('Your photographs show no diabetic retinopathy.', s, dialogue).violations.map((v) => v.kind)).toEqual(['ungradable-called-normal']);
    expect(checkGrounding('Your right eye has mild NPDR.', s, dialogue).violations.map((v) => v.kind)).toEqual(['wrong-grade']);
  });

  it('checks the number of gradable photographs an answer gives an eye, in figures or words', () => {
    const c = caseContextForFindings([{ eye: 'R', gradable: true, drGrade: 1, dmeRisk: 0 }, { eye: 'L', gradable: false }], 'guard-photos').summary;
    expect(c.eyes.R.gradableImages).toBe(1);
    expect(checkGrounding('The right eye had 1 gradable photograph. The left eye could not be graded.', c, dialogue).ok).toBe(true);
    expect(checkGrounding('The right eye had one gradable photograph.', c, dialogue).ok).toBe(true);
    expect(checkGrounding('The right eye had 2 gradable photographs.', c, dialogue).violations.map((v) => v.kind)).toEqual(['wrong-number']);
    expect(checkGrounding('The right eye had three gradable images.', c, dialogue).violations.map((v) => v.kind)).toEqual(['wrong-number']);
  });

  it('reads at most 1% of the knowledge base prose, explained to a patient, as a false statement about a case', () => {
    let flagged = 0;
    let total = 0;
    for (const entry of loadKnowledgeBase().entries) {
      for (const field of KNOWLEDGE_FIELDS) {
        for (const c of CASES.slice(0, 20)) {
          total += 1;
          if (!checkGrounding(entry[field], c, dialogue).ok) flagged += 1;
        }
      }
    }
    console.log(`dialogue mode: ${flagged} of ${total} knowledge-base paragraphs flagged against generated cases`);
    expect(flagged / total).toBeLessThanOrEqual(0.01);
  });
});

describe('grounding guard: urgency moved to the other eye', () => {
  // Right eye severe NPDR (seen soon), left eye PDR (urgent): the answer the bundled model gave in the demo.
  const s = summariseStudy([
    { sopInstanceUid: '2.25.11', laterality: 'R', findings: [classifierFinding('R', 1, 3)] },
    { sopInstanceUid: '2.25.12', laterality: 'L', findings: [classifierFinding('L', 1, 4)] },
  ]);
  const dialogue = { coverage: false, unscoped: 'general' } as const;
  it('is the case it claims to be', () => {
    expect([s.eyes.R.drGrade?.grade, s.eyes.L.drGrade?.grade, s.urgency]).toEqual([3, 4, 'urgent']);
  });
  it('flags an urgency that belongs to the other eye, and accepts each eye with its own', () => {
    expect(checkGrounding('The right eye needs an urgent referral to the hospital eye service.', s, dialogue).violations.map((v) => v.kind)).toEqual(['wrong-eye']);
    expect(checkGrounding('The left eye needs an urgent referral to the hospital eye service.', s, dialogue).ok).toBe(true);
    expect(checkGrounding('The right eye should be seen soon.', s, dialogue).ok).toBe(true);
    expect(checkGrounding('The left eye should be seen soon.', s, dialogue).violations.map((v) => v.kind)).toEqual(['wrong-urgency']);
  });
});

describe('grounding guard: the knowledge base vocabulary', () => {
  it('recognises every synonym of every knowledge-base entry as that entry', () => {
    // "OD" is read as oculus dexter (right eye), never as the optic disc.
    const skip = new Set(['optic-disc:OD']);
    const unrecognised: string[] = [];
    for (const entry of loadKnowledgeBase().entries) {
      for (const syn of [entry.name.replace(/\s*\(.*\)$/, ''), ...entry.synonyms]) {
        if (skip.has(`${entry.key}:${syn}`)) continue;
        const suffix = entry.kind === 'measurement' ? ' 0.45' : entry.kind === 'image-quality' ? ' (40%)' : '';
        const claims = extractClaims(`Right eye: ${syn}${suffix}.`).filter((c) => c.eyes?.[0] === 'R');
        if (!claims.some((c) => means(entry.key, c))) unrecognised.push(`${entry.key}: "${syn}" -> ${JSON.stringify(claims.map((c) => [c.what, c.negated]))}`);
      }
    }
    expect(unrecognised).toEqual([]);
  });
});

function means(key: string, c: Claim): boolean {
  const w = c.what;
  const grade = /^dr-grade-(\d)$/.exec(key);
  if (grade) {
    const g = Number(grade[1]);
    return (w.kind === 'dr-grade' && !c.negated && w.grades.includes(g)) || (g === 0 && w.kind === 'finding' && w.entity === 'diabetic-retinopathy' && c.negated);
  }
  const dme = /^dme-risk-(\d)$/.exec(key);
  if (dme) {
    const g = Number(dme[1]);
    return (w.kind === 'dme-risk' && w.grades.includes(g)) || (g === 0 && w.kind === 'finding' && ['hard-exudate', 'exudate'].includes(w.entity) && c.negated);
  }
  switch (key) {
    case 'referable-dr': return w.kind === 'referable' || (w.kind === 'dr-grade' && w.grades.join() === '2,3,4');
    case 'diabetic-macular-oedema': return w.kind === 'finding' && w.entity === 'maculopathy';
    case 'cup-to-disc-ratio': return w.kind === 'cdr' && w.value === 0.45;
    case 'image-quality-issue': return (w.kind === 'status' && w.status === 'ungradable') || (w.kind === 'probability' && w.subject === 'quality');
    case 'hard-exudate': return w.kind === 'finding' && (w.entity === 'hard-exudate' || w.entity === 'exudate') && !c.negated;
    default: return w.kind === 'finding' && w.entity === key && !c.negated;
  }
}

// ---- structured output ----

/** A random object that node-llama-cpp's grammar for `schema` would accept; free text from harmless phrases. */
function objectArb(schema: unknown): fc.Arbitrary<unknown> {
  const s = schema as { enum?: unknown[]; type?: string; maxLength?: number; properties?: Record<string, unknown> };
  if (s.enum) return fc.constantFrom(...s.enum);
  if (s.type === 'string') {
    return fc.constantFrom('', 'See the findings above', 'Discuss the result with the patient.', 'The photographs were taken today.', 'Any questions can go to the screening service')
      .map((t) => t.slice(0, s.maxLength));
  }
  if (s.type === 'object') return fc.record(Object.fromEntries(Object.entries(s.properties ?? {}).map(([k, v]) => [k, objectArb(v)])));
  throw new Error(`objectArb: unsupported schema ${JSON.stringify(s)}`);
}

describe('structured narrative schema', () => {
  let llama: Llama;
  beforeAll(async () => {
    llama = await getLlama({ gpu: false, build: 'never', skipDownload: true, progressLogs: false });
  }, 60_000);
  afterAll(async () => { await llama?.dispose(); });

  it('allows only the case: a right-eye-only case has no left eye, its own grade, lesions and labels, its own urgency exactly', async () => {
    const s = summariseStudy([{ sopInstanceUid: '2.25.1', laterality: 'R', findings: [classifierFinding('R', 1, 3), segmenterFinding('R', { MA: 370, EX: 80 }, null)] }]);
    const schema = narrativeSchemaFor(s) as unknown as { properties: { findings: { properties: Record<string, { properties: Record<string, unknown> }> }; recommendation: { properties: { urgency: { enum: string[] } } } } };
    expect(Object.keys(schema.properties.findings.properties)).toEqual(['rightEye']);
    expect(JSON.stringify(schema)).not.toMatch(/left/i);
    const right = schema.properties.findings.properties.rightEye!.properties;
    expect(right.drGrade).toEqual({ enum: ['severe non-proliferative diabetic retinopathy (DR grade 3)'] });
    expect(right.lesions).toEqual({ type: 'object', properties: { 'hard exudates': { enum: [2] }, microaneurysms: { enum: [10] } } });
    expect(schema.properties.recommendation.properties.urgency.enum).toEqual(['soon']);

    const grammar = await llama.createGrammarForJsonSchema(narrativeSchemaFor(s));
    const good = fc.sample(objectArb(narrativeSchemaFor(s)), { numRuns: 1, seed: 1 })[0] as StructuredNarrative;
    expect(grammar.parse(JSON.stringify(good))).toEqual(good);
    const bad = (edit: (o: StructuredNarrative & { findings: Record<string, unknown> }) => void) => {
      const o = structuredClone(good) as StructuredNarrative & { findings: Record<string, unknown> };
      edit(o);
      return () => grammar.parse(JSON.stringify(o));
    };
    expect(bad((o) => { o.findings.leftEye = o.findings.rightEye; })).toThrow();
    expect(bad((o) => { o.findings.rightEye!.drGrade = 'mild non-proliferative diabetic retinopathy (DR grade 1)'; })).toThrow();
    expect(bad((o) => { o.findings.rightEye!.lesions = { ...o.findings.rightEye!.lesions, haemorrhages: 3 }; })).toThrow();
    expect(bad((o) => { o.recommendation.urgency = 'routine'; })).toThrow();
    expect(bad((o) => { o.recommendation.urgency = 'urgent'; })).toThrow();
    expect(bad((o) => { o.recommendation.note = 'x'.repeat(401); })).toThrow();
  });

  it('renders any schema-valid object of a generated case into prose the guard passes (with and without coverage)', async () => {
    const failures: string[] = [];
    const summaries = sampleSummaries(120, 424_242);
    for (const [k, s] of summaries.entries()) {
      const schema = narrativeSchemaFor(s);
      if (k < 10) await llama.createGrammarForJsonSchema(schema);
      for (const obj of fc.sample(objectArb(schema), { numRuns: 3, seed: k })) {
        const prose = renderStructuredNarrative(obj as StructuredNarrative);
        for (const coverage of [false, true]) {
          const r = checkGrounding(prose, s, { coverage });
          if (!r.ok) failures.push(`${JSON.stringify(r.violations)}\n${prose}`);
        }
      }
    }
    expect(failures.slice(0, 2)).toEqual([]);
  });

  it('rejects an object naming an eye the case does not have', () => {
    const s = summariseStudy([{ sopInstanceUid: '2.25.1', laterality: 'R', findings: [classifierFinding('R', 1, 0)] }]);
    expect(() => renderStructuredNarrative({ findings: { middleEye: {} } as never, impression: { referable: false, summary: '' }, recommendation: { urgency: 'none', note: '' } }))
      .toThrow(/unknown eye key/);
    expect(s.eyes.L.status).toBe('not-imaged');
  });
});
