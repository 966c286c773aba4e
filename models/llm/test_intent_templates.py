"""Checks of the corpus's template questions labelled by intent: run from the repository root with
/usr/bin/python3 -m unittest models/llm/test_intent_templates.py
"""

from __future__ import annotations

import sys
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402
import intent_templates as it  # noqa: E402

INTENTS = {"overall", "which-eye", "grade", "urgency", "next", "lesion", "cdr", "eye", "label", "quality", "macula",
           "what", "fundusAppearance", "symptoms", "causesAndRisks", "confirmingExams", "treatmentAndPrevention",
           "prognosisAndLifestyle", "urgencyAndReferral"}


def a_case() -> dict:
    eye = {"eye": "right", "status": "gradable", "gradableImages": 1, "drGrade": {"grade": 2}, "dmeRisk": {"grade": 1},
           "lesions": [{"name": "haemorrhages", "regions": 3}, {"name": "hard exudates", "regions": 2}],
           "labels": [{"name": "glaucoma", "probability": 0.7}], "lesionsAssessed": True, "cupToDisc": 0.7,
           "disc": {"disc": True, "cup": True}}
    left = {"eye": "left", "status": "ungradable", "gradableImages": 0, "lesions": [], "labels": [], "lesionsAssessed": True}
    findings = {"eyes": [eye, left], "urgency": "routine",
                "reasons": [{"eye": "right", "action": "refer", "urgency": "routine"}, {"eye": "left", "action": "re-image", "urgency": "routine"}]}
    return {"findings": findings, "sections": {"recommendation": "Routine referral."}}


class IntentTemplates(unittest.TestCase):
    def test_every_intent_and_only_those(self) -> None:
        rows = it.rows([a_case()] * 20, seed=6)
        self.assertEqual({r["intent"] for r in rows}, INTENTS)
        self.assertTrue(all(r["split"] == "train" for r in rows))

    def test_labels_follow_the_function_that_asked(self) -> None:
        rows = it.rows([a_case()] * 20, seed=6)
        lesion_words = [w.lower() for ws in corpus.LESION_ASK.values() for w in ws]
        for r in rows:
            if r["intent"] == "lesion":
                self.assertTrue(any(w in r["question"].lower() for w in lesion_words), r["question"])
        self.assertEqual(len(rows), len({(r["question"], r["intent"]) for r in rows}))

    def test_deterministic(self) -> None:
        self.assertEqual(it.rows([a_case()] * 5, seed=6), it.rows([a_case()] * 5, seed=6))


if __name__ == "__main__":
    unittest.main()
