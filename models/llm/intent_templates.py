"""The chat corpus's own questions, labelled by intent, for OphGate's dialogue question router (src/llm/intent/).

The corpus (corpus.py) asks each case question with one of a handful of templates and each knowledge question with
FIELD_QUESTIONS; the question function or field that produced a question is its intent. These rows teach the router
the phrasings the model was trained on; the hand-written bank (intent_questions.py) teaches it other people's.

    /usr/bin/python3 models/llm/intent_templates.py --cases models/llm/data/cases.jsonl --out models/llm/data/intent-templates.jsonl --seed 6
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus  # noqa: E402

CASE_INTENTS = {"q_overall": "overall", "q_which_eye": "which-eye", "q_grade": "grade", "q_urgency": "urgency",
                "q_next": "next", "q_lesion": "lesion", "q_cdr": "cdr", "q_eye": "eye", "q_label": "label",
                "q_quality": "quality", "q_macula": "macula", "q_term": "what"}


def rows(cases: list[dict], seed: int, per_case: int = 1) -> list[dict]:
    rng = random.Random(seed)
    kb_entries = corpus.load_knowledge()
    kb = corpus.kb_by_key(kb_entries)
    out: list[dict] = []
    seen: set[tuple[str, str]] = set()

    def add(q: str, intent: str) -> None:
        if (q, intent) not in seen:
            seen.add((q, intent))
            out.append({"question": q, "intent": intent, "split": "train"})

    for c in cases:
        f = dict(c["findings"])
        f["_recommendation"] = c["sections"]["recommendation"]
        for fn in corpus.CASE_QUESTIONS:
            for _ in range(per_case):
                qa = fn(f, corpus.Speaker(rng), rng, kb)
                if qa:
                    add(qa[0], CASE_INTENTS[fn.__name__])
    for entry in kb_entries:
        for field, templates in corpus.FIELD_QUESTIONS.items():
            for t in templates:
                for x in corpus.name_variants(entry):
                    add(corpus.Speaker(rng).ask(t.replace("{x}", x)), field)
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=6)
    ap.add_argument("--limit", type=int, default=600, help="cases to draw questions from")
    args = ap.parse_args(argv)
    cases = corpus.load_cases(args.cases)[: args.limit]
    rs = rows(cases, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(json.dumps(r) + "\n" for r in rs))
    counts: dict[str, int] = {}
    for r in rs:
        counts[r["intent"]] = counts.get(r["intent"], 0) + 1
    print(json.dumps({"rows": len(rs), "byIntent": counts}))


if __name__ == "__main__":
    main()
