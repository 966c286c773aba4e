#!/usr/bin/python3
"""Checks of model_card.py on a tiny synthetic export (standard library only, well under a second):
a floor below its value is reported as met, one above it or undefined (null) as MISSED, figures are linked only
when present, and the training command is taken from the manifest before --command.

    /usr/bin/python3 -m unittest discover -s models/train -p 'test_*.py'
"""

from __future__ import annotations

import json
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import model_card as MC  # noqa: E402


def boot(v, lo=None, hi=None):
    if v is None:
        return {"value": None, "ci95": [None, None], "n_boot": 10, "skipped": 10}
    return {"value": v, "ci95": [lo if lo is not None else v - 0.05, hi if hi is not None else v + 0.05],
            "n_boot": 10, "skipped": 0}


def manifest(name: str, **extra) -> dict:
    return {"format": "ophgate-model-manifest/1", "name": name, "version": "0.0.1", "file": "model.onnx",
            "sha256": "ab" * 32, "bytes": 1234567, "onnx_opset": 17, "intended_use": "research only",
            "input": {"name": "image", "shape": ["batch", 3, 64, 64]}, "preprocessing": [{"op": "to_float"}],
            "outputs": [], "data": [{"name": "IDRiD", "licence": "CC BY 4.0"}],
            "architecture": {"network": "Tiny", "parameters": 10},
            "training": {"checkpoint_epoch": 4, "validation_score": 0.5, "commit": "c0ffee"}} | extra


CLASSIFIER_METRICS = {
    "bootstrap": {"n_boot": 10, "seed": 3, "clusters": "x"},
    "reference": {"idx_dr": {"sensitivity": 0.872, "specificity": 0.907, "source": "IDx-DR"}},
    "test": {
        "odir": {"mean_auc": boot(0.61), "eyes": 10,
                 "labels": {"N": {"positives": 3, "negatives": 7, "threshold": 0.4, "auc": boot(0.61),
                                  "sensitivity": boot(0.5), "specificity": boot(0.6), "name": "normal"}}},
        "idrid": {"images": 20,
                  "referable_dr": {"positives": 8, "negatives": 12, "threshold": 0.3, "auc": boot(0.912),
                                   "sensitivity": boot(0.8), "specificity": boot(0.9)},
                  "dr_grade": {"n": 20, "kappa": boot(0.77), "accuracy": 0.5,
                               "confusion_rows_true_cols_pred": [[1, 0, 0, 0, 0]] * 5},
                  "dme_risk": {"n": 20, "kappa": boot(0.4), "accuracy": 0.6,
                               "confusion_rows_true_cols_pred": [[1, 0, 0]] * 3}},
    },
}
SEGMENTER_METRICS = {
    "bootstrap": {"n_boot": 10, "seed": 3, "clusters": "image"},
    "thresholds": {"MA": 0.01, "OD": 0.5},
    "test": {"idrid": {
        "OD": {"images": 5, "images_with_lesion": 5, "threshold": 0.5, "dice_mean_per_image": boot(0.9, 0.8, 0.95)},
        "EX": {"images": 5, "images_with_lesion": 5, "threshold": 0.2, "aupr_images_with_lesion": boot(0.42),
               "aupr_all_images": boot(0.41)},
        "HE": {"images": 5, "images_with_lesion": 5, "threshold": 0.2, "aupr_images_with_lesion": boot(None),
               "aupr_all_images": boot(None)},
    }},
}


def floor_line(text: str, measure: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.startswith("|") and measure in ln]
    assert lines, f"no table row for {measure!r}"
    return lines[0]


class ModelCardTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        root = Path(self.tmp.name)
        self.models = root / "models"
        self.docs = root / "docs" / "models.md"
        c = self.models / "fundus-classifier"
        s = self.models / "fundus-segmenter"
        (c / "figures").mkdir(parents=True)
        (s / "figures").mkdir(parents=True)
        (c / "figures" / "odir_roc.png").write_bytes(b"png")
        (s / "figures" / "overlay_IDRiD_55.png").write_bytes(b"png")
        (c / "manifest.json").write_text(json.dumps(manifest("fundus-classifier",
                                                             training_command="train.py classifier --minutes 7")))
        (c / "metrics.json").write_text(json.dumps(CLASSIFIER_METRICS))
        (s / "manifest.json").write_text(json.dumps(manifest("fundus-segmenter")))
        (s / "metrics.json").write_text(json.dumps(SEGMENTER_METRICS))
        MC.generate(self.models, self.docs, MC.parse_commands(["segmenter=train.py segmenter --minutes 9",
                                                               "classifier=ignored, the manifest wins"]),
                    log=lambda *_: None)
        self.cls = (c / "MODEL_CARD.md").read_text()
        self.seg = (s / "MODEL_CARD.md").read_text()
        self.overview = self.docs.read_text()

    def tearDown(self):
        self.tmp.cleanup()

    def test_floors_met_and_missed(self):
        for text in (self.cls, self.overview):
            self.assertIn("**MISSED**", floor_line(text, "Mean per-label AUROC"))
            self.assertIn("0.610", floor_line(text, "Mean per-label AUROC"))
            self.assertIn("**met**", floor_line(text, "Referable DR (grade >= 2) AUROC"))
            self.assertIn("0.912", floor_line(text, "Referable DR (grade >= 2) AUROC"))
        for text in (self.seg, self.overview):
            self.assertIn("**met**", floor_line(text, "Optic disc Dice"))
            self.assertIn("**MISSED**", floor_line(text, "Hard exudate (EX) AUPR"))
            row = floor_line(text, "Haemorrhage (HE) AUPR")       # null value: undefined counts as missed
            self.assertIn("**MISSED**", row)
            self.assertIn("not computable", row)
        self.assertIn("Below the issue's floor:** Hard exudate", self.seg)
        self.assertIn("**Floors missed:**", self.overview)
        self.assertIn("87.2%", floor_line(self.cls, "sensitivity at the shipped threshold"))

    def test_figures_commands_and_statements(self):
        self.assertIn("(figures/odir_roc.png)", self.cls)
        self.assertNotIn("odir_pr.png", self.cls)
        self.assertIn("(figures/overlay_IDRiD_55.png)", self.seg)
        self.assertIn("train.py classifier --minutes 7", self.cls)
        self.assertNotIn("ignored, the manifest wins", self.cls)
        self.assertIn("train.py segmenter --minutes 9", self.seg)
        self.assertIn("| Best epoch (shipped weights) | 4 ", self.seg)
        for text in (self.cls, self.seg, self.overview):
            self.assertIn("Not for clinical use", text)
        self.assertIn("fundus-classifier/MODEL_CARD.md", self.overview)


if __name__ == "__main__":
    unittest.main()
