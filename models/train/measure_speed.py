#!/usr/bin/python3
"""Time training steps (forward + backward + optimizer step) of candidate model and input sizes.

The figures decide the defaults in train_classifier.py / train_segmenter.py (see README.md, "Measured speeds"):
    /usr/bin/python3 models/train/measure_speed.py --threads 2 --json /tmp/speed.json

Synthetic inputs are used (speed does not depend on the pixels). Each configuration runs --warmup untimed steps
and then --steps timed steps; the median step time is reported with the spread, so that a busy machine shows up
as a wide spread rather than as a wrong figure. The projected budget column says how many images (classifier) or
patches (segmenter) one 80-minute training run sees at that speed, less the time the validation passes take.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import models as M  # noqa: E402

TRAIN_MINUTES = 80


def time_train_steps(model: torch.nn.Module, batch: int, size: int, steps: int, warmup: int, seg: bool) -> list[float]:
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randn(batch, 3, size, size)
    if seg:
        target = (torch.rand(batch, len(M.SEG_CHANNELS), size, size) > 0.95).float()
    times = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        out = model(x)
        if seg:
            loss = torch.nn.functional.binary_cross_entropy_with_logits(out, target)
        else:
            loss = sum(v.float().pow(2).mean() for v in out.values())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return times


@torch.no_grad()
def time_inference(model: torch.nn.Module, size: int, steps: int) -> float:
    model.eval()
    x = torch.randn(1, 3, size, size)
    model(x)
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        model(x)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def time_pipeline(args) -> list[dict]:
    """Time Trainer-equivalent steps of the real tasks (what an epoch costs, not just the network)."""
    import data as D
    import train_classifier as TC
    import train_segmenter as TS
    rows = []
    print("\nreal training steps (cache read + augmentation + forward/backward/update)")
    print("| task | width | input / patch | batch | step s (median, min-max) | samples/s | samples in 80 min |")
    print("|---|---|---|---|---|---|---|")
    for spec in args.pipeline.split(","):
        task, w, s = spec.split(":")
        w, s = int(w), int(s)
        if task == "classifier":
            D.build_cache("classifier", s, log=lambda *_: None)
            t = TC.ClassifierTask(D.load_cache("classifier", s), w, TC.DEFAULTS["batch"], TC.DEFAULTS["idrid_repeat"],
                                  3, "cpu")
        else:
            size = TS.DEFAULTS["size"]
            D.build_cache("segmenter", size, log=lambda *_: None)
            t = TS.SegmenterTask(D.load_cache("segmenter", size), w, s, TS.DEFAULTS["batch"], 20,
                                 TS.DEFAULTS["lesion_centred"], TS.DEFAULTS["drishti_share"], 3, "cpu")
        opt = torch.optim.AdamW(t.model.parameters(), lr=1e-3)
        t.model.train()
        batches = t.batches(0)
        times = []
        for i in range(args.warmup + args.steps):
            t0 = time.perf_counter()
            loss, _ = t.train_step(batches[i % len(batches)], torch.Generator().manual_seed(i))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if i >= args.warmup:
                times.append(time.perf_counter() - t0)
        med = statistics.median(times)
        n = len(batches[0])
        row = {"task": task, "width": w, "size": s, "batch": n, "step_s_median": med, "step_s_min": min(times),
               "step_s_max": max(times), "samples_per_s": n / med, "samples_in_budget": int(n / med * TRAIN_MINUTES * 60)}
        rows.append(row)
        print(f"| {task} | {w} | {s} | {n} | {med:.3f} ({min(times):.3f}-{max(times):.3f}) | {n / med:.1f} | "
              f"{row['samples_in_budget']} |", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--which", choices=("both", "classifier", "segmenter", "none"), default="both",
                    help="synthetic timings to run (none: only --pipeline)")
    ap.add_argument("--classifier", default="16:224,16:256,24:224,24:256,24:320",
                    help="width:size pairs for the classifier")
    ap.add_argument("--classifier-batch", type=int, default=16)
    ap.add_argument("--segmenter", default="12:256,16:256,16:384,24:256",
                    help="width:patch pairs for the segmenter (training on square patches)")
    ap.add_argument("--segmenter-batch", type=int, default=4)
    ap.add_argument("--segmenter-infer", default="640,768,1024", help="full-image inference sides to time")
    ap.add_argument("--pipeline", default="",
                    help="also time the real training step (cache read + augmentation + forward/backward/update) "
                         "from the caches, e.g. classifier:16:256,classifier:16:320,segmenter:16:256 "
                         "(task:width:size; the segmenter's size is the training patch, its cache is 768 px); "
                         "builds missing caches first")
    ap.add_argument("--json", help="write the figures here as JSON")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    results: dict = {"threads": args.threads, "torch": torch.__version__, "classifier": [], "segmenter": []}
    print(f"torch {torch.__version__}, {args.threads} threads")

    if args.which in ("both", "classifier"):
        print(f"\nclassifier, batch {args.classifier_batch}")
        print("| width | input | params | step s (median, min-max) | images/s | images in 80 min |")
        print("|---|---|---|---|---|---|")
        for pair in args.classifier.split(","):
            w, s = (int(v) for v in pair.split(":"))
            model = M.build_classifier(w)
            t = time_train_steps(model, args.classifier_batch, s, args.steps, args.warmup, seg=False)
            med = statistics.median(t)
            ips = args.classifier_batch / med
            row = {"width": w, "size": s, "batch": args.classifier_batch, "params": M.count_parameters(model),
                   "step_s_median": med, "step_s_min": min(t), "step_s_max": max(t), "images_per_s": ips,
                   "images_in_budget": int(ips * TRAIN_MINUTES * 60)}
            results["classifier"].append(row)
            print(f"| {w} | {s} | {row['params'] / 1e6:.2f} M | {med:.3f} ({min(t):.3f}-{max(t):.3f}) | "
                  f"{ips:.1f} | {row['images_in_budget']} |", flush=True)

    if args.which in ("both", "segmenter"):
        print(f"\nsegmenter, batch {args.segmenter_batch} patches")
        print("| width | patch | params | step s (median, min-max) | patches/s | patches in 80 min |")
        print("|---|---|---|---|---|---|")
        for pair in args.segmenter.split(","):
            w, s = (int(v) for v in pair.split(":"))
            model = M.build_segmenter(w)
            t = time_train_steps(model, args.segmenter_batch, s, args.steps, args.warmup, seg=True)
            med = statistics.median(t)
            pps = args.segmenter_batch / med
            row = {"width": w, "patch": s, "batch": args.segmenter_batch, "params": M.count_parameters(model),
                   "step_s_median": med, "step_s_min": min(t), "step_s_max": max(t), "patches_per_s": pps,
                   "patches_in_budget": int(pps * TRAIN_MINUTES * 60)}
            results["segmenter"].append(row)
            print(f"| {w} | {s} | {row['params'] / 1e6:.2f} M | {med:.3f} ({min(t):.3f}-{max(t):.3f}) | "
                  f"{pps:.2f} | {row['patches_in_budget']} |", flush=True)
        widths = sorted({int(p.split(":")[0]) for p in args.segmenter.split(",")})
        print("\nsegmenter full-image inference, batch 1 (seconds per image)")
        print("| width | " + " | ".join(args.segmenter_infer.split(",")) + " |")
        print("|---|" + "---|" * len(args.segmenter_infer.split(",")))
        results["segmenter_inference"] = []
        for w in widths:
            model = M.build_segmenter(w)
            cells = []
            for side in (int(v) for v in args.segmenter_infer.split(",")):
                sec = time_inference(model, side, max(2, args.steps // 2))
                results["segmenter_inference"].append({"width": w, "side": side, "seconds": sec})
                cells.append(f"{sec:.2f}")
            print(f"| {w} | " + " | ".join(cells) + " |", flush=True)

    if args.pipeline:
        results["pipeline"] = time_pipeline(args)

    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
