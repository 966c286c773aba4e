"""A small NumPy interpreter for the ONNX operators the two exported models use.

Debian 12's python3-onnx (1.12) has no onnx.reference evaluator (added in onnx 1.13), and the gateway runs the
models with onnxruntime-node, not Python, so nothing here needs onnxruntime. This interpreter executes the
exported graph node by node from the ONNX file itself (initializers, attributes, topological order), so comparing
its outputs with PyTorch's checks the exported graph, not the PyTorch module again.

Supported: Conv (group 1, any stride / padding / dilation), ConvTranspose (stride = kernel, no padding, group 1),
MaxPool (no padding, floor mode), GlobalAveragePool, Flatten, Gemm, Relu, Add, Concat, Sigmoid, Softmax, Identity,
Constant. Anything else raises NotImplementedError naming the operator.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import numpy_helper


def _attrs(node) -> dict:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def conv(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, strides, pads, dilations, group: int) -> np.ndarray:
    if group != 1:
        raise NotImplementedError("Conv with group != 1")
    n, cin, h, wd = x.shape
    cout, _, kh, kw = w.shape
    sy, sx = strides
    dy, dx = dilations
    pt, pl, pb, pr = pads
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    oh = (h + pt + pb - dy * (kh - 1) - 1) // sy + 1
    ow = (wd + pl + pr - dx * (kw - 1) - 1) // sx + 1
    out = np.zeros((n, cout, oh * ow), dtype=np.float32)
    for ky in range(kh):
        for kx in range(kw):
            patch = xp[:, :, ky * dy: ky * dy + sy * (oh - 1) + 1: sy, kx * dx: kx * dx + sx * (ow - 1) + 1: sx]
            out += np.einsum("oc,ncp->nop", w[:, :, ky, kx], patch.reshape(n, cin, oh * ow), optimize=True)
    out = out.reshape(n, cout, oh, ow)
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out


def conv_transpose(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, strides, kernel) -> np.ndarray:
    """Non-overlapping transposed convolution (stride == kernel), the only kind the segmenter uses."""
    n, cin, h, wd = x.shape
    _, cout, kh, kw = w.shape
    if tuple(strides) != (kh, kw):
        raise NotImplementedError("ConvTranspose with stride != kernel")
    out = np.zeros((n, cout, h * kh, wd * kw), dtype=np.float32)
    for ky in range(kh):
        for kx in range(kw):
            out[:, :, ky::kh, kx::kw] = np.einsum("co,nchw->nohw", w[:, :, ky, kx], x, optimize=True)
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out


def max_pool(x: np.ndarray, kernel, strides) -> np.ndarray:
    n, c, h, w = x.shape
    kh, kw = kernel
    sy, sx = strides
    oh, ow = (h - kh) // sy + 1, (w - kw) // sx + 1
    out = np.full((n, c, oh, ow), -np.inf, dtype=x.dtype)
    for ky in range(kh):
        for kx in range(kw):
            out = np.maximum(out, x[:, :, ky: ky + sy * (oh - 1) + 1: sy, kx: kx + sx * (ow - 1) + 1: sx])
    return out


def run(model: onnx.ModelProto | str, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    if not isinstance(model, onnx.ModelProto):
        model = onnx.load(model)
    g = model.graph
    env: dict[str, np.ndarray] = {i.name: numpy_helper.to_array(i).astype(np.float32, copy=False)
                                  if i.data_type == onnx.TensorProto.FLOAT else numpy_helper.to_array(i)
                                  for i in g.initializer}
    env.update({k: np.asarray(v, dtype=np.float32) for k, v in inputs.items()})
    for node in g.node:
        a = _attrs(node)
        ins = [env[n] if n else None for n in node.input]
        op = node.op_type
        if op == "Conv":
            if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
                raise NotImplementedError("Conv auto_pad")
            y = conv(ins[0], ins[1], ins[2] if len(ins) > 2 else None, a.get("strides", [1, 1]),
                     a.get("pads", [0, 0, 0, 0]), a.get("dilations", [1, 1]), a.get("group", 1))
        elif op == "ConvTranspose":
            if any(a.get("pads", [0, 0, 0, 0])) or a.get("group", 1) != 1 or any(a.get("output_padding", [0, 0])):
                raise NotImplementedError("ConvTranspose with padding, groups or output_padding")
            y = conv_transpose(ins[0], ins[1], ins[2] if len(ins) > 2 else None, a.get("strides", [1, 1]),
                               ins[1].shape[2:])
        elif op == "MaxPool":
            if any(a.get("pads", [0, 0, 0, 0])) or a.get("ceil_mode", 0) or any(d != 1 for d in a.get("dilations", [1, 1])):
                raise NotImplementedError("MaxPool with padding, ceil mode or dilation")
            y = max_pool(ins[0], a["kernel_shape"], a.get("strides", a["kernel_shape"]))
        elif op == "GlobalAveragePool":
            y = ins[0].mean(axis=(2, 3), keepdims=True)
        elif op == "Flatten":
            ax = a.get("axis", 1)
            y = ins[0].reshape(int(np.prod(ins[0].shape[:ax])), -1)
        elif op == "Gemm":
            A, B = ins[0], ins[1]
            if a.get("transA", 0):
                A = A.T
            if a.get("transB", 0):
                B = B.T
            y = a.get("alpha", 1.0) * (A @ B)
            if len(ins) > 2 and ins[2] is not None:
                y = y + a.get("beta", 1.0) * ins[2]
        elif op == "Relu":
            y = np.maximum(ins[0], 0)
        elif op == "Add":
            y = ins[0] + ins[1]
        elif op == "Concat":
            y = np.concatenate(ins, axis=a["axis"])
        elif op == "Sigmoid":
            y = 1.0 / (1.0 + np.exp(-ins[0]))
        elif op == "Softmax":
            ax = a.get("axis", -1)
            e = np.exp(ins[0] - ins[0].max(axis=ax, keepdims=True))
            y = e / e.sum(axis=ax, keepdims=True)
        elif op == "Identity":
            y = ins[0]
        elif op == "Constant":
            y = numpy_helper.to_array(a["value"])
        else:
            raise NotImplementedError(f"ONNX operator {op} is not supported by onnx_numpy")
        env[node.output[0]] = np.asarray(y, dtype=np.float32) if np.asarray(y).dtype.kind == "f" else y
    return {o.name: env[o.name] for o in g.output}
