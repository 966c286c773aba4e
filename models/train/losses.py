"""Losses with per-target masks: a target that a sample's source does not label contributes nothing.

Classifier: binary cross-entropy over the known multi-label entries (positives up-weighted per label, capped, so
rare labels such as hypertensive retinopathy are not drowned by "normal"), cross-entropy for the DR grade and the
DME risk over the samples that carry them, binary cross-entropy for the quality flag. The heads are summed with
fixed weights.

Segmenter: per channel, binary cross-entropy plus soft Dice, each computed only over the samples whose source
annotates that channel (IDRiD: the lesions and the disc; Drishti-GS1: disc and cup). Dice is taken over the whole
batch per channel (not per image), so patches without a lesion do not give an undefined or exploding term.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def masked_bce(logits: torch.Tensor, target: torch.Tensor, known: torch.Tensor,
               pos_weight: torch.Tensor | None = None) -> torch.Tensor:
    if pos_weight is not None:
        pos_weight = pos_weight.to(logits.device)
    loss = F.binary_cross_entropy_with_logits(logits, target, reduction="none", pos_weight=pos_weight)
    denom = known.sum()
    if denom == 0:
        return logits.sum() * 0.0
    return (loss * known).sum() / denom


def masked_ce(logits: torch.Tensor, target: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """target: int64 with -1 for unknown."""
    keep = target >= 0
    if not bool(keep.any()):
        return logits.sum() * 0.0
    return F.cross_entropy(logits[keep], target[keep], label_smoothing=label_smoothing)


class ClassifierLoss:
    def __init__(self, pos_weight: list[float] | None = None, weights: dict[str, float] | None = None) -> None:
        self.pos_weight = torch.tensor(pos_weight) if pos_weight is not None else None
        self.weights = {"multilabel": 1.0, "dr_grade": 1.0, "dme_risk": 0.5, "quality": 0.2}
        if weights:
            self.weights.update(weights)

    def __call__(self, out: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict]:
        parts = {
            "multilabel": masked_bce(out["multilabel"], batch["multilabel"], batch["multilabel_known"],
                                     self.pos_weight),
            "dr_grade": masked_ce(out["dr_grade"], batch["dr_grade"], 0.05),
            "dme_risk": masked_ce(out["dme_risk"], batch["dme_risk"], 0.05),
            "quality": masked_bce(out["quality"][:, 0], batch["quality"].float().clamp(min=0),
                                  (batch["quality"] >= 0).float()),
        }
        total = sum(self.weights[k] * v for k, v in parts.items())
        return total, {k: float(v.detach()) for k, v in parts.items()}


def positive_weights(targets, known, cap: float = 10.0) -> list[float]:
    """Per-label negatives/positives over the known entries, capped (for BCE pos_weight)."""
    import numpy as np
    t = np.asarray(targets, dtype=np.float64)
    k = np.asarray(known, dtype=np.float64)
    pos = (t * k).sum(0)
    neg = ((1 - t) * k).sum(0)
    return [float(min(cap, max(1.0, n / max(p, 1.0)))) for p, n in zip(pos, neg)]


class SegmenterLoss:
    def __init__(self, dice_weight: float = 1.0, channel_weights: list[float] | None = None) -> None:
        self.dice_weight = dice_weight
        self.channel_weights = channel_weights

    def __call__(self, logits: torch.Tensor, target: torch.Tensor, known: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """logits, target [n, c, h, w] (target soft 0..1); known [n, c]."""
        n, c = known.shape
        bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none").mean(dim=(2, 3))  # [n, c]
        prob = torch.sigmoid(logits)
        inter = (prob * target).sum(dim=(2, 3))
        denom = prob.sum(dim=(2, 3)) + target.sum(dim=(2, 3))
        k = known
        per_channel = []
        info = {}
        for ch in range(c):
            kc = k[:, ch]
            if float(kc.sum()) == 0:
                continue
            b = (bce[:, ch] * kc).sum() / kc.sum()
            i = (inter[:, ch] * kc).sum()
            d = (denom[:, ch] * kc).sum()
            dice = 1 - (2 * i + 1.0) / (d + 1.0)
            w = self.channel_weights[ch] if self.channel_weights else 1.0
            per_channel.append(w * (b + self.dice_weight * dice))
            info[f"ch{ch}"] = float((b + self.dice_weight * dice).detach())
        if not per_channel:
            return logits.sum() * 0.0, info
        return torch.stack(per_channel).sum() / len(per_channel), info
