// Connected components of a binary mask, labelled by runs: lesion masks are mostly empty, so working on the
// horizontal runs of 1s of each row (not on every pixel) keeps a 12-megapixel photograph to a few milliseconds.
// The manifest's `regions` step counts 8-connected components (two pixels that touch at a corner are one
// lesion); the cup-to-disc ratio uses 4-connectivity, as the training recipe's metrics.py does.

export type Connectivity = 4 | 8;

export interface Component {
  /** Pixels in the component. */
  area: number;
  /** Bounding box, inclusive, in mask pixels. */
  x0: number; y0: number; x1: number; y1: number;
  /** Centroid (mean pixel position). */
  cx: number; cy: number;
}

/** A run of 1s in one row: columns start..end inclusive. */
interface Run { y: number; start: number; end: number; label: number }

export interface Labelling {
  components: Component[];
  /** Every run with its component's index into `components`. */
  runs: ReadonlyArray<Readonly<Run>>;
}

/** Runs of nonzero pixels, row by row, limited to the box [x0, x1] x [y0, y1] when given (the field of view). */
function findRuns(mask: Uint8Array, width: number, height: number, box?: { x0: number; y0: number; x1: number; y1: number }): Run[] {
  const runs: Run[] = [];
  const bx0 = Math.max(0, box?.x0 ?? 0);
  const bx1 = Math.min(width - 1, box?.x1 ?? width - 1);
  const by0 = Math.max(0, box?.y0 ?? 0);
  const by1 = Math.min(height - 1, box?.y1 ?? height - 1);
  for (let y = by0; y <= by1; y++) {
    const row = y * width;
    let x = bx0;
    while (x <= bx1) {
      if (mask[row + x] === 0) { x++; continue; }
      const start = x;
      while (x <= bx1 && mask[row + x] !== 0) x++;
      runs.push({ y, start, end: x - 1, label: -1 });
    }
  }
  return runs;
}

/** Labels the components of `mask` (nonzero = inside). Components come largest first. */
export function labelComponents(
  mask: Uint8Array, width: number, height: number, connectivity: Connectivity = 8,
  box?: { x0: number; y0: number; x1: number; y1: number },
): Labelling {
  if (mask.length !== width * height) throw new Error(`mask holds ${mask.length} pixels, expected ${width} x ${height}`);
  const runs = findRuns(mask, width, height, box);
  const parent = runs.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) { parent[i] = parent[parent[i]!]!; i = parent[i]!; }
    return i;
  };
  const reach = connectivity === 8 ? 1 : 0; // 8-connected runs also touch diagonally
  // Runs are ordered by row then column: walk the previous row's runs alongside the current row's.
  let prevStart = 0; let prevEnd = 0; let i = 0;
  while (i < runs.length) {
    const y = runs[i]!.y;
    let rowEnd = i;
    while (rowEnd < runs.length && runs[rowEnd]!.y === y) rowEnd++;
    const hasPrev = prevEnd > prevStart && runs[prevStart]!.y === y - 1;
    if (hasPrev) {
      let p = prevStart;
      for (let c = i; c < rowEnd; c++) {
        const cur = runs[c]!;
        while (p < prevEnd && runs[p]!.end + reach < cur.start) p++;
        for (let q = p; q < prevEnd && runs[q]!.start <= cur.end + reach; q++) {
          const a = find(c); const b = find(q);
          if (a !== b) parent[Math.max(a, b)] = Math.min(a, b);
        }
      }
    }
    prevStart = i; prevEnd = rowEnd; i = rowEnd;
  }
  const index = new Map<number, number>();
  const acc: Array<{ area: number; x0: number; y0: number; x1: number; y1: number; sx: number; sy: number }> = [];
  for (let r = 0; r < runs.length; r++) {
    const run = runs[r]!;
    const root = find(r);
    let k = index.get(root);
    if (k === undefined) {
      k = acc.length;
      index.set(root, k);
      acc.push({ area: 0, x0: run.start, y0: run.y, x1: run.end, y1: run.y, sx: 0, sy: 0 });
    }
    const a = acc[k]!;
    const n = run.end - run.start + 1;
    a.area += n;
    a.sx += ((run.start + run.end) / 2) * n;
    a.sy += run.y * n;
    if (run.start < a.x0) a.x0 = run.start;
    if (run.end > a.x1) a.x1 = run.end;
    if (run.y > a.y1) a.y1 = run.y;
    run.label = k;
  }
  // Largest first; equal areas in raster order of their first pixel (acc is built in that order), as
  // metrics.py's largest_component keeps the first of equals.
  const order = acc.map((_, k) => k).sort((p, q) => acc[q]!.area - acc[p]!.area || p - q);
  const rank = new Map(order.map((k, r) => [k, r]));
  for (const run of runs) run.label = rank.get(run.label)!;
  const components = order.map((k) => {
    const a = acc[k]!;
    return { area: a.area, x0: a.x0, y0: a.y0, x1: a.x1, y1: a.y1, cx: a.sx / a.area, cy: a.sy / a.area };
  });
  return { components, runs };
}

/** The pixels of one labelled component as a mask of the full size. */
export function componentMask(l: Labelling, label: number, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height);
  for (const run of l.runs) if (run.label === label) out.fill(1, run.y * width + run.start, run.y * width + run.end + 1);
  return out;
}
