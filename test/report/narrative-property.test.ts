// Property test of the eye summary and the deterministic narrative (src/report/eye-summary.ts, narrative.ts) over
// generated studies: 1-4 image frames, each of the right, left or an unstated eye, each with the findings of the
// classifier, the segmenter or both. The findings are made the way the pipeline makes them: a model answer
// (ImageInference) built from the real manifests in models/ (labels, thresholds, grades, derived referable DR,
// mask channels, the cup-to-disc ratio) with generated probabilities and areas, turned into a FindingResult by the
// findings stage's own toFindingResult. The expectations below are computed from the generated findings directly,
// not through summariseStudy, so that a slip in the summary shows as a failure.
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findingResultSchema, toFindingResult, type FindingResult } from '../../src/inference/finding-result.js';
import { loadManifest, type Manifest } from '../../src/inference/manifest.js';
import type { ImageInference, LabelScore, MaskChannel, OutputResult } from '../../src/inference/model-registry.js';
import { PROJECT_ROOT } from '../../src/project-root.js';
import { summariseStudy, type StudyImage } from '../../src/report/eye-summary.js';
import { writeNarrative } from '../../src/report/narrative.js';
import { classifierFinding, segmenterFinding } from '../sr/samples.js';
import { derivedScores } from '../../src/inference/derived-scores.js';

const CLASSIFIER = loadManifest(path.join(PROJECT_ROOT, 'models/fundus-classifier/manifest.json'));
const SEGMENTER = loadManifest(path.join(PROJECT_ROOT, 'models/fundus-segmenter/manifest.json'));
const WIDTH = 1072;
const HEIGHT = 712;
const geometry = { sourceWidth: WIDTH, sourceHeight: HEIGHT, box: { x0: 10, y0: 5, x1: 1060, y1: 700 }, region: { left: 10, top: -170, width: 1050, height: 1050 } };

type Eye = 'R' | 'L' | null;
const HEAD = { R: 'Right eye', L: 'Left eye', unknown: 'Eye not stated' } as const;
const NAME = { R: 'right eye', L: 'left eye', unknown: 'eye not stated' } as const;
type Side = keyof typeof HEAD;
const sideOf = (eye: Eye): Side => eye ?? 'unknown';
const ANATOMY = new Set(['OD', 'cup']);

// ---- Generators: a model answer per manifest ----

/** A probability, sometimes exactly at the threshold (the decision is "at or above"). */
const probability = (threshold: number) => fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constant(threshold));

/** Softmax-like probabilities over n classes (positive, summing to 1). */
const distribution = (n: number) => fc.array(fc.double({ min: 0.001, max: 1, noNaN: true }), { minLength: n, maxLength: n })
  .map((v) => { const s = v.reduce((a, b) => a + b, 0); return v.map((x) => x / s); });

function scores(o: Manifest['outputs'][number], probs: number[]): LabelScore[] {
  const labels = o.kind === 'masks' ? [] : o.labels;
  return labels.map((l, index) => {
    const threshold = 'threshold' in l ? (l.threshold as number | undefined) : undefined;
    return { index, key: l.key, name: l.name, code: l.code, probability: probs[index]!, ...(threshold !== undefined ? { threshold, positive: probs[index]! >= threshold } : {}) };
  });
}

function classifierArb(): fc.Arbitrary<ImageInference> {
  const perOutput = CLASSIFIER.outputs.map((o) => {
    if (o.kind === 'grade' || o.kind === 'class') return distribution(o.labels.length);
    if (o.kind === 'masks') throw new Error('the classifier has no masks');
    // The quality output's threshold is 0.0075: half the photographs near it, so both gradable and ungradable occur.
    if (o.name === 'quality') return fc.tuple(fc.oneof(fc.double({ min: 0, max: 0.015, noNaN: true }), probability(o.labels[0]!.threshold!)));
    return fc.tuple(...o.labels.map((l) => probability(l.threshold!)));
  });
  return fc.tuple(...perOutput).map((values) => {
    const outputs: Record<string, OutputResult> = {};
    CLASSIFIER.outputs.forEach((o, k) => {
      const labels = scores(o, values[k] as number[]);
      if (o.kind === 'grade' || o.kind === 'class') {
        const predicted = labels.reduce((best, l) => (l.probability > best.probability ? l : best));
        outputs[o.name] = { name: o.name, kind: o.kind, labels, predicted };
      } else if (o.kind !== 'masks') {
        outputs[o.name] = { name: o.name, kind: o.kind, labels };
      }
    });
    const derived = derivedScores(CLASSIFIER, outputs);
    return { model: { name: CLASSIFIER.name, version: CLASSIFIER.version }, provider: 'cpu', geometry, outputs, derived, measurements: [] };
  });
}

function segmenterArb(): fc.Arbitrary<{ inference: ImageInference; masks: Record<string, string> }> {
  const o = SEGMENTER.outputs.find((x) => x.kind === 'masks');
  if (!o || o.kind !== 'masks') throw new Error('the segmenter has no masks output');
  const channel = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 200_000 }))
    .chain((area) => fc.record({ area: fc.constant(area), count: area === 0 ? fc.constant(0) : fc.integer({ min: 1, max: Math.min(area, 300) }) }));
  return fc.record({
    channels: fc.tuple(...o.channels.map(() => channel)),
    cdr: fc.double({ min: 0, max: 1, noNaN: true }),
  }).map(({ channels, cdr }) => {
    const mc: MaskChannel[] = o.channels.map((c, index) => {
      const { area, count } = channels[index]!;
      const components = area === 0 ? [] : [{ x0: 100, y0: 100, x1: 140, y1: 130, area: Math.max(1, Math.floor(area / count)), cx: 120.25, cy: 115.5 }];
      return { index, key: c.key, name: c.name, code: c.code, threshold: c.threshold, mask: new Uint8Array(0), area, regions: { count, components } };
    });
    const masks = Object.fromEntries(mc.filter((c) => c.area > 0).map((c) => [`${o.name}/${c.key}`, `derived/masks/x/frame-1/${SEGMENTER.name}/${o.name}-${c.key}.png`]));
    const disc = mc.find((c) => c.key === 'OD')!.area > 0;
    const cup = mc.find((c) => c.key === 'cup')!.area > 0;
    const step = SEGMENTER.postprocessing.find((p) => p.op === 'cup_to_disc_ratio');
    const ratio = disc ? (cup ? cdr : 0) : null;
    const measurements = step && step.op === 'cup_to_disc_ratio'
      ? [{ name: 'cup_to_disc_ratio' as const, kind: 'vertical' as const, ...(step.code ? { code: step.code } : {}), value: ratio, detail: { ratio, discHeight: disc ? 120 : 0, cupHeight: ratio === null ? 0 : Math.round(ratio * 120) } }]
      : [];
    const outputs: Record<string, OutputResult> = { [o.name]: { name: o.name, kind: 'masks', width: WIDTH, height: HEIGHT, channels: mc, probabilities: new Float32Array(0), modelWidth: 0, modelHeight: 0 } };
    return { inference: { model: { name: SEGMENTER.name, version: SEGMENTER.version }, provider: 'cpu', geometry, outputs, derived: [], measurements }, masks };
  });
}

interface GeneratedImage { eye: Eye; findings: FindingResult[] }

const imageArb: fc.Arbitrary<GeneratedImage> = fc.record({
  eye: fc.constantFrom<Eye>('R', 'L', null),
  // Every stored image has at least one model's findings (the report groups findings rows by image).
  models: fc.constantFrom('both', 'both', 'classifier', 'segmenter'),
  classifier: classifierArb(),
  segmenter: segmenterArb(),
}).map(({ eye, models, classifier, segmenter }) => ({
  eye,
  findings: [
    ...(models !== 'segmenter' ? [toFindingResult(classifier, {}, eye)] : []),
    ...(models !== 'classifier' ? [toFindingResult(segmenter.inference, segmenter.masks, eye)] : []),
  ],
}));

const studyArb = fc.array(imageArb, { minLength: 1, maxLength: 4 });

// ---- The oracle, from the findings themselves ----

/** Gradable: a quality output was given and it says no issue (eye-summary.ts, GRADABLE). */
function gradable(img: GeneratedImage): boolean {
  const q = img.findings.flatMap((f) => f.labels).filter((l) => l.key === 'quality_issue');
  return q.length > 0 && q.every((l) => l.positive === false);
}

const grade = (img: GeneratedImage, output: string) =>
  Math.max(-1, ...img.findings.flatMap((f) => f.grades).filter((g) => g.output === output).map((g) => Number(g.predicted.key)));

function toStudyImages(study: GeneratedImage[]): StudyImage[] {
  return study.map((img, k) => ({ sopInstanceUid: `2.25.${1000 + k}`, laterality: img.eye, findings: img.findings }));
}

/** The Findings section's line of an eye. */
const lineOf = (findings: string, side: Side) => findings.split('\n').find((l) => l.startsWith(HEAD[side]));

function checkStudy(study: GeneratedImage[]): void {
  const summary = summariseStudy(toStudyImages(study));
  const n = writeNarrative(summary);
  const { findings, impression, recommendation } = n.sections;
  const sides: Side[] = ['R', 'L', 'unknown'];
  const imagesOf = (side: Side) => study.filter((i) => sideOf(i.eye) === side);

  for (const side of sides) {
    const images = imagesOf(side);
    const line = lineOf(findings, side);
    if (images.length === 0) continue;
    expect(line, `${HEAD[side]} has a findings line`).toBeDefined();
    const good = images.filter(gradable);

    if (good.length === 0) {
      // Ungradable: said so, never normal, never graded, sent for re-imaging.
      expect(line!.startsWith(`${HEAD[side]}: UNGRADABLE.`)).toBe(true);
      expect(line).not.toMatch(/\bnormal\b|no apparent|DR grade \d|no referable|No microaneurysms/i);
      expect(impression).toContain(`${HEAD[side]} ungradable: not assessed for diabetic retinopathy, and not to be read as normal.`);
      expect(impression).not.toContain(`${HEAD[side]}:`);
      expect(recommendation).toMatch(new RegExp(`Re-image the [a-z ,]*${NAME[side]}`));
      expect(n.text).not.toMatch(/either eye|No referral needed/);
      continue;
    }

    expect(line).not.toContain('UNGRADABLE');
    // Worst grade over the eye's gradable photographs, as the line must state it.
    const dr = Math.max(...good.map((i) => grade(i, 'dr_grade')));
    const dme = Math.max(...good.map((i) => grade(i, 'dme_risk')));
    if (dr >= 0) expect(line).toContain(`(DR grade ${dr},`);
    if (dme >= 1) expect(line).toContain(`DME risk ${dme}:`);
    let refer = dr >= 2 || dme >= 1;
    // Lesions and labels are listed in their own sentences (lesion names also occur in "No microaneurysms, ..."
    // and in the DME risk wording, so a bare search of the line would pass on the wrong sentence).
    const lesionList = /Lesions segmented: ([^.]*)\./.exec(line!)?.[1] ?? '';
    const labelList = /Classifier labels above threshold: (.*?%\))\./.exec(line!)?.[1] ?? '';
    const positives = good.flatMap((i) => i.findings.flatMap((f) => f.positive));
    const lesionNames = new Set(positives.filter((p) => p.kind === 'lesion' && !ANATOMY.has(p.key)).map((p) => p.name));
    const labelNames = new Set(positives.filter((p) => p.kind === 'label' && p.key !== 'quality_issue').map((p) => p.name));
    // Exactly the positives of the gradable photographs: none left out, none added.
    expect(lesionList.split(/, | and /).filter(Boolean).map((x) => x.replace(/ \(.*$/, '')).sort()).toEqual([...lesionNames].sort());
    expect([...labelList.matchAll(/(?:^|, | and )([^,(]+?) \(\S+%\)/g)].map((m) => m[1]).sort()).toEqual([...labelNames].sort());
    if (!lesionNames.size && good.some((i) => i.findings.some((f) => f.lesions.length))) expect(line).toContain('No microaneurysms, haemorrhages or exudates segmented.');
    // The optic cup is said to be segmented only when a gradable photograph has cup pixels.
    const cupSeen = good.some((i) => i.findings.some((f) => f.lesions.some((l) => l.key === 'cup' && l.areaPx > 0)));
    if (/\bcup segmented|and optic cup seen/i.test(line!)) expect(cupSeen).toBe(true);
    for (const img of good) {
      for (const p of img.findings.flatMap((f) => f.positive)) {
        if (p.kind === 'label' && p.key !== 'N' && p.key !== 'quality_issue') expect(labelList, `label ${p.key}`).toContain(`${p.name} (`);
        if (p.kind === 'lesion' && !ANATOMY.has(p.key)) expect(lesionList, `lesion ${p.key}`).toContain(p.name);
        if (p.kind === 'derived') {
          expect(line).toMatch(/Probability of referable diabetic retinopathy \(grade 2 or worse\) [^.]*, above threshold\./);
          refer = true;
        }
      }
    }
    // A referable eye is named as such in the impression and referred in the recommendation.
    if (refer) {
      expect(impression).toContain(`${HEAD[side]}: referable, `);
      expect(recommendation).toContain(side === 'unknown' ? 'for the eye whose side is not stated: ' : `for the ${NAME[side]}: `);
    } else {
      expect(impression).not.toContain(`${HEAD[side]}: referable`);
    }
  }

  // No eye is spoken of without a photograph of it, except to say that none was received.
  for (const side of ['R', 'L'] as const) {
    if (imagesOf(side).length) continue;
    const rest = n.text
      .replace(`${HEAD[side]}: no photograph received; not assessed.`, '')
      .replace(`${HEAD[side]} not assessed: no photograph of it was received.`, '')
      .replace(`Photograph the ${NAME[side]}; no image of it was received.`, '');
    expect(rest.toLowerCase()).not.toContain(NAME[side]);
    expect(n.text).toContain(`${HEAD[side]}: no photograph received; not assessed.`);
    expect(n.text).not.toMatch(/either eye|No referral needed/);
  }
  if (!imagesOf('unknown').length) expect(n.text).not.toMatch(/not stated/i);

  // Nothing gradable anywhere: no statement that there is no disease.
  if (!study.some(gradable)) expect(n.text.replaceAll('not to be read as normal', '')).not.toMatch(/no referable|no apparent|\bnormal\b/i);

  // Deterministic: the order the images arrive in does not change a word.
  expect(writeNarrative(summariseStudy(toStudyImages(study).reverse())).text).toBe(n.text);
}

describe('narrative property', () => {
  it('generated findings are valid FindingResults in the pipeline\'s shape', () => {
    fc.assert(fc.property(imageArb, (img) => {
      for (const f of img.findings) {
        expect(findingResultSchema.parse(f)).toEqual(f);
        expect(f.laterality).toBe(img.eye);
        expect(f.positive.every((p) => ['label', 'derived', 'lesion'].includes(p.kind))).toBe(true);
      }
    }), { seed: 20_260_501, numRuns: 50 });
  });

  // The two faults this property found, as plain examples.
  it('a study with no gradable photograph makes no "no referable disease" statement', () => {
    const poor = structuredClone(classifierFinding('R', 1, 0));
    poor.labels.find((l) => l.key === 'quality_issue')!.positive = true;
    const n = writeNarrative(summariseStudy([
      { sopInstanceUid: '2.25.1', laterality: 'R', findings: [poor] },
      { sopInstanceUid: '2.25.2', laterality: 'L', findings: [segmenterFinding('L', { OD: 900 }, 0.3)] },
    ]));
    expect(n.sections.impression).toMatch(/^No photograph was gradable: the screening is incomplete and no eye has been assessed for diabetic eye disease\./);
    expect(n.text).not.toMatch(/no referable/i);
  });

  it('a disc without a cup inside it (ratio 0) is not reported as a segmented cup', () => {
    const n = writeNarrative(summariseStudy([{ sopInstanceUid: '2.25.1', laterality: 'R', findings: [classifierFinding('R', 1, 0), segmenterFinding('R', { OD: 900 }, 0)] }]));
    expect(n.sections.findings).toContain('Optic disc segmented, optic cup not found; cup-to-disc ratio not measured.');
    expect(n.sections.findings).not.toContain('cup-to-disc ratio 0.00');
  });

  it('every positive finding of a gradable photograph is in the narrative with its eye; ungradable eyes are never normal; no eye without a photograph is reported on', () => {
    fc.assert(fc.property(studyArb, checkStudy), { seed: 20_260_501, numRuns: 200 });
  });
});
