"""A quick look at what a GGUF says on held-out corpus conversations, run by llama.cpp (node-llama-cpp) at temperature 0.

  /usr/bin/python3 models/llm/sample.py models/llm/ophgate-chat.gguf [--n 3] [--data models/llm/data]

For each kind (report, case, knowledge, refusal) it takes the first --n validation conversations, feeds everything
before the last answer in the chat layout, and prints the model's answer next to the corpus answer, with the share
of exact answers and, for reports, of eye lines whose DR grade matches. A smoke check of a build, not the
evaluation: `npm run eval:llm` measures the model on questions the corpus never contained.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
from tokenizer import Tokenizer  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("gguf", type=Path)
    ap.add_argument("--data", type=Path, default=HERE / "data")
    ap.add_argument("--tokenizer", type=Path, default=HERE / "tokenizer")
    ap.add_argument("--n", type=int, default=3)
    ap.add_argument("--max-tokens", type=int, default=700)
    ap.add_argument("--json", type=Path, default=None, help="also write the samples and figures here")
    args = ap.parse_args(argv)
    tok = Tokenizer(args.tokenizer / "tokenizer.model")
    convs = [json.loads(l) for l in (args.data / "val.jsonl").read_text("utf8").splitlines() if l.strip()]
    picked = []
    for kind in ("report", "case", "knowledge", "refusal"):
        picked += [c for c in convs if c["kind"] == kind][: args.n]
    reqs = []
    for c in picked:
        ids, _ = tok.encode_conversation(c["messages"][:-1], mode="prompt")
        reqs.append({"tokens": ids, "n": args.max_tokens, "stop": [tok.im_end_id, tok.eos_id]})
    run = subprocess.run(["npx", "tsx", "scripts/llm-check-gguf.ts", str(args.gguf)], cwd=REPO, input=json.dumps({"greedy": reqs}),
                         capture_output=True, text=True, timeout=1800)
    if run.returncode != 0:
        raise SystemExit(run.stderr)
    outs = json.loads(run.stdout)["greedy"]
    rows, exact, grade_hits, grade_total = [], 0, 0, 0
    for c, out in zip(picked, outs):
        # llama.cpp ends the sequence at an end-of-generation token (<|im_end|> is one) without always yielding it.
        ended = len(out) < args.max_tokens or (bool(out) and out[-1] in (tok.im_end_id, tok.eos_id))
        got = tok.decode([t for t in out if t not in (tok.im_end_id, tok.eos_id)])
        want = c["messages"][-1]["content"]
        exact += got.strip() == want.strip()
        if c["kind"] == "report":
            for eye in ("Right eye", "Left eye"):
                w = re.search(rf"^{eye} .*?DR grade (\d)", want, re.M)
                if w:
                    grade_total += 1
                    g = re.search(rf"^{eye} .*?DR grade (\d)", got, re.M)
                    grade_hits += bool(g and g.group(1) == w.group(1))
        rows.append({"id": c["id"], "kind": c["kind"], "question": c["messages"][-2]["content"][:300], "expected": want,
                     "got": got, "endedWithImEnd": ended})
        print(f"=== {c['id']} ({c['kind']}){'' if ended else ' [did not end]'}\nQ: {c['messages'][-2]['content'][:300]}\n"
              f"--- expected\n{want}\n--- model\n{got}\n")
    figures = {"samples": len(rows), "exact": exact, "reportEyeGradesMatching": grade_hits, "reportEyeGrades": grade_total,
               "ended": sum(r["endedWithImEnd"] for r in rows)}
    print(json.dumps(figures))
    if args.json:
        args.json.write_text(json.dumps({"figures": figures, "samples": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
