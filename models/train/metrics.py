"""Metrics (NumPy only): ROC AUC, ROC and precision-recall curves, average precision, quadratic-weighted kappa,
sensitivity / specificity, Dice / IoU, binned pixel-level precision-recall, cup-to-disc ratio, and a cluster
bootstrap for 95% confidence intervals.

Conventions
-----------
- AUC is the Mann-Whitney probability that a random positive scores above a random negative (ties count half).
- Average precision (AUPR) is the step sum over descending thresholds of (R_k - R_{k-1}) * P_k, i.e. the area under
  the precision-recall curve without interpolation (the usual "average precision").
- Pixel-level curves quantise probabilities into PIXEL_BINS equal bins and accumulate positive / negative pixel
  counts per bin per image; pooled curves over a set of images are sums of those histograms, which makes the
  image-level bootstrap of a pooled AUPR cheap.
- Bootstrap: resample clusters (ODIR patient groups, IDRiD identities) with replacement, recompute the metric on
  the pooled resample, take the 2.5th and 97.5th percentiles. Resamples where the metric is undefined (e.g. only
  one class drawn) are skipped and counted.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

PIXEL_BINS = 1000


def roc_auc(y: np.ndarray, s: np.ndarray) -> float:
    y = np.asarray(y).astype(bool)
    s = np.asarray(s, dtype=np.float64)
    npos, nneg = int(y.sum()), int((~y).sum())
    if npos == 0 or nneg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ss = s[order]
    _, first, counts = np.unique(ss, return_index=True, return_counts=True)
    ranks = np.empty(len(s), dtype=np.float64)
    ranks[order] = np.repeat(first + (counts - 1) / 2.0 + 1.0, counts)  # average rank within ties
    return float((ranks[y].sum() - npos * (npos + 1) / 2.0) / (npos * nneg))


def _desc_counts(y: np.ndarray, s: np.ndarray):
    """Cumulative TP / FP at each distinct threshold, thresholds descending."""
    y = np.asarray(y).astype(bool)
    s = np.asarray(s, dtype=np.float64)
    order = np.argsort(-s, kind="mergesort")
    ys, ss = y[order], s[order]
    distinct = np.where(np.diff(ss))[0]
    idx = np.r_[distinct, len(ss) - 1]
    tp = np.cumsum(ys)[idx]
    fp = np.cumsum(~ys)[idx]
    return tp.astype(np.float64), fp.astype(np.float64), ss[idx]


def roc_curve(y, s):
    tp, fp, thr = _desc_counts(y, s)
    P, N = tp[-1] if len(tp) else 0, fp[-1] if len(fp) else 0
    tpr = np.r_[0.0, tp / P] if P else np.r_[0.0, np.zeros_like(tp)]
    fpr = np.r_[0.0, fp / N] if N else np.r_[0.0, np.zeros_like(fp)]
    return fpr, tpr, np.r_[np.inf, thr]


def pr_from_counts(tp: np.ndarray, fp: np.ndarray):
    P = tp[-1] if len(tp) else 0.0
    if P == 0:
        return np.array([1.0]), np.array([0.0]), float("nan")
    precision = tp / np.maximum(tp + fp, 1e-12)
    recall = tp / P
    ap = float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
    return np.r_[1.0, precision], np.r_[0.0, recall], ap


def pr_curve(y, s):
    tp, fp, thr = _desc_counts(y, s)
    precision, recall, ap = pr_from_counts(tp, fp)
    return precision, recall, ap


def average_precision(y, s) -> float:
    return pr_curve(y, s)[2]


def pixel_histograms(prob: np.ndarray, truth: np.ndarray, valid: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Positive and negative pixel counts per probability bin (bin b holds [b, b+1) / PIXEL_BINS, 1.0 -> last)."""
    b = np.minimum((prob.ravel() * PIXEL_BINS).astype(np.int64), PIXEL_BINS - 1)
    t = truth.ravel().astype(bool)
    if valid is not None:
        v = valid.ravel().astype(bool)
        b, t = b[v], t[v]
    pos = np.bincount(b[t], minlength=PIXEL_BINS)
    neg = np.bincount(b[~t], minlength=PIXEL_BINS)
    return pos.astype(np.float64), neg.astype(np.float64)


def aupr_from_histograms(pos: np.ndarray, neg: np.ndarray) -> float:
    tp = np.cumsum(pos[::-1])
    fp = np.cumsum(neg[::-1])
    keep = (pos[::-1] + neg[::-1]) > 0
    return pr_from_counts(tp[keep], fp[keep])[2]


def pr_curve_from_histograms(pos: np.ndarray, neg: np.ndarray):
    tp = np.cumsum(pos[::-1])
    fp = np.cumsum(neg[::-1])
    keep = (pos[::-1] + neg[::-1]) > 0
    return pr_from_counts(tp[keep], fp[keep])


def best_dice_threshold(pos: np.ndarray, neg: np.ndarray) -> tuple[float, float]:
    """Threshold (bin lower edge) maximising the pooled Dice, and that Dice."""
    tp = np.cumsum(pos[::-1])[::-1]          # predicted positive when prob >= bin edge
    fp = np.cumsum(neg[::-1])[::-1]
    P = pos.sum()
    dice = 2 * tp / np.maximum(tp + fp + P, 1e-12)
    b = int(np.argmax(dice))
    return b / PIXEL_BINS, float(dice[b])


def confusion(y_true: np.ndarray, y_pred: np.ndarray, k: int) -> np.ndarray:
    m = np.zeros((k, k), dtype=np.int64)
    np.add.at(m, (np.asarray(y_true, int), np.asarray(y_pred, int)), 1)
    return m


def quadratic_kappa(y_true, y_pred, k: int) -> float:
    y_true = np.asarray(y_true, int)
    y_pred = np.asarray(y_pred, int)
    if len(y_true) == 0:
        return float("nan")
    o = confusion(y_true, y_pred, k).astype(np.float64)
    w = np.array([[(i - j) ** 2 for j in range(k)] for i in range(k)], dtype=np.float64) / (k - 1) ** 2
    e = np.outer(o.sum(1), o.sum(0)) / o.sum()
    denom = (w * e).sum()
    if denom == 0:
        return float("nan")
    return float(1.0 - (w * o).sum() / denom)


def sens_spec(y, s, threshold: float) -> tuple[float, float]:
    y = np.asarray(y).astype(bool)
    pred = np.asarray(s) >= threshold
    sens = float((pred & y).sum() / y.sum()) if y.sum() else float("nan")
    spec = float((~pred & ~y).sum() / (~y).sum()) if (~y).sum() else float("nan")
    return sens, spec


def youden_threshold(y, s) -> float:
    """Threshold maximising sensitivity + specificity - 1 (ties: the higher threshold)."""
    fpr, tpr, thr = roc_curve(y, s)
    if len(thr) < 2:
        return 0.5
    j = tpr - fpr
    best = int(np.argmax(j[1:])) + 1
    return float(thr[best])


def dice_iou(pred: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    p = pred.astype(bool)
    t = truth.astype(bool)
    inter = float((p & t).sum())
    ps, ts = float(p.sum()), float(t.sum())
    if ps + ts == 0:
        return float("nan"), float("nan")  # nothing to find and nothing found: undefined, left out of means
    return 2 * inter / (ps + ts), inter / (ps + ts - inter)


def largest_component(mask: np.ndarray) -> np.ndarray:
    """Largest 4-connected component of a boolean mask (simple flood fill; masks here are small)."""
    m = mask.astype(bool)
    if not m.any():
        return m
    labels = np.zeros(m.shape, dtype=np.int32)
    best, best_size, cur = 0, 0, 0
    h, w = m.shape
    for y0, x0 in zip(*np.nonzero(m)):
        if labels[y0, x0]:
            continue
        cur += 1
        stack = [(y0, x0)]
        labels[y0, x0] = cur
        size = 0
        while stack:
            y, x = stack.pop()
            size += 1
            for yy, xx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                if 0 <= yy < h and 0 <= xx < w and m[yy, xx] and not labels[yy, xx]:
                    labels[yy, xx] = cur
                    stack.append((yy, xx))
        if size > best_size:
            best, best_size = cur, size
    return labels == best


def vertical_cdr(disc: np.ndarray, cup: np.ndarray) -> float:
    """Vertical cup-to-disc ratio: vertical extent of the cup / vertical extent of the disc (largest components;
    the cup is restricted to the disc)."""
    d = largest_component(disc)
    if not d.any():
        return float("nan")
    c = largest_component(cup & d)
    rows_d = np.nonzero(d.any(axis=1))[0]
    if not c.any():
        return 0.0
    rows_c = np.nonzero(c.any(axis=1))[0]
    return float((rows_c[-1] - rows_c[0] + 1) / (rows_d[-1] - rows_d[0] + 1))


def bootstrap_ci(metric: Callable[[np.ndarray], float], groups: Sequence, n_boot: int = 1000, seed: int = 3,
                 alpha: float = 0.05) -> dict:
    """metric(indices) -> float on the rows given by indices. Clusters are the distinct values of groups."""
    groups = np.asarray(groups)
    uniq, inv = np.unique(groups, return_inverse=True)
    members = [np.nonzero(inv == g)[0] for g in range(len(uniq))]
    rng = np.random.default_rng(seed)
    point = metric(np.arange(len(groups)))
    vals = []
    skipped = 0
    for _ in range(n_boot):
        pick = rng.integers(0, len(uniq), len(uniq))
        idx = np.concatenate([members[g] for g in pick]) if len(pick) else np.array([], int)
        v = metric(idx)
        if v is None or not np.isfinite(v):
            skipped += 1
            continue
        vals.append(v)
    if not vals:
        return {"value": point, "ci95": [float("nan"), float("nan")], "n_boot": n_boot, "skipped": skipped}
    lo, hi = np.percentile(vals, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return {"value": point, "ci95": [float(lo), float(hi)], "n_boot": n_boot, "skipped": skipped,
            "clusters": int(len(uniq)), "n": int(len(groups))}
