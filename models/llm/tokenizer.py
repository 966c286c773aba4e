"""SentencePiece tokenizer of OphGate's chat model, trained on the corpus, and its export for the GGUF writer.

Choices, each for llama.cpp's SPM tokenizer (tokenizer.ggml.model "llama"), which node-llama-cpp runs:
  - model_type bpe: llama.cpp merges the highest-scoring adjacent pair first, which reproduces SentencePiece BPE
    (piece score = minus merge rank) but not unigram's Viterbi segmentation.
  - byte_fallback: the 256 pieces <0x00>..<0xFF> (ids 5..260), so any text round-trips; a newline, which the
    line-based trainer never sees, is <0x0A>.
  - add_dummy_prefix false (GGUF tokenizer.ggml.add_space_prefix false), normalization "identity" and
    remove_extra_whitespaces false: llama.cpp does not normalise, so SentencePiece must not either.
  - <|im_start|> and <|im_end|> are control symbols (ids 3, 4). Control pieces are never produced from plain text,
    as node-llama-cpp only emits them for the chat layout's special-token texts; encode_conversation places them.

Files written to --out: tokenizer.model (SentencePiece), tokenizer.json (what the GGUF writer reads: pieces,
scores, types in id order and the special ids; see export_vocab), tokenizer-stats.json.

  /usr/bin/python3 models/llm/tokenizer.py --corpus models/llm/data --out models/llm/tokenizer --vocab-size 3000
  /usr/bin/python3 models/llm/tokenizer.py --corpus models/llm/data --out tmp/tok --measure 1000,2000,3000,4000
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import sentencepiece as spm

from chat_format import BOS, EOS, IM_END, IM_START, SPECIAL_TEXTS, UNK, render_segments

ROLES = ("system", "user", "assistant")


def training_lines(convs: list[dict]) -> list[str]:
    """Every line of every message (the trainer is line-based) plus the role names the layout writes."""
    lines: list[str] = list(ROLES) * 50
    for c in convs:
        for m in c["messages"]:
            lines += [l for l in m["content"].split("\n") if l]
    return lines


def train(convs: list[dict], vocab_size: int, seed: int = 6) -> bytes:
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(training_lines(convs)),
        model_writer=model,
        model_type="bpe",
        vocab_size=vocab_size,
        byte_fallback=True,
        add_dummy_prefix=False,
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        split_digits=True,
        character_coverage=1.0,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        unk_piece=UNK, bos_piece=BOS, eos_piece=EOS,
        control_symbols=list(SPECIAL_TEXTS),
        max_sentence_length=16384,
        input_sentence_size=0,
        shuffle_input_sentence=False,
        num_threads=1,
        minloglevel=2,
    )
    return model.getvalue()


class Tokenizer:
    def __init__(self, model: bytes | str | Path):
        self.sp = spm.SentencePieceProcessor()
        if isinstance(model, (str, Path)):
            self.sp.load(str(model))
        else:
            self.sp.load_from_serialized_proto(model)
        self.bos_id = self.sp.piece_to_id(BOS)
        self.eos_id = self.sp.piece_to_id(EOS)
        self.unk_id = self.sp.piece_to_id(UNK)
        self.special = {t: self.sp.piece_to_id(t) for t in SPECIAL_TEXTS}
        self.im_end_id = self.special[IM_END]
        self.im_start_id = self.special[IM_START]
        for t, i in self.special.items():
            if not self.sp.is_control(i):
                raise ValueError(f"{t} is not a control piece of this tokenizer")

    @property
    def vocab_size(self) -> int:
        return self.sp.get_piece_size()

    def encode_text(self, text: str) -> list[int]:
        return self.sp.encode(text, out_type=int) if text else []

    def encode_special(self, text: str) -> list[int]:
        """Special-token text as node-llama-cpp tokenises it: the special texts become their ids, the rest is text."""
        out: list[int] = []
        rest = text
        while rest:
            hits = [(rest.find(t), t) for t in SPECIAL_TEXTS if rest.find(t) >= 0]
            if not hits:
                out += self.encode_text(rest)
                break
            at, tok = min(hits)
            out += self.encode_text(rest[:at]) + [self.special[tok]]
            rest = rest[at + len(tok):]
        return out

    def encode_conversation(self, messages: list[dict], mode: str = "transcript") -> tuple[list[int], list[int]]:
        """Token ids of the rendered layout and the loss mask: 1 where the token is a target (assistant text and the
        <|im_end|> that closes an assistant turn, which the model must learn to emit), 0 elsewhere."""
        ids: list[int] = []
        mask: list[int] = []
        for seg in render_segments(messages, mode):
            if seg["kind"] == "bos":
                toks, m = [self.bos_id], [0]
            elif seg["kind"] == "text":
                toks = self.encode_text(seg["text"])
                m = [1 if seg["role"] == "assistant" else 0] * len(toks)
            else:
                toks = self.encode_special(seg["text"])
                closing = seg["role"] == "assistant" and seg["text"].startswith(IM_END)
                m = [1 if (closing and t == self.im_end_id) else 0 for t in toks]
            ids += toks
            mask += m
        return ids, mask

    def decode(self, ids: list[int]) -> str:
        return self.sp.decode(ids)


def export_vocab(tok: Tokenizer) -> dict:
    """tokenizer.json: the vocabulary in id order as src/llm/gguf/vocab.ts's VocabEntry (text, score, type) and the
    ids the GGUF metadata needs. Types use the writer's names (TokenType in src/llm/gguf/types.ts)."""
    sp = tok.sp
    entries = []
    for i in range(sp.get_piece_size()):
        if sp.is_unknown(i):
            t = "unknown"
        elif sp.is_control(i):
            t = "control"
        elif sp.is_byte(i):
            t = "byte"
        elif sp.is_unused(i):
            t = "unused"
        else:
            t = "normal"
        entries.append({"text": sp.id_to_piece(i), "score": float(sp.get_score(i)), "type": t})
    return {
        "format": "ophgate-tokenizer/1",
        "model": "llama",
        "addSpacePrefix": False,
        "addBos": True,
        "addEos": False,
        "bosId": tok.bos_id,
        "eosId": tok.eos_id,
        "unkId": tok.unk_id,
        "specialIds": {t: i for t, i in tok.special.items()},
        "entries": entries,
    }


def load_convs(folder: Path, name: str) -> list[dict]:
    return [json.loads(l) for l in (Path(folder) / name).read_text("utf8").splitlines() if l.strip()]


def measure(convs: list[dict], tok: Tokenizer) -> dict:
    total = assistant = chars = 0
    longest = 0
    for c in convs:
        ids, mask = tok.encode_conversation(c["messages"])
        total += len(ids)
        assistant += sum(mask)
        longest = max(longest, len(ids))
        chars += sum(len(m["content"]) for m in c["messages"])
    return {"vocabSize": tok.vocab_size, "tokens": total, "assistantTokens": assistant,
            "charsPerToken": round(chars / max(total, 1), 3), "longestConversation": longest}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", required=True, type=Path, help="folder with train.jsonl (from corpus.py)")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--vocab-size", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=6)
    ap.add_argument("--measure", help="comma-separated vocab sizes to compare (tokens of the corpus); writes nothing else")
    args = ap.parse_args(argv)
    convs = load_convs(args.corpus, "train.jsonl")
    args.out.mkdir(parents=True, exist_ok=True)
    if args.measure:
        rows = [measure(convs, Tokenizer(train(convs, int(v), args.seed))) for v in args.measure.split(",")]
        (args.out / "vocab-measurement.json").write_text(json.dumps(rows, indent=2) + "\n")
        for r in rows:
            print(json.dumps(r))
        return
    model = train(convs, args.vocab_size, args.seed)
    (args.out / "tokenizer.model").write_bytes(model)
    tok = Tokenizer(model)
    (args.out / "tokenizer.json").write_text(json.dumps(export_vocab(tok), ensure_ascii=False, indent=1) + "\n", encoding="utf8")
    st = {"train": measure(convs, tok), "validation": measure(load_convs(args.corpus, "val.jsonl"), tok)}
    (args.out / "tokenizer-stats.json").write_text(json.dumps(st, indent=2) + "\n")
    print(json.dumps(st))


if __name__ == "__main__":
    main()
