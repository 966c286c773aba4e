"""Checks of the scope-gate question bank: run from the repository root with
/usr/bin/python3 -m unittest models/llm/test_scope_questions.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import unittest
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import scope_questions as sq  # noqa: E402

MIN_BASES = {"answer": 250, "refuse": 200, "urgent": 80, "crisis": 40}
REFUSE_CATEGORIES = {"dosing", "stop", "report", "definitive", "images", "others", "outside", "injection", "admin"}


class ScopeQuestionBank(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.bank = sq.generate(6)

    def test_deterministic_for_a_seed(self) -> None:
        self.assertEqual(self.bank, sq.generate(6))
        self.assertNotEqual([r["question"] for r in self.bank], [r["question"] for r in sq.generate(7)])

    def test_every_label_has_enough_distinct_bases_in_the_output(self) -> None:
        used: dict[str, set[str]] = defaultdict(set)
        for r in self.bank:
            used[r["label"]].add(r["base"].lower())
        self.assertEqual(set(used), set(sq.LABELS))
        for label, minimum in MIN_BASES.items():
            self.assertGreaterEqual(len(used[label]), minimum, label)

    def test_every_refusal_category_is_covered(self) -> None:
        cats = Counter(r["category"] for r in self.bank if r["label"] == "refuse")
        self.assertEqual(set(cats), REFUSE_CATEGORIES)
        for cat, n in cats.items():
            self.assertGreaterEqual(n, 40, cat)

    def test_no_duplicates_no_empty_strings_no_unfilled_slots(self) -> None:
        keys = [r["question"].lower() for r in self.bank]
        self.assertEqual(len(keys), len(set(keys)))
        for r in self.bank:
            self.assertTrue(r["question"].strip(), r)
            self.assertNotRegex(r["question"], r"[{}]")
            self.assertIn(r["label"], sq.LABELS)

    def test_a_base_appears_in_several_forms(self) -> None:
        forms = Counter(r["base"] for r in self.bank)
        self.assertGreaterEqual(sum(n >= 3 for n in forms.values()) / len(forms), 0.9)

    def test_cli_writes_question_label_lines(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "bank.jsonl"
            run = subprocess.run([sys.executable, str(HERE / "scope_questions.py"), "--out", str(out), "--seed", "6"],
                                 capture_output=True, text=True, check=True)
            rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        self.assertEqual([{"question": r["question"], "label": r["label"], "split": sq.split_of(r["base"])} for r in self.bank], rows)
        self.assertTrue(all(set(r) == {"question", "label", "split"} for r in rows))
        # Validation holds whole bases: no base has forms on both sides, and every label is on both.
        sides = {}
        for r in self.bank:
            sides.setdefault(r["base"], set()).add(sq.split_of(r["base"]))
        self.assertTrue(all(len(s) == 1 for s in sides.values()))
        for label in sq.LABELS:
            self.assertEqual({r["split"] for r, b in zip(rows, self.bank) if b["label"] == label}, {"train", "val"})
        for label in sq.LABELS:
            self.assertIn(label, run.stdout)


if __name__ == "__main__":
    unittest.main()
