"""Writes models/llm/MODEL_CARD.md for the bundled chat model from the files the build leaves behind.

  /usr/bin/python3 models/llm/model_card.py [--eval docs/llm-eval.json]

Reads ophgate-chat.metrics.json (train.py), tokenizer/tokenizer-stats.json, tokenizer/corpus-stats.json,
probe.json and, when given, the evaluation results of `npm run eval:llm` (any JSON object: its numbers are listed
as they are named there). Without evaluation results the card says the model is not yet evaluated.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent


def read(p: Path):
    return json.loads(p.read_text("utf8")) if p.is_file() else None


def flat(d, prefix=""):
    for k, v in d.items():
        if isinstance(v, dict):
            yield from flat(v, f"{prefix}{k}.")
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            yield f"{prefix}{k}", v


def stages(metrics: dict) -> list[tuple[str, dict]]:
    """The training stages, first to last, each with build.sh's variable prefix: "" (stage 1), "POLISH_" or
    "ADAPT_". build.sh seeds them SEED, SEED+1 and SEED+2, which tells a later stage's kind."""
    chain = [metrics]
    while (chain[-1].get("initFrom") or {}).get("metrics"):
        chain.append(chain[-1]["initFrom"]["metrics"])
    chain.reverse()
    first = chain[0]["seed"]
    return [("" if i == 0 else {1: "POLISH_", 2: "ADAPT_"}.get(m["seed"] - first, f"STAGE{i + 1}_"), m) for i, m in enumerate(chain)]


STAGE_TEXT = {"": "`models/llm/build.sh` (MINUTES)", "POLISH_": "POLISH_MINUTES: the same corpus from the last stage's weights, fresh optimizer and schedule",
              "ADAPT_": "ADAPT_MINUTES: a corpus of other cases (seed +2) with photo-like eyes mixed in, from the last stage's weights"}


def reproduce(metrics: dict) -> str:
    """The build.sh variables that repeat a run's schedule exactly (steps fixed, time budgets out of the way)."""
    out = []
    for prefix, m in stages(metrics):
        out.append(f"{prefix}STEPS={m['plannedSteps']} {prefix}MINUTES=600" + (f" {prefix}STOP={m['steps']}" if m["steps"] < m["plannedSteps"] else ""))
    return " ".join(out)


def card(gguf: Path, metrics: dict, tok: dict | None, corpus: dict | None, probe: dict | None, ev: dict | None,
         samples: dict | None = None) -> str:
    c = metrics["config"]
    lines = [
        "# OphGate chat model (`ophgate-chat.gguf`)",
        "",
        "**Research use only. Not for clinical use.** A small model trained from scratch to write OphGate's screening",
        "narrative from structured fundus findings and to answer questions about a case; every output goes through the",
        "gateway's grounding guard, with the deterministic narrative as the fallback.",
        "",
        "- Narrative: the model fills the case's JSON schema (`llm.narrativeFormat` json-schema): the grammar fixes every",
        "  value (eyes, grades, lesion counts, labels, cup-to-disc ratio, the case's urgency, and the impression's summary",
        "  sentence naming the eyes that meet the referral criteria); the model writes the comment per eye and the",
        "  recommendation's note, which the guard then checks.",
        "- Dialogue: the scope gate (`models/llm/scope-gate.json`, `src/llm/scope/`) decides first which questions reach",
        "  the model; doses, report changes, other patients and anything outside eye care get the gateway's refusal,",
        "  red-flag symptoms same-day care. Then the question router (`models/llm/question-router.json`, `src/llm/intent/`)",
        "  gives the model the canonical question of a recognised intent, or answers a recognised general question with",
        "  the knowledge base's cited passage. A question it cannot place gets the passage found by content among the",
        "  entries it mentions or the case found (`src/llm/knowledge/retrieval.ts`), else goes to the model as typed; a",
        "  case question whose model answers fail the guard (or decline) gets the report's own line. Every answer is",
        "  labelled with who gave it. The model's own answers and the gateway's are both evaluated below.",
        "",
        "## Model",
        f"- Architecture: llama (RMSNorm, RoPE theta {c['rope_theta']:g}, SwiGLU, no biases, tied embeddings), "
        f"{metrics['parameters']:,} parameters: n_embd {c['n_embd']}, {c['n_layer']} layers, {c['n_head']} heads "
        f"({c['n_head_kv']} KV), n_ff {c['n_ff']}, vocabulary {c['n_vocab']}, context {c['context_length']} "
        f"(trained on conversations up to {metrics['maxLen']} tokens).",
        "- Weights: GGUF, Q8_0 matrices and F32 norms, written by the project's writer (`scripts/llm-write-gguf.ts`).",
        "- Tokenizer: SentencePiece BPE with byte fallback, no space prefix, ChatML control tokens; chat template ChatML.",
    ]
    if gguf.is_file():
        lines.append(f"- File: {gguf.stat().st_size:,} bytes, SHA-256 `{hashlib.sha256(gguf.read_bytes()).hexdigest()}`.")
    lines += ["", "## Data",
              "Generated by `models/llm/corpus.py` (seed {}) from the project's knowledge base "
              "(`src/llm/knowledge/knowledge-base.json`, written in the project's words with public sources) and from "
              "synthetic studies whose findings were made by the pipeline's own code (`scripts/llm-sample-cases.ts`). "
              "No patient data. The hand-written evaluation questions were never read.".format(stages(metrics)[0][1]["seed"])]
    if any(prefix == "ADAPT_" for prefix, _ in stages(metrics)):
        lines.append("The adaptation stage's corpus is made the same way from other cases (seed +2), 40 % of whose eyes "
                     "look like the fundus models' output on real photographs; the figures below are the first stage's corpus.")
    if corpus:
        for part in ("train", "validation"):
            s = corpus[part]
            kinds = ", ".join(f"{k} {v}" for k, v in sorted(s["byKind"].items()))
            lines.append(f"- {part}: {s['conversations']:,} conversations ({kinds})")
    if tok:
        lines.append(f"- Tokens: training {tok['train']['tokens']:,} ({tok['train']['assistantTokens']:,} assistant targets), "
                     f"validation {tok['validation']['tokens']:,}.")
    lines += ["", "## Training"]
    chain = stages(metrics)
    for i, (prefix, m) in enumerate(chain):
        lines.append(f"- Stage {i + 1} ({STAGE_TEXT.get(prefix, prefix)}; seed {m['seed']}): {m['steps']:,} steps (planned {m['plannedSteps']}), "
                     f"{m['tokensSeen']:,} tokens seen ({m['targetTokensSeen']:,} assistant targets), {m['epochs']} passes over its corpus, "
                     f"{m['trainSeconds'] / 60:.1f} minutes on {m['device']} with {m['threads']} threads ({m['tokensPerSecond']:,.0f} tokens/s), "
                     f"LR {m['lr']}, stopped: {m['stopped']}; validation loss {m['validationLoss']}.")
    lines += [
              f"- AdamW; each stage warms up ({', '.join(str(m['warmup']) for _, m in chain)} steps) and decays its LR on a cosine; "
              f"~{metrics['batchTokens']} tokens a step, loss on assistant turns only.",
              f"- Last stage: final training loss {metrics['finalTrainLoss']}, validation loss {metrics['validationLoss']} "
              "(nats per assistant token, on its own corpus's validation split)."]
    if probe:
        speeds = ", ".join(f"{r['size']} {r['parameters'] / 1e6:.2f} M: {r['tokensPerSecond']:,.0f}" for r in probe["sizes"])
        lines.append(f"- Probe before training (tokens/s, {probe['threads']} threads, shared machine): {speeds}.")
    lines += ["", "## Evaluation"]
    if ev:
        # The full report of `npm run eval:llm --json` carries its summary and its targets; a flat summary only numbers.
        summary = ev.get("summary", ev)
        lines += ["From `npm run eval:llm` (set1 = src/llm/knowledge/eval-questions.json, set2-set4 = eval-questions-2.json to -4.json,"
                  " used to develop the gate, router and retrieval (set 4 after one look as a held-out set);"
                  " set5 = eval-questions-5.json, written blind and held out;"
                  " `Gateway` = through the scope gate, what a user gets; without it, the model alone):", "",
                  "| measure | value |", "|---|---|"]
        lines += [f"| {k} | {v:g} |" for k, v in flat(summary)]
        lines.append("")
        targets = ev.get("targets")
        if targets:
            missed = [t for t in targets if t.get("met") is False]
            if missed:
                lines.append(f"**Status: misses {len(missed)} of {len(targets)} targets**: "
                             + "; ".join(f"{t['name']}: {t['value']:g} (target {t['target']})" for t in missed) + ".")
            else:
                lines.append(f"**Status: meets all {len(targets)} targets.**")
            met = [t for t in targets if t.get("met") is True]
            if met:
                lines.append("Met: " + "; ".join(f"{t['name']}: {t['value']:g} ({t['target']})" for t in met) + ".")
        else:
            lines.append("(No targets in this file: pass the full report, `--eval docs/llm-eval.json`.)")
    else:
        lines.append("Not yet evaluated: run `npm run eval:llm` and regenerate this card with `--eval`.")
    if samples:
        f = samples["figures"]
        lines.append(f"- Smoke check (`sample.py`, greedy by llama.cpp on {f['samples']} held-out corpus conversations, "
                     f"`ophgate-chat.samples.json`): {f['exact']} answers word for word, {f['reportEyeGradesMatching']} of "
                     f"{f['reportEyeGrades']} report eye lines with the right DR grade, {f['ended']} answers ended with <|im_end|>. "
                     "A look at the output, not an evaluation: the corpus's own phrasing is what it was trained on.")
    lines += ["", "## Limits",
              f"- {metrics['parameters'] / 1e6:.1f} M parameters and {sum(m['trainSeconds'] for _, m in chain) / 60:.0f} training minutes on {metrics['device']}: it reproduces the phrasing of its corpus, knows only the "
              "knowledge base, and can state things that are wrong. It cannot see images; it reads the findings JSON.",
              "- Its knowledge is the knowledge base's: no drug doses, no definitive diagnosis; red-flag symptoms are sent "
              "to same-day care.",
              "- Not a medical device. Not for clinical use. Every finding must be confirmed by a qualified grader or ophthalmologist.",
              "", "## Reproduction",
              "`models/llm/build.sh` rebuilds it from the seed (see models/llm/README.md for the tolerance to expect). "
              f"This build's schedule, on a slower or faster machine: `{reproduce(metrics)} models/llm/build.sh`.", ""]
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gguf", type=Path, default=HERE / "ophgate-chat.gguf")
    ap.add_argument("--metrics", type=Path, default=HERE / "ophgate-chat.metrics.json")
    ap.add_argument("--eval", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=HERE / "MODEL_CARD.md")
    args = ap.parse_args(argv)
    metrics = read(args.metrics)
    if metrics is None:
        raise SystemExit(f"{args.metrics} not found: train first (models/llm/build.sh)")
    text = card(args.gguf, metrics, read(HERE / "tokenizer" / "tokenizer-stats.json"), read(HERE / "tokenizer" / "corpus-stats.json"),
                read(HERE / "probe.json"), read(args.eval) if args.eval else None, read(args.gguf.with_suffix(".samples.json")))
    args.out.write_text(text)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
