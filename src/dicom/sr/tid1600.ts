// TID 1600 Image Library: every image the measurements were made on or refer to (the photographs and their
// Segmentations), each a TID 1601 entry (an IMAGE without concept name) with TID 1602 descriptors as HAS ACQ
// CONTEXT, so that a reader knows the modality and eye without retrieving the images.
import type { CodedEntry } from '../common/coded-entry.js';
import { code, container, image, type ContainerItem, type ContentItem, type ImageRef } from './content-items.js';
import { IMAGE_LATERALITY, IMAGE_LIBRARY, IMAGE_LIBRARY_GROUP, MODALITY } from './codes.js';

export interface LibraryEntry {
  ref: ImageRef;
  /** TID 1602 row 1 value (CID 29/33), when known. */
  modality?: CodedEntry;
  /** TID 1602 Image Laterality value (CID 244 Right/Left), when known. */
  laterality?: CodedEntry;
}

/** TID 1600 row 1 (container) and row 2 (one Image Library Group holding every entry). */
export function imageLibrary(entries: LibraryEntry[]): ContainerItem {
  const items: ContentItem[] = entries.map((e) => {
    const descriptors: ContentItem[] = [];
    if (e.modality) descriptors.push(code('HAS ACQ CONTEXT', MODALITY, e.modality));
    if (e.laterality) descriptors.push(code('HAS ACQ CONTEXT', IMAGE_LATERALITY, e.laterality));
    return image('CONTAINS', undefined, e.ref, descriptors);
  });
  return container('CONTAINS', IMAGE_LIBRARY, [container('CONTAINS', IMAGE_LIBRARY_GROUP, items)], '1600');
}
