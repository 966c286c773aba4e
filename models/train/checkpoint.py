"""Checkpoints: atomic writes of everything a run needs to continue exactly where it stopped.

A checkpoint holds the model, optimizer and LR-scheduler states, the position (epoch and step within the epoch),
the training plan (number of epochs fixed once the first epoch has been timed), the best validation score so far,
the accumulated training time, the history, and the RNG states of Python, NumPy and torch. The data order and the
augmentation draws do not depend on these states (they are derived from (seed, epoch, step)); the RNG states are
saved anyway so that anything else random (dropout) continues unchanged.

Files in --checkpoint-dir:
  last.pt   the latest state (written at least every --checkpoint-minutes and at the end of each epoch)
  best.pt   the model weights with the best validation score, with its metrics (what evaluation and export use)
Writes go to a temporary file first and are renamed into place, so a kill during a write leaves the previous
checkpoint intact.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch


def rng_state() -> dict:
    return {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
    }


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if state.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save(path: Path, payload: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def load(path: Path, device: str = "cpu") -> dict:
    return torch.load(Path(path), map_location=device)


def exists(folder: Path) -> bool:
    return (Path(folder) / "last.pt").is_file()
