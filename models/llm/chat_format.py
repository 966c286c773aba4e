"""The chat layout the corpus is written in: a Python mirror of src/llm/chat-format.ts (renderChatSegments).

node-llama-cpp 3.21.1 feeds OphGate's models ChatML as its ChatMLChatWrapper renders it:
BOS, then per turn "<|im_start|>{role}\\n{content}<|im_end|>\\n". test_recipe.py renders sample conversations with
both this module and the TypeScript one (npx tsx) and requires identical segments, so a change on the TypeScript
side that is not made here fails the tests instead of silently training on another layout.
"""

from __future__ import annotations

BOS = "<s>"
EOS = "</s>"
UNK = "<unk>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
SPECIAL_TEXTS = (IM_START, IM_END)


def render_segments(messages: list[dict], mode: str = "transcript") -> list[dict]:
    """Segments {kind: bos|special|text, text, role}. role is the turn a text or special segment belongs to
    (the training loss uses it: assistant text and the <|im_end|> closing an assistant turn are the targets)."""
    if mode not in ("transcript", "prompt"):
        raise ValueError(f"mode must be transcript or prompt, not {mode!r}")
    groups: list[dict] = []
    cur = {"system": [], "user": [], "model": []}
    in_system = False

    def flush():
        nonlocal cur
        if cur["system"] or cur["user"] or cur["model"]:
            groups.append(cur)
        cur = {"system": [], "user": [], "model": []}

    for m in messages:
        role = m["role"]
        if role not in ("system", "user", "assistant"):
            raise ValueError(f"unknown role {role!r}")
        if role == "system":
            if not in_system:
                flush()
            in_system = True
            cur["system"].append(m["content"])
        else:
            flush()
            in_system = False
            cur["user" if role == "user" else "model"].append(m["content"])
    flush()
    if mode == "prompt" and (not groups or not groups[-1]["model"]):
        groups.append({"system": [], "user": [], "model": [""]})

    out: list[dict] = [{"kind": "bos", "text": BOS, "role": None}]

    def block(role: str, text: str, close: bool):
        out.append({"kind": "special", "text": f"{IM_START}{role}\n", "role": role})
        if text != "":
            out.append({"kind": "text", "text": text, "role": role})
        if close:
            out.append({"kind": "special", "text": f"{IM_END}\n", "role": role})

    for i, g in enumerate(groups):
        is_last = i == len(groups) - 1 and mode == "prompt"
        system = "\n\n".join(g["system"])
        user = "\n\n".join(g["user"])
        model = "\n\n".join(g["model"])
        if system != "":
            block("system", system, True)
        if user != "":
            block("user", user, True)
        if model != "" or is_last:
            block("assistant", model, not is_last)
    return out


def merged(segments: list[dict]) -> list[dict]:
    """Adjacent special texts merged, as node-llama-cpp's LlamaText (and renderChatSegments) has them."""
    out: list[dict] = []
    for s in segments:
        if out and out[-1]["kind"] == s["kind"] == "special":
            out[-1] = {**out[-1], "text": out[-1]["text"] + s["text"]}
        else:
            out.append(dict(s))
    return out


def render_chat(messages: list[dict], mode: str = "transcript") -> str:
    return "".join(s["text"] for s in render_segments(messages, mode))
