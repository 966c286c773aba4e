// Vertical cup-to-disc ratio from the disc and cup masks, defined exactly as the training recipe's
// evaluation (models/train/metrics.py, vertical_cdr) so the gateway reports what the model card measured:
// the largest 4-connected disc component; the largest 4-connected cup component inside it; the ratio of their
// heights in rows. No disc: no ratio (null). A disc without a cup: 0.
import { componentMask, labelComponents } from './components.js';

export interface CupToDisc {
  /** Vertical CDR, or null when no disc was found. */
  ratio: number | null;
  discHeight: number;
  cupHeight: number;
  /** Bounding boxes (inclusive, source pixels) of the components the ratio used. */
  disc?: { x0: number; y0: number; x1: number; y1: number };
  cup?: { x0: number; y0: number; x1: number; y1: number };
}

export function verticalCupToDisc(disc: Uint8Array, cup: Uint8Array, width: number, height: number): CupToDisc {
  const discs = labelComponents(disc, width, height, 4);
  const d = discs.components[0];
  if (!d) return { ratio: null, discHeight: 0, cupHeight: 0 };
  const box = { x0: d.x0, y0: d.y0, x1: d.x1, y1: d.y1 };
  const inDisc = componentMask(discs, 0, width, height);
  // Only the disc's box can hold cup pixels inside the disc.
  for (let y = box.y0; y <= box.y1; y++) {
    const row = y * width;
    for (let x = box.x0; x <= box.x1; x++) inDisc[row + x] = inDisc[row + x]! & (cup[row + x] !== 0 ? 1 : 0);
  }
  const c = labelComponents(inDisc, width, height, 4, box).components[0];
  const discHeight = d.y1 - d.y0 + 1;
  if (!c) return { ratio: 0, discHeight, cupHeight: 0, disc: box };
  const cupHeight = c.y1 - c.y0 + 1;
  return { ratio: cupHeight / discHeight, discHeight, cupHeight, disc: box, cup: { x0: c.x0, y0: c.y0, x1: c.x1, y1: c.y1 } };
}
