#!/usr/bin/python3
"""Export a trained model (best.pt) to ONNX with its manifest, and check the export.

    /usr/bin/python3 models/train/export_onnx.py classifier \
        --checkpoint-dir models/train/runs/classifier/checkpoints \
        --metrics models/train/runs/classifier/eval/metrics.json --out models/fundus-classifier

Writes into --out: model.onnx, manifest.json (what the gateway reads), metrics.json (a copy of the evaluation,
from which MODEL_CARD.md is written) and the evaluation figures.

Checks (the export fails if any does not hold):
  1. onnx.checker.check_model(full_check=True) passes;
  2. the ONNX graph, executed by onnx_numpy.py (a NumPy interpreter: Debian's onnx 1.12 has no onnx.reference,
     and no onnxruntime is needed in Python), gives the same probabilities as PyTorch on real cached images at
     batch 1 and batch 2 (dynamic batch axis), max absolute difference <= 1e-3;
  3. model.onnx is at most 20 MB.

The manifest names each label's code only by reference into mappings/ (mappings/fundus-findings.json#<key>); the
mapping file itself belongs to the gateway.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import data as D  # noqa: E402
import models as M  # noqa: E402
import onnx_numpy  # noqa: E402
from evaluate import load_model  # noqa: E402

OPSET = 17
MAX_BYTES = 20 * 1024 * 1024
MAPPING = "mappings/fundus-findings.json"
NAMES = {"classifier": "fundus-classifier", "segmenter": "fundus-segmenter"}

ML_KEYS = {"N": "normal", "D": "diabetic-retinopathy", "G": "glaucoma", "C": "cataract",
           "A": "age-related-macular-degeneration", "H": "hypertensive-retinopathy", "M": "pathological-myopia",
           "O": "other-abnormality"}
DR_NAMES = ["no apparent retinopathy", "mild non-proliferative DR", "moderate non-proliferative DR",
            "severe non-proliferative DR", "proliferative DR"]
DME_NAMES = ["no apparent hard exudates (DME risk 0)",
             "hard exudates further than one disc diameter from the macula centre (DME risk 1)",
             "hard exudates within one disc diameter of the macula centre (DME risk 2)"]
SEG_KEYS = {"MA": "microaneurysm", "HE": "haemorrhage", "EX": "hard-exudate", "SE": "soft-exudate",
            "OD": "optic-disc", "cup": "optic-cup"}

DATA_SOURCES = {
    "idrid": {"name": "IDRiD (Indian Diabetic Retinopathy Image Dataset)", "licence": "CC BY 4.0",
              "attribution": "Porwal P. et al., Data 3(3):25, 2018"},
    "odir": {"name": "ODIR-5K (Peking University ODIR-2019)", "licence": "none stated; research use only"},
    "drishti": {"name": "Drishti-GS1 (Sivaswamy et al. 2014)", "licence": "research use with citation"},
}


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=D.REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
    except Exception:
        return "unknown"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def export_graph(wrapper: torch.nn.Module, size: int, outputs: tuple[str, ...], path: Path, opset: int) -> None:
    dummy = torch.zeros(1, 3, size, size)
    axes = {"image": {0: "batch"}}
    axes.update({o: {0: "batch"} for o in outputs})
    torch.onnx.export(wrapper, dummy, str(path), opset_version=opset, input_names=["image"],
                      output_names=list(outputs), dynamic_axes=axes, do_constant_folding=True,
                      training=torch.onnx.TrainingMode.EVAL)


def check_against_torch(wrapper: torch.nn.Module, onnx_path: Path, images: np.ndarray, mean, std) -> dict:
    from augment import normalise, to_float
    x = normalise(to_float(torch.from_numpy(np.array(images))), mean, std)
    report = {}
    model = onnx.load(str(onnx_path))
    for n in (1, 2):
        xb = x[:n]
        with torch.no_grad():
            ref = wrapper(xb)
        got = onnx_numpy.run(model, {"image": xb.numpy()})
        diffs = {name: float(np.abs(got[name] - r.numpy()).max()) for name, r in zip(wrapper.OUTPUTS, ref)}
        report[f"batch_{n}"] = diffs
    worst = max(v for d in report.values() for v in d.values())
    report["max_abs_diff"] = worst
    report["evaluator"] = "onnx_numpy.py (NumPy interpreter of the ONNX graph; onnx.reference is absent in onnx " \
                          f"{onnx.__version__})"
    if worst > 1e-3:
        raise SystemExit(f"ONNX and PyTorch outputs differ by {worst:.2e} (> 1e-3): {report}")
    return report


def run_facts(ckdir: Path) -> dict:
    """What the run did, from its last checkpoint and the command file train.py wrote beside it."""
    facts: dict = {}
    cmd = Path(ckdir).parent / "command.txt"
    if cmd.is_file():
        facts["training_command"] = cmd.read_text().strip()
    last = Path(ckdir) / "last.pt"
    if last.is_file():
        st = torch.load(last, map_location="cpu").get("state", {})
        hist = st.get("history") or []
        facts.update({"planned_epochs": st.get("planned_epochs"), "epochs_done": len(hist),
                      "train_minutes": round(st.get("train_seconds", 0.0) / 60, 1), "stop_reason": st.get("stop_reason"),
                      "best_epoch": st.get("best_epoch")})
    return facts


def manifest_for(task: str, desc: dict, metrics: dict | None, best: dict, onnx_path: Path, check: dict,
                 version: str, opset: int, run: dict | None = None) -> dict:
    run = run or {}
    size = desc["size"]
    thresholds = (metrics or {}).get("thresholds", {})
    m: dict = {
        "format": "ophgate-model-manifest/1",
        "name": NAMES[task],
        "version": version,
        "task": "classification" if task == "classifier" else "segmentation",
        "file": onnx_path.name,
        "sha256": sha256(onnx_path),
        "bytes": onnx_path.stat().st_size,
        "onnx_opset": opset,
        "intended_use": "research only; not for clinical use",
        "input": {
            "name": "image", "shape": ["batch", 3, size, size], "dtype": "float32", "layout": "NCHW",
            "channel_order": "RGB", "value_scale": "x / 255 before normalisation",
            "normalization": {"mean": desc["mean"], "std": desc["std"]},
        },
        "preprocessing": D.preprocessing_steps(size),
    }
    m["preprocessing"][-1]["mean"] = desc["mean"]
    m["preprocessing"][-1]["std"] = desc["std"]
    if task == "classifier":
        ml_thr = thresholds.get("multilabel", {})
        m["outputs"] = [
            {"name": "multilabel", "shape": ["batch", 8], "activation": "sigmoid", "kind": "multilabel",
             "labels": [{"index": i, "key": k, "name": D.ODIR_LABEL_NAMES[k], "threshold": ml_thr.get(k, 0.5),
                         "code": f"{MAPPING}#{ML_KEYS[k]}"} for i, k in enumerate(D.ODIR_LABELS)]},
            {"name": "dr_grade", "shape": ["batch", 5], "activation": "softmax", "kind": "grade",
             "decision": "argmax", "scale": "international clinical DR severity scale",
             "labels": [{"index": g, "key": str(g), "name": DR_NAMES[g], "code": f"{MAPPING}#dr-grade-{g}"}
                        for g in range(5)],
             "derived": [{"name": "referable_dr", "formula": "dr_grade[2] + dr_grade[3] + dr_grade[4]",
                          "meaning": "probability of DR grade 2 or more (referable, more than mild)",
                          "threshold": thresholds.get("referable_dr", 0.5), "code": f"{MAPPING}#referable-dr"}]},
            {"name": "dme_risk", "shape": ["batch", 3], "activation": "softmax", "kind": "grade",
             "decision": "argmax", "scale": "IDRiD risk of diabetic macular oedema",
             "labels": [{"index": g, "key": str(g), "name": DME_NAMES[g], "code": f"{MAPPING}#dme-risk-{g}"}
                        for g in range(3)]},
            {"name": "quality", "shape": ["batch", 1], "activation": "sigmoid", "kind": "binary",
             "labels": [{"index": 0, "key": "quality_issue",
                         "name": "image quality remark (lens dust, low quality, disc invisible, offset, not a "
                                 "fundus image); a weak proxy for gradability",
                         "threshold": thresholds.get("quality", 0.5), "code": f"{MAPPING}#image-quality-issue"}]},
        ]
        m["data"] = [DATA_SOURCES["odir"], DATA_SOURCES["idrid"]]
    else:
        m["outputs"] = [{
            "name": "masks", "shape": ["batch", 6, size, size], "activation": "sigmoid", "kind": "masks",
            "channels": [{"index": i, "key": ch, "name": D.SEG_CHANNEL_NAMES[ch],
                          "threshold": thresholds.get(ch, 0.5), "code": f"{MAPPING}#{SEG_KEYS[ch]}"}
                         for i, ch in enumerate(D.SEG_CHANNELS)],
        }]
        m["postprocessing"] = [
            {"op": "to_source",
             "description": "bring each channel back to the source image: resize the size x size map to side x side "
                            "(the padded square of the fundus crop; bilinear), drop the padding (left, top), place it "
                            "at the crop box in a zero map of the source size, then threshold",
             "interpolation": "bilinear"},
            {"op": "regions", "description": "per channel: pixel area above threshold and number of 8-connected "
                                             "components, in source pixels"},
            {"op": "cup_to_disc_ratio", "disc_channel": "OD", "cup_channel": "cup", "kind": "vertical",
             "description": "largest connected component of the disc; largest component of the cup inside it; "
                            "ratio of their vertical extents", "code": f"{MAPPING}#cup-to-disc-ratio"},
        ]
        m["data"] = [DATA_SOURCES["idrid"], DATA_SOURCES["drishti"]]
    m["thresholds_chosen_on"] = thresholds.get("chosen_on", "default 0.5 (no evaluation given)")
    m["architecture"] = {"network": desc["arch"], "parameters": None}
    m["training"] = {"checkpoint_epoch": best["epoch"], "validation_score": best["score"],
                     "recipe": "models/train (see models/train/README.md)", "commit": git_commit(),
                     "exported": dt.datetime.now(dt.timezone.utc).isoformat(), **run}
    m["export_check"] = check
    if metrics:
        m["metrics"] = "metrics.json"
    return m


def export(task: str, ckdir: Path, out: Path, args, log=print) -> dict:
    model, desc, best = load_model(ckdir, "cpu")
    wrapper = (M.ClassifierForExport if task == "classifier" else M.SegmenterForExport)(model).eval()
    out.mkdir(parents=True, exist_ok=True)
    path = out / "model.onnx"
    export_graph(wrapper, desc["size"], wrapper.OUTPUTS, path, args.opset)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    if path.stat().st_size > MAX_BYTES:
        raise SystemExit(f"{path} is {path.stat().st_size / 2**20:.1f} MB, over the 20 MB limit")
    caches = D.load_cache(task, desc["size"], args.cache)
    split = caches.get("test") or caches.get("val")
    if split is not None and len(split) >= 2:
        images = np.asarray(split.images[:2])
    else:
        images = (np.random.default_rng(0).random((2, desc["size"], desc["size"], 3)) * 255).astype(np.uint8)
    check = check_against_torch(wrapper, path, images, desc["mean"], desc["std"])
    check["onnx_checker"] = "passed (full_check)"
    metrics = None
    if args.metrics and Path(args.metrics).is_file():
        metrics = json.loads(Path(args.metrics).read_text())
        if Path(args.metrics).resolve() != (out / "metrics.json").resolve():
            shutil.copyfile(args.metrics, out / "metrics.json")
        figs = Path(args.metrics).parent / "figures"
        if figs.is_dir() and figs.resolve() != (out / "figures").resolve():
            shutil.copytree(figs, out / "figures", dirs_exist_ok=True)
    man = manifest_for(task, desc, metrics, best, path, check, args.version, args.opset, run_facts(ckdir))
    man["architecture"]["parameters"] = M.count_parameters(model)
    (out / "manifest.json").write_text(json.dumps(man, indent=2) + "\n")
    log(f"exported {path} ({path.stat().st_size / 2**20:.2f} MB, opset {args.opset}); onnx.checker passed; "
        f"ONNX vs torch max |diff| {check['max_abs_diff']:.2e}; manifest {out / 'manifest.json'}")
    return man


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--opset", type=int, default=OPSET)
    ap.add_argument("--version", default="0.1.0")
    ap.add_argument("--cache", type=Path, default=D.DEFAULT_CACHE)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", choices=("classifier", "segmenter"))
    ap.add_argument("--checkpoint-dir", type=Path, required=True)
    ap.add_argument("--metrics", type=Path, default=None, help="evaluate.py's metrics.json (thresholds, metrics)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--threads", type=int, default=2)
    add_arguments(ap)
    args = ap.parse_args(argv)
    torch.set_num_threads(max(1, args.threads))
    export(args.model, args.checkpoint_dir, args.out, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
