#!/usr/bin/python3
"""OphGate fundus models: one entry point for the whole recipe (cache -> train -> evaluate -> export).

Run from the repository root with Debian's Python (it has torch, onnx, numpy, PIL, matplotlib):

    /usr/bin/python3 models/train/train.py all --device cpu          # both models, defaults fit 90 min each
    /usr/bin/python3 models/train/train.py all --device cpu --resume # after a kill: continue where it stopped
    /usr/bin/python3 models/train/train.py classifier --size 256     # one model, all stages
    /usr/bin/python3 models/train/train.py segmenter --stages evaluate,export

Layout (all git-ignored except what you later commit from --export-dir):
    models/train/.cache/<task>-<size>-v1/      decoded, cropped, resized images (and masks)
    <run-dir>/<model>/checkpoints/last.pt     the resumable state; best.pt: best validation weights
    <run-dir>/<model>/eval/metrics.json       held-out metrics, thresholds, figures/
    <run-dir>/<model>/log.txt                 the log of every stage
    <export-dir>/fundus-<model>/              model.onnx, manifest.json, metrics.json, figures/
Defaults: --run-dir models/train/runs, --export-dir models (so models/fundus-classifier/ and
models/fundus-segmenter/, the shipping location; nothing is committed automatically).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import data as D  # noqa: E402
import evaluate as EV  # noqa: E402
import export_onnx as EX  # noqa: E402
import train_classifier as TC  # noqa: E402
import train_segmenter as TS  # noqa: E402
from trainer import Interrupted  # noqa: E402

MODULES = {"classifier": TC, "segmenter": TS}
STAGES = ("train", "evaluate", "export")


class Log:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.fh = open(path, "a", encoding="utf-8")
        self.t0 = time.time()

    def __call__(self, msg: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')} +{(time.time() - self.t0) / 60:5.1f}m] {msg}"
        print(line, flush=True)
        self.fh.write(line + "\n")
        self.fh.flush()


def model_namespace(args, which: str) -> argparse.Namespace:
    """Arguments for one model: that model's defaults, overridden by --<model>-<option> or (single-model
    commands) by the plain option."""
    ap = argparse.ArgumentParser(add_help=False)
    MODULES[which].add_arguments(ap)
    TC.common_arguments(ap, MODULES[which].DEFAULTS["minutes"])
    ns = ap.parse_args([])
    for key in vars(ns):
        specific = getattr(args, f"{which}_{key}", None)
        plain = getattr(args, key, None) if args.command == which or key in SHARED else None
        if specific is not None:
            setattr(ns, key, specific)
        elif plain is not None:
            setattr(ns, key, plain)
    return ns


SHARED = {"device", "threads", "seed", "data", "cache", "checkpoint_minutes", "resume", "limit", "max_steps",
          "epochs", "minutes"}


def run_model(which: str, args) -> int:
    ns = model_namespace(args, which)
    run_dir = args.run_dir / which
    ns.checkpoint_dir = run_dir / "checkpoints"
    log = Log(run_dir / "log.txt")
    TC.setup_torch(ns)
    stages = [s.strip() for s in args.stages.split(",")]
    log(f"== {which}: stages {stages}; " + " ".join(f"{k}={v}" for k, v in sorted(vars(ns).items())))
    t0 = time.time()
    if "train" in stages:
        # The command that trained these weights, for the manifest and the model card (export reads it back).
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "command.txt").write_text("/usr/bin/python3 models/train/train.py " + " ".join(sys.argv[1:]) + "\n")
        try:
            MODULES[which].run(ns, log=log)
        except Interrupted:
            return 130
    eval_dir = run_dir / "eval"
    if "evaluate" in stages:
        ev = argparse.Namespace(device=ns.device, data=ns.data, cache=ns.cache, limit=ns.limit,
                                n_boot=args.n_boot, seed=ns.seed)
        (EV.evaluate_classifier if which == "classifier" else EV.evaluate_segmenter)(
            ns.checkpoint_dir, eval_dir, ev, log=log)
    if "export" in stages:
        ex = argparse.Namespace(opset=args.opset, version=args.version, cache=ns.cache,
                                metrics=eval_dir / "metrics.json")
        EX.export(which, ns.checkpoint_dir, args.export_dir / EX.NAMES[which], ex, log=log)
    log(f"== {which} done in {(time.time() - t0) / 60:.1f} min (this process)")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=("all", "classifier", "segmenter", "cache"))
    ap.add_argument("--stages", default=",".join(STAGES), help="comma-separated subset of train,evaluate,export")
    ap.add_argument("--run-dir", type=Path, default=D.TRAIN_DIR / "runs")
    ap.add_argument("--export-dir", type=Path, default=D.REPO / "models")
    ap.add_argument("--device", default=None, help="cpu (default) or cuda")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default 2)")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--size", type=int, default=None, help="input side (single-model commands)")
    ap.add_argument("--width", type=int, default=None, help="network width (single-model commands)")
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--minutes", type=float, default=None, help="training budget per model (default 80)")
    ap.add_argument("--patch", type=int, default=None, help="segmenter training patch side")
    for which in MODULES:
        ap.add_argument(f"--{which}-size", dest=f"{which}_size", type=int, default=None)
        ap.add_argument(f"--{which}-width", dest=f"{which}_width", type=int, default=None)
        ap.add_argument(f"--{which}-minutes", dest=f"{which}_minutes", type=float, default=None)
        ap.add_argument(f"--{which}-epochs", dest=f"{which}_epochs", type=int, default=None)
        ap.add_argument(f"--{which}-batch", dest=f"{which}_batch", type=int, default=None)
    ap.add_argument("--classifier-lr", dest="classifier_lr", type=float, default=None)
    ap.add_argument("--segmenter-lr", dest="segmenter_lr", type=float, default=None)
    ap.add_argument("--segmenter-patch", dest="segmenter_patch", type=int, default=None)
    ap.add_argument("--segmenter-steps-per-epoch", dest="segmenter_steps_per_epoch", type=int, default=None)
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--checkpoint-minutes", type=float, default=None)
    ap.add_argument("--resume", action="store_true", default=None)
    ap.add_argument("--limit", type=int, default=None, help="smoke runs: first N images per source and split")
    ap.add_argument("--max-steps", type=int, default=None, help="smoke runs: stop after N steps as if killed")
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--opset", type=int, default=EX.OPSET)
    ap.add_argument("--version", default="0.1.0")
    args = ap.parse_args(argv)

    if args.command in ("all", "cache"):
        for opt in ("size", "width", "batch", "lr", "patch"):
            if getattr(args, opt) is not None:
                per = f"--segmenter-{opt}" if opt == "patch" else f"--classifier-{opt} / --segmenter-{opt}"
                ap.error(f"--{opt} is per model with '{args.command}': use {per}")
    if args.command == "cache":
        for which in MODULES:
            ns = model_namespace(args, which)
            D.build_cache(which, ns.size, ns.data, ns.cache, limit=ns.limit)
        return 0
    which_list = list(MODULES) if args.command == "all" else [args.command]
    for which in which_list:
        rc = run_model(which, args)
        if rc:
            return rc
    return 0


if __name__ == "__main__":
    sys.exit(main())
