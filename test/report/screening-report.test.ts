// Eye summary (src/report/eye-summary.ts) and the deterministic narrative (src/report/narrative.ts) on hand-made
// findings in the models' shape (test/sr/samples.ts), with the quality threshold of the real classifier manifest.
import { describe, expect, it } from 'vitest';
import { findingResultSchema, type FindingResult } from '../../src/inference/finding-result.js';
import { compareWithPrior, imageGradability, summariseStudy, type StudyImage } from '../../src/report/eye-summary.js';
import { formatStudyDate, percent, writeNarrative } from '../../src/report/narrative.js';
import { classifierFinding, segmenterFinding } from '../sr/samples.js';

const QUALITY_THRESHOLD = 0.0075; // models/fundus-classifier/manifest.json, output quality

interface Spec {
  uid: string;
  eye: 'R' | 'L' | null;
  dr?: number;
  dme?: number;
  /** Quality-issue probability; below the manifest threshold by default. */
  quality?: number;
  /** Positive ODIR label keys (default: N when dr is 0, D otherwise). */
  labels?: string[];
  lesions?: Record<string, number>;
  cdr?: number | null;
  date?: string;
  classifier?: boolean;
  segmenter?: boolean;
}

/** One image's findings: the sample classifier with the grades, labels and quality asked for, and the segmenter. */
function image(s: Spec): StudyImage {
  const lat = s.eye ?? 'R';
  const findings: FindingResult[] = [];
  if (s.classifier !== false) {
    const f = structuredClone(classifierFinding(lat, 1, s.dr ?? 0));
    const positive = new Set(s.labels ?? [(s.dr ?? 0) === 0 ? 'N' : 'D']);
    for (const l of f.labels) {
      if (l.output === 'quality') {
        l.probability = s.quality ?? 0.004;
        l.threshold = QUALITY_THRESHOLD;
        l.positive = l.probability >= QUALITY_THRESHOLD;
      } else {
        l.probability = positive.has(l.key) ? 0.8 : 0.05;
        l.positive = positive.has(l.key);
      }
    }
    const dme = f.grades.find((g) => g.output === 'dme_risk')!;
    dme.probabilities = dme.probabilities.map((p, k) => ({ ...p, probability: k === (s.dme ?? 0) ? 0.7 : 0.15 }));
    dme.predicted = dme.probabilities[s.dme ?? 0]!;
    f.positive = [
      ...f.labels.filter((l) => l.positive).map((l) => ({ kind: 'label' as const, output: l.output, key: l.key, name: l.name, code: l.code })),
      ...f.positive.filter((p) => p.kind !== 'label'),
    ];
    f.laterality = s.eye;
    findings.push(findingResultSchema.parse(f));
  }
  if (s.segmenter !== false) {
    const f = segmenterFinding(lat, { OD: 900, cup: 300, ...s.lesions }, s.cdr === undefined ? 0.3 : s.cdr);
    findings.push({ ...f, laterality: s.eye });
  }
  return { sopInstanceUid: s.uid, laterality: s.eye, findings, ...(s.date ? { studyDate: s.date } : {}) };
}

const UID = '1.2.826.0.1.3680043.8.498.';
/** The eye's line of the Findings section. */
const line = (text: string, head: string) => text.split('\n').find((l) => l.startsWith(head)) ?? '';

describe('eye summary and narrative', () => {
  it('normal study: both eyes gradable, nothing referable, routine recall', () => {
    const s = summariseStudy([image({ uid: `${UID}1`, eye: 'R', cdr: 0.3 }), image({ uid: `${UID}2`, eye: 'L', cdr: 0.35 })]);
    expect(s.referable).toBe(false);
    expect(s.urgency).toBe('none');
    expect(s.eyes.R).toMatchObject({ status: 'gradable', drGrade: { grade: 0 }, dmeRisk: { grade: 0 }, lesions: [], cupToDisc: 0.3 });
    expect(s.eyes.unknown).toBeNull();
    const n = writeNarrative(s);
    expect(n.producedBy).toBe('deterministic');
    expect(n.sections.impression).toContain('No referable diabetic retinopathy or maculopathy in either eye.');
    expect(n.sections.recommendation).toContain('No referral needed');
    expect(line(n.sections.findings, 'Right eye')).toContain('No apparent diabetic retinopathy (DR grade 0, 40%)');
    expect(line(n.sections.findings, 'Left eye')).toContain('vertical cup-to-disc ratio 0.35');
    expect(n.sections.findings).toContain('No microaneurysms, haemorrhages or exudates segmented.');
    expect(n.sections.findings).toContain('normal (80%)');
    expect(n.text).not.toMatch(/UNGRADABLE|referral to/i);
    expect(n.text.startsWith('Findings\n')).toBe(true);
    expect(n.text).toContain('\n\nImpression\n');
    expect(n.text).toContain('Automated research analysis, not for clinical use;');
    expect(n.sections.caveat).toContain('fundus-classifier 0.1.0');
  });

  it('moderate NPDR in one eye: worst gradable grade, routine referral of that eye only', () => {
    const s = summariseStudy([
      image({ uid: `${UID}1`, eye: 'R', dr: 1, lesions: { MA: 80 } }),
      image({ uid: `${UID}2`, eye: 'R', dr: 2, lesions: { MA: 370, HE: 111 } }),
      // A poor photograph's grade 4 must not count: grades come from gradable images only.
      image({ uid: `${UID}3`, eye: 'R', dr: 4, quality: 0.3 }),
      image({ uid: `${UID}4`, eye: 'L', dr: 0 }),
    ]);
    expect(s.eyes.R).toMatchObject({ images: 3, gradableImages: 2, status: 'gradable', drGrade: { grade: 2 } });
    expect(s.eyes.R.referableDr).toMatchObject({ positive: true, byGrade: true, byProbability: true });
    expect(s.eyes.R.lesions.map((l) => [l.key, l.maxComponents, l.images])).toEqual([['HE', 3, 1], ['MA', 10, 2]]);
    expect(s.reasons).toEqual([{ eye: 'R', criterion: 'dr-grade', action: 'refer', urgency: 'routine', value: 2 }]);
    expect(s.urgency).toBe('routine');
    const n = writeNarrative(s);
    expect(n.sections.recommendation).toContain('Routine referral to the hospital eye service for the right eye: moderate non-proliferative diabetic retinopathy.');
    expect(n.sections.recommendation).not.toContain('left eye');
    expect(n.sections.impression).toContain('Right eye: referable, moderate non-proliferative diabetic retinopathy.');
    expect(n.sections.impression).toContain('Left eye: no referable diabetic retinopathy or maculopathy.');
    const right = line(n.sections.findings, 'Right eye');
    expect(right).toContain('2 of 3 photographs gradable; the other not used for grading: image quality issue flagged on 1, highest 30%)');
    expect(right).toContain('haemorrhages (3 regions)');
    expect(right).toContain('microaneurysms (up to 10 regions on one photograph)');
    expect(right).toContain('Probability of referable diabetic retinopathy (grade 2 or worse) 70%, threshold 50%, above threshold.');
  });

  it('proliferative DR is urgent', () => {
    const s = summariseStudy([image({ uid: `${UID}1`, eye: 'R', dr: 0 }), image({ uid: `${UID}2`, eye: 'L', dr: 4, lesions: { HE: 500 } })]);
    expect(s.urgency).toBe('urgent');
    expect(s.reasons[0]).toMatchObject({ eye: 'L', criterion: 'dr-grade', urgency: 'urgent', value: 4 });
    const n = writeNarrative(s);
    expect(n.sections.impression).toMatch(/^Referable diabetic eye disease \(urgent\)\./);
    expect(n.sections.recommendation).toContain('Urgent referral to the hospital eye service for the left eye: proliferative diabetic retinopathy.');
    expect(n.sections.recommendation).toContain('within about two weeks');
  });

  it('an eye with only ungradable images reads UNGRADABLE, never normal, and is sent for re-imaging', () => {
    const s = summariseStudy([
      image({ uid: `${UID}1`, eye: 'R', dr: 0 }),
      image({ uid: `${UID}2`, eye: 'L', dr: 0, quality: 0.02, lesions: { EX: 200 } }),
      // No classifier: no quality assessment, so not gradable either.
      image({ uid: `${UID}3`, eye: 'L', classifier: false }),
    ]);
    const left = s.eyes.L;
    expect(left).toMatchObject({ status: 'ungradable', gradableImages: 0, drGrade: null, dmeRisk: null, limitedQuality: true });
    expect(left.imageQuality.map((q) => q.reason)).toEqual(['quality-issue', 'no-quality-assessment']);
    expect(s.reasons).toEqual([{ eye: 'L', criterion: 'ungradable', action: 're-image', urgency: 'routine', value: 2 }]);
    expect(s.referable).toBe(true);
    expect(s.referableDisease).toBe(false);
    const n = writeNarrative(s);
    const leftLine = line(n.sections.findings, 'Left eye');
    expect(leftLine).toMatch(/^Left eye: UNGRADABLE\. None of the 2 photographs was of sufficient quality to grade/);
    expect(leftLine).toContain('image quality issue flagged on 1, highest 2%, 1 without a quality assessment');
    expect(leftLine).toContain('hard exudates');
    expect(leftLine).not.toMatch(/no apparent|normal/i);
    expect(n.sections.impression).toContain('Left eye ungradable: not assessed for diabetic retinopathy, and not to be read as normal.');
    expect(n.sections.impression).not.toContain('either eye');
    expect(n.sections.recommendation).toContain('Re-image the left eye');
    expect(n.sections.recommendation).toContain('slit-lamp');
    expect(n.sections.recommendation).not.toContain('No referral needed');
  });

  it('a site quality threshold moves the gradability decision', () => {
    const img = image({ uid: `${UID}1`, eye: 'L', quality: 0.02 });
    expect(imageGradability(img).gradable).toBe(false);
    expect(imageGradability(img, { qualityThreshold: 0.5 })).toMatchObject({ gradable: true, reason: 'quality-ok', qualityIssueProbability: 0.02 });
  });

  it('unknown laterality is reported as "eye not stated" and both sides as not assessed', () => {
    const s = summariseStudy([image({ uid: `${UID}1`, eye: null, dr: 3 })]);
    expect(s.eyes.R.status).toBe('not-imaged');
    expect(s.eyes.L.status).toBe('not-imaged');
    expect(s.eyes.unknown).toMatchObject({ status: 'gradable', drGrade: { grade: 3 } });
    expect(s.reasons).toEqual([{ eye: 'unknown', criterion: 'dr-grade', action: 'refer', urgency: 'soon', value: 3 }]);
    const n = writeNarrative(s);
    expect(line(n.sections.findings, 'Eye not stated')).toContain('Severe non-proliferative diabetic retinopathy (DR grade 3');
    expect(n.sections.findings).toContain('Right eye: no photograph received; not assessed.');
    expect(n.sections.recommendation).toContain('to be seen soon, for the eye whose side is not stated: severe non-proliferative diabetic retinopathy.');
    expect(n.sections.recommendation).toContain('Record the laterality');
    expect(n.sections.recommendation).toContain('Photograph the right eye');
  });

  it('DME risk 2 is referred soon, with the exudate description', () => {
    const s = summariseStudy([image({ uid: `${UID}1`, eye: 'R', dr: 1, dme: 2, lesions: { EX: 400 } }), image({ uid: `${UID}2`, eye: 'L', dr: 0, dme: 1 })]);
    expect(s.reasons).toEqual([
      { eye: 'R', criterion: 'dme-risk', action: 'refer', urgency: 'soon', value: 2 },
      { eye: 'L', criterion: 'dme-risk', action: 'refer', urgency: 'routine', value: 1 },
    ]);
    expect(s.urgency).toBe('soon');
    const n = writeNarrative(s);
    expect(n.sections.recommendation).toContain('Referral to the hospital eye service, to be seen soon, for the right eye: hard exudates within one disc diameter of the centre of the macula (DME risk 2).');
    expect(n.sections.recommendation).toContain('Routine referral to the hospital eye service for the left eye: hard exudates more than one disc diameter');
    expect(line(n.sections.findings, 'Right eye')).toContain('DME risk 2: hard exudates within one disc diameter of the centre of the macula (70%).');
  });

  it('prior comparison: new haemorrhages, grade change and CDR change, with the prior date', () => {
    const prior = summariseStudy([
      image({ uid: `${UID}p1`, eye: 'R', dr: 1, lesions: { MA: 40 }, cdr: 0.45, date: '20250312' }),
      image({ uid: `${UID}p2`, eye: 'L', dr: 1, lesions: { MA: 40, EX: 100 }, cdr: 0.4, date: '20250312' }),
    ]);
    const current = summariseStudy([
      image({ uid: `${UID}c1`, eye: 'R', dr: 2, lesions: { MA: 90, HE: 60 }, cdr: 0.62, date: '20260110' }),
      image({ uid: `${UID}c2`, eye: 'L', dr: 1, lesions: { MA: 40 }, cdr: 0.4, date: '20260110' }),
    ]);
    const c = compareWithPrior(current, prior);
    expect(c.priorStudyDate).toBe('20250312');
    const [r, l] = c.eyes;
    expect(r).toMatchObject({ eye: 'R', comparable: true, drGrade: { prior: 1, current: 2, change: 'worse' }, cupToDisc: { prior: 0.45, current: 0.62, change: 0.17 } });
    expect(r!.newLesions.map((x) => x.key)).toEqual(['HE']);
    expect(l!.resolvedLesions.map((x) => x.key)).toEqual(['EX']);
    expect(l!.drGrade.change).toBe('same');
    const n = writeNarrative(current, c);
    const cmp = n.sections.comparison!;
    expect(cmp).toMatch(/^Compared with the prior study of 12 March 2025:/);
    expect(cmp).toContain('Right eye: DR grade progressed from 1 (mild non-proliferative diabetic retinopathy) to 2 (moderate non-proliferative diabetic retinopathy).');
    expect(cmp).toContain('New since then: haemorrhages.');
    expect(cmp).toContain('Vertical cup-to-disc ratio increased from 0.45 to 0.62 (+0.17).');
    expect(cmp).toContain('Left eye: DR grade unchanged at 1.');
    expect(cmp).toContain('No longer seen: hard exudates.');
    expect(cmp).toContain('Vertical cup-to-disc ratio unchanged at 0.40.');
    expect(n.sections.impression).toContain('Progression since the prior study of 12 March 2025 in the right eye.');
    expect(n.text).toContain('\n\nComparison\nCompared with');
    expect(writeNarrative(current).sections.comparison).toBeUndefined();
  });

  it('prior comparison does not state changes against an ungradable eye', () => {
    const prior = summariseStudy([image({ uid: `${UID}p1`, eye: 'R', quality: 0.5, cdr: 0.3 }), image({ uid: `${UID}p2`, eye: 'L' })]);
    const current = summariseStudy([image({ uid: `${UID}c1`, eye: 'R', dr: 2, lesions: { HE: 60 }, cdr: 0.6 }), image({ uid: `${UID}c2`, eye: 'L' })]);
    const c = compareWithPrior(current, prior);
    expect(c.priorStudyDate).toBeNull();
    expect(c.eyes[0]).toMatchObject({ comparable: false, newLesions: [], cupToDisc: null, drGrade: { change: 'not-comparable' } });
    const cmp = writeNarrative(current, c).sections.comparison!;
    expect(cmp).toContain('the prior study (date not recorded)');
    expect(cmp).toContain('Right eye: not comparable, ungradable in the prior study.');
  });

  it('is deterministic and free of identifiers', () => {
    const imgs = [
      image({ uid: `${UID}9`, eye: 'L', dr: 2, labels: ['D', 'G'], lesions: { HE: 70 } }),
      image({ uid: `${UID}5`, eye: 'R', dr: 1, quality: 0.9 }),
      image({ uid: `${UID}7`, eye: null, dr: 0 }),
      image({ uid: `${UID}6`, eye: 'L', dr: 3, dme: 1 }),
    ];
    const a = writeNarrative(summariseStudy(imgs)).text;
    const b = writeNarrative(summariseStudy([...imgs].reverse())).text;
    expect(b).toBe(a);
    expect(a).not.toContain(UID);
    expect(a).not.toMatch(/\d+\.\d+\.\d+\.\d+/); // UID-like; model versions have three parts
    expect(a).toContain('The classifier also suggests glaucoma (left eye 80%); these lie outside');
  });

  it('every positive label and lesion appears in its eye\'s findings line', () => {
    let seed = 12345;
    const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
    for (let k = 0; k < 40; k++) {
      const keys = ['N', 'D', 'G', 'C', 'A', 'H', 'M', 'O'].filter(() => rnd(3) === 0);
      const lesions = Object.fromEntries(['MA', 'HE', 'EX', 'SE'].filter(() => rnd(2) === 0).map((key) => [key, 1 + rnd(500)]));
      const eye = (['R', 'L', null] as const)[rnd(3)]!;
      const img = image({ uid: `${UID}${k}`, eye, dr: rnd(5), dme: rnd(3), quality: rnd(4) === 0 ? 0.5 : 0.001, labels: keys, lesions });
      const s = summariseStudy([img]);
      const text = line(writeNarrative(s).sections.findings, eye === 'R' ? 'Right eye' : eye === 'L' ? 'Left eye' : 'Eye not stated');
      for (const p of img.findings.flatMap((f) => f.positive)) {
        if (p.key === 'quality_issue') expect(text).toContain('image quality issue flagged');
        // The referable-DR probability of an ungradable photograph is not reported (it would read as a grade).
        else if (p.kind === 'derived') { if (s.reasons[0]?.criterion !== 'ungradable') expect(text).toContain('Probability of referable diabetic retinopathy'); }
        else if (p.key === 'N' && s.reasons[0]?.criterion === 'ungradable') expect(text).not.toMatch(/\bnormal\b/);
        else if (p.key === 'OD' || p.key === 'cup') expect(text).toMatch(/optic disc and cup segmented/i);
        else expect(text).toContain(p.name);
      }
    }
  });

  it('formats probabilities and dates', () => {
    expect([percent(0.004), percent(0.5041), percent(0.996), percent(0.125)]).toEqual(['<1%', '50%', '>99%', '13%']);
    expect(formatStudyDate('20250312')).toBe('12 March 2025');
    expect(formatStudyDate('2024-01-05')).toBe('5 January 2024');
    expect(formatStudyDate('sometime')).toBe('sometime');
  });
});
