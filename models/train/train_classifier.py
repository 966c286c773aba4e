#!/usr/bin/python3
"""Train the fundus disease classifier (ODIR-5K multi-label + IDRiD DR grade / DME risk + ODIR quality flag).

    /usr/bin/python3 models/train/train_classifier.py --device cpu            # defaults: see README.md
    /usr/bin/python3 models/train/train_classifier.py --resume                # continue the last checkpoint

Sampling: each epoch holds every ODIR training eye once and every IDRiD training image --idrid-repeat times
(IDRiD is the only source of DME labels and of expert DR grades, and is 16 times smaller than ODIR), shuffled.

Validation score (picks best.pt): the mean of (a) the mean ROC AUC of the eight multi-label outputs on the ODIR
validation eyes and (b) the quadratic-weighted kappa of the DR grade (argmax) on every validation image that has a
grade (IDRiD validation images and ODIR validation eyes with a keyword grade).
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
from trainer import epoch_rng, saved_normalisation, script_main, train_task  # noqa: E402

DEFAULTS = {"size": 256, "width": 16, "batch": 32, "minutes": 80.0, "lr": 2e-3, "idrid_repeat": 4}


def targets_of(records: list[dict]) -> dict[str, np.ndarray]:
    return {
        "multilabel": np.array([r["multilabel"] for r in records], dtype=np.float32),
        "multilabel_known": np.array([r["multilabel_known"] for r in records], dtype=np.float32),
        "dr_grade": np.array([r["dr_grade"] for r in records], dtype=np.int64),
        "dme_risk": np.array([r["dme_risk"] for r in records], dtype=np.int64),
        "quality": np.array([r["quality"] for r in records], dtype=np.int64),
        "source": np.array([r["source"] for r in records]),
    }


@torch.no_grad()
def predict(model: torch.nn.Module, images: np.ndarray, mean, std, device: str, batch: int = 64) -> dict:
    """Probabilities for cached images (no augmentation), as the exported model computes them."""
    model.eval()
    outs: dict[str, list] = {k: [] for k in ("multilabel", "dr_grade", "dme_risk", "quality")}
    for i in range(0, len(images), batch):
        x = augment.normalise(augment.to_float(torch.from_numpy(np.array(images[i:i + batch])).to(device)), mean, std)
        o = model(x)
        outs["multilabel"].append(torch.sigmoid(o["multilabel"]).cpu().numpy())
        outs["dr_grade"].append(torch.softmax(o["dr_grade"], 1).cpu().numpy())
        outs["dme_risk"].append(torch.softmax(o["dme_risk"], 1).cpu().numpy())
        outs["quality"].append(torch.sigmoid(o["quality"][:, 0]).cpu().numpy())
    return {k: np.concatenate(v) if v else np.zeros((0,)) for k, v in outs.items()}


def validation_metrics(pred: dict, t: dict) -> tuple[float, dict]:
    odir = t["source"] == "odir"
    aucs = {}
    for j, lab in enumerate(D.ODIR_LABELS):
        aucs[f"auc_{lab}"] = MT.roc_auc(t["multilabel"][odir, j], pred["multilabel"][odir, j])
    finite = [v for v in aucs.values() if np.isfinite(v)]
    mean_auc = float(np.mean(finite)) if finite else float("nan")
    graded = t["dr_grade"] >= 0
    kappa = MT.quadratic_kappa(t["dr_grade"][graded], pred["dr_grade"][graded].argmax(1), 5)
    idr = (t["source"] == "idrid") & graded
    m = {"mean_auc": mean_auc, "dr_kappa": kappa,
         "dr_kappa_idrid": MT.quadratic_kappa(t["dr_grade"][idr], pred["dr_grade"][idr].argmax(1), 5),
         "referable_auc_idrid": MT.roc_auc(t["dr_grade"][idr] >= 2, pred["dr_grade"][idr][:, 2:].sum(1))}
    dme = t["dme_risk"] >= 0
    m["dme_kappa"] = MT.quadratic_kappa(t["dme_risk"][dme], pred["dme_risk"][dme].argmax(1), 3)
    m.update(aucs)
    parts = [v for v in (mean_auc, kappa) if np.isfinite(v)]
    score = float(np.mean(parts)) if parts else 0.0
    return score, {k: float(v) for k, v in m.items()}


class ClassifierTask:
    def __init__(self, caches: dict[str, D.CachedSplit], width: int, batch: int, idrid_repeat: int, seed: int,
                 device: str, mean=None, std=None) -> None:
        self.train = caches["train"]
        self.val = caches["val"]
        self.size = self.train.size
        self.width = width
        self.batch = batch
        self.idrid_repeat = idrid_repeat
        self.seed = seed
        self.device = device
        self.t_train = targets_of(self.train.records)
        self.t_val = targets_of(self.val.records)
        if mean is None:
            mean, std = D.channel_stats(self.train.images)
        self.mean, self.std = mean, std
        torch.manual_seed(seed)  # the initial weights depend on the seed only
        self.model = M.build_classifier(width)
        pw = losses.positive_weights(self.t_train["multilabel"], self.t_train["multilabel_known"])
        self.loss = losses.ClassifierLoss(pos_weight=pw)
        self.pos_weight = pw
        self.aug = augment.CLASSIFIER_AUG
        src = self.t_train["source"]
        self.pool = np.concatenate([np.nonzero(src == "odir")[0]] + [np.nonzero(src == "idrid")[0]] * idrid_repeat)

    def describe(self) -> dict:
        return {"task": "classifier", "arch": f"FundusClassifier(width={self.width})", "width": self.width,
                "size": self.size, "mean": self.mean, "std": self.std, "batch": self.batch,
                "idrid_repeat": self.idrid_repeat, "pos_weight": self.pos_weight,
                "augment": self.aug.__dict__}

    def batches(self, epoch: int) -> list[np.ndarray]:
        order = epoch_rng(self.seed, epoch).permutation(self.pool)
        n = len(order) // self.batch
        return [order[i * self.batch:(i + 1) * self.batch] for i in range(max(n, 1))]

    def train_step(self, idx: np.ndarray, gen: torch.Generator):
        x = augment.to_float(torch.from_numpy(self.train.images[idx]))
        x = augment.augment_full(x.to(self.device), self.aug, gen)
        x = augment.normalise(x, self.mean, self.std)
        t = {k: torch.from_numpy(v[idx]).to(self.device) for k, v in self.t_train.items() if k != "source"}
        out = self.model(x)
        return self.loss(out, t)

    def validate(self) -> tuple[float, dict]:
        pred = predict(self.model, self.val.images, self.mean, self.std, self.device)
        return validation_metrics(pred, self.t_val)


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--size", type=int, default=DEFAULTS["size"], help="input side in pixels (square)")
    ap.add_argument("--width", type=int, default=DEFAULTS["width"], help="base channel width of the network")
    ap.add_argument("--batch", type=int, default=DEFAULTS["batch"])
    ap.add_argument("--lr", type=float, default=DEFAULTS["lr"])
    ap.add_argument("--idrid-repeat", type=int, default=DEFAULTS["idrid_repeat"])


def common_arguments(ap: argparse.ArgumentParser, minutes: float) -> None:
    ap.add_argument("--device", default="cpu", help="cpu or cuda (cuda:N)")
    ap.add_argument("--threads", type=int, default=2, help="torch intra-op threads (CPU)")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=None, help="at most this many epochs")
    ap.add_argument("--minutes", type=float, default=minutes,
                    help="training time budget in minutes (plans the epochs; 0 = use --epochs only)")
    ap.add_argument("--data", type=Path, default=D.DEFAULT_DATA)
    ap.add_argument("--cache", type=Path, default=D.DEFAULT_CACHE)
    ap.add_argument("--checkpoint-dir", type=Path, default=None)
    ap.add_argument("--checkpoint-minutes", type=float, default=5.0)
    ap.add_argument("--resume", action="store_true", help="continue from --checkpoint-dir/last.pt")
    ap.add_argument("--limit", type=int, default=None, help="smoke runs: first N images of each source per split")
    ap.add_argument("--max-steps", type=int, default=None,
                    help="smoke runs: stop after N steps in this process, as if killed (checkpoint saved)")


def setup_torch(args) -> None:
    torch.set_num_threads(max(1, args.threads))
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("--device cuda but torch has no CUDA here")


def run(args, log=print) -> Path:
    """Build the cache, train (or resume); return the checkpoint folder (best.pt and last.pt)."""
    setup_torch(args)
    ckdir = args.checkpoint_dir or (D.TRAIN_DIR / "runs" / "classifier" / "checkpoints")
    D.build_cache("classifier", args.size, args.data, args.cache, limit=args.limit, log=log)
    caches = D.load_cache("classifier", args.size, args.cache)
    mean, std = saved_normalisation(ckdir, args.resume)
    task = ClassifierTask(caches, args.width, args.batch, args.idrid_repeat, args.seed, args.device, mean, std)
    log(f"classifier: {M.count_parameters(task.model) / 1e6:.2f} M parameters, input {args.size}, "
        f"{len(caches['train'])} training / {len(caches['val'])} validation images, "
        f"{len(task.batches(0))} steps of {args.batch} per epoch; mean {task.mean} std {task.std}")
    return train_task(task, args, ckdir, log)


def main(argv=None) -> int:
    return script_main(__doc__, add_arguments, common_arguments, run, DEFAULTS["minutes"], argv)


if __name__ == "__main__":
    sys.exit(main())
