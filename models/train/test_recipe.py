#!/usr/bin/python3
"""Unit-level checks of the training recipe; quick (well under a minute on one CPU thread), synthetic data only,
plus a few checks of the real split files and data when ../shared/data is present.

    /usr/bin/python3 -m unittest discover -s models/train -p 'test_*.py'
"""

from __future__ import annotations

import json
import sys
import tempfile
import unittest
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import augment  # noqa: E402
import data as D  # noqa: E402
import losses  # noqa: E402
import metrics as MT  # noqa: E402
import models as M  # noqa: E402
import onnx_numpy  # noqa: E402
from trainer import Interrupted, TrainConfig, Trainer, epoch_rng  # noqa: E402

torch.set_num_threads(1)


def synthetic_fundus(w: int, h: int, cx: int, cy: int, r: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    inside = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
    img = np.zeros((h, w, 3), np.uint8)
    img[inside] = (180, 90, 40)
    img[~inside] = (8, 6, 3)  # JPEG-like dark noise floor, below the threshold
    return img


class CropTests(unittest.TestCase):
    def test_box_of_clipped_circle(self):
        img = synthetic_fundus(400, 260, 200, 130, 150)  # circle clipped at top and bottom
        x0, y0, x1, y1 = D.fundus_box(img)
        self.assertLessEqual(abs(x0 - 50), 2)
        self.assertLessEqual(abs(x1 - 351), 2)
        self.assertEqual((y0, y1), (0, 260))
        g = D.Geometry.of(400, 260, (x0, y0, x1, y1))
        self.assertEqual(g.side, x1 - x0)
        self.assertEqual(g.top, -((g.side - 260) // 2))

    def test_dark_image_is_not_cropped(self):
        img = np.zeros((100, 120, 3), np.uint8)
        self.assertEqual(D.fundus_box(img), (0, 0, 120, 100))

    def test_mask_round_trip(self):
        img = synthetic_fundus(300, 200, 150, 100, 110)
        mask = np.zeros((200, 300), np.uint8)
        mask[60:120, 100:180] = 255
        arr, g = D.to_model_input(Image.fromarray(img), 128)
        self.assertEqual(arr.shape, (128, 128, 3))
        small = D.mask_to_model(Image.fromarray(mask), g, 128).astype(np.float32) / 255
        back = D.model_to_source(small, g) >= 0.5
        inter = (back & (mask > 0)).sum()
        dice = 2 * inter / (back.sum() + (mask > 0).sum())
        self.assertGreater(dice, 0.95)


class MetricTests(unittest.TestCase):
    def test_auc_matches_pairwise_count(self):
        rng = np.random.default_rng(1)
        y = rng.random(300) < 0.3
        s = np.round(y * 0.4 + rng.random(300), 1)  # many ties
        pos, neg = s[y], s[~y]
        pairs = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
        self.assertAlmostEqual(MT.roc_auc(y, s), pairs / (len(pos) * len(neg)), places=12)

    def test_average_precision_and_kappa(self):
        self.assertAlmostEqual(MT.average_precision([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]), (1 + 2 / 3) / 2)
        self.assertAlmostEqual(MT.quadratic_kappa([0, 1, 2, 3, 4], [0, 1, 2, 3, 4], 5), 1.0)
        self.assertLess(MT.quadratic_kappa([0, 1, 2, 3, 4], [4, 3, 2, 1, 0], 5), -0.99)

    def test_histogram_aupr_close_to_exact(self):
        rng = np.random.default_rng(2)
        y = rng.random(5000) < 0.05
        s = np.clip(y * 0.3 + rng.random(5000) * 0.7, 0, 1)
        pos, neg = MT.pixel_histograms(s, y)
        self.assertAlmostEqual(MT.aupr_from_histograms(pos, neg), MT.average_precision(y, s), places=2)

    def test_bootstrap_is_deterministic(self):
        rng = np.random.default_rng(3)
        y = rng.random(200) < 0.5
        s = y + rng.random(200)
        groups = np.arange(200) // 2
        a = MT.bootstrap_ci(lambda i: MT.roc_auc(y[i], s[i]), groups, 200, seed=5)
        b = MT.bootstrap_ci(lambda i: MT.roc_auc(y[i], s[i]), groups, 200, seed=5)
        self.assertEqual(a, b)
        self.assertLessEqual(a["ci95"][0], a["value"])
        self.assertGreaterEqual(a["ci95"][1], a["value"])

    def test_vertical_cdr(self):
        disc = np.zeros((100, 100), bool)
        disc[20:80, 30:70] = True
        cup = np.zeros((100, 100), bool)
        cup[35:65, 40:60] = True
        self.assertAlmostEqual(MT.vertical_cdr(disc, cup), 0.5)


class AugmentTests(unittest.TestCase):
    def test_same_geometry_for_image_and_mask(self):
        gen = torch.Generator().manual_seed(0)
        img = torch.zeros(3, 3, 64, 64)
        img[:, :, 20:30, 35:50] = 1.0
        mask = img[:, :1].clone()
        cfg = augment.AugmentConfig(hflip=0.5, vflip=0.5, rotate_deg=30, brightness=0, contrast=0, saturation=0,
                                    gamma=0)
        centres = torch.zeros(3, 2)
        x, m = augment.augment_patches(img, mask, centres, 48, cfg, gen)
        self.assertTrue(torch.allclose(x[:, 0], m[:, 0], atol=1e-5))

    def test_seeded(self):
        img = torch.rand(2, 3, 32, 32)
        a = augment.augment_full(img, augment.CLASSIFIER_AUG, torch.Generator().manual_seed(4))
        b = augment.augment_full(img, augment.CLASSIFIER_AUG, torch.Generator().manual_seed(4))
        self.assertTrue(torch.equal(a, b))


class LossTests(unittest.TestCase):
    def test_unknown_targets_give_no_gradient(self):
        logits = torch.zeros(2, 8, requires_grad=True)
        target = torch.ones(2, 8)
        known = torch.zeros(2, 8)
        known[0, 1] = 1
        losses.masked_bce(logits, target, known).backward()
        g = logits.grad
        self.assertNotEqual(float(g[0, 1]), 0.0)
        self.assertEqual(float(g.abs().sum() - g[0, 1].abs()), 0.0)

    def test_segmenter_loss_ignores_unannotated_channels(self):
        logits = torch.zeros(2, 6, 8, 8, requires_grad=True)
        target = torch.ones(2, 6, 8, 8)
        known = torch.tensor([[1, 1, 1, 1, 1, 0], [0, 0, 0, 0, 1, 1]], dtype=torch.float32)
        loss, _ = losses.SegmenterLoss()(logits, target, known)
        loss.backward()
        self.assertEqual(float(logits.grad[0, 5].abs().sum()), 0.0)
        self.assertEqual(float(logits.grad[1, :4].abs().sum()), 0.0)
        self.assertNotEqual(float(logits.grad[1, 5].abs().sum()), 0.0)


class TinyTask:
    """A synthetic task with the same interface as the real ones: a few images, one BN conv net with dropout."""

    def __init__(self, seed: int = 3) -> None:
        torch.manual_seed(0)
        self.model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.BatchNorm2d(4),
                                         torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                                         torch.nn.Dropout(0.3), torch.nn.Linear(4, 1))
        g = torch.Generator().manual_seed(1)
        self.x = torch.rand(24, 3, 16, 16, generator=g)
        self.y = (self.x.mean((1, 2, 3)) > 0.5).float()
        self.seed = seed

    def batches(self, epoch):
        order = epoch_rng(self.seed, epoch).permutation(24)
        return [order[i:i + 6] for i in range(0, 24, 6)]

    def train_step(self, idx, gen):
        x = augment.augment_full(self.x[idx], augment.CLASSIFIER_AUG, gen)
        out = self.model(x)[:, 0]
        return torch.nn.functional.binary_cross_entropy_with_logits(out, self.y[idx]), {}

    def validate(self):
        self.model.eval()
        with torch.no_grad():
            s = self.model(self.x)[:, 0].numpy()
        return float(MT.roc_auc(self.y.numpy(), s)), {}

    def describe(self):
        return {"arch": "tiny"}


class ResumeTests(unittest.TestCase):
    def test_interrupted_and_resumed_run_matches_uninterrupted(self):
        with tempfile.TemporaryDirectory() as tmp:
            quiet = lambda *_: None  # noqa: E731
            a = TinyTask()
            Trainer(a, TrainConfig(Path(tmp) / "a", epochs=3, log=quiet)).run()
            b = TinyTask()
            with self.assertRaises(Interrupted):
                Trainer(b, TrainConfig(Path(tmp) / "b", epochs=3, max_steps=5, log=quiet)).run()
            # a fresh process would start from scratch: new task object, RNG disturbed on purpose
            torch.manual_seed(12345)
            c = TinyTask()
            st = Trainer(c, TrainConfig(Path(tmp) / "b", epochs=3, resume=True, log=quiet)).run()
            self.assertTrue(st.finished)
            for (k, va), vc in zip(a.model.state_dict().items(), c.model.state_dict().values()):
                self.assertTrue(torch.equal(va, vc), f"{k} differs after resume")

    def test_checkpoint_refuses_overwrite_without_resume(self):
        with tempfile.TemporaryDirectory() as tmp:
            quiet = lambda *_: None  # noqa: E731
            Trainer(TinyTask(), TrainConfig(Path(tmp), epochs=1, log=quiet)).run()
            with self.assertRaises(SystemExit):
                Trainer(TinyTask(), TrainConfig(Path(tmp), epochs=1, log=quiet)).run()


class ExportTests(unittest.TestCase):
    def _check(self, wrapper, size):
        import onnx
        import export_onnx as EX
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.onnx"
            wrapper.eval()
            EX.export_graph(wrapper, size, wrapper.OUTPUTS, path, EX.OPSET)
            onnx.checker.check_model(onnx.load(str(path)), full_check=True)
            imgs = (np.random.default_rng(0).random((2, size, size, 3)) * 255).astype(np.uint8)
            report = EX.check_against_torch(wrapper, path, imgs, [0.4, 0.2, 0.1], [0.3, 0.2, 0.1])
            self.assertLess(report["max_abs_diff"], 1e-4)

    def test_classifier_onnx_matches_torch(self):
        m = M.build_classifier(4)
        for mod in m.modules():  # non-trivial BN statistics so folding is exercised
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.2, 0.2)
                mod.running_var.uniform_(0.5, 1.5)
                mod.weight.data.uniform_(0.5, 1.5)
        self._check(M.ClassifierForExport(m), 64)

    def test_segmenter_onnx_matches_torch(self):
        self._check(M.SegmenterForExport(M.build_segmenter(4)), 32)

    def test_unsupported_operator_is_named(self):
        import onnx
        from onnx import helper, TensorProto
        node = helper.make_node("Tanh", ["x"], ["y"])
        graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
        with self.assertRaises(NotImplementedError):
            onnx_numpy.run(helper.make_model(graph), {"x": np.zeros(1, np.float32)})


class SizeTests(unittest.TestCase):
    def test_default_models_fit_20_mb(self):
        import train_classifier as TC
        import train_segmenter as TS
        for n in (M.count_parameters(M.build_classifier(TC.DEFAULTS["width"])),
                  M.count_parameters(M.build_segmenter(TS.DEFAULTS["width"]))):
            self.assertLess(n * 4, 20 * 1024 * 1024 * 0.95)


@unittest.skipUnless((D.DEFAULT_DATA / "idrid").is_dir(), "../shared/data absent")
class RecordTests(unittest.TestCase):
    def test_classifier_records_and_targets(self):
        recs = D.classifier_records()
        odir = [r for r in recs if r.source == "odir"]
        idrid = [r for r in recs if r.source == "idrid"]
        self.assertEqual(len(odir), 6392)
        self.assertEqual(len(idrid), 516 - 10)  # the 10 excluded duplicates
        for r in idrid:
            self.assertEqual(r.multilabel_known[D.ODIR_LABELS.index("D")], 1.0)
            self.assertEqual(r.multilabel[D.ODIR_LABELS.index("D")], float(r.dr_grade >= 1))
            self.assertEqual(sum(r.multilabel_known), 2.0 if (r.dr_grade or r.dme_risk) else 1.0)
        self.assertTrue(all(r.dme_risk == -1 for r in odir))

    def test_segmenter_records(self):
        recs = D.segmenter_records()
        self.assertEqual(sum(r.source == "idrid" for r in recs), 81)
        self.assertEqual(sum(r.source == "drishti" for r in recs), 101)
        d = [r for r in recs if r.source == "drishti"]
        self.assertTrue(all(r.cdr_expert and 0 < r.cdr_expert < 1 for r in d))
        r = next(r for r in recs if r.source == "idrid" and not r.masks["SE"])
        self.assertEqual(r.known[D.SEG_CHANNELS.index("SE")], 1.0)  # absent lesion: known, all zero
        m = D.load_source_mask(D.DEFAULT_DATA, r, "SE")
        self.assertEqual(np.asarray(m).max(), 0)

    def test_real_tasks_resume_bit_exact(self):
        """Both real tasks on a few real images: a run interrupted mid-epoch and resumed in fresh task objects
        ends with exactly the weights of an uninterrupted run (same seed, same thread count)."""
        import train_classifier as TC
        import train_segmenter as TS
        quiet = lambda *_: None  # noqa: E731
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            for which, size in (("classifier", 64), ("segmenter", 128)):
                D.build_cache(which, size, cache=tmp / "cache", limit=6, log=quiet)
                caches = D.load_cache(which, size, tmp / "cache")

                def make():
                    if which == "classifier":
                        return TC.ClassifierTask(caches, 4, 4, 1, 3, "cpu")
                    return TS.SegmenterTask(caches, 4, 64, 2, 3, 0.6, 0.3, 3, "cpu")
                a = make()
                Trainer(a, TrainConfig(tmp / which / "a", epochs=2, log=quiet)).run()
                with self.assertRaises(Interrupted):
                    Trainer(make(), TrainConfig(tmp / which / "b", epochs=2, max_steps=2, log=quiet)).run()
                torch.manual_seed(999)
                c = make()
                Trainer(c, TrainConfig(tmp / which / "b", epochs=2, resume=True, log=quiet)).run()
                for (k, va), vc in zip(a.model.state_dict().items(), c.model.state_dict().values()):
                    self.assertTrue(torch.equal(va, vc), f"{which}: {k} differs after resume")

    def test_no_test_image_in_training_records(self):
        recs = D.classifier_records() + D.segmenter_records()
        test_groups = {r.group for r in recs if r.split == "test"}
        train_groups = {r.group for r in recs if r.split in ("train", "val")}
        self.assertFalse(test_groups & train_groups)


if __name__ == "__main__":
    unittest.main()
