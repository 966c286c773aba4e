"""The training loop shared by both models: time budget, LR schedule, periodic checkpoints, exact resume,
validation after each epoch and keeping the best weights.

Budget and plan
---------------
--epochs E and --minutes M. When only E is given the plan is E epochs. When M is given, the first epoch is timed
(training steps plus its validation pass) and the plan becomes the number of epochs that fit in M minutes
(at most E when E is given too). The plan is stored in the checkpoint and never changes afterwards, so the
learning-rate schedule of a resumed run is the one the run started with. A guard stops a run whose accumulated
training time passes M minutes anyway (a slower or busier machine than the first epoch suggested); the best
weights so far are kept and evaluation goes ahead.

Schedule: AdamW; the learning rate rises linearly over the first epoch (warm-up) and then follows a cosine to 1%
of its peak over the remaining planned steps.

Exact resume
------------
The order of the samples in epoch e is a permutation drawn from (seed, e); the augmentation of step s of epoch e
uses a torch.Generator seeded from (seed, e, s). A checkpoint records (epoch, next step), so a resumed run skips
the steps already done and draws exactly the batches and augmentations the uninterrupted run would have drawn.
With the same device and thread count the weights then match the uninterrupted run's (test_recipe.py checks
this bit for bit on CPU). Ctrl-C (SIGINT) and SIGTERM save a checkpoint at the current step before exiting; a
SIGKILL loses at most --checkpoint-minutes of work.
"""

from __future__ import annotations

import math
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

import numpy as np
import torch

import checkpoint as ckpt


class Interrupted(Exception):
    pass


@dataclass
class TrainConfig:
    checkpoint_dir: Path
    device: str = "cpu"
    seed: int = 3
    epochs: int | None = None
    minutes: float | None = None
    lr: float = 2e-3
    weight_decay: float = 1e-4
    checkpoint_minutes: float = 5.0
    resume: bool = False
    max_steps: int | None = None   # stop (like a kill, checkpoint saved) after this many steps in this process
    log: Callable[[str], None] = print


class Task(Protocol):
    model: torch.nn.Module

    def batches(self, epoch: int) -> list[np.ndarray]: ...

    def train_step(self, batch: np.ndarray, gen: torch.Generator) -> tuple[torch.Tensor, dict]: ...

    def validate(self) -> tuple[float, dict]: ...

    def describe(self) -> dict: ...


def step_seed(seed: int, epoch: int, step: int) -> int:
    return int(np.random.SeedSequence([seed, epoch, step]).generate_state(1, dtype=np.uint64)[0]) >> 1


def epoch_rng(seed: int, epoch: int) -> np.random.Generator:
    return np.random.default_rng([seed, epoch, 7919])


@dataclass
class State:
    epoch: int = 0
    step: int = 0                   # next step within the epoch
    global_step: int = 0
    planned_epochs: int | None = None
    train_seconds: float = 0.0
    epoch0_seconds: float = 0.0     # time spent in epoch 0 (training steps), for the plan
    best_score: float = -math.inf
    best_epoch: int = -1
    history: list = field(default_factory=list)
    finished: bool = False
    stop_reason: str = ""


class Trainer:
    def __init__(self, task: Task, cfg: TrainConfig) -> None:
        self.task = task
        self.cfg = cfg
        self.model = task.model.to(cfg.device)
        decay, no_decay = [], []
        for name, p in self.model.named_parameters():
            (no_decay if p.ndim <= 1 else decay).append(p)
        self.optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=cfg.lr)
        self.state = State(planned_epochs=cfg.epochs if cfg.minutes is None else None)
        self.steps_per_epoch = len(task.batches(0))
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, self._lr_factor)
        self.dir = Path(cfg.checkpoint_dir)
        self._stop_signal = False

    # ------------------------------------------------------------------ schedule
    def _lr_factor(self, global_step: int) -> float:
        warm = self.steps_per_epoch
        if global_step < warm:
            return (global_step + 1) / warm
        planned = self.state.planned_epochs
        if planned is None or planned <= 1:
            return 1.0
        total = planned * self.steps_per_epoch - warm
        t = min(1.0, (global_step - warm) / max(1, total))
        return 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * t))

    # ------------------------------------------------------------------ checkpoints
    def _payload(self) -> dict:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "state": self.state.__dict__.copy(),
            "rng": ckpt.rng_state(),
            "task": self.task.describe(),
            "seed": self.cfg.seed,
            "steps_per_epoch": self.steps_per_epoch,
        }

    def save_last(self) -> None:
        ckpt.save(self.dir / "last.pt", self._payload())
        self._last_save = time.time()

    def load_last(self) -> None:
        p = ckpt.load(self.dir / "last.pt", "cpu")  # RNG states must stay CPU tensors; weights move on load
        if p["steps_per_epoch"] != self.steps_per_epoch or p["seed"] != self.cfg.seed:
            raise SystemExit("checkpoint does not match this configuration (seed or epoch length differ)")
        if p["task"].get("arch") != self.task.describe().get("arch"):
            raise SystemExit(f"checkpoint architecture {p['task'].get('arch')} differs from "
                             f"{self.task.describe().get('arch')}")
        self.model.load_state_dict(p["model"])
        self.optimizer.load_state_dict(p["optimizer"])
        self.scheduler.load_state_dict(p["scheduler"])
        self.state = State(**p["state"])
        ckpt.set_rng_state(p["rng"])

    # ------------------------------------------------------------------ loop
    def _on_signal(self, signum, frame) -> None:
        self._stop_signal = True

    def run(self) -> State:
        cfg = self.cfg
        log = cfg.log
        if cfg.resume and ckpt.exists(self.dir):
            self.load_last()
            s = self.state
            log(f"resumed from {self.dir / 'last.pt'}: epoch {s.epoch} step {s.step}/{self.steps_per_epoch}, "
                f"{s.train_seconds / 60:.1f} min trained, best {s.best_score:.4f} (epoch {s.best_epoch})")
            if s.finished:
                log(f"run already finished ({s.stop_reason})")
                return s
        elif ckpt.exists(self.dir) and not cfg.resume:
            raise SystemExit(f"{self.dir} already holds a checkpoint: pass --resume to continue it, or choose "
                             f"another --checkpoint-dir")
        else:
            torch.manual_seed(cfg.seed)
            np.random.seed(cfg.seed % (2 ** 32))
        self._last_save = time.time()
        old = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        steps_here = 0
        try:
            while not self.state.finished:
                s = self.state
                if s.planned_epochs is not None and s.epoch >= s.planned_epochs:
                    s.finished, s.stop_reason = True, f"planned {s.planned_epochs} epochs done"
                    break
                batches = self.task.batches(s.epoch)
                self.model.train()
                t_epoch = time.time()
                losses = []
                while s.step < len(batches):
                    t0 = time.time()
                    gen = torch.Generator().manual_seed(step_seed(cfg.seed, s.epoch, s.step))
                    loss, info = self.task.train_step(batches[s.step], gen)
                    self.optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(self.model.parameters(), 5.0)
                    self.optimizer.step()
                    self.scheduler.step()
                    dt = time.time() - t0
                    s.train_seconds += dt
                    if s.epoch == 0:
                        s.epoch0_seconds += dt
                    s.step += 1
                    s.global_step += 1
                    steps_here += 1
                    losses.append(float(loss.detach()))
                    if s.step % 20 == 0 or s.step == len(batches):
                        log(f"epoch {s.epoch} step {s.step}/{len(batches)} loss {np.mean(losses[-20:]):.4f} "
                            f"lr {self.scheduler.get_last_lr()[0]:.2e} ({dt:.2f} s/step, "
                            f"{s.train_seconds / 60:.1f} min)")
                    if self._stop_signal:
                        raise Interrupted("signal")
                    if cfg.max_steps is not None and steps_here >= cfg.max_steps:
                        raise Interrupted(f"--max-steps {cfg.max_steps}")
                    if cfg.minutes is not None and s.train_seconds > cfg.minutes * 60:
                        s.finished, s.stop_reason = True, f"time budget of {cfg.minutes} min reached"
                        break
                    if time.time() - self._last_save >= cfg.checkpoint_minutes * 60:
                        self.save_last()
                        log(f"checkpoint saved (epoch {s.epoch} step {s.step})")
                # (when the budget ran out mid-epoch, the partial epoch is validated too: it may be the best)
                t_val = time.time()
                score, metrics = self.task.validate()
                val_seconds = time.time() - t_val
                s.train_seconds += val_seconds
                if s.epoch == 0:
                    s.epoch0_seconds += val_seconds
                entry = {"epoch": s.epoch, "steps": s.step, "train_loss": float(np.mean(losses)) if losses else None,
                         "score": score, "metrics": metrics, "train_minutes": s.train_seconds / 60,
                         "epoch_seconds": time.time() - t_epoch, "val_seconds": val_seconds}
                s.history.append(entry)
                log(f"epoch {s.epoch} validation score {score:.4f} ({val_seconds:.0f} s) "
                    + " ".join(f"{k}={v:.3f}" for k, v in metrics.items() if isinstance(v, float)))
                if score > s.best_score:
                    s.best_score, s.best_epoch = score, s.epoch
                    ckpt.save(self.dir / "best.pt", {"model": self.model.state_dict(), "task": self.task.describe(),
                                                     "epoch": s.epoch, "score": score, "metrics": metrics})
                    log(f"new best (epoch {s.epoch}) saved to {self.dir / 'best.pt'}")
                if s.epoch == 0 and s.planned_epochs is None:
                    per_epoch = max(1e-6, s.epoch0_seconds)
                    fit = max(1, int(cfg.minutes * 60 / per_epoch))
                    s.planned_epochs = min(fit, cfg.epochs) if cfg.epochs else fit
                    log(f"plan: epoch 0 took {per_epoch / 60:.2f} min -> {s.planned_epochs} epochs in "
                        f"{cfg.minutes} min")
                if not s.finished:
                    s.epoch += 1
                    s.step = 0
                self.save_last()
        except Interrupted as e:
            self.save_last()
            log(f"stopped by {e} at epoch {self.state.epoch} step {self.state.step}; checkpoint saved, "
                f"continue with --resume")
            raise
        finally:
            for sig, h in old.items():
                signal.signal(sig, h)
        self.save_last()
        log(f"training finished: {self.state.stop_reason}; best score {self.state.best_score:.4f} at epoch "
            f"{self.state.best_epoch}; {self.state.train_seconds / 60:.1f} min")
        return self.state


# ---- what both training scripts share -------------------------------------------------------------------------

def saved_normalisation(ckdir, resume: bool):
    """On --resume, the normalisation the run started with (it was measured on the training cache then)."""
    last = Path(ckdir) / "last.pt"
    if resume and last.is_file():
        desc = torch.load(last, map_location="cpu")["task"]
        return desc["mean"], desc["std"]
    return None, None


def train_task(task, args, ckdir, log) -> Path:
    """Runs the budgeted, checkpointed training loop on a prepared task and returns its checkpoint folder."""
    cfg = TrainConfig(checkpoint_dir=ckdir, device=args.device, seed=args.seed, epochs=args.epochs,
                      minutes=args.minutes or None, lr=args.lr, checkpoint_minutes=args.checkpoint_minutes,
                      resume=args.resume, max_steps=args.max_steps, log=log)
    if cfg.minutes is None and cfg.epochs is None:
        raise SystemExit("give --minutes or --epochs")
    Trainer(task, cfg).run()
    return Path(ckdir)


def script_main(doc, add_arguments, common_arguments, run, minutes, argv=None) -> int:
    """The command line of a training script: its own options, the common ones, exit 130 when interrupted."""
    import argparse
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(ap)
    common_arguments(ap, minutes)
    args = ap.parse_args(argv)
    try:
        run(args)
    except Interrupted:
        return 130
    return 0
