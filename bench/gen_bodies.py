#!/usr/bin/env python3
"""gen_bodies.py DIR -- write the benchmark's request bodies into DIR.

Deterministic (fixed seeds), Python standard library only, so that the C
benchmark and the Node and Python seed implementations read exactly the same
bytes.  Each body is an OpenAI chat request: {"model", "messages", ...} with a
system prompt first and user/assistant turns after it.

  ascii-10, ascii-200, ascii-2000   ASCII-heavy English prose (~1.2 KB/turn),
                                     a few escapes (\\n, \\", \\t) as any
                                     JSON encoder writes them
  multi-10, multi-200, multi-2000   multilingual text: Cyrillic, CJK, Arabic,
                                     Hebrew, Devanagari, Greek, accents, emoji
                                     (raw UTF-8 and some \\uXXXX escapes,
                                     surrogate pairs included)
  short-2000                        2000 short turns of ~60 bytes of content

ascii-200 is ~250 KB, the size the issue quotes for the seed systems.
"""
import json
import os
import random
import sys

WORDS = (
    "the of and to in is you that it he was for on are as with his they at be "
    "this have from or one had by word but not what all were we when your can "
    "said there use an each which she do how their if will up other about out "
    "many then them these so some her would make like him into time has look "
    "two more write go see number no way could people my than first water been "
    "call who its now find long down day did get come made may part model "
    "token context signature verify message history assistant request server"
).split()
MULTI = (
    "Привет мир, как дела? Съешь же ещё этих мягких французских булок. "
    "你好，世界。我们今天讨论对话完整性。 こんにちは世界、署名を検証します。 "
    "مرحبا بالعالم، هذا نص تجريبي. שלום עולם, זו בדיקה. "
    "नमस्ते दुनिया, यह एक परीक्षण है। 안녕하세요 세계, 서명 확인. "
    "Γειά σου κόσμε. café naïve façade Ærøskøbing Łódź Straße "
    "😀 🎉 🚀 👩‍💻 🇫🇷 ✅ ∑ ≠ ∞ → €"
).split()


def prose(r, n, multi):
    out, size = [], 0
    while size < n:
        if multi and r.random() < 0.45:
            w = r.choice(MULTI)
        else:
            w = r.choice(WORDS)
        if r.random() < 0.01:
            w += "\n\n"
        elif r.random() < 0.006:
            w = '"' + w + '"'
        elif r.random() < 0.004:
            w = "\t" + w
        out.append(w)
        size += len(w.encode("utf-8")) + 1
    return " ".join(out)


def escape_some(text, r, rate):
    """JSON text with some non-ASCII characters written as \\uXXXX escapes
    (surrogate pairs above U+FFFF), as an ensure_ascii encoder would."""
    out = []
    for ch in text:
        o = ord(ch)
        if o >= 0x80 and r.random() < rate:
            if o > 0xFFFF:
                v = o - 0x10000
                out.append("\\u%04x\\u%04x" % (0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF)))
            else:
                out.append("\\u%04x" % o)
        else:
            out.append(ch)
    return "".join(out)


def body(name, nmsg, per_turn, multi, seed):
    r = random.Random(seed)
    msgs = [{"role": "system",
             "content": "You are a helpful assistant. Answer briefly and cite sources."}]
    for i in range(nmsg - 1):
        role = "user" if i % 2 == 0 else "assistant"
        size = per_turn if role == "assistant" else max(20, per_turn // 3)
        if per_turn < 100:
            size = per_turn
        msgs.append({"role": role, "content": prose(r, size, multi)})
    req = {"model": "gpt-4o-mini", "messages": msgs, "temperature": 0.7,
           "max_tokens": 512, "stream": False}
    text = json.dumps(req, ensure_ascii=False)
    if multi:
        text = escape_some(text, r, 0.1)
    return text.encode("utf-8")


BODIES = [
    # name, messages, bytes per assistant turn, multilingual
    ("ascii-10", 10, 1850, False),
    ("ascii-200", 200, 1850, False),
    ("ascii-2000", 2000, 1850, False),
    ("multi-10", 10, 1850, True),
    ("multi-200", 200, 1850, True),
    ("multi-2000", 2000, 1850, True),
    ("short-2000", 2000, 60, False),
]


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: gen_bodies.py DIR")
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    for i, (name, n, per, multi) in enumerate(BODIES):
        data = body(name, n, per, multi, 1000 + i)
        with open(os.path.join(d, name + ".json"), "wb") as f:
            f.write(data)
        print("%-11s %5d messages %9d bytes" % (name, n, len(data)))


if __name__ == "__main__":
    main()
