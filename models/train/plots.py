"""Figures for the model cards: ROC and precision-recall curves (matplotlib, headless Agg backend) and
segmentation overlays (PIL). Overlays are drawn only for CC BY 4.0 images (IDRiD): ODIR-5K and Drishti-GS1
images may not be redistributed, so no figure shows their pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:  # pragma: no cover - Debian's python3-matplotlib is expected
    plt = None


def curves(path: Path, title: str, series: list[dict], kind: str) -> None:
    """series: {"label", "x", "y", "auc"}; kind "roc" (x = FPR, y = TPR) or "pr" (x = recall, y = precision)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if plt is None:
        _curves_pil(path, title, series, kind)
        return
    fig, ax = plt.subplots(figsize=(5.2, 5.0), dpi=110)
    for s in series:
        name = "AUC" if kind == "roc" else "AUPR"
        ax.plot(s["x"], s["y"], lw=1.4, label=f"{s['label']} ({name} {s['auc']:.3f})", drawstyle="steps-post"
                if kind == "pr" else "default")
    if kind == "roc":
        ax.plot([0, 1], [0, 1], ls="--", lw=0.8, color="grey")
        ax.set_xlabel("1 - specificity (false positive rate)")
        ax.set_ylabel("sensitivity (true positive rate)")
    else:
        ax.set_xlabel("recall (sensitivity)")
        ax.set_ylabel("precision (positive predictive value)")
    for s in series:
        if "point" in s and s["point"] is not None:
            ax.plot([s["point"][0]], [s["point"][1]], marker="o", ms=4, color="black")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="lower right" if kind == "roc" else "lower left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _curves_pil(path: Path, title: str, series: list[dict], kind: str) -> None:
    from PIL import ImageDraw
    W = H = 500
    im = Image.new("RGB", (W, H), "white")
    d = ImageDraw.Draw(im)
    m = 50
    d.rectangle([m, m, W - m, H - m], outline="black")
    colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
    for k, s in enumerate(series):
        pts = [(m + x * (W - 2 * m), H - m - y * (H - 2 * m)) for x, y in zip(s["x"], s["y"])]
        if len(pts) > 1:
            d.line(pts, fill=colours[k % len(colours)], width=2)
        d.text((m + 5, m + 5 + 12 * k), f"{s['label']} {s['auc']:.3f}", fill=colours[k % len(colours)])
    d.text((m, 10), title, fill="black")
    im.save(path)


def overlay(path: Path, image: np.ndarray, truth: dict[str, np.ndarray], pred: dict[str, np.ndarray],
            colours: dict[str, tuple[int, int, int]], max_side: int = 900) -> None:
    """Left: image with the reference masks; right: the same with the predicted masks (filled, half opacity)."""
    def draw(masks: dict[str, np.ndarray]) -> np.ndarray:
        out = image.astype(np.float32).copy()
        regions_first = sorted(masks, key=lambda k: k not in ("OD", "cup"))  # lesions drawn over disc and cup
        for name in regions_first:
            m = masks[name]
            if m is None:
                continue
            sel = m.astype(bool)
            out[sel] = 0.45 * out[sel] + 0.55 * np.array(colours[name], dtype=np.float32)
        return out.clip(0, 255).astype(np.uint8)

    both = np.concatenate([draw(truth), np.full((image.shape[0], 8, 3), 255, np.uint8), draw(pred)], axis=1)
    im = Image.fromarray(both)
    if max(im.size) > 2 * max_side:
        r = 2 * max_side / max(im.size)
        im = im.resize((int(im.width * r), int(im.height * r)), Image.LANCZOS)
    # caption: which side is which, and the colour of each channel
    from PIL import ImageDraw
    bar = Image.new("RGB", (im.width, 22), (255, 255, 255))
    d = ImageDraw.Draw(bar)
    x = 6
    d.text((x, 5), "left: reference   right: prediction   ", fill=(0, 0, 0))
    x += 230
    for name, col in colours.items():
        d.rectangle([x, 6, x + 10, 16], fill=col)
        d.text((x + 14, 5), name, fill=(0, 0, 0))
        x += 24 + 7 * len(name)
    out = Image.new("RGB", (im.width, im.height + bar.height), (255, 255, 255))
    out.paste(im, (0, 0))
    out.paste(bar, (0, im.height))
    path.parent.mkdir(parents=True, exist_ok=True)
    out.save(path)
