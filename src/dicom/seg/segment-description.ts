// One item of the Segment Sequence (0062,0002): the Segment Description Macro (PS3.3 Table C.8.20-4) with the
// Algorithm Identification Macro (PS3.3 Table 10-19) in its Segmentation Algorithm Identification Sequence.
import { codeItem, type CodedEntry } from '../common/coded-entry.js';

export interface SegmentDescriptionInput {
  label: string;
  category: CodedEntry;
  type: CodedEntry;
  anatomicRegion?: CodedEntry;
  anatomicRegionModifier?: CodedEntry;
  colourLab: readonly [number, number, number];
  description?: string;
}

export interface AlgorithmIdentification {
  name: string;
  version: string;
  family: CodedEntry;
}

/** Naturalized Segment Sequence item for an automatic (model-made) segment numbered `segmentNumber`. */
export function segmentDescriptionItem(segmentNumber: number, seg: SegmentDescriptionInput, algorithm: AlgorithmIdentification): Record<string, unknown> {
  const item: Record<string, unknown> = {
    SegmentNumber: segmentNumber,
    SegmentLabel: seg.label,
    ...(seg.description ? { SegmentDescription: seg.description } : {}),
    // Type 1, one item each.
    SegmentedPropertyCategoryCodeSequence: [codeItem(seg.category)],
    SegmentedPropertyTypeCodeSequence: [codeItem(seg.type)],
    SegmentAlgorithmType: 'AUTOMATIC',
    // Type 1C: required when the algorithm type is not MANUAL.
    SegmentAlgorithmName: algorithm.name,
    SegmentationAlgorithmIdentificationSequence: [{
      AlgorithmFamilyCodeSequence: [codeItem(algorithm.family)],
      AlgorithmName: algorithm.name,
      AlgorithmVersion: algorithm.version,
    }],
    RecommendedDisplayCIELabValue: [...seg.colourLab],
  };
  if (seg.anatomicRegion) {
    // The modifier (e.g. laterality) qualifies the region, so it nests inside the region's item.
    const region: Record<string, unknown> = codeItem(seg.anatomicRegion);
    if (seg.anatomicRegionModifier) region.AnatomicRegionModifierSequence = [codeItem(seg.anatomicRegionModifier)];
    item.AnatomicRegionSequence = [region];
  }
  return item;
}

/** Every code a segment uses (for the Coding Scheme Identification Sequence). */
export function segmentCodes(seg: SegmentDescriptionInput, algorithm: AlgorithmIdentification): CodedEntry[] {
  return [seg.category, seg.type, algorithm.family, ...(seg.anatomicRegion ? [seg.anatomicRegion] : []),
    ...(seg.anatomicRegion && seg.anatomicRegionModifier ? [seg.anatomicRegionModifier] : [])];
}
