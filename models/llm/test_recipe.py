"""Fast checks of the chat-model recipe (tiny sizes, a few steps): run from the repository root with
/usr/bin/python3 -m unittest models/llm/test_recipe.py, or through test/llm/llm-recipe.test.ts.

The cases come from scripts/llm-sample-cases.ts (npx tsx); the checks against node-llama-cpp run the project's
GGUF writer and llama.cpp through npx tsx as well, and are skipped with a message when node_modules lacks them.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402
import export as export_mod  # noqa: E402
import model_card  # noqa: E402
import train as train_mod  # noqa: E402
from chat_format import IM_END, IM_START, render_chat, render_segments  # noqa: E402
from model import Llama, config_for, expected_shapes  # noqa: E402
from tokenizer import Tokenizer, export_vocab  # noqa: E402
from tokenizer import train as train_tokenizer  # noqa: E402

NPX = shutil.which("npx")
HAVE_NODE_LLAMA = (REPO / "node_modules" / "node-llama-cpp").is_dir() and NPX is not None


def tsx(script: str, *args: str, stdin: str | None = None, timeout: int = 120) -> str:
    run = subprocess.run([NPX, "tsx", script, *args], cwd=REPO, input=stdin, capture_output=True, text=True, timeout=timeout)
    if run.returncode != 0:
        raise AssertionError(f"npx tsx {script} failed ({run.returncode}):\n{run.stdout}\n{run.stderr}")
    return run.stdout


class Fixture:
    """One small corpus and tokenizer shared by the tests (made once: sampling cases runs node)."""
    tmp: Path
    train: list
    val: list
    tok: Tokenizer

    @classmethod
    def get(cls):
        if not hasattr(cls, "tmp"):
            cls.tmp = Path(tempfile.mkdtemp(prefix="ophgate-llm-test-"))
            cases_file = cls.tmp / "cases.jsonl"
            tsx("scripts/llm-sample-cases.ts", "--n", "60", "--seed", "11", "--out", str(cases_file))
            cls.cases = corpus.load_cases(cases_file)
            cls.train, cls.val = corpus.build(cls.cases, corpus.load_knowledge(), corpus.load_prompts(), seed=11,
                                              knowledge_repeats=1, refusals=60, val_fraction=0.1)
            data = cls.tmp / "data"
            corpus.write_jsonl(data / "train.jsonl", cls.train)
            corpus.write_jsonl(data / "val.jsonl", cls.val)
            cls.data = data
            tokdir = cls.tmp / "tok"
            tokdir.mkdir()
            model = train_tokenizer(cls.train, 600)
            (tokdir / "tokenizer.model").write_bytes(model)
            cls.tok = Tokenizer(model)
            (tokdir / "tokenizer.json").write_text(json.dumps(export_vocab(cls.tok)))
            cls.tokdir = tokdir
        return cls


def tearDownModule():
    if hasattr(Fixture, "tmp"):
        shutil.rmtree(Fixture.tmp, ignore_errors=True)


class CorpusTest(unittest.TestCase):
    def test_corpus_is_deterministic_for_a_seed(self):
        f = Fixture.get()
        kb, prompts = corpus.load_knowledge(), corpus.load_prompts()
        a = corpus.build(f.cases, kb, prompts, seed=11, knowledge_repeats=1, refusals=60, val_fraction=0.1)
        self.assertEqual(json.dumps(a, sort_keys=True), json.dumps((f.train, f.val), sort_keys=True))
        b = corpus.build(f.cases, kb, prompts, seed=12, knowledge_repeats=1, refusals=60, val_fraction=0.1)
        self.assertNotEqual(json.dumps(a, sort_keys=True), json.dumps(b, sort_keys=True))

    def test_every_conversation_renders_in_the_chat_layout(self):
        f = Fixture.get()
        kinds = set()
        for c in f.train + f.val:
            kinds.add(c["kind"])
            m = c["messages"]
            self.assertEqual(m[0]["role"], "system", c["id"])
            self.assertEqual([x["role"] for x in m[1:]], ["user", "assistant"] * ((len(m) - 1) // 2), c["id"])
            text = render_chat(m)
            self.assertTrue(text.startswith(f"<s>{IM_START}system\n{m[0]['content']}{IM_END}\n"), c["id"])
            self.assertTrue(text.endswith(f"{IM_START}assistant\n{m[-1]['content']}{IM_END}\n"), c["id"])
            for x in m:
                self.assertTrue(x["content"].strip(), c["id"])
                self.assertNotIn(IM_START, x["content"])
                self.assertNotIn(IM_END, x["content"])
        self.assertEqual(kinds, {"report", "case", "knowledge", "refusal"})

    def test_report_conversations_target_the_structured_narrative(self):
        f = Fixture.get()
        by_id = {c["id"]: c for c in f.cases}
        reports = [c for c in f.train + f.val if c["kind"] == "report"]
        self.assertEqual(len(reports), len(f.cases))
        for r in reports:
            case = by_id[r["id"].rsplit("/", 1)[0]]
            self.assertEqual(r["messages"][1]["content"], case["findingsJson"])
            self.assertEqual(r["messages"][0]["content"], corpus.load_prompts()["reportJson"])
            self.assertEqual(r["messages"][2]["content"], case["structured"])
            self.assertEqual(json.loads(r["messages"][2]["content"])["recommendation"]["urgency"], case["findings"]["urgency"])

    def test_split_keeps_a_case_on_one_side(self):
        f = Fixture.get()
        side = {}
        for c in f.train + f.val:
            if c["kind"] in ("report", "case"):
                side.setdefault(c["id"].rsplit("/", 1)[0], set()).add(c["split"])
        self.assertTrue(side)
        self.assertTrue(all(len(s) == 1 for s in side.values()))

    def test_python_layout_equals_the_typescript_chat_format(self):
        f = Fixture.get()
        samples = [f.train[i]["messages"] for i in range(0, min(len(f.train), 40), 4)]
        samples += [[{"role": "system", "content": "A"}, {"role": "system", "content": " B"}, {"role": "user", "content": "q\nx"}],
                    [{"role": "user", "content": "only"}],
                    [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}, {"role": "assistant", "content": "partial"}]]
        script = self._ts_renderer()
        for mode in ("transcript", "prompt"):
            ts = json.loads(tsx(str(script), mode, stdin=json.dumps(samples)))
            py = [[{"kind": s["kind"], **({"text": s["text"]} if s["kind"] != "bos" else {})}
                   for s in corpus_merged(render_segments(m, mode))] for m in samples]
            self.assertEqual(py, ts, mode)

    def _ts_renderer(self) -> Path:
        f = Fixture.get()
        p = f.tmp / "render.ts"
        p.write_text(
            f"import {{ readFileSync }} from 'node:fs';\n"
            f"import {{ renderChatSegments }} from {json.dumps(str(REPO / 'src' / 'llm' / 'chat-format.ts'))};\n"
            "const convs = JSON.parse(readFileSync(0, 'utf8'));\n"
            "const mode = process.argv[2] as 'transcript' | 'prompt';\n"
            "process.stdout.write(JSON.stringify(convs.map((m: never[]) => renderChatSegments(m, { mode }))));\n")
        return p

    def test_generator_never_reads_the_evaluation_questions(self):
        # The hand-written evaluation set must not leak into training data: no part of the recipe names it.
        banned = ("eval-questions", "eval_questions", "evalquestions", "loadEvalQuestions".lower(), "EVAL_QUESTIONS".lower())
        sources = [HERE / n for n in ("corpus.py", "tokenizer.py", "train.py", "chat_format.py", "model.py", "export.py", "build.sh")]
        sources += [REPO / "scripts" / "llm-sample-cases.ts", REPO / "src" / "llm" / "case-findings.ts"]
        for s in sources:
            if not s.exists():
                continue
            text = s.read_text("utf8").lower()
            for b in banned:
                self.assertNotIn(b, text, f"{s.name} mentions {b}")
        # and the knowledge loader refuses any file that is not a knowledge base
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
            json.dump({"format": "ophgate-eval-questions/1", "questions": []}, fh)
        with self.assertRaises(ValueError):
            corpus.load_knowledge(Path(fh.name))
        Path(fh.name).unlink()


def corpus_merged(segs):
    from chat_format import merged
    return merged(segs)


class TokenizerTest(unittest.TestCase):
    def test_vocab_layout_for_the_gguf_writer(self):
        f = Fixture.get()
        v = export_vocab(f.tok)
        e = v["entries"]
        self.assertEqual([x["text"] for x in e[:5]], ["<unk>", "<s>", "</s>", IM_START, IM_END])
        self.assertEqual([x["type"] for x in e[:5]], ["unknown", "control", "control", "control", "control"])
        self.assertEqual([x["text"] for x in e[5:261]], [f"<0x{b:02X}>" for b in range(256)])
        self.assertTrue(all(x["type"] == "byte" for x in e[5:261]))
        self.assertTrue(all(x["type"] == "normal" and " " not in x["text"] for x in e[261:]))
        self.assertEqual(len({x["text"] for x in e}), len(e))
        self.assertFalse(v["addSpacePrefix"])

    def test_text_round_trips_without_a_space_prefix(self):
        tok = Fixture.get().tok
        for s in ["Right eye: DR grade 2 (71%).", " two  spaces\nand a newline", "naïve “quotes” 日本", "x"]:
            ids = tok.encode_text(s)
            self.assertEqual(tok.decode(ids), s)
            self.assertNotIn(tok.unk_id, ids)
        self.assertNotEqual(tok.sp.id_to_piece(tok.encode_text("Right")[0])[0], "\u2581")

    def test_loss_mask_covers_assistant_turns_only(self):
        tok = Fixture.get().tok
        msgs = [{"role": "system", "content": "Sys text."}, {"role": "user", "content": "Question one?"},
                {"role": "assistant", "content": "Answer one."}, {"role": "user", "content": "Two?"},
                {"role": "assistant", "content": "Answer two."}]
        ids, mask = tok.encode_conversation(msgs)
        self.assertEqual(len(ids), len(mask))
        self.assertEqual(ids[0], tok.bos_id)
        # Targets decode to exactly the assistant texts, each followed by the <|im_end|> that ends it.
        target_runs, run = [], []
        for i, m in zip(ids, mask):
            if m:
                run.append(i)
            elif run:
                target_runs.append(run)
                run = []
        self.assertEqual(len(target_runs), 2)
        for r, want in zip(target_runs, ["Answer one.", "Answer two."]):
            self.assertEqual(r[-1], tok.im_end_id)
            self.assertEqual(tok.decode(r[:-1]), want)
        self.assertEqual(sum(mask), sum(len(r) for r in target_runs))
        # The layout tokens equal the whole rendered string tokenised with special tokens.
        self.assertEqual(ids, [tok.bos_id] + tok.encode_special(render_chat(msgs)[3:]))


class TrainingTest(unittest.TestCase):
    def _args(self, run_dir, *extra):
        f = Fixture.get()
        return train_mod.parse_args(["--data", str(f.data), "--tokenizer", str(f.tokdir), "--run-dir", str(run_dir),
                                     "--size", "tiny", "--steps", "6", "--warmup", "2", "--batch-tokens", "1024",
                                     "--log-every", "1", "--eval-every", "0", "--threads", "1", "--lr", "3e-3", *extra])

    def test_resumed_run_matches_uninterrupted_run(self):
        f = Fixture.get()
        a, b = f.tmp / "run-a", f.tmp / "run-b"
        train_mod.train(self._args(a, "--max-steps", "4"))
        train_mod.train(self._args(b, "--max-steps", "2"))
        train_mod.train(self._args(b, "--max-steps", "4", "--resume"))
        ha = torch.load(a / "last.pt")
        hb = torch.load(b / "last.pt")
        la = [h["loss"] for h in ha["state"]["history"] if "loss" in h]
        lb = [h["loss"] for h in hb["state"]["history"] if "loss" in h]
        self.assertEqual(len(la), 4)
        self.assertEqual(la, lb)  # steps 3 and 4 came after the resume in run b
        for k, v in ha["model"].items():
            self.assertTrue(torch.equal(v, hb["model"][k]), k)
        self.assertTrue(la[-1] < math.log(f.tok.vocab_size) + 0.5)

    def test_second_stage_starts_from_the_first_stage_weights_and_stops_where_told(self):
        f = Fixture.get()
        first, second = f.tmp / "stage-1", f.tmp / "stage-2"
        m1 = train_mod.train(self._args(first, "--stop-at-step", "3"))
        self.assertEqual((m1["steps"], m1["stopped"]), (3, "--stop-at-step reached"))
        self.assertTrue((first / "final.pt").is_file())
        # Zero learning rate: a stage that starts from stage 1's weights must leave them as they are.
        m2 = train_mod.train(self._args(second, "--init-from", str(first / "final.pt"), "--lr", "0", "--steps", "2"))
        a, b = torch.load(first / "final.pt")["model"], torch.load(second / "final.pt")["model"]
        for k, v in a.items():
            self.assertTrue(torch.equal(v, b[k]), k)
        self.assertEqual(m2["initFrom"]["metrics"]["steps"], 3)
        self.assertAlmostEqual(m2["validationLoss"], m1["validationLoss"], places=4)

    def test_training_completes_with_metrics_and_export_shapes_match_the_config(self):
        f = Fixture.get()
        run = f.tmp / "run-c"
        m = train_mod.train(self._args(run))
        self.assertEqual(m["steps"], 6)
        self.assertGreater(m["tokensSeen"], 0)
        self.assertEqual(m["parameters"], Llama(config_for("tiny", f.tok.vocab_size)).n_params())
        self.assertTrue(math.isfinite(m["validationLoss"]))
        out = f.tmp / "export-c"
        cfg = export_mod.export(run / "final.pt", f.tokdir, out)
        config, tensors = export_mod.read_export(out)
        c = config["config"]
        shapes = expected_shapes(config_for("tiny", f.tok.vocab_size))
        self.assertEqual({k: list(v.shape) for k, v in tensors.items()}, shapes)
        self.assertEqual(c["nVocab"], f.tok.vocab_size)
        self.assertEqual(c["nEmbd"] // c["nHead"] * c["nHeadKv"], shapes["blk.0.attn_k.weight"][0])
        self.assertEqual(config["qkLayout"], "hf")
        self.assertTrue(config["tiedEmbeddings"])
        self.assertNotIn("output.weight", tensors)
        ck = torch.load(run / "final.pt")
        self.assertTrue(torch.equal(torch.from_numpy(tensors["blk.1.ffn_down.weight"].copy()), ck["model"]["blocks.1.ffn_down.weight"]))
        self.assertEqual(cfg["parameters"], m["parameters"])
        # The model card is written from the same metrics, and says it is not for clinical use.
        (run / "metrics.json").replace(run / "ophgate-chat.metrics.json")
        card = f.tmp / "CARD.md"
        model_card.main(["--metrics", str(run / "ophgate-chat.metrics.json"), "--gguf", str(f.tmp / "none.gguf"), "--out", str(card)])
        text = card.read_text()
        self.assertIn(f"{m['parameters']:,} parameters", text)
        self.assertIn(f"{m['tokensSeen']:,} tokens seen", text)
        self.assertIn("Not for clinical use", text)
        self.assertIn("Not yet evaluated", text)


class ModelCardStagesTest(unittest.TestCase):
    """The card reads a build's stages from the metrics chain and gives build.sh variables that repeat each one."""

    def test_three_stages_and_their_variables(self):
        def m(seed, steps, planned, parent=None):
            out = {"seed": seed, "steps": steps, "plannedSteps": planned}
            return {**out, "initFrom": {"metrics": parent}} if parent else out
        chain = m(8, 368, 368, m(7, 470, 470, m(6, 1273, 1314)))
        self.assertEqual([p for p, _ in model_card.stages(chain)], ["", "POLISH_", "ADAPT_"])
        self.assertEqual(model_card.reproduce(chain), "STEPS=1314 MINUTES=600 STOP=1273 POLISH_STEPS=470 POLISH_MINUTES=600 "
                                                      "ADAPT_STEPS=368 ADAPT_MINUTES=600")
        # Adaptation straight after stage 1 (POLISH_MINUTES=0): told apart by its seed.
        self.assertEqual([p for p, _ in model_card.stages(m(8, 10, 12, m(6, 5, 5)))], ["", "ADAPT_"])
        self.assertEqual(model_card.reproduce(m(6, 5, 9)), "STEPS=9 MINUTES=600 STOP=5")


@unittest.skipUnless(HAVE_NODE_LLAMA, "node-llama-cpp or npx missing: the llama.cpp comparison is skipped")
class LlamaCppTest(unittest.TestCase):
    """The exported model written by the project's GGUF writer, run by llama.cpp, equals the PyTorch model."""

    def test_tokens_and_greedy_continuation_match_pytorch(self):
        f = Fixture.get()
        torch.manual_seed(5)
        cfg = config_for("tiny", f.tok.vocab_size)
        model = Llama(cfg)
        # Large random weights: clear winners for greedy decoding (a trained tiny model would have near-ties).
        with torch.no_grad():
            for n, p in model.named_parameters():
                if p.dim() == 2:
                    p.normal_(0, 1.0 if n == "token_embd.weight" else 0.15)
                else:
                    p.uniform_(0.5, 1.5)
        ck = f.tmp / "random.pt"
        torch.save({"model": model.state_dict(), "config": cfg.to_dict(), "size": "tiny"}, ck)
        out = f.tmp / "export-random"
        export_mod.export(ck, f.tokdir, out)
        gguf = f.tmp / "random.gguf"
        tsx("scripts/llm-write-gguf.ts", str(out), str(gguf), "--f32")
        msgs = f.train[0]["messages"][:2]
        prompt_ids, _ = f.tok.encode_conversation(msgs, mode="prompt")
        texts = ["Right eye: DR grade 2 (71%).", " two  spaces\nnewline", "naïve “quotes”", render_chat(msgs, "prompt")]
        req = {"tokenize": texts, "greedy": [{"tokens": prompt_ids[:60], "n": 8}]}
        ans = json.loads(tsx("scripts/llm-check-gguf.ts", str(gguf), stdin=json.dumps(req)))
        for t, got in zip(texts[:3], ans["tokenize"]):
            self.assertEqual(got, f.tok.encode_text(t), t)
        self.assertEqual(ans["tokenize"][3], prompt_ids)
        ids = torch.tensor([prompt_ids[:60]])
        want = []
        with torch.no_grad():
            for _ in range(8):
                nxt = int(model(ids)[0, -1].argmax())
                want.append(nxt)
                ids = torch.cat([ids, torch.tensor([[nxt]])], dim=1)
        self.assertEqual(ans["greedy"][0], want)


if __name__ == "__main__":
    unittest.main()
