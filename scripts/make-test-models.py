#!/usr/bin/python3
"""Build the two TEST models of the inference tests: tiny ONNX graphs with fixed, hand-chosen weights.

    /usr/bin/python3 scripts/make-test-models.py            # writes test/inference/models/*/{model.onnx,manifest.json}

These are test fixtures, never OphGate's models: they have no medical meaning and are not shipped in models/.
They exist so that test/inference/ can check the gateway's inference path (manifest, preprocessing, sessions,
batching, the mapping of masks back to the source image) against values the tests compute on their own. The two
differ on purpose in everything the manifest describes: input name and size, normalisation, outputs and labels.

  ophgate-test-classifier  input "image" [batch, 3, 64, 64], mean (0.5, 0.4, 0.3), std (0.25, 0.2, 0.1).
      pooled = GlobalAveragePool(normalised input)                       -> [batch, 3]
      scores = sigmoid(pooled @ W_SCORES^T + B_SCORES), labels a, b, c   (multi-label)
      grade  = softmax(pooled @ W_GRADE^T + B_GRADE),   labels g0..g2    (one class; derived P(grade >= 1))

  ophgate-test-segmenter   input "pixels" [batch, 3, 96, 96], ImageNet mean/std.
      lesions = sigmoid(1x1 convolution), 2 channels:
        red   = sigmoid(GAIN * (r - g - 0.5))   r, g, b = pixel / 255 before normalisation
        green = sigmoid(GAIN * (g - r - 0.5))
      so a saturated red (green) patch is ~1 in its channel and everything else ~0; the weights fold the
      normalisation back in, so the rule holds on raw pixel values whatever mean and std the manifest declares.

Needs Debian's python3-onnx and python3-numpy. Output is deterministic (same bytes on every run).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "test" / "inference" / "models"
OPSET = 17
INTENDED_USE = "TEST MODEL for OphGate's inference tests only: fixed synthetic weights, no medical meaning; never ship"
CROP = {"op": "fundus_crop", "threshold": 25, "min_fraction": 0.02, "min_side": 0.25}

# classifier weights (rows: output units; columns: normalised R, G, B channel means)
CLS_MEAN, CLS_STD = [0.5, 0.4, 0.3], [0.25, 0.2, 0.1]
W_SCORES = np.array([[1.0, 0.0, 0.0], [0.0, -1.0, 0.5], [0.3, 0.3, 0.3]], dtype=np.float32)
B_SCORES = np.array([0.0, 0.25, -0.5], dtype=np.float32)
W_GRADE = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 1.0, 1.0]], dtype=np.float32)
B_GRADE = np.array([0.5, 0.0, -0.5], dtype=np.float32)

# segmenter
SEG_MEAN, SEG_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
GAIN = 40.0


def preprocessing(size: int, mean: list[float], std: list[float]) -> list[dict]:
    return [
        {"op": "decode"},
        dict(CROP),
        {"op": "pad_square", "fill": [0, 0, 0]},
        {"op": "resize", "width": size, "height": size, "kernel": "lanczos3"},
        {"op": "to_float", "scale": 1 / 255},
        {"op": "normalize", "mean": mean, "std": std},
    ]


def save(model: onnx.ModelProto, name: str, manifest: dict) -> None:
    model.producer_name = "ophgate scripts/make-test-models.py"
    model.producer_version = "1"
    onnx.checker.check_model(model, full_check=True)
    folder = OUT / name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.onnx"
    path.write_bytes(model.SerializeToString())
    data = path.read_bytes()
    manifest = {"format": "ophgate-model-manifest/1", "name": name, "version": "1.0.0", **manifest,
                "file": "model.onnx", "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
                "onnx_opset": OPSET, "intended_use": INTENDED_USE, "licence": "Apache-2.0 (OphGate test fixture)"}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {path.relative_to(ROOT)} ({len(data)} bytes) and its manifest.json")


def classifier() -> None:
    size = 64
    x = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, size, size])
    scores = helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", 3])
    grade = helper.make_tensor_value_info("grade", TensorProto.FLOAT, ["batch", 3])
    inits = [numpy_helper.from_array(a, n) for a, n in
             ((W_SCORES, "w_scores"), (B_SCORES, "b_scores"), (W_GRADE, "w_grade"), (B_GRADE, "b_grade"))]
    nodes = [
        helper.make_node("GlobalAveragePool", ["image"], ["pooled4"]),
        helper.make_node("Flatten", ["pooled4"], ["pooled"], axis=1),
        helper.make_node("Gemm", ["pooled", "w_scores", "b_scores"], ["score_logits"], transB=1),
        helper.make_node("Sigmoid", ["score_logits"], ["scores"]),
        helper.make_node("Gemm", ["pooled", "w_grade", "b_grade"], ["grade_logits"], transB=1),
        helper.make_node("Softmax", ["grade_logits"], ["grade"], axis=1),
    ]
    graph = helper.make_graph(nodes, "ophgate_test_classifier", [x], [scores, grade], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    code = "mappings/test-labels.json#"
    save(model, "ophgate-test-classifier", {
        "task": "classification",
        "input": {"name": "image", "shape": ["batch", 3, size, size], "dtype": "float32", "layout": "NCHW",
                  "channel_order": "RGB", "value_scale": "x / 255 before normalisation",
                  "normalization": {"mean": CLS_MEAN, "std": CLS_STD}},
        "preprocessing": preprocessing(size, CLS_MEAN, CLS_STD),
        "outputs": [
            {"name": "scores", "shape": ["batch", 3], "activation": "sigmoid", "kind": "multilabel",
             "labels": [{"index": i, "key": k, "name": f"test label {k}", "threshold": t, "code": code + k}
                        for i, (k, t) in enumerate((("a", 0.5), ("b", 0.3), ("c", 0.7)))]},
            {"name": "grade", "shape": ["batch", 3], "activation": "softmax", "kind": "grade", "decision": "argmax",
             "labels": [{"index": g, "key": f"g{g}", "name": f"test grade {g}", "code": f"{code}g{g}"}
                        for g in range(3)],
             "derived": [{"name": "grade_1_or_more", "formula": "grade[1] + grade[2]",
                          "meaning": "probability of test grade 1 or 2", "threshold": 0.5,
                          "code": code + "grade-1-or-more"}]},
        ],
    })


def segmenter() -> None:
    size = 96
    x = helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["batch", 3, size, size])
    y = helper.make_tensor_value_info("lesions", TensorProto.FLOAT, ["batch", 2, size, size])
    # logit = GAIN * (a . rgb + c); with rgb = n * std + mean (n: normalised input):
    #   weight on n = GAIN * a * std, bias = GAIN * (a . mean + c)
    rules = [(np.array([1.0, -1.0, 0.0]), -0.5), (np.array([-1.0, 1.0, 0.0]), -0.5)]
    mean, std = np.array(SEG_MEAN), np.array(SEG_STD)
    w = np.stack([GAIN * a * std for a, _ in rules]).astype(np.float32).reshape(2, 3, 1, 1)
    b = np.array([GAIN * (a @ mean + c) for a, c in rules], dtype=np.float32)
    nodes = [
        helper.make_node("Conv", ["pixels", "w", "b"], ["logits"], kernel_shape=[1, 1]),
        helper.make_node("Sigmoid", ["logits"], ["lesions"]),
    ]
    graph = helper.make_graph(nodes, "ophgate_test_segmenter", [x], [y],
                              [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    code = "mappings/test-labels.json#"
    save(model, "ophgate-test-segmenter", {
        "task": "segmentation",
        "input": {"name": "pixels", "shape": ["batch", 3, size, size], "dtype": "float32", "layout": "NCHW",
                  "channel_order": "RGB", "normalization": {"mean": SEG_MEAN, "std": SEG_STD}},
        "preprocessing": preprocessing(size, SEG_MEAN, SEG_STD),
        "outputs": [
            {"name": "lesions", "shape": ["batch", 2, size, size], "activation": "sigmoid", "kind": "masks",
             "channels": [{"index": 0, "key": "red", "name": "saturated red patch", "threshold": 0.5,
                           "code": code + "red"},
                          {"index": 1, "key": "green", "name": "saturated green patch", "threshold": 0.5,
                           "code": code + "green"}]},
        ],
        "postprocessing": [{"op": "to_source", "interpolation": "bilinear"}, {"op": "regions"}],
    })


if __name__ == "__main__":
    classifier()
    segmenter()
