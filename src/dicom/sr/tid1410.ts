// TID 1410 Planar ROI Measurements and Qualitative Evaluations, with the ROI given as a frame of a Segmentation.
//
// Why TID 1410 and not TID 1411: a fundus photograph is one 2D image without a Frame of Reference, and OphGate's
// SEG for it has the photograph's own pixel grid (PS3.3 A.51: without a Frame of Reference each segmentation
// pixel corresponds to a pixel of the referenced image), one frame per segment. TID 1410 is the template for a
// region in one plane, and its ROI may be a "Referenced Segmentation Frame" (121214) with the "Source image for
// segmentation" (121233). TID 1411 (Volumetric ROI) describes a volume: its "Referenced Segment" (121191) stands for
// all frames of a segment across slices and it requires a "Source series for segmentation", neither of which
// fits a single photograph. The frame is referenced by its segment: the Image Reference Macro (PS3.3 Table
// 10-3) forbids Referenced Segment Number together with Referenced Frame Number, and in a SEG of one photograph
// each segment is exactly one frame, so the segment number names the frame. A lesion with no pixels has no region at all, so it is reported by TID 1501 instead
// (the same rows without an ROI), never by a TID 1410 group pointing at an empty segment.
import { container, image, type ContainerItem, type ContentItem, type ImageRef } from './content-items.js';
import { MEASUREMENT_GROUP, REFERENCED_SEGMENTATION_FRAME, SOURCE_IMAGE_FOR_SEGMENTATION } from './codes.js';
import { groupHeader, type GroupContext } from './tid1501.js';

/** `segment`: the SEG instance with exactly one Referenced Segment Number. */
export function planarRoiGroup(ctx: GroupContext, segment: ImageRef, content: ContentItem[]): ContainerItem {
  if (segment.segments?.length !== 1 || segment.frames?.length) throw new Error(`TID 1410 "${ctx.trackingId}": the ROI is exactly one segment, referenced by segment number`);
  return container('CONTAINS', MEASUREMENT_GROUP, [
    ...groupHeader(ctx),
    image('CONTAINS', REFERENCED_SEGMENTATION_FRAME, segment),
    image('CONTAINS', SOURCE_IMAGE_FOR_SEGMENTATION, ctx.source),
    ...content,
  ], '1410');
}
