#!/usr/bin/python3
"""Write MODEL_CARD.md for each shipped fundus model and the overview docs/models.md.

    /usr/bin/python3 models/train/model_card.py                    # models/fundus-*/ -> MODEL_CARD.md, docs/models.md
    /usr/bin/python3 models/train/model_card.py --models-dir /tmp/smoke-models --docs /tmp/models.md
    /usr/bin/python3 models/train/model_card.py --command "classifier=/usr/bin/python3 models/train/train.py ..."

Every number in the cards comes from `<models-dir>/fundus-<model>/manifest.json` and `metrics.json` (written by
export_onnx.py and evaluate.py; null stands for a metric that is undefined on the split). The only constants here
are the issue's floors and aims and the published reference figures they are compared with (IDRiD challenge best
AUPRs); the IDx-DR reference is read from metrics.json. Figures are linked only when the file exists under
`figures/`. The training command is taken from the manifest's `training_command` key when present, otherwise from
`--command` (plain, for both models, or `classifier=...` / `segmenter=...`), otherwise the card says it was not
recorded. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MODELS = ("classifier", "segmenter")
NA = "n/a"

# Issue 3, "Quality": floors and aims. Reference AUPRs: best of the IDRiD 2018 challenge per lesion
# (Porwal et al., Medical Image Analysis 59:101561, 2020).
CHALLENGE_BEST_AUPR = {"MA": 0.50, "HE": 0.68, "EX": 0.89, "SE": 0.70}
CHALLENGE_SOURCE = "best AUPR of the IDRiD 2018 challenge (Porwal et al., Medical Image Analysis 59:101561, 2020)"
FLOORS = {
    "classifier": [
        {"id": "odir_mean_auc", "measure": "Mean per-label AUROC (N D G C A H M O)", "split": "ODIR-5K test eyes",
         "path": ("test", "odir", "mean_auc"), "floor": 0.75, "aim": 0.85},
        {"id": "referable_auc", "measure": "Referable DR (grade >= 2) AUROC", "split": "IDRiD grading test",
         "path": ("test", "idrid", "referable_dr", "auc"), "floor": 0.80, "aim": None},
        {"id": "dr_kappa", "measure": "DR grade, quadratic-weighted kappa", "split": "IDRiD grading test",
         "path": ("test", "idrid", "dr_grade", "kappa"), "floor": None, "aim": 0.75},
        {"id": "referable_sens", "measure": "Referable DR sensitivity at the shipped threshold",
         "split": "IDRiD grading test", "path": ("test", "idrid", "referable_dr", "sensitivity"),
         "floor": None, "aim": None, "reference": ("reference", "idx_dr", "sensitivity"), "percent": True},
        {"id": "referable_spec", "measure": "Referable DR specificity at the shipped threshold",
         "split": "IDRiD grading test", "path": ("test", "idrid", "referable_dr", "specificity"),
         "floor": None, "aim": None, "reference": ("reference", "idx_dr", "specificity"), "percent": True},
    ],
    "segmenter": [
        {"id": "od_dice", "measure": "Optic disc Dice (mean per image)", "split": "IDRiD segmentation test",
         "path": ("test", "idrid", "OD", "dice_mean_per_image"), "floor": 0.85, "aim": 0.93},
        {"id": "ex_aupr", "measure": "Hard exudate (EX) AUPR", "split": "IDRiD segmentation test",
         "path": ("test", "idrid", "EX", "aupr_images_with_lesion"), "floor": 0.50, "aim": CHALLENGE_BEST_AUPR["EX"],
         "also": ("test", "idrid", "EX", "aupr_all_images")},
        {"id": "he_aupr", "measure": "Haemorrhage (HE) AUPR", "split": "IDRiD segmentation test",
         "path": ("test", "idrid", "HE", "aupr_images_with_lesion"), "floor": 0.30, "aim": CHALLENGE_BEST_AUPR["HE"],
         "also": ("test", "idrid", "HE", "aupr_all_images")},
        {"id": "ma_aupr", "measure": "Microaneurysm (MA) AUPR", "split": "IDRiD segmentation test",
         "path": ("test", "idrid", "MA", "aupr_images_with_lesion"), "floor": None, "aim": CHALLENGE_BEST_AUPR["MA"],
         "also": ("test", "idrid", "MA", "aupr_all_images")},
        {"id": "se_aupr", "measure": "Soft exudate (SE) AUPR", "split": "IDRiD segmentation test",
         "path": ("test", "idrid", "SE", "aupr_images_with_lesion"), "floor": None, "aim": CHALLENGE_BEST_AUPR["SE"],
         "also": ("test", "idrid", "SE", "aupr_all_images")},
    ],
}

FIGURE_ORDER = ["odir_roc.png", "odir_pr.png", "idrid_test_referable_dr_roc.png", "idrid_test_referable_dr_pr.png",
                "idrid_official_test_referable_dr_roc.png", "idrid_official_test_referable_dr_pr.png",
                "idrid_lesion_pr.png"]
FIGURE_CAPTIONS = {
    "odir_roc.png": "ROC curve per label, ODIR-5K test eyes",
    "odir_pr.png": "Precision-recall curve per label, ODIR-5K test eyes",
    "idrid_test_referable_dr_roc.png": "Referable DR ROC on the IDRiD grading test split (shipped threshold marked)",
    "idrid_test_referable_dr_pr.png": "Referable DR precision-recall on the IDRiD grading test split",
    "idrid_official_test_referable_dr_roc.png": "Referable DR ROC, official IDRiD test images only "
                                                "(shipped threshold marked)",
    "idrid_official_test_referable_dr_pr.png": "Referable DR precision-recall, official IDRiD test images only",
    "idrid_lesion_pr.png": "Pixel precision-recall per channel, pooled over the IDRiD segmentation test images",
}

# "Known limitations and failure modes" of models/train/README.md, per model, in this card's words.
COMMON_FAILURES = [
    "IDRiD records no patient identifiers, so the two eyes of one person can sit in different splits; the "
    "held-out figures on IDRiD may be slightly optimistic for that reason.",
    "Images whose field of view has no dark border (already cropped inside the fundus) are used whole, and images "
    "whose border is brighter than the crop threshold are not cropped; both change the scale the network sees.",
    "The model was trained from scratch on public images from a small number of clinics and cameras. It has not been tested on other cameras, populations, smartphone or widefield images, and its "
    "outputs on those are unknown.",
]
MODEL_FAILURES = {
    "classifier": [
        "ODIR-5K labels are derived from free-text diagnostic keywords per eye, not from a reading protocol; the "
        "\"other\" label (O) lumps together many unrelated findings.",
        "DR grades come from two sources with different graders and protocols (IDRiD experts; grades inferred "
        "from ODIR keywords), used as given.",
        "The input is 256 px square: microaneurysms, the only sign of mild DR, are one or two pixels at that size, "
        "so grade 1 is close to the resolution limit and is often confused with grades 0 and 2.",
        "The referable-DR threshold is chosen on the IDRiD validation images (a few dozen, one camera); on a population "
        "with another prevalence or image quality the sensitivity / specificity pair moves along the ROC curve.",
        "The quality output is trained on ODIR's image remarks (lens dust, low quality, offset, ...) and is only a "
        "weak proxy for gradability; it is not an ungradable-image detector.",
        "DME risk is learnt from the IDRiD grading images only (a few hundred), so its estimate is coarse.",
        "Glaucoma, cataract, AMD, hypertensive retinopathy, pathological myopia and other are learnt from ODIR-5K "
        "images only (IDRiD labels none of them): on other cameras they are unreliable. On the IDRiD sample study of "
        "`npm run demo`, diabetic-retinopathy photographs come out positive for AMD, myopia and other as well; read "
        "those outputs as untested outside ODIR-like images.",
        "Labels with few positives in the test split have wide confidence intervals (see the per-label table).",
    ],
    "segmenter": [
        "Lesion masks are learnt from a few dozen IDRiD training images; microaneurysms and soft exudates are small "
        "or rare and are the least reliable channels.",
        "The optic cup is learnt only from Drishti-GS1 disc-centred images of one hospital; it is applied to "
        "macula-centred fields too, where the cup and the cup-to-disc ratio are less reliable.",
        "Low-resolution inputs (for example ODIR's 256 px images) are upsampled to the network input; lesion maps "
        "of such images are unreliable.",
        "Thresholds are chosen at the cached training resolution and applied at the source resolution after the "
        "map is resized back; small lesions are sensitive to that resampling.",
        "The cup-to-disc ratio uses the largest connected disc and cup components; a missed disc or a cup outside "
        "the disc gives no ratio or a wrong one.",
    ],
}

DATA_TERMS = {
    "idrid": ("CC BY 4.0. Attribution: Porwal P. et al., \"Indian Diabetic Retinopathy Image Dataset (IDRiD): a "
              "database for diabetic retinopathy screening research\", Data 3(3):25, 2018. Models trained on it "
              "and its images may be redistributed with that attribution."),
    "odir": ("No licence is stated by the publisher; the data are for research use only. Weights trained on it are "
             "shipped only with this card stating those research-only terms; none of its images is "
             "redistributed (no figure here shows an ODIR-5K image)."),
    "drishti": ("Research use with citation: Sivaswamy J. et al., Drishti-GS, 2014 (cite it when using these weights). Only the trained weights are "
                "shipped, under the same research-only condition; none of its images is redistributed (no "
                "figure here shows a Drishti-GS1 image)."),
}


# -----------------------------------------------------------------------------------------------------------------
# small helpers
# -----------------------------------------------------------------------------------------------------------------

def get(d, *path, default=None):
    for k in path:
        if isinstance(d, dict) and k in d:
            d = d[k]
        elif isinstance(d, list) and isinstance(k, int) and -len(d) <= k < len(d):
            d = d[k]
        else:
            return default
    return d


def num(x):
    return x if isinstance(x, (int, float)) and not isinstance(x, bool) else None


def value_of(m):
    """A metric is either a number or a bootstrap block {value, ci95, ...}."""
    return num(m.get("value")) if isinstance(m, dict) else num(m)


def ci_of(m):
    c = m.get("ci95") if isinstance(m, dict) else None
    if isinstance(c, list) and len(c) == 2 and num(c[0]) is not None and num(c[1]) is not None:
        return c[0], c[1]
    return None


def f3(x, percent=False):
    x = num(x)
    if x is None:
        return NA
    return f"{100 * x:.1f}%" if percent else f"{x:.3f}"


def pct_g(x):
    return f"{100 * x:g}%" if num(x) is not None else NA


def ci_text(m, percent=False):
    c = ci_of(m)
    return f"{f3(c[0], percent)} to {f3(c[1], percent)}" if c else NA


def cell(m, percent=False):
    """value (95% CI lo to hi)."""
    v = value_of(m)
    if v is None:
        return NA
    c = ci_of(m)
    return f"{f3(v, percent)} ({ci_text(m, percent)})" if c else f3(v, percent)


def esc(s) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def table(header: list[str], rows: list[list]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def load_json(path: Path):
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None


def source_key(name: str) -> str:
    n = (name or "").lower()
    if "idrid" in n:
        return "idrid"
    if "odir" in n:
        return "odir"
    if "drishti" in n:
        return "drishti"
    return ""


# -----------------------------------------------------------------------------------------------------------------
# floors
# -----------------------------------------------------------------------------------------------------------------

def verdict(spec: dict, metrics: dict) -> dict:
    """Evaluate one floor row: value, CI, verdict text ('met' / 'MISSED' for floors, 'reported' otherwise)."""
    m = get(metrics, *spec["path"])
    v, c = value_of(m), ci_of(m)
    floor, aim = spec.get("floor"), spec.get("aim")
    ref = num(get(metrics, *spec["reference"])) if spec.get("reference") else None
    pct = spec.get("percent", False)
    notes = []
    if floor is not None:
        if v is None:
            status = "MISSED"
            notes.append("not computable on this split")
        elif v >= floor:
            status = "met"
            if c and c[0] < floor:
                notes.append(f"CI lower bound {f3(c[0])} is below the floor")
        else:
            status = "MISSED"
        if status == "met" and aim is not None:
            notes.append("aim reached" if v >= aim else "below aim")
    elif aim is not None:
        status = "reported"
        if v is None:
            notes.append("not computable on this split")
        else:
            notes.append("aim reached" if v >= aim else "below aim")
    else:
        status = "reported"
        if v is None:
            notes.append("not computable on this split")
        elif ref is not None:
            notes.append(f"{'at or above' if v >= ref else 'below'} IDx-DR's {f3(ref, True)}")
    if spec.get("also"):
        a = value_of(get(metrics, *spec["also"]))
        txt = f"all test images: {f3(a)}"
        if floor is not None and a is not None and a < floor <= (v if v is not None else -1):
            txt += " (below the floor)"
        notes.append(txt)
    return {"value": v, "ci": c, "status": status, "notes": notes, "floor": floor, "aim": aim, "reference": ref,
            "percent": pct}


def floor_rows(model: str, metrics: dict) -> list[dict]:
    rows = []
    for spec in FLOORS[model]:
        r = verdict(spec, metrics or {})
        r.update(id=spec["id"], measure=spec["measure"], split=spec["split"], model=model)
        rows.append(r)
    return rows


def floors_table(rows: list[dict], with_model: bool = False) -> str:
    header = (["Model"] if with_model else []) + ["Measure", "Split", "Value", "95% CI", "Floor", "Aim / reference",
                                                  "Verdict"]
    out = []
    for r in rows:
        pct = r["percent"]
        aim = f3(r["aim"]) if r["aim"] is not None else (f"IDx-DR {f3(r['reference'], True)}"
                                                         if r["reference"] is not None else "-")
        ci = f"{f3(r['ci'][0], pct)} to {f3(r['ci'][1], pct)}" if r["ci"] else NA
        status = f"**{r['status']}**" if r["status"] in ("met", "MISSED") else r["status"]
        if r["notes"]:
            status += " (" + "; ".join(r["notes"]) + ")"
        out.append(([f"fundus-{r['model']}"] if with_model else [])
                   + [r["measure"], r["split"], f3(r["value"], pct), ci,
                      (">= " + f3(r["floor"])) if r["floor"] is not None else "-", aim, status])
    return table(header, out)


# -----------------------------------------------------------------------------------------------------------------
# training command and record
# -----------------------------------------------------------------------------------------------------------------

def training_command(model: str, manifest: dict, commands: dict) -> tuple[str | None, str]:
    cmd = manifest.get("training_command") or get(manifest, "training", "training_command") or \
        get(manifest, "training", "command")
    if cmd:
        return (shlex.join(cmd) if isinstance(cmd, list) else str(cmd)), "manifest"
    if commands.get(model) or commands.get("*"):
        return commands.get(model) or commands["*"], "--command"
    return None, "none"


def option_of(cmd: str | None, name: str) -> str | None:
    if not cmd:
        return None
    try:
        parts = shlex.split(cmd)
    except ValueError:
        parts = cmd.split()
    for i, p in enumerate(parts):
        if p == name and i + 1 < len(parts):
            return parts[i + 1]
        if p.startswith(name + "="):
            return p.split("=", 1)[1]
    return None


def training_section(model: str, manifest: dict, metrics: dict, commands: dict) -> str:
    tr = manifest.get("training") or {}
    cmd, origin = training_command(model, manifest, commands)
    lines = ["## Training", ""]
    if cmd:
        where = {"manifest": "recorded in manifest.json", "--command": "as given to model_card.py"}[origin]
        lines += [f"Command used for the shipped weights ({where}), from the repository root:", "", "```",
                  cmd, "```", ""]
    else:
        lines += ["The exact training command was not recorded with these weights; the recipe is "
                  f"`{tr.get('recipe', 'models/train')}`, whose one command is "
                  "`/usr/bin/python3 models/train/train.py all --device cpu --resume`.", ""]
    minutes = option_of(cmd, "--minutes") or get(tr, "budget_minutes") or get(tr, "minutes")
    threads = option_of(cmd, "--threads") or get(tr, "threads")
    device = option_of(cmd, "--device") or get(tr, "device")
    rows = []
    rows.append(["Training budget", f"{minutes} minutes of wall-clock training, validation included"
                 if minutes is not None else "the recipe's default `--minutes` (see models/train/README.md)"])
    if device:
        rows.append(["Device / torch threads", f"{device}" + (f", {threads} thread(s)" if threads else "")])
    done = None
    for k in ("epochs_done", "epochs_completed", "epochs_trained", "epochs"):
        if num(tr.get(k)) is not None:
            done = tr[k]
            break
    hist = tr.get("history") if isinstance(tr.get("history"), list) else None
    if done is None and hist:
        done = len(hist)
    rows.append(["Epochs completed", str(done) if done is not None else "not recorded in the manifest"])
    if num(tr.get("planned_epochs")) is not None:
        rows.append(["Epochs planned from the budget", str(tr["planned_epochs"])])
    if num(tr.get("train_minutes")) is not None:
        rows.append(["Training time", f"{tr['train_minutes']:.1f} min"])
    if tr.get("stop_reason"):
        rows.append(["Stopped because", str(tr["stop_reason"])])
    best = tr.get("checkpoint_epoch", tr.get("best_epoch"))
    rows.append(["Best epoch (shipped weights)", f"{best} (0-based: epoch {best} is the {ordinal(best + 1)} epoch)"
                 if num(best) is not None else NA])
    rows.append(["Validation score of that epoch", f3(tr.get("validation_score"))])
    rows.append(["Recipe commit", f"`{tr['commit']}`" if tr.get("commit") else NA])
    rows.append(["Exported", str(tr.get("exported", NA))])
    known = {"checkpoint_epoch", "best_epoch", "validation_score", "recipe", "commit", "exported", "epochs_done",
             "epochs_completed", "epochs_trained", "epochs", "planned_epochs", "train_minutes", "stop_reason",
             "history", "budget_minutes", "minutes", "threads", "device", "training_command", "command"}
    for k, v in tr.items():
        if k not in known and isinstance(v, (str, int, float)) and not isinstance(v, bool):
            rows.append([k.replace("_", " "), f3(v) if isinstance(v, float) else str(v)])
    lines += [table(["", ""], rows), ""]
    score_rule = {
        "classifier": "the validation score is the mean of the ODIR validation mean AUROC and the DR-grade "
                      "quadratic-weighted kappa over every graded validation image",
        "segmenter": "the validation score is the mean of the pooled pixel AUPR of MA, HE, EX and SE on IDRiD "
                     "validation images and the Dice of the disc and of the cup at the cached resolution",
    }[model]
    lines.append(f"The weights of the epoch with the best validation score are shipped; {score_rule}. "
                 "Optimiser AdamW with linear warm-up and a cosine schedule over the planned epochs; no pretrained "
                 "weights (see models/train/README.md, \"Training\").")
    task = metrics.get("task") if metrics else None
    if isinstance(task, dict):
        bits = []
        if num(task.get("batch")) is not None:
            bits.append(f"batch {task['batch']}")
        if num(task.get("patch")) is not None:
            bits.append(f"training patches {task['patch']} px")
        if num(task.get("idrid_repeat")) is not None:
            bits.append(f"each IDRiD training image {task['idrid_repeat']} times per epoch")
        if num(task.get("lesion_centred")) is not None:
            bits.append(f"{task['lesion_centred'] * 100:g}% of patches centred on an annotated pixel")
        aug = task.get("augment")
        if isinstance(aug, dict):
            a = []
            if num(aug.get("hflip")):
                a.append(f"horizontal flip p {aug['hflip']}")
            if num(aug.get("vflip")):
                a.append(f"vertical flip p {aug['vflip']}")
            if num(aug.get("rotate_deg")):
                a.append(f"rotation +-{aug['rotate_deg']:g} degrees")
            if isinstance(aug.get("scale"), list):
                a.append(f"scale {aug['scale'][0]:g}-{aug['scale'][1]:g}")
            for k in ("brightness", "contrast", "saturation", "gamma"):
                if num(aug.get(k)):
                    a.append(f"{k} +-{aug[k]:g}")
            if a:
                bits.append("augmentation: " + ", ".join(a))
        if bits:
            lines += ["", "Training set-up from metrics.json: " + "; ".join(bits) + "."]
    return "\n".join(lines)


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


# -----------------------------------------------------------------------------------------------------------------
# card sections
# -----------------------------------------------------------------------------------------------------------------

def header_section(model: str, manifest: dict) -> str:
    name = manifest.get("name", f"fundus-{model}")
    inp = manifest.get("input") or {}
    shape = inp.get("shape")
    rows = [
        ["Name / version", f"{name} {manifest.get('version', '')}".strip()],
        ["Task", str(manifest.get("task", model))],
        ["File", f"`{manifest.get('file', 'model.onnx')}`, "
                 + (f"{manifest['bytes'] / 2 ** 20:.2f} MiB" if num(manifest.get("bytes")) else "size n/a")
                 + (f", ONNX opset {manifest['onnx_opset']}" if manifest.get("onnx_opset") else "")],
        ["SHA-256", f"`{manifest.get('sha256', NA)}`"],
        ["Input", f"`{inp.get('name', 'image')}` {shape}, {inp.get('dtype', '')} {inp.get('layout', '')} "
                  f"{inp.get('channel_order', '')}".strip()],
        ["Intended use (manifest)", str(manifest.get("intended_use", NA))],
    ]
    return "\n".join([
        f"# Model card: {name}", "",
        "> **Research use only. Not for clinical use.** This model is not a medical device, has not been "
        "clinically validated, and must not be used to diagnose, screen, triage or treat anyone.", "",
        "This card is generated by `models/train/model_card.py` from `manifest.json` and `metrics.json` in this "
        "folder; edit the generator, not the card.", "",
        table(["", ""], rows)])


def intended_use_section(model: str) -> str:
    what = {
        "classifier": "estimates, for one colour fundus photograph, the probabilities of eight ODIR-5K finding "
                      "groups (normal, diabetic retinopathy, glaucoma, cataract, AMD, hypertensive retinopathy, "
                      "pathological myopia, other), the DR grade on the international five-step scale (and from it "
                      "the probability of referable DR, grade 2 or more), the IDRiD DME risk grade and an "
                      "image-quality remark",
        "segmenter": "draws, for one colour fundus photograph, per-pixel probability maps of microaneurysms, "
                     "haemorrhages, hard exudates, soft exudates, the optic disc and the optic cup, from which the "
                     "gateway derives lesion areas, component counts and the vertical cup-to-disc ratio",
    }[model]
    return "\n".join([
        "## Intended use", "",
        f"The model {what}. It is part of OphGate, an open-source research gateway, and exists to exercise the "
        "imaging workflow end to end (receive, decode, infer, report) on real data and to give researchers a "
        "documented, reproducible baseline.", "",
        "- **Intended users:** developers and researchers working on ophthalmic imaging pipelines.",
        "- **Out of scope:** any clinical decision, including screening or referral; images other than colour "
        "fundus photographs (OCT, anterior segment, fluorescein angiography); populations, cameras or image "
        "qualities not represented in the training data; use without a qualified reader reviewing every image.",
        "- Its outputs are probabilities from a small network trained from scratch; the thresholds below turn "
        "them into flags for research displays, not into findings."])


def data_section(model: str, manifest: dict, metrics: dict) -> str:
    lines = ["## Data and licences", ""]
    rows = []
    for src in manifest.get("data") or []:
        key = source_key(src.get("name", ""))
        lic = src.get("licence", NA) + (f"; attribution: {src['attribution']}" if src.get("attribution") else "")
        rows.append([src.get("name", NA), lic, DATA_TERMS.get(key, "see ../shared/data/README.md")])
    lines += [table(["Source", "Licence (manifest)", "Terms for what ships"], rows), ""]
    lines.append("Splits are fixed and leak-free (`models/train/splits/SPLITS.md`): duplicate photographs are "
                 "grouped, both eyes of an ODIR patient stay in one split, and IDRiD's segmentation and grading "
                 "sets are split together because they share photographs. Thresholds are chosen on the validation "
                 "split; every figure below is on the held-out test split.")
    d = get(metrics, "data") or {}
    if model == "classifier" and d:
        t, v = d.get("test", {}), d.get("val", {})
        rows = [["ODIR-5K eyes", v.get("odir_eyes", NA), t.get("odir_eyes", NA)],
                ["ODIR-5K patient groups", NA, t.get("odir_patient_groups", NA)],
                ["IDRiD grading images", v.get("idrid_images", NA), t.get("idrid_images", NA)],
                ["of which official IDRiD test images", NA, t.get("idrid_official_test_images", NA)]]
        lines += ["", table(["Evaluation data", "validation", "test"], rows)]
    if model == "segmenter":
        rows = []
        for tag, label in (("idrid", "IDRiD segmentation"), ("idrid_official_test_only", "IDRiD, official test only"),
                           ("drishti", "Drishti-GS1")):
            blk = get(metrics, "test", tag) or {}
            for ch, b in blk.items():
                if isinstance(b, dict) and b:
                    rows.append([label, ch, b.get("images", NA), b.get("images_with_lesion", NA)])
        if rows:
            lines += ["", table(["Test set", "Channel", "Images scored", "Images containing it"], rows)]
    return "\n".join(lines)


def architecture_section(model: str, manifest: dict) -> str:
    arch = manifest.get("architecture") or {}
    p = num(arch.get("parameters"))
    desc = {
        "classifier": "a residual CNN (stem, five residual stages, global average pooling, dropout) with four "
                      "heads: 8 sigmoid outputs, 5-way DR grade softmax, 3-way DME risk softmax, 1 quality sigmoid",
        "segmenter": "a U-Net (four 2x2 down-samplings, transposed-convolution up-sampling with skip "
                     "connections) with a 1x1 head of 6 sigmoid channels; fully convolutional, trained on patches "
                     "and run on the whole image",
    }[model]
    return "\n".join([
        "## Architecture", "",
        f"`{arch.get('network', NA)}`: {desc}. "
        + (f"{p:,} parameters" if p is not None else "Parameter count n/a")
        + ". Layers: " + {"classifier": "Conv (BatchNorm folded in at export), ReLU, max-pooling, global average "
                                        "pooling, dropout (inactive at inference) and Linear",
                         "segmenter": "Conv (BatchNorm folded in at export), ReLU, max-pooling, transposed "
                                      "convolution and concatenation"}[model] + ".",
        "", "Export check: " + export_check_text(manifest.get("export_check") or {})])


def export_check_text(check: dict) -> str:
    parts = []
    if check.get("onnx_checker"):
        parts.append(f"onnx.checker {check['onnx_checker']}")
    if num(check.get("max_abs_diff")) is not None:
        parts.append(f"largest absolute difference to PyTorch {check['max_abs_diff']:.1e} at batch 1 and 2")
    if check.get("evaluator"):
        parts.append(f"ONNX graph run by {check['evaluator']}")
    return "; ".join(parts) + "." if parts else "not recorded."


def preprocessing_section(manifest: dict) -> str:
    steps = []
    for s in manifest.get("preprocessing") or []:
        op = s.get("op")
        if op == "decode":
            steps.append(f"decode to {s.get('output', 'RGB')}")
        elif op == "fundus_crop":
            steps.append(f"crop to the field of view: a pixel is inside when max(R,G,B) > {s.get('threshold')}; "
                         f"rows and columns with more than {pct_g(s.get('min_fraction'))} of their pixels inside "
                         f"are kept; the whole image is used if the box is under {pct_g(s.get('min_side'))} of "
                         "either side")
        elif op == "pad_square":
            steps.append(f"pad to a centred square with {s.get('fill')}")
        elif op == "resize":
            steps.append(f"resize to {s.get('width')} x {s.get('height')} with {s.get('kernel')} (antialiased)")
        elif op == "to_float":
            steps.append("divide by 255")
        elif op == "normalize":
            steps.append(f"subtract the per-channel mean {s.get('mean')} and divide by the std {s.get('std')} "
                         "(RGB, from the training cache); NCHW float32")
        else:
            steps.append(f"{op}: {s.get('description', '')}")
    lines = ["## Preprocessing", "",
             "The same steps run in training, evaluation and the gateway (`manifest.json` holds them as data):", ""]
    lines += [f"{i}. {s}" for i, s in enumerate(steps, 1)]
    post = manifest.get("postprocessing") or []
    if post:
        lines += ["", "Post-processing in the gateway:", ""]
        lines += [f"- `{p.get('op')}`: {p.get('description', '')}" for p in post]
    return "\n".join(lines)


def outputs_section(model: str, manifest: dict) -> str:
    rows = []
    for o in manifest.get("outputs") or []:
        act = o.get("activation", "")
        for lab in o.get("labels") or o.get("channels") or []:
            thr = lab.get("threshold")
            decision = (f">= {f3(thr)}" if num(thr) is not None else
                        ("argmax" if o.get("decision") == "argmax" else NA))
            rows.append([f"`{o['name']}[{lab.get('index')}]`", lab.get("key", ""), lab.get("name", ""), act, decision,
                         f"`{lab.get('code', '')}`"])
        for dv in o.get("derived") or []:
            rows.append([f"`{dv['name']}` = {dv.get('formula', '')}", "", dv.get("meaning", ""), "derived",
                         f">= {f3(dv.get('threshold'))}", f"`{dv.get('code', '')}`"])
    rule = manifest.get("thresholds_chosen_on", NA)
    explain = {
        "classifier": "For each multi-label output and for the quality flag, the threshold maximising Youden's J "
                      "(sensitivity + specificity - 1) on the ODIR validation eyes; for referable DR the Youden "
                      "threshold over every validation image with a DR grade. DR grade and DME risk are argmax.",
        "segmenter": "For each channel, the probability threshold with the highest pooled Dice over the "
                     "validation images that annotate the channel (at the cached training resolution; never below "
                     "0.01).",
    }[model]
    return "\n".join(["## Outputs and thresholds", "",
                      table(["Output", "Key", "Meaning", "Activation", "Decision", "Code"], rows), "",
                      f"Threshold rule (manifest): {rule}. {explain} The test split is never used to choose a "
                      "threshold."])


def figure_list(folder: Path) -> list[str]:
    figs = folder / "figures"
    present = sorted(p.name for p in figs.glob("*.png")) if figs.is_dir() else []
    ordered = [f for f in FIGURE_ORDER if f in present]
    ordered += [f for f in present if f not in ordered and not f.startswith("overlay_")]
    ordered += [f for f in present if f.startswith("overlay_")]
    return ordered


def figures_md(names: list[str]) -> str:
    out = []
    for n in names:
        if n.startswith("overlay_"):
            img = n[len("overlay_"):-4].replace("_", " ")
            cap = (f"Overlay on {img} (IDRiD test, CC BY 4.0, Porwal et al. 2018): reference masks left, "
                   "prediction at the shipped thresholds right")
        else:
            cap = FIGURE_CAPTIONS.get(n, n[:-4].replace("_", " "))
        out.append(f"![{cap}](figures/{n})\n\n*{cap}.*")
    return "\n\n".join(out)


# -----------------------------------------------------------------------------------------------------------------
# metrics sections
# -----------------------------------------------------------------------------------------------------------------

def boot_note(metrics: dict) -> str:
    b = metrics.get("bootstrap") or {}
    return (f"95% confidence intervals: percentile bootstrap, {b.get('n_boot', NA)} resamples (seed "
            f"{b.get('seed', NA)}), resampling clusters ({b.get('clusters', NA)}). \"n/a\": undefined on this split "
            "(for example no positive case).")


def confusion_md(cm: list, labels: list[str]) -> str:
    if not isinstance(cm, list) or not cm:
        return NA
    rows = [[f"true {labels[i] if i < len(labels) else i}"] + [str(x) for x in r] for i, r in enumerate(cm)]
    return table(["true \\ predicted"] + [str(lb) for lb in labels[:len(cm[0])]], rows)


def classifier_metrics(metrics: dict, figs: list[str]) -> str:
    t = metrics.get("test") or {}
    odir = t.get("odir") or {}
    L = ["## Quality on the held-out test split", "", boot_note(metrics), ""]
    L += ["### Floors", "", floors_table(floor_rows("classifier", metrics)), ""]

    # per label
    rows = []
    for key, b in (odir.get("labels") or {}).items():
        rows.append([key, b.get("name", ""), f"{b.get('positives', NA)} / {b.get('negatives', NA)}",
                     cell(b.get("auc")), f3(b.get("aupr")), f3(b.get("threshold")),
                     cell(b.get("sensitivity"), True), cell(b.get("specificity"), True)])
    q = odir.get("quality_flag")
    if isinstance(q, dict):
        rows.append(["quality", "image-quality remark", f"{q.get('positives', NA)} / {q.get('negatives', NA)}",
                     cell(q.get("auc")), f3(q.get("aupr")), f3(q.get("threshold")),
                     cell(q.get("sensitivity"), True), cell(q.get("specificity"), True)])
    L += ["### ODIR-5K multi-label (per eye)", "",
          table(["Label", "Name", "Test positives / negatives", "AUROC (95% CI)", "AUPR", "Threshold",
                 "Sensitivity (95% CI)", "Specificity (95% CI)"], rows), ""]
    woq = t.get("odir_without_quality_flag") or {}
    L += [table(["Summary", "Eyes", "Value (95% CI)"], [
        ["Mean AUROC over the labels with positives", odir.get("eyes", NA), cell(odir.get("mean_auc"))],
        ["Mean AUROC without quality-flagged eyes", woq.get("eyes", NA), cell(woq.get("mean_auc"))]]), ""]

    # referable DR
    idx = get(metrics, "reference", "idx_dr") or {}
    rows = []
    for tag, label in (("idrid", "IDRiD grading test (leak-free)"),
                       ("idrid_official_test_only", "official IDRiD test images only")):
        b = t.get(tag)
        if not isinstance(b, dict):
            continue
        r = b.get("referable_dr") or {}
        rows.append([label, f"{r.get('positives', NA)} / {r.get('negatives', NA)}", cell(r.get("auc")),
                     f3(r.get("aupr")), f3(r.get("threshold")), cell(r.get("sensitivity"), True),
                     cell(r.get("specificity"), True)])
    if idx:
        rows.append([f"IDx-DR reference: {idx.get('source', '')}", "other population and protocol", "-", "-",
                     "device output", f3(idx.get("sensitivity"), True), f3(idx.get("specificity"), True)])
    L += ["### Referable diabetic retinopathy (grade >= 2)", "",
          "P(referable) = p(grade 2) + p(grade 3) + p(grade 4); sensitivity and specificity at the shipped "
          "threshold. IDx-DR's figures come from a prospective primary-care trial with its own reading centre "
          "and are shown for orientation only; they are not a like-for-like comparison.", "",
          table(["Split", "Referable / not", "AUROC (95% CI)", "AUPR", "Threshold", "Sensitivity (95% CI)",
                 "Specificity (95% CI)"], rows), ""]

    # kappas
    rows = []
    for tag, label in (("idrid", "IDRiD grading test"), ("idrid_official_test_only", "official IDRiD test only")):
        b = t.get(tag)
        if not isinstance(b, dict):
            continue
        for what, name in (("dr_grade", "DR grade 0-4"), ("dme_risk", "DME risk 0-2")):
            g = b.get(what) or {}
            rows.append([name, label, g.get("n", NA), cell(g.get("kappa")), f3(g.get("accuracy"))])
    g = odir.get("dr_grade_keywords") or {}
    if g:
        rows.append(["DR grade 0-4 (grades from keywords)", "ODIR-5K test eyes with a grade", g.get("n", NA),
                     cell(g.get("kappa")), f3(g.get("accuracy"))])
    L += ["### Grades: quadratic-weighted kappa", "",
          table(["Grade", "Split", "Images", "Kappa (95% CI)", "Accuracy (argmax)"], rows), ""]
    dr_present = get(t, "idrid", "dr_present_auc_from_D_output")
    if dr_present is not None:
        L += [f"\"DR present\" (grade >= 1) AUROC of the multi-label D output on IDRiD test: {cell(dr_present)}.", ""]
    for tag, label in (("idrid", "IDRiD grading test"), ("idrid_official_test_only", "official IDRiD test only")):
        for what, name, labs in (("dr_grade", "DR grade", ["0", "1", "2", "3", "4"]),
                                 ("dme_risk", "DME risk", ["0", "1", "2"])):
            cm = get(t, tag, what, "confusion_rows_true_cols_pred")
            if cm:
                L += [f"Confusion matrix, {name}, {label} (rows true, columns predicted):", "", confusion_md(cm, labs),
                      ""]
    cm = g.get("confusion_rows_true_cols_pred")
    if cm:
        L += ["Confusion matrix, DR grade, ODIR-5K keyword-graded test eyes:", "",
              confusion_md(cm, ["0", "1", "2", "3", "4"]), ""]
    if figs:
        L += ["### Figures", "", figures_md(figs), ""]
    else:
        L += ["### Figures", "", "No figures were exported with this model.", ""]
    return "\n".join(L)


def defective_mask_note() -> str:
    """The reference masks left out of scoring (models/train/defective_masks.csv), in one sentence."""
    import csv
    f = REPO / "models" / "train" / "defective_masks.csv"
    if not f.is_file():
        return ""
    with f.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        return ""
    items = "; ".join(f"{Path(r['image']).stem} {r['channel']}: {r['reason']}" for r in rows)
    return (f"Reference masks left out as defective (`models/train/defective_masks.csv`; the channel counts as "
            f"not annotated for that image): {items}.")


def segmenter_metrics(metrics: dict, figs: list[str]) -> str:
    t = metrics.get("test") or {}
    L = ["## Quality on the held-out test split", "", boot_note(metrics), "", defective_mask_note(), "",
         f"Resolution: {metrics.get('resolution', NA)}.", ""]
    L += ["### Floors", "",
          "AUPR is computed as in the IDRiD challenge: pixels pooled over the test images that contain the lesion; "
          "the all-images figure (an image without the lesion counts as all negative) is given beside it. Disc "
          "Dice is the mean over images.", "", floors_table(floor_rows("segmenter", metrics)), ""]

    def lesion_rows(blk: dict) -> list[list]:
        rows = []
        for ch in ("MA", "HE", "EX", "SE"):
            b = blk.get(ch)
            if not isinstance(b, dict) or not b:
                continue
            rows.append([ch, f"{b.get('images_with_lesion', NA)} / {b.get('images', NA)}", f3(b.get("threshold")),
                         cell(b.get("aupr_images_with_lesion")), cell(b.get("aupr_all_images")),
                         f3(CHALLENGE_BEST_AUPR.get(ch)), cell(b.get("dice_pooled")),
                         cell(b.get("dice_mean_per_image")), cell(b.get("iou_pooled"))])
        return rows

    hdr = ["Lesion", "Images with it / scored", "Threshold", "AUPR, images with the lesion (95% CI)",
           "AUPR, all images (95% CI)", "Challenge best AUPR", "Dice pooled (95% CI)", "Dice mean per image (95% CI)",
           "IoU pooled (95% CI)"]
    for tag, label in (("idrid", "IDRiD segmentation test (leak-free)"),
                       ("idrid_official_test_only", "official IDRiD test images only")):
        rows = lesion_rows(t.get(tag) or {})
        if rows:
            L += [f"### Lesions: {label}", "", table(hdr, rows), ""]
    L += [f"Challenge best: {CHALLENGE_SOURCE}; the challenge scored the official test images at full "
          "resolution, these figures use the leak-free split at quarter resolution, so the comparison is indicative.",
          ""]

    rows = []
    for tag, ch, label in (("idrid", "OD", "Optic disc, IDRiD test"),
                           ("idrid_official_test_only", "OD", "Optic disc, official IDRiD test only"),
                           ("drishti", "OD", "Optic disc, Drishti-GS1 test"),
                           ("drishti", "cup", "Optic cup, Drishti-GS1 test")):
        b = get(t, tag, ch)
        if isinstance(b, dict) and b:
            rows.append([label, b.get("images", NA), f3(b.get("threshold")), cell(b.get("dice_mean_per_image")),
                         cell(b.get("dice_pooled")), cell(b.get("iou_pooled")), cell(b.get("aupr_all_images"))])
    if rows:
        L += ["### Optic disc and cup", "",
              table(["Structure", "Images", "Threshold", "Dice mean per image (95% CI)", "Dice pooled (95% CI)",
                     "IoU pooled (95% CI)", "Pixel AUPR (95% CI)"], rows), ""]
    c = t.get("drishti_cdr")
    if isinstance(c, dict):
        rows = [["Images (with a predicted ratio)", f"{c.get('images', NA)} ({c.get('images_with_prediction', NA)})"],
                ["Mean absolute error vs the experts' mean CDR (95% CI)", cell(c.get("mae_vs_expert_mean"))],
                ["Pearson r, predicted vs experts' mean", f3(c.get("pearson_r"))],
                ["Same error for the reference masks themselves (floor of the method)",
                 f3(c.get("reference_masks_mae_vs_expert_mean"))],
                ["Glaucoma AUROC of the predicted ratio", f3(c.get("glaucoma_auc_from_predicted_vcdr"))]]
        L += ["### Vertical cup-to-disc ratio (Drishti-GS1 test)", "", table(["", ""], rows), "",
              f"Method: {c.get('method', NA)}.", ""]
    if figs:
        L += ["### Figures", ""]
        if any(f.startswith("overlay_") for f in figs):
            L += ["The overlays show IDRiD test images (CC BY 4.0, Porwal P. et al., Data 3(3):25, 2018) with the "
                  "channels coloured; no ODIR-5K or Drishti-GS1 image is shown, as their terms forbid it.", ""]
        L += [figures_md(figs), ""]
    else:
        L += ["### Figures", "", "No figures were exported with this model.", ""]
    return "\n".join(L)


def failure_section(model: str, manifest: dict, metrics: dict) -> str:
    items = list(MODEL_FAILURES[model]) + list(COMMON_FAILURES)
    missed = [r for r in floor_rows(model, metrics or {}) if r["status"] == "MISSED"]
    for r in reversed(missed):
        what = f"is {f3(r['value'])}" if r["value"] is not None else "could not be computed"
        items.insert(0, f"**Below the issue's floor:** {r['measure']} on {r['split']} {what} (floor "
                        f"{f3(r['floor'])}); do not rely on this output, even for research displays, without checking "
                        "it on your own data.")
    if model == "classifier":
        few = [k for k, b in (get(metrics, "test", "odir", "labels") or {}).items()
               if value_of(b.get("auc")) is None]
        if few:
            items.append("No AUROC could be computed on the test split for " + ", ".join(few)
                         + " (no positive or no negative test eye): their behaviour is unmeasured.")
    else:
        thr = metrics.get("thresholds") or {}
        low = [k for k, v in thr.items() if num(v) is not None and v <= 0.01]
        if low:
            items.append("The validation threshold of " + " and ".join(low) + " is at the 0.01 lower limit: the "
                         "network's probabilities there are low and poorly calibrated, so the binary mask is "
                         "fragile.")
    return "\n".join(["## Known limitations and failure modes", ""] + [f"- {i}" for i in items])


def reproduce_section(model: str, manifest: dict, commands: dict) -> str:
    cmd, _ = training_command(model, manifest, commands)
    return "\n".join([
        "## Reproduce", "",
        f"- Train, evaluate and export: `{cmd or '/usr/bin/python3 models/train/train.py all --device cpu --resume'}` "
        "(models/train/README.md).",
        f"- Re-evaluate only: `/usr/bin/python3 models/train/train.py {model} --stages evaluate,export`.",
        "- Recompute the metrics through the gateway's TypeScript inference path: `npm run eval`.",
        "- Inference speed: `npm run bench:infer`; the figures are in docs/benchmarks.md.",
        "- Regenerate this card: `/usr/bin/python3 models/train/model_card.py`."])


def clinical_section() -> str:
    return "\n".join([
        "## Not for clinical use", "",
        "This model is research software. It has not been evaluated prospectively, on a clinical population or "
        "against a reading centre, holds no regulatory clearance, and its training data carry research-only terms. "
        "Do not use its outputs for diagnosis, screening, referral or treatment decisions, and do not present them "
        "to patients or clinicians as findings."])


def render_card(model: str, folder: Path, manifest: dict, metrics: dict | None, commands: dict) -> str:
    metrics = metrics or {}
    figs = figure_list(folder)
    parts = [header_section(model, manifest), intended_use_section(model), data_section(model, manifest, metrics),
             architecture_section(model, manifest), training_section(model, manifest, metrics, commands),
             preprocessing_section(manifest), outputs_section(model, manifest)]
    if metrics.get("test"):
        parts.append(classifier_metrics(metrics, figs) if model == "classifier" else segmenter_metrics(metrics, figs))
    else:
        parts.append("## Quality on the held-out test split\n\nNo metrics.json was exported with this model: its "
                     "quality is unmeasured and every floor counts as MISSED.")
    parts.append(agreement_section(model, folder))
    parts += [failure_section(model, manifest, metrics), reproduce_section(model, manifest, commands),
              clinical_section()]
    return "\n\n".join(p.rstrip() for p in parts) + "\n"


AGREEMENT_FILE = "eval-typescript.json"


def condense_eval(raw: dict, model: str) -> dict:
    """The part of `npm run eval --json` worth keeping beside the model: counts, timing and every disagreement."""
    entry = next((m for m in raw.get("models", []) if m.get("model") == f"fundus-{model}"), None)
    if entry is None:
        raise SystemExit(f"the eval JSON has no result for fundus-{model}")
    rows = entry.get("rows", [])
    return {"command": "npm run eval", "tolerance": raw.get("tolerance"), "limit": raw.get("limit"),
            "ok": entry.get("ok"), "test_images": entry.get("images"), "values_compared": len(rows),
            "seconds_per_image": entry.get("secondsPerImage"),
            "outside_tolerance": [r for r in rows if not r.get("ok")]}


def agreement_section(model: str, folder: Path) -> str:
    a = load_json(folder / AGREEMENT_FILE)
    L = ["## Reproduced through the gateway (`npm run eval`)", ""]
    if a is None:
        return "\n".join(L + ["Not recorded for this version: run `npm run eval -- --json FILE`, then "
                               f"`model_card.py --eval {model}=FILE`."])
    bad = a.get("outside_tolerance") or []
    spi = (a.get("seconds_per_image") or {}).get("total")
    L += [f"`npm run eval` recomputed the {a.get('values_compared')} test-split values above from `model.onnx` "
          f"through the TypeScript path (sharp decoding and cropping, a PIL-exact Lanczos resize, onnxruntime-node, the manifest's thresholds) on "
          f"{a.get('test_images')} images" + (f" ({spi * 1000:.0f} ms per image)" if num(spi) is not None else "")
          + f": {len(bad)} differ by more than {a.get('tolerance')}" + (":" if bad else "."), ""]
    if bad:
        L += [table(["Metric", "Card (PyTorch)", "Gateway (TypeScript)", "Difference"],
                    [[f"`{r.get('metric')}`"] + [f"{v:.4f}" if isinstance(v, float) else str(v)
                                                    for v in (r.get("card"), r.get("ts"), r.get("diff"))] for r in bad]), "",
              "The gateway resizes with sharp's Lanczos-3, training with PIL's (0.1-0.4 grey levels apart on average): "
              "the few images whose score sits next to a threshold can fall on the other side, which moves "
              "sensitivities, specificities and kappas on small counts by one image each. In a check on an earlier "
              "(smoke) export, the same TypeScript path fed PIL-resized inputs reproduced every figure to within "
              "1e-4, so the resize is the cause."]
    return "\n".join(L)


# -----------------------------------------------------------------------------------------------------------------
# docs/models.md
# -----------------------------------------------------------------------------------------------------------------

def agreement_line(model: str, found: dict) -> str:
    f = found.get(model)
    a = load_json(f["folder"] / AGREEMENT_FILE) if f else None
    if a is None:
        return f"fundus-{model} not recorded"
    return (f"fundus-{model} {a.get('values_compared', 0) - len(a.get('outside_tolerance') or [])} of "
            f"{a.get('values_compared')} values within {a.get('tolerance')}")


def render_overview(found: dict, models_dir: Path, docs_path: Path, commands: dict) -> str:
    def rel(p: Path) -> str:
        return Path(os.path.relpath(p.resolve(), docs_path.resolve().parent)).as_posix()

    L = ["# Fundus models", "",
         "> **Research use only. Not for clinical use.** See each model card for the data's terms and the known "
         "failure modes.", "",
         "This page is generated by `models/train/model_card.py` from each model's `manifest.json` and "
         "`metrics.json`; edit the generator, not this page.", "",
         "## The models", ""]
    rows = []
    for model in MODELS:
        f = found.get(model)
        if not f:
            rows.append([f"fundus-{model}", "not exported", NA, NA, NA, NA])
            continue
        man = f["manifest"]
        card = rel(f["folder"] / "MODEL_CARD.md")
        arch = man.get("architecture") or {}
        outs = ", ".join(o.get("name", "") for o in man.get("outputs") or [])
        p = num(arch.get("parameters"))
        rows.append([f"[{man.get('name', model)}]({card}) {man.get('version', '')}", man.get("task", ""),
                     f"{get(man, 'input', 'shape')}", outs,
                     (f"{p / 1e6:.2f} M" if p is not None else NA) + f" / "
                     + (f"{man['bytes'] / 2 ** 20:.2f} MiB" if num(man.get("bytes")) else NA),
                     ", ".join(d.get("name", "") for d in man.get("data") or [])])
    L += [table(["Model (card)", "Task", "Input", "Outputs", "Parameters / ONNX size", "Trained on"], rows), ""]
    L += ["Both run in the gateway with onnxruntime-node (`src/inference/`), reading the preprocessing, outputs and "
          "thresholds from the manifest beside the ONNX file.", ""]

    L += ["## Floors and aims (issue 3)", "",
          "Every value is on the held-out test split with its 95% bootstrap confidence interval; a floor row says "
          "**met** or **MISSED**. Rows without a floor are reported against their aim or reference.", ""]
    rows = []
    for model in MODELS:
        f = found.get(model)
        rows += floor_rows(model, f["metrics"] if f else {})
    L += [floors_table(rows, with_model=True), ""]
    missed = [r for r in rows if r["status"] == "MISSED"]
    L += [("**Floors missed:** " + "; ".join(f"fundus-{r['model']} {r['measure']}" for r in missed) + ".")
          if missed else "All floors are met.", ""]
    L += [f"Segmentation AUPR is pooled over the test images that contain the lesion, as in the IDRiD challenge; "
          f"the aims for lesion AUPR are the {CHALLENGE_SOURCE}. Disc Dice is the mean over images. Referable-DR "
          "sensitivity and specificity are compared with IDx-DR's pivotal-trial figures (Abramoff et al., npj "
          "Digital Medicine 1:39, 2018), a different population and protocol.", ""]

    L += ["## Data and licences", "",
          "- IDRiD: CC BY 4.0, attribution Porwal P. et al., Data 3(3):25, 2018. Weights and images may be "
          "redistributed with the attribution (the overlays in the segmenter's card are IDRiD test images).",
          "- ODIR-5K: no licence stated by the publisher; research use only. The classifier's weights ship with a "
          "card stating those terms; no ODIR-5K image is redistributed.",
          "- Drishti-GS1: research use with citation (Sivaswamy et al. 2014). Only the segmenter's weights ship; "
          "no Drishti-GS1 image is redistributed.", "",
          "Source terms: `../shared/data/README.md` and each data folder's SOURCE.txt.", ""]

    L += ["## How to reproduce", ""]
    for model in MODELS:
        f = found.get(model)
        cmd, origin = training_command(model, f["manifest"], commands) if f else (None, "none")
        if cmd:
            L += [f"Training command used for fundus-{model}:", "", "```", cmd, "```", ""]
    L += ["The recipe's single command (both models, about 90 minutes each on 2 CPU cores; rerun it after an "
          "interruption):", "", "```", "/usr/bin/python3 models/train/train.py all --device cpu --resume", "```", "",
          "- `npm run eval` recomputes the held-out metrics through the gateway's TypeScript inference path "
          "(onnxruntime-node), as a check that the shipped ONNX files and manifests reproduce these figures. "
          "Last run: " + "; ".join(agreement_line(m, found) for m in MODELS) + " (each card lists the differences).",
          "- `npm run bench:infer` measures inference speed; its figures live in [docs/benchmarks.md]"
          f"({rel(REPO / 'docs' / 'benchmarks.md')}).",
          "- `/usr/bin/python3 models/train/model_card.py` regenerates the model cards and this page.", "",
          "Training details, splits and the evaluation protocol: [models/train/README.md]"
          f"({rel(REPO / 'models' / 'train' / 'README.md')}).", ""]
    return "\n".join(L)


# -----------------------------------------------------------------------------------------------------------------
# main
# -----------------------------------------------------------------------------------------------------------------

def parse_commands(values: list[str]) -> dict:
    out = {}
    for v in values or []:
        m = re.match(r"^(classifier|segmenter)=(.*)$", v, re.S)
        if m:
            out[m.group(1)] = m.group(2).strip()
        else:
            out["*"] = v.strip()
    return out


def generate(models_dir: Path, docs_path: Path | None, commands: dict, log=print, evals: dict | None = None) -> dict:
    found = {}
    for model in MODELS:
        folder = models_dir / f"fundus-{model}"
        if evals and model in evals and (folder / "manifest.json").is_file():
            condensed = condense_eval(json.loads(Path(evals[model]).read_text()), model)
            (folder / AGREEMENT_FILE).write_text(json.dumps(condensed, indent=2) + "\n")
        manifest = load_json(folder / "manifest.json")
        if manifest is None:
            log(f"{folder / 'manifest.json'} not found: no card for fundus-{model}")
            continue
        metrics = load_json(folder / "metrics.json")
        text = render_card(model, folder, manifest, metrics, commands)
        (folder / "MODEL_CARD.md").write_text(text)
        found[model] = {"folder": folder, "manifest": manifest, "metrics": metrics or {}}
        missed = [r["measure"] for r in floor_rows(model, metrics or {}) if r["status"] == "MISSED"]
        log(f"wrote {folder / 'MODEL_CARD.md'}" + (f" (floors MISSED: {', '.join(missed)})" if missed else
                                                  " (all floors met)"))
    if docs_path is not None:
        if not found:
            raise SystemExit(f"no model manifest under {models_dir}: nothing to write")
        docs_path.parent.mkdir(parents=True, exist_ok=True)
        docs_path.write_text(render_overview(found, models_dir, docs_path, commands))
        log(f"wrote {docs_path}")
    return found


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models-dir", type=Path, default=REPO / "models",
                    help="folder holding fundus-classifier/ and fundus-segmenter/ (default: models/)")
    ap.add_argument("--docs", type=Path, default=REPO / "docs" / "models.md", help="overview page to write")
    ap.add_argument("--no-docs", action="store_true", help="write only the model cards")
    ap.add_argument("--command", action="append", default=[],
                    help="training command used, when the manifest has no training_command: plain text for both "
                         "models, or classifier=... / segmenter=... (repeatable)")
    ap.add_argument("--eval", action="append", default=[],
                    help="model=FILE: the JSON of `npm run eval -- --json FILE`, condensed into "
                         f"<model folder>/{AGREEMENT_FILE} and shown in the card (repeatable)")
    args = ap.parse_args(argv)
    evals = dict(v.split("=", 1) for v in args.eval)
    generate(args.models_dir, None if args.no_docs else args.docs, parse_commands(args.command), evals=evals)
    return 0


if __name__ == "__main__":
    sys.exit(main())
