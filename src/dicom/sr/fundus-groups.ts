// One model's findings on one photograph (FindingResult) as TID 1500 measurement groups, one group per tracked
// finding, each with its own Tracking UID so that a later report can say "the same haemorrhage finding of this
// eye" (TID 4108):
//   - a label (e.g. diabetic retinopathy) or a derived score (referable DR): TID 1501 with Finding = its code,
//     NUM Probability, NUM Threshold Value and CODE <finding> = Present/Absent (the model's decision);
//   - a grade output (DR grade, DME risk): TID 1501 with CODE Severity = the predicted grade and one NUM
//     Probability per grade, post-coordinated by HAS CONCEPT MOD Severity = that grade (TID 300 allows such
//     modifiers of the measurement concept);
//   - a measurement (vertical cup-to-disc ratio): TID 1501 with Finding = the structure and its NUM;
//   - a mask channel (MA, HE, EX, SE, OD, cup): TID 1410 with the SEG segment as ROI when the channel has pixels,
//     TID 1501 without ROI when it has none (see tid1410.ts); CODE <finding> = Present/Absent, NUM Area in pixels,
//     in mm2 when the pixel spacing is known, and NUM Number of lesions (8-connected components) for lesions.
import { resolveCodeRef } from '../../report/codes.js';
import { codedEntryOf, type CodedEntry } from '../common/coded-entry.js';
import type { FindingResult } from '../../inference/finding-result.js';
import { code, num, type ContainerItem, type ContentItem, type ImageRef } from './content-items.js';
import { MEASUREMENT_FAILURE, UNIT_MM2, UNIT_NONE, UNIT_PIXELS, UNIT_RATIO, mapped, resolve } from './codes.js';
import { measurementGroup, type GroupContext } from './tid1501.js';
import { planarRoiGroup } from './tid1410.js';
import { deriveUid } from '../uid.js';

export class MeasurementReportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MeasurementReportError';
  }
}

/** What the groups of one photograph share. */
export interface ImageContext {
  /** "image 2 (2.25.123…, frame 1)", for messages. */
  label: string;
  /** 1-based position of the image in the report, for Tracking Identifiers. */
  number: number;
  source: ImageRef;
  laterality: 'R' | 'L' | null;
  pixelSpacingMm: [number, number] | null;
  seg?: { ref: Omit<ImageRef, 'segments' | 'frames'>; segmentNumberOfKey: Record<string, number> };
}

/** Measurements OphGate knows how to report: the unit of the value and the structure it measures. */
const MEASUREMENTS: Readonly<Record<string, { unit: CodedEntry; finding?: string }>> = {
  cup_to_disc_ratio: { unit: UNIT_RATIO, finding: 'optic-disc' },
};

/** Mask channels that are anatomical structures, not lesions: no "Number of lesions" for them. */
const ANATOMY_KEYS = new Set(['optic-disc', 'optic-cup']);

const NAMESPACE = 'ophgate-sr-tracking';

/** A code reference of the findings, resolved; the error names where the reference came from. */
function codeOf(ref: string, where: string): { entry: CodedEntry; key: string } {
  try {
    const r = resolveCodeRef(ref);
    return { entry: codedEntryOf(r), key: r.key };
  } catch (err) {
    throw new MeasurementReportError(`${where}: ${(err as Error).message}`);
  }
}

const eye = (l: 'R' | 'L' | null) => (l === 'R' ? 'right eye' : l === 'L' ? 'left eye' : 'eye not known');

export function groupsForFinding(img: ImageContext, f: FindingResult): ContainerItem[] {
  const model = f.model;
  const where = `${img.label}, model ${model.name} ${model.version}`;
  const ctx = (kind: string, id: string, name: string, finding?: CodedEntry): GroupContext => ({
    trackingId: `${name}, ${eye(img.laterality)}, image ${img.number} (${model.name})`,
    // Not the model version: the finding tracked is the same when an upgraded model re-reads the photograph.
    trackingUid: deriveUid('2.25', ...[NAMESPACE, img.source.sopInstanceUid, img.source.frames?.[0] ?? 0, model.name, kind, id].map(String)),
    ...(finding ? { finding } : {}),
    laterality: img.laterality,
    algorithm: model,
    source: img.source,
  });
  const decision = (finding: CodedEntry, positive: boolean | undefined, p: number, threshold: number | undefined): ContentItem[] => {
    const out: ContentItem[] = [num('CONTAINS', mapped.probability(), p, UNIT_NONE)];
    if (threshold !== undefined) out.push(num('CONTAINS', mapped.threshold(), threshold, UNIT_NONE));
    const isPositive = positive ?? (threshold !== undefined ? p >= threshold : undefined);
    if (isPositive !== undefined) out.push(code('CONTAINS', finding, isPositive ? mapped.present() : mapped.absent()));
    return out;
  };

  const groups: ContainerItem[] = [];
  for (const l of f.labels) {
    const { entry } = codeOf(l.code, `${where}, label ${l.key}`);
    groups.push(measurementGroup(ctx('label', `${l.output}/${l.key}`, l.name, entry), decision(entry, l.positive, l.probability, l.threshold)));
  }
  for (const d of f.derived) {
    const { entry } = codeOf(d.code, `${where}, derived score ${d.name}`);
    groups.push(measurementGroup(ctx('derived', d.name, entry.meaning, entry), decision(entry, d.positive, d.probability, d.threshold)));
  }
  for (const g of f.grades) {
    const severity = mapped.severity();
    const predicted = codeOf(g.predicted.code, `${where}, grade ${g.output}`).entry;
    const content: ContentItem[] = [code('CONTAINS', severity, predicted)];
    for (const p of g.probabilities) {
      const grade = codeOf(p.code, `${where}, grade ${g.output} class ${p.key}`).entry;
      content.push(num('CONTAINS', mapped.probability(), p.probability, UNIT_NONE, { children: [code('HAS CONCEPT MOD', severity, grade)] }));
    }
    groups.push(measurementGroup(ctx('grade', g.output, g.output.replace(/_/g, ' ')), content));
  }
  for (const m of f.measurements) {
    const spec = Object.hasOwn(MEASUREMENTS, m.name) ? MEASUREMENTS[m.name] : undefined;
    if (!spec) throw new MeasurementReportError(`${where}: measurement "${m.name}" has no known unit; add it to MEASUREMENTS in fundus-groups.ts`);
    if (!m.code) throw new MeasurementReportError(`${where}: measurement "${m.name}" has no code reference`);
    const concept = codeOf(m.code, `${where}, measurement ${m.name}`).entry;
    const value = m.value === null
      ? num('CONTAINS', concept, null, spec.unit, { qualifier: MEASUREMENT_FAILURE })
      : num('CONTAINS', concept, m.value, spec.unit);
    groups.push(measurementGroup(ctx('measurement', `${m.name}/${m.kind}`, m.name.replace(/_/g, ' '), spec.finding ? resolve(spec.finding) : undefined), [value]));
  }
  for (const les of f.lesions) {
    const { entry, key } = codeOf(les.code, `${where}, lesion ${les.key}`);
    const content: ContentItem[] = [
      code('CONTAINS', entry, les.areaPx > 0 ? mapped.present() : mapped.absent()),
      num('CONTAINS', mapped.area(), les.areaPx, UNIT_PIXELS),
    ];
    if (img.pixelSpacingMm) {
      const [row, column] = img.pixelSpacingMm;
      content.push(num('CONTAINS', mapped.area(), les.areaPx * row * column, UNIT_MM2));
    }
    if (!ANATOMY_KEYS.has(key) && les.components !== null) content.push(num('CONTAINS', mapped.lesionCount(), les.components, UNIT_NONE));
    const c = ctx('lesion', `${les.output}/${les.key}`, les.name, entry);
    const segment = img.seg?.segmentNumberOfKey[les.key];
    if (les.areaPx > 0 && img.seg && segment !== undefined) {
      groups.push(planarRoiGroup(c, { ...img.seg.ref, segments: [segment] }, content));
    } else {
      groups.push(measurementGroup(c, content));
    }
  }
  return groups;
}
