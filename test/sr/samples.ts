// Hand-made findings in the shape the fundus models produce (models/fundus-*/manifest.json: labels, grades,
// derived referable DR, mask channels and the cup-to-disc ratio), parsed by the FindingResult schema so they
// stay valid when the schema changes. Values differ per eye so that a swapped reference would show.
import path from 'node:path';
import { statSync } from 'node:fs';
import { findingResultSchema, type FindingResult } from '../../src/inference/finding-result.js';
import { readInstanceHeader, type InstanceHeader } from '../../src/dicom/part10-header.js';
import { FIXTURES_DIR } from '../helpers/paths.js';

const ref = (key: string) => `mappings/fundus-findings.json#${key}`;
const box = { x0: 10, y0: 5, x1: 1060, y1: 700 };

const LABELS: Array<[string, string, string, number]> = [
  ['N', 'normal', 'normal', 0.5033], ['D', 'diabetic retinopathy', 'diabetic-retinopathy', 0.4481],
  ['G', 'glaucoma', 'glaucoma', 0.3577], ['C', 'cataract', 'cataract', 0.2956],
  ['A', 'age-related macular degeneration', 'age-related-macular-degeneration', 0.3718],
  ['H', 'hypertensive retinopathy', 'hypertensive-retinopathy', 0.2675],
  ['M', 'pathological myopia', 'pathological-myopia', 0.0997], ['O', 'other disease or abnormality', 'other-abnormality', 0.498],
];

const round6 = (x: number) => Number(x.toFixed(6));

/** The classifier's result; `seed` shifts every probability so two images differ. */
export function classifierFinding(laterality: 'R' | 'L', seed: number, drGrade: number): FindingResult {
  const labels = LABELS.map(([key, name, code, threshold], i) => {
    const probability = round6(((i * 0.137 + seed * 0.311) % 0.97) + 0.01);
    return { output: 'multilabel', key, name, code: ref(code), probability, threshold, positive: probability >= threshold };
  });
  const quality = round6(0.05 + seed * 0.1);
  labels.push({ output: 'quality', key: 'quality_issue', name: 'image quality issue', code: ref('image-quality-issue'), probability: quality, threshold: 0.42, positive: quality >= 0.42 });
  const dr = [0.05, 0.1, 0.15, 0.2, 0.1];
  dr[drGrade] = 0.4;
  const drScores = dr.map((p, k) => ({ key: String(k), name: `DR grade ${k}`, code: ref(`dr-grade-${k}`), probability: p }));
  const dme = [0.7, 0.2, 0.1].map((p, k) => ({ key: String(k), name: `DME risk ${k}`, code: ref(`dme-risk-${k}`), probability: p }));
  const referable = round6(dr[2]! + dr[3]! + dr[4]!);
  const f: FindingResult = {
    model: { name: 'fundus-classifier', version: '0.1.0' }, provider: 'cpu', laterality,
    image: { width: 1072, height: 712, fieldOfView: box },
    labels,
    grades: [
      { output: 'dr_grade', predicted: drScores[drGrade]!, probabilities: drScores },
      { output: 'dme_risk', predicted: dme[0]!, probabilities: dme },
    ],
    derived: [{ name: 'referable_dr', meaning: 'probability of DR grade 2 or more (referable, more than mild)', code: ref('referable-dr'), probability: referable, threshold: 0.5041, positive: referable >= 0.5041 }],
    positive: [],
    lesions: [], measurements: [],
  };
  f.positive = [
    ...labels.filter((l) => l.positive).map((l) => ({ kind: 'label' as const, output: l.output, key: l.key, name: l.name, code: l.code })),
    ...f.derived.filter((d) => d.positive).map((d) => ({ kind: 'derived' as const, output: 'dr_grade[2] + dr_grade[3] + dr_grade[4]', key: d.name, name: d.meaning, code: d.code })),
  ];
  return findingResultSchema.parse(f);
}

const CHANNELS: Array<[string, string, string, number]> = [
  ['MA', 'microaneurysms', 'microaneurysm', 0.129], ['HE', 'haemorrhages', 'haemorrhage', 0.173],
  ['EX', 'hard exudates', 'hard-exudate', 0.634], ['SE', 'soft exudates', 'soft-exudate', 0.01],
  ['OD', 'optic disc', 'optic-disc', 0.492], ['cup', 'optic cup', 'optic-cup', 0.711],
];

/** The segmenter's result; `areas` by channel key (0: the channel is empty), `cdr` the vertical cup-to-disc ratio. */
export function segmenterFinding(laterality: 'R' | 'L', areas: Record<string, number>, cdr: number | null): FindingResult {
  const lesions = CHANNELS.map(([key, name, code, threshold]) => {
    const areaPx = areas[key] ?? 0;
    const components = areaPx === 0 ? 0 : key === 'OD' || key === 'cup' ? 1 : Math.max(1, Math.round(areaPx / 37));
    return {
      output: 'masks', key, name, code: ref(code), threshold, areaPx, components,
      largest: areaPx === 0 ? [] : [{ x0: 100, y0: 100, x1: 120, y1: 130, area: Math.min(areaPx, 400), cx: 110.5, cy: 115.25 }],
      mask: areaPx === 0 ? null : `derived/masks/${key}.png`,
    };
  });
  const f: FindingResult = {
    model: { name: 'fundus-segmenter', version: '0.1.0' }, provider: 'cpu', laterality,
    image: { width: 1072, height: 712, fieldOfView: box },
    labels: [], grades: [], derived: [],
    positive: lesions.filter((l) => l.areaPx > 0).map((l) => ({ kind: 'lesion' as const, output: l.output, key: l.key, name: l.name, code: l.code })),
    lesions,
    measurements: [{
      name: 'cup_to_disc_ratio', kind: 'vertical', code: ref('cup-to-disc-ratio'), value: cdr,
      detail: cdr === null ? { ratio: null, discHeight: 0, cupHeight: 0 } : { ratio: cdr, discHeight: 120, cupHeight: Math.round(cdr * 120) },
    }],
  };
  return findingResultSchema.parse(f);
}

/** Header (attributes in DICOM JSON) of a committed fixture. */
export async function fixtureHeader(name: string): Promise<InstanceHeader & { path: string }> {
  const file = path.join(FIXTURES_DIR, name);
  return { ...(await readInstanceHeader(file, statSync(file).size)), path: file };
}
