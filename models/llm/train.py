"""Trains OphGate's chat model on the corpus: a time-budgeted run that checkpoints and resumes exactly.

  /usr/bin/python3 models/llm/train.py --data models/llm/data --tokenizer models/llm/tokenizer \\
      --run-dir models/llm/runs/default --size small --minutes 80 --resume
  /usr/bin/python3 models/llm/train.py --data ... --tokenizer ... --probe    # tokens/s of every size, ~1-2 minutes

Batches: conversations whole (never packed or cut; longer than --max-len are left out and counted), grouped by
length and padded to the longest in the batch, about --batch-tokens tokens a step. Their order is a function of
(seed, epoch) only, so a resumed run sees exactly the batches an uninterrupted one would. The loss is cross-entropy
on the assistant tokens (tokenizer.encode_conversation's mask: assistant text and the <|im_end|> closing it).

Schedule: linear warm-up, then cosine decay to 10% of --lr over the planned steps. The plan is fixed once, when
the first --plan-steps steps have been timed (steps = budget x measured tokens/s / tokens per step), and stored in
the checkpoint; --steps N fixes it instead (what a reproduction uses: the number is in metrics.json). The run also
stops, saving, when --minutes of training time are used up.

Checkpoints (run-dir/last.pt, atomic) every --checkpoint-minutes and at the end: weights, AdamW state, plan, step,
epoch and batch position, tokens seen, history, RNG states. --resume continues from last.pt (a fresh run if none).
At the end: run-dir/final.pt (weights and config) and run-dir/metrics.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model import SIZES, Llama, config_for  # noqa: E402
from tokenizer import Tokenizer  # noqa: E402

DEFAULT_SIZE = "small"


# ---------------------------------------------------------------- data

def load_split(data: Path, name: str, tok: Tokenizer, max_len: int) -> tuple[list[tuple[list[int], list[int]]], int]:
    out, dropped = [], 0
    for line in (Path(data) / name).read_text("utf8").splitlines():
        if not line.strip():
            continue
        ids, mask = tok.encode_conversation(json.loads(line)["messages"])
        if len(ids) > max_len:
            dropped += 1
            continue
        out.append((ids, mask))
    return out, dropped


def epoch_batches(lengths: list[int], seed: int, epoch: int, batch_tokens: int) -> list[list[int]]:
    """Batches of conversation indices for one epoch: shuffled, grouped by length in chunks, batch order shuffled."""
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(lengths))
    batches: list[list[int]] = []
    chunk = 512
    for s in range(0, len(order), chunk):
        part = sorted(order[s:s + chunk].tolist(), key=lambda i: (lengths[i], i))
        cur: list[int] = []
        longest = 0
        for i in part:
            longest2 = max(longest, lengths[i])
            if cur and longest2 * (len(cur) + 1) > batch_tokens:
                batches.append(cur)
                cur, longest2 = [], lengths[i]
            cur.append(i)
            longest = longest2
        if cur:
            batches.append(cur)
    perm = rng.permutation(len(batches))
    return [batches[i] for i in perm]


def collate(examples: list[tuple[list[int], list[int]]], idx: list[int], pad_id: int):
    t = max(len(examples[i][0]) for i in idx)
    ids = torch.full((len(idx), t), pad_id, dtype=torch.long)
    mask = torch.zeros((len(idx), t), dtype=torch.bool)
    for r, i in enumerate(idx):
        a, m = examples[i]
        ids[r, :len(a)] = torch.tensor(a)
        mask[r, :len(m)] = torch.tensor(m, dtype=torch.bool)
    return ids, mask


def loss_of(model, ids, mask):
    """Mean cross-entropy over target positions (the token at t+1 is an assistant target) and their count."""
    logits = model(ids[:, :-1])
    tgt_mask = mask[:, 1:]
    n = int(tgt_mask.sum())
    if n == 0:
        return logits.sum() * 0.0, 0
    return F.cross_entropy(logits[tgt_mask], ids[:, 1:][tgt_mask]), n


@torch.no_grad()
def evaluate(model, examples, pad_id, device, batch_tokens: int) -> float:
    model.eval()
    total, count = 0.0, 0
    for idx in epoch_batches([len(e[0]) for e in examples], 0, 0, batch_tokens):
        ids, mask = collate(examples, idx, pad_id)
        loss, n = loss_of(model, ids.to(device), mask.to(device))
        total += float(loss) * n
        count += n
    model.train()
    return total / max(count, 1)


# ---------------------------------------------------------------- schedule and checkpoints

def lr_at(step: int, total: int, base: float, warmup: int) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    p = min(1.0, (step - warmup) / max(1, total - warmup))
    return base * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)))


def rng_state() -> dict:
    return {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}


def set_rng_state(s: dict) -> None:
    random.setstate(s["python"])
    np.random.set_state(s["numpy"])
    torch.set_rng_state(s["torch"])


def save_atomic(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def log(run_dir: Path, msg: str) -> None:
    line = f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {msg}"
    print(line, flush=True)
    with open(run_dir / "log.txt", "a", encoding="utf8") as fh:
        fh.write(line + "\n")


def make_optimizer(model, lr: float, weight_decay: float):
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
                             lr=lr, betas=(0.9, 0.95), eps=1e-8)


# ---------------------------------------------------------------- training

def train(args) -> dict:
    torch.set_num_threads(args.threads)
    run_dir = Path(args.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(Path(args.tokenizer) / "tokenizer.model")
    train_ex, dropped = load_split(args.data, "train.jsonl", tok, args.max_len)
    val_ex, val_dropped = load_split(args.data, "val.jsonl", tok, args.max_len)
    lengths = [len(e[0]) for e in train_ex]
    cfg = config_for(args.size, tok.vocab_size, args.context_length)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    model = Llama(cfg).to(device)
    opt = make_optimizer(model, args.lr, args.weight_decay)
    state = {"step": 0, "epoch": 0, "batch": 0, "planned_steps": args.steps, "train_seconds": 0.0,
             "tokens_seen": 0, "target_tokens_seen": 0, "history": []}
    last = run_dir / "last.pt"
    if args.resume and last.is_file():
        ck = torch.load(last, map_location=device)
        if ck["config"] != cfg.to_dict():
            raise SystemExit(f"{last}: checkpoint is for {ck['config']}, not {cfg.to_dict()}")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        state = ck["state"]
        set_rng_state(ck["rng"])
        log(run_dir, f"resumed at step {state['step']} (epoch {state['epoch']}, batch {state['batch']}, {state['train_seconds']:.0f} s trained)")
    elif args.init_from:
        # A second stage: the weights of an earlier run, a fresh optimizer and its own LR schedule and time budget.
        ck = torch.load(args.init_from, map_location=device)
        if ck["config"] != cfg.to_dict():
            raise SystemExit(f"{args.init_from}: checkpoint is for {ck['config']}, not {cfg.to_dict()}")
        model.load_state_dict(ck["model"])
        log(run_dir, f"stage run from {args.init_from}: size {args.size}, {model.n_params():,} parameters, {len(train_ex)} training "
                     f"conversations, lr {args.lr}, warm-up {args.warmup}, device {device}, {args.threads} threads")
    else:
        log(run_dir, f"fresh run: size {args.size}, {model.n_params():,} parameters, {len(train_ex)} training conversations "
                     f"({dropped} longer than {args.max_len} tokens left out), {len(val_ex)} validation, device {device}, {args.threads} threads")

    def checkpoint(reason: str):
        save_atomic(last, {"model": model.state_dict(), "optimizer": opt.state_dict(), "state": state, "rng": rng_state(),
                           "config": cfg.to_dict(), "size": args.size, "seed": args.seed})
        log(run_dir, f"checkpoint ({reason}) at step {state['step']}")

    budget = args.minutes * 60.0
    last_ck = time.monotonic()
    seg_start = time.monotonic()
    seg_base = state["train_seconds"]
    plan_start = None  # (step, tokens, seconds) where timing for the plan began
    batches = epoch_batches(lengths, args.seed, state["epoch"], args.batch_tokens)
    stop_reason = None
    while True:
        if state["planned_steps"] is not None and state["step"] >= state["planned_steps"]:
            stop_reason = "planned steps done"
            break
        if state["train_seconds"] >= budget:
            stop_reason = "time budget used"
            break
        if args.stop_at_step is not None and state["step"] >= args.stop_at_step:
            stop_reason = "--stop-at-step reached"
            break
        if args.max_steps is not None and state["step"] >= args.max_steps:
            stop_reason = "--max-steps reached"
            break
        if state["batch"] >= len(batches):
            state["epoch"] += 1
            state["batch"] = 0
            batches = epoch_batches(lengths, args.seed, state["epoch"], args.batch_tokens)
        idx = batches[state["batch"]]
        ids, mask = collate(train_ex, idx, tok.eos_id)
        ids, mask = ids.to(device), mask.to(device)
        total = state["planned_steps"] or args.fallback_steps
        lr = lr_at(state["step"], total, args.lr, args.warmup)
        for g in opt.param_groups:
            g["lr"] = lr
        loss, n = loss_of(model, ids, mask)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        state["step"] += 1
        state["batch"] += 1
        state["tokens_seen"] += int(sum(len(train_ex[i][0]) for i in idx))
        state["target_tokens_seen"] += n
        state["train_seconds"] = seg_base + (time.monotonic() - seg_start)
        if state["step"] % args.log_every == 0 or state["step"] == 1:
            state["history"].append({"step": state["step"], "loss": round(float(loss), 4), "lr": lr, "tokens": state["tokens_seen"],
                                     "seconds": round(state["train_seconds"], 1)})
            log(run_dir, f"step {state['step']}/{state['planned_steps'] or '?'} epoch {state['epoch']} loss {float(loss):.4f} lr {lr:.2e} "
                         f"tokens {state['tokens_seen']:,} {state['tokens_seen'] / max(state['train_seconds'], 1e-9):.0f} tok/s")
        # Fix the plan from measured speed once, then never again (a resumed run keeps it).
        if state["planned_steps"] is None:
            if plan_start is None:
                plan_start = (state["step"], state["tokens_seen"], state["train_seconds"])
            elif state["step"] >= plan_start[0] + args.plan_steps:
                tps = (state["tokens_seen"] - plan_start[1]) / max(state["train_seconds"] - plan_start[2], 1e-9)
                per_step = state["tokens_seen"] / state["step"]
                state["planned_steps"] = max(state["step"] + 1, int((budget - args.eval_reserve_s) * tps / per_step))
                log(run_dir, f"plan: {tps:.0f} tokens/s measured, {per_step:.0f} tokens a step -> {state['planned_steps']} steps")
        if args.eval_every and state["step"] % args.eval_every == 0 and val_ex:
            sub = val_ex[: args.eval_subset]
            v = evaluate(model, sub, tok.eos_id, device, args.batch_tokens)
            state["history"].append({"step": state["step"], "val_loss": round(v, 4)})
            log(run_dir, f"validation loss (first {len(sub)}) {v:.4f}")
            seg_base, seg_start = state["train_seconds"], time.monotonic()  # validation time is not training time
        if time.monotonic() - last_ck >= args.checkpoint_minutes * 60:
            checkpoint("periodic")
            last_ck = time.monotonic()
            seg_base, seg_start = state["train_seconds"], time.monotonic()
    checkpoint(stop_reason)
    if stop_reason == "--max-steps reached":
        return {"stopped": stop_reason, "step": state["step"]}
    val_loss = evaluate(model, val_ex, tok.eos_id, device, args.batch_tokens) if val_ex else None
    torch.save({"model": model.state_dict(), "config": cfg.to_dict(), "size": args.size}, run_dir / "final.pt")
    train_losses = [h["loss"] for h in state["history"] if "loss" in h]
    metrics = {
        "size": args.size, "parameters": model.n_params(), "config": cfg.to_dict(), "tiedEmbeddings": True,
        "seed": args.seed, "device": str(device), "threads": args.threads, "steps": state["step"],
        "plannedSteps": state["planned_steps"], "epochs": round(state["epoch"] + state["batch"] / max(len(batches), 1), 3),
        "tokensSeen": state["tokens_seen"], "targetTokensSeen": state["target_tokens_seen"],
        "trainSeconds": round(state["train_seconds"], 1),
        "tokensPerSecond": round(state["tokens_seen"] / max(state["train_seconds"], 1e-9), 1),
        "finalTrainLoss": train_losses[-1] if train_losses else None, "validationLoss": None if val_loss is None else round(val_loss, 4),
        "trainConversations": len(train_ex), "droppedLongerThanMaxLen": dropped, "validationConversations": len(val_ex),
        "validationDropped": val_dropped, "maxLen": args.max_len, "batchTokens": args.batch_tokens, "lr": args.lr,
        "warmup": args.warmup, "stopped": stop_reason, "torch": torch.__version__,
    }
    if args.init_from:
        earlier = Path(args.init_from).with_name("metrics.json")
        metrics["initFrom"] = {"checkpoint": str(args.init_from),
                               "metrics": json.loads(earlier.read_text()) if earlier.is_file() else None}
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    log(run_dir, f"done: {stop_reason}; validation loss {val_loss}; metrics in {run_dir / 'metrics.json'}")
    return metrics


def probe(args) -> dict:
    """Tokens per second of each size on this machine, over real batches, ~args.probe_seconds each."""
    torch.set_num_threads(args.threads)
    tok = Tokenizer(Path(args.tokenizer) / "tokenizer.model")
    ex, _ = load_split(args.data, "train.jsonl", tok, args.max_len)
    batches = epoch_batches([len(e[0]) for e in ex], args.seed, 0, args.batch_tokens)
    rows = []
    for size in (args.probe_sizes.split(",") if args.probe_sizes else SIZES):
        torch.manual_seed(args.seed)
        cfg = config_for(size, tok.vocab_size, args.context_length)
        model = Llama(cfg).to(args.device)
        opt = make_optimizer(model, args.lr, args.weight_decay)
        tokens, k, t0 = 0, 0, None
        while True:
            ids, mask = collate(ex, batches[k % len(batches)], tok.eos_id)
            loss, _ = loss_of(model, ids.to(args.device), mask.to(args.device))
            opt.zero_grad()
            loss.backward()
            opt.step()
            k += 1
            if k == 2:
                t0 = time.monotonic()  # the first steps include allocation and warm-up
            elif k > 2:
                tokens += int(sum(len(ex[i][0]) for i in batches[(k - 1) % len(batches)]))
                if time.monotonic() - t0 >= args.probe_seconds:
                    break
        dt = time.monotonic() - t0
        tps = tokens / dt
        row = {"size": size, "parameters": model.n_params(), "tokensPerSecond": round(tps, 1), "steps": k - 2,
               "seconds": round(dt, 1), "tokensIn80Minutes": int(tps * 80 * 60), **{k2: v for k2, v in cfg.to_dict().items()}}
        rows.append(row)
        print(json.dumps(row), flush=True)
    out = {"threads": args.threads, "device": args.device, "batchTokens": args.batch_tokens, "torch": torch.__version__,
           "measuredAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "sizes": rows}
    if args.probe_out:
        Path(args.probe_out).write_text(json.dumps(out, indent=2) + "\n")
    return out


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, type=Path, help="folder with train.jsonl and val.jsonl (corpus.py)")
    ap.add_argument("--tokenizer", required=True, type=Path, help="folder with tokenizer.model (tokenizer.py)")
    ap.add_argument("--run-dir", type=Path, default=Path("models/llm/runs/default"))
    ap.add_argument("--size", default=DEFAULT_SIZE, choices=list(SIZES))
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    ap.add_argument("--seed", type=int, default=6)
    ap.add_argument("--minutes", type=float, default=80.0, help="training-time budget (validation and checkpoints excluded)")
    ap.add_argument("--steps", type=int, default=None, help="fix the planned number of steps (reproduction)")
    ap.add_argument("--init-from", type=Path, default=None,
                    help="start from this checkpoint's weights (final.pt of an earlier run): a second stage with a fresh optimizer")
    ap.add_argument("--stop-at-step", type=int, default=None,
                    help="finish (final.pt, validation) at this step: repeats a run that the time budget stopped early")
    ap.add_argument("--max-steps", type=int, default=None, help="stop after this step as if killed (tests, smoke runs)")
    ap.add_argument("--plan-steps", type=int, default=20, help="steps timed before the plan is fixed")
    ap.add_argument("--fallback-steps", type=int, default=100000, help="schedule length before the plan is fixed")
    ap.add_argument("--eval-reserve-s", type=float, default=60.0)
    ap.add_argument("--batch-tokens", type=int, default=8192)
    ap.add_argument("--max-len", type=int, default=1536)
    ap.add_argument("--context-length", type=int, default=2048, help="written to the GGUF as llama.context_length")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--checkpoint-minutes", type=float, default=5.0)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--eval-subset", type=int, default=150)
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--probe", action="store_true", help="measure tokens/s per size and exit")
    ap.add_argument("--probe-seconds", type=float, default=20.0)
    ap.add_argument("--probe-sizes", default=None, help="comma-separated sizes to probe (default: all)")
    ap.add_argument("--probe-out", type=Path, default=None)
    return ap.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.probe:
        probe(args)
    else:
        train(args)


if __name__ == "__main__":
    main()
