"""Exports trained weights in the interchange form scripts/llm-write-gguf.ts reads, and checks it.

  /usr/bin/python3 models/llm/export.py --checkpoint models/llm/runs/default/final.pt \\
      --tokenizer models/llm/tokenizer --out models/llm/runs/default/export
  npx tsx scripts/llm-write-gguf.ts models/llm/runs/default/export models/llm/ophgate-chat.gguf

The folder holds:
  config.json     format "ophgate-llama-export/1": the llama config in the GGUF writer's names (LlamaConfig of
                  src/llm/gguf/llama.ts), qkLayout "hf" (model.py trains with rotate_half; the writer permutes q/k),
                  tiedEmbeddings true (no output.weight: llama.cpp reuses token_embd), and the tensor index
                  [{name, shape, offset, bytes}] into weights.bin
  weights.bin     every tensor as little-endian float32, row-major in PyTorch's [out, in] orientation, back to back
  tokenizer.json  a copy of tokenizer.py's export (pieces, scores, types, special ids)
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model import Llama, LlamaConfig, expected_shapes, gguf_tensors  # noqa: E402


def export(checkpoint: Path, tokenizer_dir: Path, out: Path, name: str = "ophgate-chat", extra: dict | None = None) -> dict:
    ck = torch.load(checkpoint, map_location="cpu")
    cfg = LlamaConfig(**ck["config"])
    model = Llama(cfg)
    model.load_state_dict(ck["model"])
    tensors = gguf_tensors(model)
    shapes = expected_shapes(cfg)
    if set(tensors) != set(shapes):
        raise ValueError(f"tensor names differ from the llama layout: {sorted(set(tensors) ^ set(shapes))}")
    tok = json.loads((Path(tokenizer_dir) / "tokenizer.json").read_text("utf8"))
    if len(tok["entries"]) != cfg.n_vocab:
        raise ValueError(f"tokenizer has {len(tok['entries'])} pieces, the model {cfg.n_vocab}")
    out.mkdir(parents=True, exist_ok=True)
    index, offset = [], 0
    with open(out / "weights.bin", "wb") as fh:
        for n in sorted(tensors, key=lambda k: list(shapes).index(k)):
            t = tensors[n]
            if list(t.shape) != shapes[n]:
                raise ValueError(f"{n}: shape {list(t.shape)}, expected {shapes[n]}")
            b = t.numpy().astype("<f4", copy=False).tobytes(order="C")
            fh.write(b)
            index.append({"name": n, "shape": list(t.shape), "offset": offset, "bytes": len(b)})
            offset += len(b)
    config = {
        "format": "ophgate-llama-export/1",
        "name": name,
        "config": {"nVocab": cfg.n_vocab, "nEmbd": cfg.n_embd, "nLayer": cfg.n_layer, "nHead": cfg.n_head,
                   "nHeadKv": cfg.n_head_kv, "nFf": cfg.n_ff, "contextLength": cfg.context_length,
                   "ropeTheta": cfg.rope_theta, "rmsEps": cfg.rms_eps},
        "qkLayout": "hf",
        "tiedEmbeddings": True,
        "dtype": "float32-le",
        "tensors": index,
        "size": ck.get("size"),
        "parameters": model.n_params(),
        **({"provenance": extra} if extra else {}),
    }
    (out / "config.json").write_text(json.dumps(config, indent=1) + "\n")
    shutil.copyfile(Path(tokenizer_dir) / "tokenizer.json", out / "tokenizer.json")
    return config


def read_export(folder: Path) -> tuple[dict, dict]:
    """The tensors back from an export folder (tests compare them with the model)."""
    config = json.loads((Path(folder) / "config.json").read_text("utf8"))
    raw = (Path(folder) / "weights.bin").read_bytes()
    out = {}
    for t in config["tensors"]:
        out[t["name"]] = np.frombuffer(raw, dtype="<f4", count=t["bytes"] // 4, offset=t["offset"]).reshape(t["shape"])
    return config, out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True, type=Path, help="final.pt (or last.pt) of a run")
    ap.add_argument("--tokenizer", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--name", default="ophgate-chat")
    ap.add_argument("--metrics", type=Path, default=None, help="metrics.json of the run, recorded as provenance")
    args = ap.parse_args(argv)
    extra = None
    if args.metrics and args.metrics.is_file():
        m = json.loads(args.metrics.read_text())
        extra = {k: m.get(k) for k in ("size", "parameters", "seed", "steps", "tokensSeen", "validationLoss")}
    c = export(args.checkpoint, args.tokenizer, args.out, args.name, extra)
    print(f"exported {len(c['tensors'])} tensors ({c['parameters']:,} parameters) to {args.out}")


if __name__ == "__main__":
    main()
