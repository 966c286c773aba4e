// The manifest's post-processing steps that measure the masks (`regions`, `cup_to_disc_ratio`). They run where
// the model runs (the inference worker in the gateway), so a 12-megapixel photograph's masks are measured off
// the event loop. `to_source` itself happens in interpret() (model-registry.ts) when the masks are made.
import type { Manifest } from '../manifest.js';
import type { Geometry } from '../preprocess.js';
import { labelComponents, type Component } from './components.js';
import { verticalCupToDisc, type CupToDisc } from './cup-to-disc.js';

/** Components kept per channel (largest first): enough for a report and an SR, bounded for the store. */
export const MAX_COMPONENTS_LISTED = 100;

export interface Regions {
  /** Number of 8-connected components. */
  count: number;
  /** The largest components (at most MAX_COMPONENTS_LISTED), largest first. */
  components: Component[];
}

export interface Measurement {
  name: 'cup_to_disc_ratio';
  kind: 'vertical';
  code?: string;
  /** The ratio, or null when the disc was not found. */
  value: number | null;
  detail: CupToDisc;
}

interface MaskChannelLike { key: string; mask: Uint8Array; regions?: Regions }
interface MaskOutputLike { kind: string; width?: number; height?: number; channels?: MaskChannelLike[] }

export function applyPostprocessing(m: Manifest, outputs: Record<string, MaskOutputLike>, g: Geometry): Measurement[] {
  const measurements: Measurement[] = [];
  const maskOutputs = Object.values(outputs).filter((o) => o.kind === 'masks');
  // Masks are zero outside the field-of-view box (to_source places the model's view there), so scan only it.
  const box = { x0: g.box.x0, y0: g.box.y0, x1: g.box.x1 - 1, y1: g.box.y1 - 1 };
  for (const step of m.postprocessing) {
    if (step.op === 'regions') {
      for (const o of maskOutputs) {
        for (const c of o.channels ?? []) {
          const { components } = labelComponents(c.mask, o.width!, o.height!, 8, box);
          c.regions = { count: components.length, components: components.slice(0, MAX_COMPONENTS_LISTED) };
        }
      }
    } else if (step.op === 'cup_to_disc_ratio') {
      for (const o of maskOutputs) {
        const disc = o.channels?.find((c) => c.key === step.disc_channel);
        const cup = o.channels?.find((c) => c.key === step.cup_channel);
        if (!disc || !cup) continue;
        const detail = verticalCupToDisc(disc.mask, cup.mask, o.width!, o.height!);
        measurements.push({ name: 'cup_to_disc_ratio', kind: step.kind, ...(step.code ? { code: step.code } : {}), value: detail.ratio, detail });
      }
    }
  }
  return measurements;
}
