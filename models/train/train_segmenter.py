#!/usr/bin/python3
"""Train the fundus lesion segmenter (IDRiD MA HE EX SE OD + Drishti-GS1 disc and cup).

    /usr/bin/python3 models/train/train_segmenter.py --device cpu            # defaults: see README.md
    /usr/bin/python3 models/train/train_segmenter.py --resume

The network is fully convolutional: it trains on --patch x --patch patches cut (rotated, scaled, flipped, colour
jittered) from the images cached at --size, and runs on the whole --size x --size image at inference, which is
what the exported ONNX model takes. Training on patches costs per patch, not per cached pixel, so the inference
resolution can stay close to the source's without making an epoch slower.

Patch centres: with probability --lesion-centred a known, present channel of the image is picked uniformly
(so rare lesions such as soft exudates are visited as often as common ones) and the centre is one of its pixels,
shifted by up to a third of a patch; otherwise the centre is anywhere in the field of view. An "epoch" is
--steps-per-epoch batches of --batch patches drawn that way (IDRiD images with probability 1 - --drishti-share).

Validation score (picks best.pt): the mean of the pooled pixel AUPR of MA, HE, EX and SE on the IDRiD validation
images and the Dice (probability >= 0.5) of the optic disc (IDRiD and Drishti-GS1 validation) and of the cup
(Drishti-GS1 validation), all at the cached resolution. The held-out evaluation (evaluate.py) works at the
source resolution instead.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import augment  # noqa: E402
import data as D  # noqa: E402
import losses  # noqa: E402
import metrics as MT  # noqa: E402
import models as M  # noqa: E402
from train_classifier import common_arguments, setup_torch  # noqa: E402
from trainer import epoch_rng, saved_normalisation, script_main, train_task  # noqa: E402

DEFAULTS = {"size": 768, "patch": 256, "width": 16, "batch": 4, "minutes": 80.0, "lr": 2e-3,
            "steps_per_epoch": 200, "lesion_centred": 0.6, "drishti_share": 0.3}
MAX_POINTS = 4000   # per image and channel, pixel positions kept for lesion-centred sampling
LESION_CHANNELS = (0, 1, 2, 3)   # MA HE EX SE: scored by AUPR
REGION_CHANNELS = (4, 5)         # OD cup: scored by Dice


def known_of(records: list[dict]) -> np.ndarray:
    return np.array([r["known"] for r in records], dtype=np.float32)


@torch.no_grad()
def predict_image(model: torch.nn.Module, image_hwc: np.ndarray, mean, std, device: str) -> np.ndarray:
    """[S, S, 3] uint8 -> [C, S, S] float32 probabilities."""
    model.eval()
    x = augment.normalise(augment.to_float(torch.from_numpy(np.array(image_hwc)[None]).to(device)), mean, std)
    return torch.sigmoid(model(x))[0].float().cpu().numpy()


def validation_metrics(model, split: D.CachedSplit, mean, std, device: str) -> tuple[float, dict]:
    known = known_of(split.records)
    C = len(D.SEG_CHANNELS)
    hist = [[np.zeros(MT.PIXEL_BINS), np.zeros(MT.PIXEL_BINS)] for _ in range(C)]
    inter = np.zeros(C)
    denom = np.zeros(C)
    for i in range(len(split)):
        prob = predict_image(model, split.images[i], mean, std, device)
        truth = np.asarray(split.masks[i]) >= 128
        for c in range(C):
            if not known[i, c]:
                continue
            if c in LESION_CHANNELS:
                p, n = MT.pixel_histograms(prob[c], truth[c])
                hist[c][0] += p
                hist[c][1] += n
            else:
                pred = prob[c] >= 0.5
                inter[c] += (pred & truth[c]).sum()
                denom[c] += pred.sum() + truth[c].sum()
    m = {}
    for c in LESION_CHANNELS:
        m[f"aupr_{D.SEG_CHANNELS[c]}"] = MT.aupr_from_histograms(*hist[c]) if hist[c][0].sum() else float("nan")
    for c in REGION_CHANNELS:
        m[f"dice_{D.SEG_CHANNELS[c]}"] = float(2 * inter[c] / denom[c]) if denom[c] else float("nan")
    vals = [v for v in m.values() if np.isfinite(v)]
    return (float(np.mean(vals)) if vals else 0.0), m


class SegmenterTask:
    def __init__(self, caches: dict[str, D.CachedSplit], width: int, patch: int, batch: int, steps_per_epoch: int,
                 lesion_centred: float, drishti_share: float, seed: int, device: str, mean=None, std=None) -> None:
        self.train = caches["train"]
        self.val = caches["val"]
        self.size = self.train.size
        self.width, self.patch, self.batch = width, patch, batch
        self.steps_per_epoch = steps_per_epoch
        self.lesion_centred = lesion_centred
        self.drishti_share = drishti_share
        self.seed = seed
        self.device = device
        if mean is None:
            mean, std = D.channel_stats(self.train.images)
        self.mean, self.std = mean, std
        torch.manual_seed(seed)  # the initial weights depend on the seed only
        self.model = M.build_segmenter(width)
        if patch % self.model.multiple or self.size % self.model.multiple:
            raise SystemExit(f"--patch and --size must be multiples of {self.model.multiple}")
        self.loss = losses.SegmenterLoss()
        self.aug = augment.SEGMENTER_AUG
        self.known = known_of(self.train.records)
        src = np.array([r["source"] for r in self.train.records])
        w = np.where(src == "drishti", drishti_share / max(1, (src == "drishti").sum()),
                     (1 - drishti_share) / max(1, (src != "drishti").sum()))
        if (src == "drishti").sum() == 0 or (src != "drishti").sum() == 0:
            w = np.ones(len(src))
        self.image_p = w / w.sum()
        self._points()

    def _points(self) -> None:
        """Normalised (x, y) positions of lesion pixels per image and channel, and of field-of-view pixels."""
        rng = np.random.default_rng([self.seed, 104729])
        S = self.size
        self.points: list[list[np.ndarray | None]] = []
        self.fov: list[np.ndarray] = []

        def norm(yx: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
            y, x = yx
            if len(y) > MAX_POINTS:
                keep = rng.choice(len(y), MAX_POINTS, replace=False)
                y, x = y[keep], x[keep]
            return np.stack([(x + 0.5) / S * 2 - 1, (y + 0.5) / S * 2 - 1], 1).astype(np.float32)

        for i in range(len(self.train)):
            masks = np.asarray(self.train.masks[i])
            per = []
            for c in range(len(D.SEG_CHANNELS)):
                if self.known[i, c] and (masks[c] >= 64).any():
                    per.append(norm(np.nonzero(masks[c] >= 64)))
                else:
                    per.append(None)
            self.points.append(per)
            img = np.asarray(self.train.images[i])
            self.fov.append(norm(np.nonzero(img.max(axis=2) > D.CROP_THRESHOLD)))

    def describe(self) -> dict:
        return {"task": "segmenter", "arch": f"FundusSegmenter(width={self.width}, levels=5)", "width": self.width,
                "size": self.size, "patch": self.patch, "mean": self.mean, "std": self.std, "batch": self.batch,
                "steps_per_epoch": self.steps_per_epoch, "lesion_centred": self.lesion_centred,
                "drishti_share": self.drishti_share, "augment": self.aug.__dict__}

    def batches(self, epoch: int) -> list[np.ndarray]:
        """Each batch: [batch, 3] rows of (image index, centre x, centre y) in normalised coordinates."""
        rng = epoch_rng(self.seed, epoch)
        out = []
        shift = self.patch / self.size * 2 / 3   # up to a third of a patch, in normalised units
        for _ in range(self.steps_per_epoch):
            rows = np.zeros((self.batch, 3), dtype=np.float64)
            idx = rng.choice(len(self.train), self.batch, p=self.image_p)
            for b, i in enumerate(idx):
                present = [c for c, p in enumerate(self.points[i]) if p is not None]
                if present and rng.random() < self.lesion_centred:
                    pts = self.points[i][present[rng.integers(len(present))]]
                    centre = pts[rng.integers(len(pts))] + rng.uniform(-shift, shift, 2)
                else:
                    pts = self.fov[i]
                    centre = pts[rng.integers(len(pts))] if len(pts) else rng.uniform(-0.7, 0.7, 2)
                rows[b] = (i, *np.clip(centre, -1, 1))
            out.append(rows)
        return out

    def train_step(self, rows: np.ndarray, gen: torch.Generator):
        idx = rows[:, 0].astype(np.int64)
        x = augment.to_float(torch.from_numpy(self.train.images[idx])).to(self.device)
        m = torch.from_numpy(np.asarray(self.train.masks[idx])).to(self.device).float().div_(255.0)
        centres = torch.from_numpy(rows[:, 1:3]).float()
        x, m = augment.augment_patches(x, m, centres, self.patch, self.aug, gen)
        x = augment.normalise(x, self.mean, self.std)
        known = torch.from_numpy(self.known[idx]).to(self.device)
        return self.loss(self.model(x), m, known)

    def validate(self) -> tuple[float, dict]:
        return validation_metrics(self.model, self.val, self.mean, self.std, self.device)


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--size", type=int, default=DEFAULTS["size"],
                    help="cached image side = inference input side of the exported model")
    ap.add_argument("--patch", type=int, default=DEFAULTS["patch"], help="training patch side")
    ap.add_argument("--width", type=int, default=DEFAULTS["width"], help="base channel width of the U-Net")
    ap.add_argument("--batch", type=int, default=DEFAULTS["batch"])
    ap.add_argument("--lr", type=float, default=DEFAULTS["lr"])
    ap.add_argument("--steps-per-epoch", type=int, default=DEFAULTS["steps_per_epoch"])
    ap.add_argument("--lesion-centred", type=float, default=DEFAULTS["lesion_centred"])
    ap.add_argument("--drishti-share", type=float, default=DEFAULTS["drishti_share"])


def run(args, log=print) -> Path:
    setup_torch(args)
    ckdir = args.checkpoint_dir or (D.TRAIN_DIR / "runs" / "segmenter" / "checkpoints")
    D.build_cache("segmenter", args.size, args.data, args.cache, limit=args.limit, log=log)
    caches = D.load_cache("segmenter", args.size, args.cache)
    mean, std = saved_normalisation(ckdir, args.resume)
    task = SegmenterTask(caches, args.width, args.patch, args.batch, args.steps_per_epoch, args.lesion_centred,
                         args.drishti_share, args.seed, args.device, mean, std)
    log(f"segmenter: {M.count_parameters(task.model) / 1e6:.2f} M parameters, inference input {args.size}, "
        f"patches {args.patch}, {len(caches['train'])} training / {len(caches['val'])} validation images, "
        f"{args.steps_per_epoch} steps of {args.batch} per epoch; mean {task.mean} std {task.std}")
    return train_task(task, args, ckdir, log)


def main(argv=None) -> int:
    return script_main(__doc__, add_arguments, common_arguments, run, DEFAULTS["minutes"], argv)


if __name__ == "__main__":
    sys.exit(main())
