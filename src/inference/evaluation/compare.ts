// Compares the TypeScript evaluation with a model card's metrics.json (models/train/evaluate.py): every point
// estimate evaluate.py writes under "thresholds", "data" and "test" ({value, ci95} blocks by their value, the
// bootstrap intervals left out), metric by metric. Counts of images, eyes and positives depend on the records only
// and must be equal; confusion-matrix cells are compared as shares of their matrix's images; every other number
// must be within the tolerance. A number on one side only is a failure (a metric not computed, or a block the
// other side does not have: a different subset of the data).

export interface ComparisonRow {
  metric: string;
  card: number | null;
  ts: number | null;
  /** ts - card (for confusion cells, in images). */
  diff: number | null;
  ok: boolean;
  kind: 'estimate' | 'count' | 'confusion';
  note?: string;
}

const SKIP = new Set(['per_image', 'method', 'name', 'chosen_on', 'ci95', 'n_boot', 'skipped', 'clusters']);
const COUNTS = new Set([
  'positives', 'negatives', 'images', 'eyes', 'images_with_lesion', 'images_with_prediction', 'n', 'odir_eyes',
  'odir_patient_groups', 'idrid_images', 'idrid_official_test_images',
]);
const BLOCKS = ['thresholds', 'data', 'test'];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isEstimate = (v: unknown): v is { value: number | null } => isObj(v) && 'value' in v && 'ci95' in v;
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Numeric leaves of a metrics tree: path -> value (null for NaN / null), confusion matrices kept whole. */
function leaves(tree: unknown, prefix: string, out: Map<string, unknown>): void {
  if (isEstimate(tree)) return void out.set(prefix, num(tree.value));
  if (Array.isArray(tree)) {
    if (tree.every(Array.isArray)) out.set(prefix, tree);
    return;
  }
  if (!isObj(tree)) {
    if (typeof tree === 'number' || tree === null) out.set(prefix, num(tree));
    return;
  }
  for (const [k, v] of Object.entries(tree)) {
    if (SKIP.has(k) || typeof v === 'string' || typeof v === 'boolean') continue;
    leaves(v, prefix ? `${prefix}.${k}` : k, out);
  }
}

export function compareMetrics(card: Json | Record<string, unknown>, ts: Record<string, unknown>, tolerance: number): ComparisonRow[] {
  const a = new Map<string, unknown>();
  const b = new Map<string, unknown>();
  for (const block of BLOCKS) {
    if (isObj(card) && block in card) leaves(card[block], block, a);
    if (block in ts) leaves(ts[block], block, b);
  }
  const rows: ComparisonRow[] = [];
  for (const [metric, cv] of a) {
    const key = metric.slice(metric.lastIndexOf('.') + 1);
    if (!b.has(metric)) {
      rows.push({ metric, card: num(cv), ts: null, diff: null, ok: false, kind: 'estimate', note: 'not computed by the TypeScript evaluation' });
      continue;
    }
    const tv = b.get(metric);
    if (Array.isArray(cv)) {
      const cm = cv as number[][];
      const tm = tv as number[][];
      const total = cm.flat().reduce((s, x) => s + x, 0);
      cm.forEach((row, i) => row.forEach((c, j) => {
        const t = tm?.[i]?.[j] ?? null;
        const diff = t === null ? null : t - c;
        rows.push({
          metric: `${metric}[${i}][${j}]`, card: c, ts: t, diff, kind: 'confusion',
          ok: diff !== null && (total === 0 ? diff === 0 : Math.abs(diff) / total <= tolerance + 1e-12),
        });
      }));
      continue;
    }
    const c = num(cv);
    const t = num(tv);
    const kind = COUNTS.has(key) ? 'count' : 'estimate';
    if (c === null || t === null) {
      rows.push({ metric, card: c, ts: t, diff: null, kind, ok: c === null && t === null, ...(c === null && t === null ? { note: 'undefined on this split (NaN) on both sides' } : {}) });
      continue;
    }
    const diff = t - c;
    rows.push({ metric, card: c, ts: t, diff, kind, ok: kind === 'count' ? diff === 0 : Math.abs(diff) <= tolerance + 1e-12 });
  }
  for (const [metric, tv] of b) {
    if (a.has(metric)) continue;
    rows.push({ metric, card: null, ts: num(tv), diff: null, ok: false, kind: 'estimate', note: 'not in the model card (a different subset of the data?)' });
  }
  return rows;
}
