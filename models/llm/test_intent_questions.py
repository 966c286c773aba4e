"""Checks of the question router's intent bank: run from the repository root with
nice -n 19 /usr/bin/python3 -m unittest models/llm/test_intent_questions.py
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

import intent_questions as iq  # noqa: E402

MIN_BASES = 25


class IntentQuestionBank(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.bank = iq.generate(6)
        cls.rows = iq.rows(6)

    def test_nineteen_intents_with_the_router_names(self) -> None:
        self.assertEqual(len(iq.INTENTS), 19)
        self.assertEqual(len(set(iq.INTENTS)), 19)
        self.assertEqual(set(iq.BASES), set(iq.INTENTS))

    def test_deterministic_for_a_seed_and_different_for_another(self) -> None:
        self.assertEqual(self.rows, iq.rows(6))
        other = iq.rows(7)
        self.assertNotEqual([r["question"] for r in self.rows], [r["question"] for r in other])
        self.assertNotEqual(sorted(r["question"] for r in self.rows), sorted(r["question"] for r in other))

    def test_every_intent_has_enough_distinct_bases_in_the_output(self) -> None:
        used: dict[str, set[str]] = defaultdict(set)
        for r in self.rows:
            used[r["intent"]].add(r["base"])
        self.assertEqual(set(used), set(iq.INTENTS))
        for intent in iq.INTENTS:
            self.assertGreaterEqual(len(used[intent]), MIN_BASES, intent)

    def test_hand_written_bases_are_not_repeated(self) -> None:
        texts = [t.lower() for _i, _b, t in iq.bases()]
        self.assertEqual(len(texts), len(set(texts)))
        ids = [b for _i, b, _t in iq.bases()]
        self.assertEqual(len(ids), len(set(ids)))

    def test_rows_are_well_formed(self) -> None:
        for r in self.rows:
            self.assertEqual(set(r), {"question", "intent", "base", "split"})
            self.assertIn(r["intent"], iq.INTENTS)
            self.assertIn(r["split"], ("train", "val"))
            self.assertTrue(r["question"].strip(), r)
            self.assertNotRegex(r["question"], r"[{}]", r)
            self.assertTrue(r["base"].startswith(r["intent"] + "/"), r)

    def test_no_duplicate_question_within_an_intent_or_across_intents(self) -> None:
        per_intent = Counter((r["intent"], r["question"].lower()) for r in self.rows)
        self.assertEqual([k for k, n in per_intent.items() if n > 1], [])
        # the same text under two intents would teach the router a contradiction
        anywhere = Counter(r["question"].lower() for r in self.rows)
        self.assertEqual([k for k, n in anywhere.items() if n > 1], [])

    def test_bases_expand_into_several_forms(self) -> None:
        forms = Counter(r["base"] for r in self.rows)
        self.assertTrue(all(n <= 6 for n in forms.values()))
        self.assertGreaterEqual(sum(n >= 3 for n in forms.values()) / len(forms), 0.9)

    def test_split_holds_whole_bases_and_about_a_tenth(self) -> None:
        sides: dict[str, set[str]] = defaultdict(set)
        for r in self.rows:
            sides[r["base"]].add(r["split"])
        self.assertTrue(all(len(s) == 1 for s in sides.values()))
        for intent in iq.INTENTS:
            self.assertEqual({r["split"] for r in self.rows if r["intent"] == intent}, {"train", "val"}, intent)
        val = sum(s == {"val"} for s in sides.values())
        self.assertGreater(val / len(sides), 0.07)
        self.assertLess(val / len(sides), 0.15)
        # the choice follows the seed
        self.assertNotEqual(iq.val_bases(6), iq.val_bases(7))

    def test_case_and_knowledge_openers_stay_on_their_side(self) -> None:
        case_only = [o.lower() for o in iq.CASE_OPENERS + iq.CASE_PATIENT_OPENERS + iq.CASE_CLINICIAN_OPENERS]
        general_only = [o.lower() for o in iq.KNOWLEDGE_OPENERS]
        for r in self.rows:
            q = r["question"].lower()
            if r["intent"] in iq.KNOWLEDGE_INTENTS:
                self.assertFalse(any(q.startswith(o.rstrip(",.")) for o in case_only), r)
            else:
                self.assertFalse(any(q.startswith(o.rstrip(",.")) for o in general_only), r)

    def test_openers_match_the_voice_of_the_base(self) -> None:
        roles = ("gp here", "nurse here", "optometrist here", "practice nurse here", "re this patient")
        for intent, _bid, text in iq.bases():
            pool = [o.lower() for o in iq.openers_for(intent, text)]
            if iq.voice(text) == "patient":
                self.assertFalse(any(o.startswith(roles) for o in pool), text)
            if iq.voice(text) != "either":
                self.assertFalse(any("{rel}" in o for o in pool), text)
        self.assertEqual(iq.voice("Do I have {label}?"), "patient")
        self.assertEqual(iq.voice("What should I tell the patient to do?"), "clinician")

    def test_cli_writes_the_rows_and_prints_counts(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "bank.jsonl"
            run = subprocess.run([sys.executable, str(HERE / "intent_questions.py"), "--out", str(out), "--seed", "6"],
                                 capture_output=True, text=True, check=True)
            written = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        self.assertEqual(written, self.rows)
        for intent in iq.INTENTS:
            self.assertIn(intent, run.stdout)


if __name__ == "__main__":
    unittest.main()
