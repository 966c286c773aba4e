// TID 1501 Measurement and Qualitative Evaluation Group, and the rows it shares with TID 1410 Planar ROI
// Measurements and Qualitative Evaluations: TID 4108 Tracking Identifier, Finding, Finding Site with Laterality,
// and TID 4019 Algorithm Identification. Row order follows the templates (tracking, finding, finding site,
// algorithm, image references, then measurements and qualitative evaluations).
import type { CodedEntry } from '../common/coded-entry.js';
import { code, container, image, text, uidref, type ContainerItem, type ContentItem, type ImageRef } from './content-items.js';
import {
  ALGORITHM_NAME, ALGORITHM_VERSION, FINDING, FINDING_SITE, LATERALITY, MEASUREMENT_GROUP, SOURCE, TRACKING_IDENTIFIER,
  TRACKING_UID, mapped,
} from './codes.js';

export interface GroupContext {
  /** Human-readable Tracking Identifier (TID 4108 row 1). */
  trackingId: string;
  /** Tracking Unique Identifier (TID 4108 row 2): the same finding keeps it across reports. */
  trackingUid: string;
  /** The Finding row: what the group is about (a disorder, lesion or structure). */
  finding?: CodedEntry;
  /** Image Laterality of the photograph: the Finding Site is the retina of that eye. */
  laterality: 'R' | 'L' | null;
  /** The model that produced the group's content. */
  algorithm: { name: string; version: string };
  /** The photograph (and frame) the group's content was derived from. */
  source: ImageRef;
}

/** Rows common to TID 1501 and TID 1410 up to (not including) the ROI and image references. */
export function groupHeader(ctx: GroupContext): ContentItem[] {
  const items: ContentItem[] = [
    text('HAS OBS CONTEXT', TRACKING_IDENTIFIER, ctx.trackingId),
    uidref('HAS OBS CONTEXT', TRACKING_UID, ctx.trackingUid),
  ];
  if (ctx.finding) items.push(code('CONTAINS', FINDING, ctx.finding));
  items.push(findingSite(ctx.laterality));
  // TID 4019, included as HAS CONCEPT MOD: the algorithm that made every measurement of the group.
  items.push(text('HAS CONCEPT MOD', ALGORITHM_NAME, ctx.algorithm.name));
  items.push(text('HAS CONCEPT MOD', ALGORITHM_VERSION, ctx.algorithm.version));
  return items;
}

/** Finding Site = retina, post-coordinated with Laterality (TID 1501 rows 6-7) when the eye is known. */
export function findingSite(laterality: 'R' | 'L' | null): ContentItem {
  const side = laterality === 'R' ? mapped.right() : laterality === 'L' ? mapped.left() : undefined;
  return code('HAS CONCEPT MOD', FINDING_SITE, mapped.retina(), side ? [code('HAS CONCEPT MOD', LATERALITY, side)] : []);
}

/** A TID 1501 group: header, the source photograph (CONTAINS IMAGE "Source"), then `content`. */
export function measurementGroup(ctx: GroupContext, content: ContentItem[]): ContainerItem {
  return container('CONTAINS', MEASUREMENT_GROUP, [...groupHeader(ctx), image('CONTAINS', SOURCE, ctx.source), ...content], '1501');
}
