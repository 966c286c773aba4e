// Which segments a SEG gets from one model's findings on one image, and how each is described.
//
// Policy for lesion types the model did not find: the segment is OMITTED. A segment in a viewer's list reads as
// "here is a haemorrhage"; an empty one invites a reader to look for what is not there, and some viewers list it
// with a colour but draw nothing, which looks like a rendering fault. Absence is still recorded, explicitly: the
// SR (TID 1500) carries a measurement group for every lesion type the model looked for, with area 0 and no
// segment reference. When no channel has pixels at all, no SEG is written for that image (a SEG needs at least
// one segment and one frame); the SR alone says so.
//
// Categories: anatomy (optic disc, optic cup) is "Anatomical Structure", everything else "Morphologically
// Abnormal Structure" (PS3.16 CID 7150); the type is the channel's own code from mappings/.
import { codedEntryOf, codedEntryOfRef, type CodedEntry } from '../dicom/common/coded-entry.js';
import { srgbToDicomLab } from '../dicom/common/cielab.js';
import type { SegmentInput } from '../dicom/seg/segmentation.js';
import type { FindingResult } from '../inference/finding-result.js';
import { resolveCodeRef } from './codes.js';

const FINDINGS = 'mappings/fundus-findings.json';
const ANATOMY = new Set([`${FINDINGS}#optic-disc`, `${FINDINGS}#optic-cup`]);

/** Display colours (sRGB), chosen to read apart on a fundus photograph's orange-red background. */
const COLOURS: Record<string, [number, number, number]> = {
  [`${FINDINGS}#microaneurysm`]: [255, 0, 255],
  [`${FINDINGS}#haemorrhage`]: [0, 90, 255],
  [`${FINDINGS}#hard-exudate`]: [255, 255, 0],
  [`${FINDINGS}#soft-exudate`]: [0, 255, 255],
  [`${FINDINGS}#optic-disc`]: [0, 255, 0],
  [`${FINDINGS}#optic-cup`]: [255, 255, 255],
};
const OTHER_COLOUR: [number, number, number] = [255, 128, 0];

export interface PlannedSegment {
  /** The channel key in the findings (e.g. "HE"), by which the SR refers to the segment. */
  key: string;
  /** Path of the channel's mask PNG under the data directory. */
  mask: string;
  describe(mask: Uint8Array): SegmentInput;
}

function lateralityModifier(laterality: string | null): CodedEntry | undefined {
  if (laterality === 'R') return codedEntryOfRef(`${FINDINGS}#laterality-right`);
  if (laterality === 'L') return codedEntryOfRef(`${FINDINGS}#laterality-left`);
  return undefined;
}

/** The segments to write for one segmenter finding, in channel order; lesion types with no pixels are omitted. */
export function plannedSegments(finding: FindingResult): PlannedSegment[] {
  const out: PlannedSegment[] = [];
  for (const lesion of finding.lesions) {
    if (lesion.areaPx <= 0 || !lesion.mask) continue;
    const type = codedEntryOf(resolveCodeRef(lesion.code));
    const anatomy = ANATOMY.has(lesion.code);
    const category = codedEntryOfRef(`${FINDINGS}#${anatomy ? 'seg-category-anatomical-structure' : 'seg-category-abnormal-structure'}`);
    const modifier = lateralityModifier(finding.laterality);
    out.push({
      key: lesion.key,
      mask: lesion.mask,
      describe: (mask) => ({
        label: lesion.name.charAt(0).toUpperCase() + lesion.name.slice(1),
        description: `${finding.model.name} ${finding.model.version}, channel ${lesion.key}, probability >= ${lesion.threshold}`,
        category, type,
        anatomicRegion: codedEntryOfRef(`${FINDINGS}#retina`),
        ...(modifier ? { anatomicRegionModifier: modifier } : {}),
        colourLab: srgbToDicomLab(COLOURS[lesion.code] ?? OTHER_COLOUR),
        mask,
      }),
    });
  }
  return out;
}
