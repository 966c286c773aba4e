"""A llama-architecture decoder, written to map one-to-one onto llama.cpp's LLM_ARCH_LLAMA tensors.

  token_embd -> per block: RMSNorm (attn_norm), q/k/v projections, RoPE on q and k, causal attention (grouped-query
  when n_head_kv < n_head), attn_output; RMSNorm (ffn_norm), SwiGLU (ffn_down(silu(ffn_gate x) * ffn_up x))
  -> output_norm -> output (tied to token_embd: the GGUF leaves output.weight out and llama.cpp reuses token_embd).
No biases anywhere. RMSNorm is x / sqrt(mean(x^2) + eps) * weight, as ggml_rms_norm computes it.

RoPE layout: the Hugging Face rotate_half (NeoX) pairing: within each head, dimension i rotates with i + head_dim/2,
by angle pos * theta^(-2i/head_dim). llama.cpp's LLAMA rope pairs 2i with 2i+1 instead, so the GGUF writer is told
qkLayout "hf" (export.py writes it into config.json) and permutes the rows of attn_q / attn_k
(src/llm/gguf/rope.ts permuteForRope); attention scores are unchanged by that reordering.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class LlamaConfig:
    n_vocab: int
    n_embd: int
    n_layer: int
    n_head: int
    n_head_kv: int
    n_ff: int
    context_length: int = 2048
    rope_theta: float = 10000.0
    rms_eps: float = 1e-5

    def to_dict(self) -> dict:
        return asdict(self)


# Sizes by name: tiny for tests, small (~2 M parameters with a 2000-piece vocabulary), base (~7 M).
SIZES = {
    "tiny": dict(n_embd=64, n_layer=2, n_head=4, n_head_kv=2, n_ff=192),
    "small": dict(n_embd=192, n_layer=4, n_head=6, n_head_kv=6, n_ff=512),
    "medium": dict(n_embd=256, n_layer=5, n_head=8, n_head_kv=8, n_ff=704),
    "base": dict(n_embd=320, n_layer=6, n_head=8, n_head_kv=8, n_ff=864),
}


def config_for(size: str, n_vocab: int, context_length: int = 2048) -> LlamaConfig:
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; one of {', '.join(SIZES)}")
    return LlamaConfig(n_vocab=n_vocab, context_length=context_length, **SIZES[size])


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(head_dim: int, length: int, theta: float, device=None):
    inv = theta ** (-torch.arange(0, head_dim, 2, dtype=torch.float32, device=device) / head_dim)
    ang = torch.arange(length, dtype=torch.float32, device=device)[:, None] * inv[None, :]
    ang = torch.cat([ang, ang], dim=-1)  # rotate_half layout: the same angle for i and i + head_dim/2
    return ang.cos(), ang.sin()


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


class Block(nn.Module):
    def __init__(self, c: LlamaConfig):
        super().__init__()
        self.c = c
        hd = c.n_embd // c.n_head
        self.attn_norm = RMSNorm(c.n_embd, c.rms_eps)
        self.attn_q = nn.Linear(c.n_embd, c.n_head * hd, bias=False)
        self.attn_k = nn.Linear(c.n_embd, c.n_head_kv * hd, bias=False)
        self.attn_v = nn.Linear(c.n_embd, c.n_head_kv * hd, bias=False)
        self.attn_output = nn.Linear(c.n_head * hd, c.n_embd, bias=False)
        self.ffn_norm = RMSNorm(c.n_embd, c.rms_eps)
        self.ffn_gate = nn.Linear(c.n_embd, c.n_ff, bias=False)
        self.ffn_up = nn.Linear(c.n_embd, c.n_ff, bias=False)
        self.ffn_down = nn.Linear(c.n_ff, c.n_embd, bias=False)

    def forward(self, x, cos, sin, mask):
        c = self.c
        b, t, _ = x.shape
        hd = c.n_embd // c.n_head
        h = self.attn_norm(x)
        q = self.attn_q(h).view(b, t, c.n_head, hd).transpose(1, 2)
        k = self.attn_k(h).view(b, t, c.n_head_kv, hd).transpose(1, 2)
        v = self.attn_v(h).view(b, t, c.n_head_kv, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if c.n_head_kv != c.n_head:
            rep = c.n_head // c.n_head_kv
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
        att = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(hd))
        att = att.masked_fill(mask, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, c.n_head * hd)
        x = x + self.attn_output(y)
        h = self.ffn_norm(x)
        return x + self.ffn_down(F.silu(self.ffn_gate(h)) * self.ffn_up(h))


class Llama(nn.Module):
    def __init__(self, c: LlamaConfig):
        super().__init__()
        if c.n_embd % c.n_head or (c.n_embd // c.n_head) % 2 or c.n_head % c.n_head_kv:
            raise ValueError(f"inconsistent head sizes in {c}")
        self.c = c
        self.token_embd = nn.Embedding(c.n_vocab, c.n_embd)
        self.blocks = nn.ModuleList(Block(c) for _ in range(c.n_layer))
        self.output_norm = RMSNorm(c.n_embd, c.rms_eps)
        self.reset_parameters()

    def reset_parameters(self):
        # GPT-2 style: N(0, 0.02), residual output projections scaled down by depth.
        for name, p in self.named_parameters():
            if p.dim() == 2:
                std = 0.02 / math.sqrt(2 * self.c.n_layer) if name.endswith(("attn_output.weight", "ffn_down.weight")) else 0.02
                nn.init.normal_(p, 0.0, std)

    def forward(self, ids):
        b, t = ids.shape
        hd = self.c.n_embd // self.c.n_head
        cos, sin = rope_tables(hd, t, self.c.rope_theta, ids.device)
        mask = torch.ones(t, t, dtype=torch.bool, device=ids.device).triu(1)
        x = self.token_embd(ids)
        for blk in self.blocks:
            x = blk(x, cos, sin, mask)
        return F.linear(self.output_norm(x), self.token_embd.weight)  # tied output

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


def gguf_tensors(model: Llama) -> dict:
    """The weights under llama.cpp's tensor names, float32, PyTorch [out, in] orientation (what the writer takes)."""
    out = {"token_embd.weight": model.token_embd.weight}
    for i, b in enumerate(model.blocks):
        for n in ("attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"):
            out[f"blk.{i}.{n}.weight"] = getattr(b, n).weight
    out["output_norm.weight"] = model.output_norm.weight
    return {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in out.items()}


def expected_shapes(c: LlamaConfig) -> dict:
    hd = c.n_embd // c.n_head
    s = {"token_embd.weight": [c.n_vocab, c.n_embd], "output_norm.weight": [c.n_embd]}
    for i in range(c.n_layer):
        s.update({f"blk.{i}.attn_norm.weight": [c.n_embd], f"blk.{i}.attn_q.weight": [c.n_head * hd, c.n_embd],
                  f"blk.{i}.attn_k.weight": [c.n_head_kv * hd, c.n_embd], f"blk.{i}.attn_v.weight": [c.n_head_kv * hd, c.n_embd],
                  f"blk.{i}.attn_output.weight": [c.n_embd, c.n_head * hd], f"blk.{i}.ffn_norm.weight": [c.n_embd],
                  f"blk.{i}.ffn_gate.weight": [c.n_ff, c.n_embd], f"blk.{i}.ffn_up.weight": [c.n_ff, c.n_embd],
                  f"blk.{i}.ffn_down.weight": [c.n_embd, c.n_ff]})
    return s
