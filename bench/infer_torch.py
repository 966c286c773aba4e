#!/usr/bin/python3
"""PyTorch side of `npm run bench:infer`: the same network as an exported ONNX model, timed in PyTorch.

    /usr/bin/python3 bench/infer_torch.py --manifest models/fundus-segmenter/manifest.json --threads 2 \
        --batch 1,8 --iterations 8 --warmup 1          # one shot: prints one JSON object
    /usr/bin/python3 bench/infer_torch.py --manifest ... --threads 2 --serve
        # prints {"ready": ...} on a line, then answers each request line {"batch": B, "iterations": N, "warmup": W}
        # with one JSON line {"batch": B, "ms": [...]}: what bench/infer.ts uses, so that it can alternate ORT and
        # PyTorch rounds while the model stays loaded.

The network is rebuilt from models/train/models.py with the manifest's `architecture.network` (e.g.
"FundusSegmenter(width=16, levels=5)") and the input size of `input.shape`, wrapped as export_onnx.py wraps it
(ClassifierForExport / SegmenterForExport: probabilities out, as the ONNX graph), in eval mode under
torch.no_grad(). Weights: models/train/runs/<classifier|segmenter>/checkpoints/best.pt (or --checkpoint) when it
exists and describes the same network and size; otherwise random weights of the same architecture (speed does not
depend on the values). Batch normalisation stays a separate layer here (PyTorch eval, as trained); the ONNX export
folds it into the convolutions. What is timed: model(x) alone, x a random float32 NCHW tensor made beforehand.
bench/infer.ts runs this with OMP_WAIT_POLICY=PASSIVE unless the environment sets it (GNU OpenMP's spinning makes
PyTorch many times slower when other work shares the cores); the value used is in the output.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "models" / "train"))


def fail(msg: str) -> None:
    print(json.dumps({"error": msg}), flush=True)
    sys.exit(3)


def parse_network(text: str) -> tuple[str, dict]:
    m = re.fullmatch(r"\s*(FundusClassifier|FundusSegmenter)\((.*)\)\s*", text or "")
    if not m:
        raise ValueError(f"architecture.network {text!r} is not a FundusClassifier(...) or FundusSegmenter(...)")
    kwargs = {}
    for part in filter(None, (p.strip() for p in m.group(2).split(","))):
        k, _, v = part.partition("=")
        kwargs[k.strip()] = int(v)
    return ("classifier" if m.group(1) == "FundusClassifier" else "segmenter"), kwargs


def build(manifest_file: Path, checkpoint: Path | None):
    import torch
    import models as M

    manifest = json.loads(manifest_file.read_text())
    arch = (manifest.get("architecture") or {}).get("network")
    try:
        task, kwargs = parse_network(arch)
    except ValueError as e:
        fail(f"{manifest_file}: {e}; PyTorch cannot rebuild this model")
    size = manifest["input"]["shape"][2]
    if manifest["input"]["shape"][3] != size:
        fail(f"{manifest_file}: input is not square")
    if task == "classifier":
        net = M.build_classifier(kwargs.get("width", 24))
        wrapper = M.ClassifierForExport(net)
    else:
        net = M.build_segmenter(kwargs.get("width", 16), kwargs.get("levels", 5))
        wrapper = M.SegmenterForExport(net)
    ckpt = checkpoint or REPO / "models" / "train" / "runs" / task / "checkpoints" / "best.pt"
    weights = f"random (no {ckpt.relative_to(REPO) if ckpt.is_relative_to(REPO) else ckpt})"
    if ckpt.exists():
        best = torch.load(ckpt, map_location="cpu")
        desc = best.get("task", {})
        if desc.get("width") != kwargs.get("width", desc.get("width")) or desc.get("size", size) != size:
            weights = (f"random ({ckpt.name} is width {desc.get('width')}, size {desc.get('size')}; "
                       f"the model is width {kwargs.get('width')}, size {size})")
        else:
            net.load_state_dict(best["model"])
            weights = f"{ckpt.relative_to(REPO) if ckpt.is_relative_to(REPO) else ckpt} (epoch {best.get('epoch')})"
    wrapper.eval()
    return wrapper, {"task": task, "network": arch, "size": size, "weights": weights,
                     "parameters": M.count_parameters(net)}


def timed(wrapper, size: int, batch: int, iterations: int, warmup: int) -> list[float]:
    import torch

    x = torch.randn(batch, 3, size, size, dtype=torch.float32)
    out = []
    with torch.no_grad():
        for i in range(warmup + iterations):
            t0 = time.perf_counter()
            wrapper(x)
            ms = (time.perf_counter() - t0) * 1000
            if i >= warmup:
                out.append(ms)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--manifest", required=True, type=Path)
    ap.add_argument("--checkpoint", type=Path)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--serve", action="store_true")
    ap.add_argument("--batch", default="1,8")
    ap.add_argument("--iterations", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=1)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    wrapper, info = build(args.manifest, args.checkpoint)
    info.update({"torch": torch.__version__, "threads": torch.get_num_threads(),
                 "mkldnn": bool(torch.backends.mkldnn.is_available()),
                 "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY")})
    if not args.serve:
        info["results"] = [{"batch": b, "ms": timed(wrapper, info["size"], b, args.iterations, args.warmup)}
                           for b in (int(x) for x in args.batch.split(","))]
        print(json.dumps(info), flush=True)
        return
    print(json.dumps({"ready": True, **info}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        ms = timed(wrapper, info["size"], int(req["batch"]), int(req["iterations"]), int(req.get("warmup", 0)))
        print(json.dumps({"batch": req["batch"], "ms": ms}), flush=True)


if __name__ == "__main__":
    main()
