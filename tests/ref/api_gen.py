"""api_gen.py -- seeded random histories for api_differential.py.

A history is first drawn as abstract *units* (what the model reads: a user
text, an assistant turn with reasoning, a tool call ...), then rendered
into one API's request body by render(units, rng), where `rng` picks among
the spellings that docs/FORMAT.md section 8 says are the same message
(string vs one text part/block, ids/status dropped or kept, null members,
re-spaced arguments, 1 vs 1.0, cache_control, role case ...).  Rendering
the same units with two generators gives two SDK spellings of one history.
reply(api, rng) draws an upstream reply in the API's shape.

Python 3 standard library only.
"""

import json
import random

RNG_ASCII = random.Random(7)  # the body's escaping (ensure_ascii or not)

POOL = ["a", "Z", " ", "é", "€", "中", "😀", "𝄞", "\u2028", "\"", "\\",
        "/", "\n", "\t", "\x01", "\x7f", "\ufeff", "0", "{", "}", "<", "&"]
SAFE = ["a", "b", "Z", " ", "é", "€", "中", "😀", "𝄞", "?", "."]


def text(rng, lo=1, hi=14, pool=POOL):
    return "".join(rng.choice(pool) for _ in range(rng.randrange(lo, hi)))


def number(rng):
    return rng.choice([0, 1, -7, 42, 2 ** 40, 0.5, -1.25, 1e21, 1e-7,
                       123456.789, 3.0, 1e300, 2 ** 53 + 1, 2 ** 60,
                       -2 ** 63, 2 ** 64, -0.0, 0.1, 5e-324, 1e16])


def value(rng, depth=0):
    c = rng.randrange(7 if depth < 2 else 4)
    if c == 0:
        return text(rng, 0, 6)
    if c == 1:
        return number(rng)
    if c == 2:
        return rng.choice([True, False, None])
    if c == 3:
        return text(rng, 1, 4)
    if c == 4:
        return [value(rng, depth + 1) for _ in range(rng.randrange(0, 3))]
    return {text(rng, 1, 4, SAFE): value(rng, depth + 1)
            for _ in range(rng.randrange(0, 3))}


def args_obj(rng):
    return {text(rng, 1, 5, SAFE): value(rng) for _ in range(rng.randrange(0, 4))}


def respell(obj, rng):
    """The same JSON value, re-spelled: members re-ordered, integral
    numbers as n.0 (what JSON.parse/json.loads round trips produce)."""
    if isinstance(obj, dict):
        items = list(obj.items())
        rng.shuffle(items)
        return {k: respell(v, rng) for k, v in items}
    if isinstance(obj, list):
        return [respell(v, rng) for v in obj]
    if isinstance(obj, int) and not isinstance(obj, bool) and \
            abs(obj) < 2 ** 53 and rng.random() < 0.5:
        return float(obj)
    return obj


def dumps(obj, rng):
    """JSON text of obj with a random layout."""
    return json.dumps(respell(obj, rng), ensure_ascii=rng.random() < 0.5,
                      separators=rng.choice([(",", ":"), (", ", ": ")]))


def chunks(s, rng):
    """s split into 1..3 pieces (joined by the mapping)."""
    if len(s) < 2 or rng.random() < 0.6:
        return [s]
    cut = sorted(rng.sample(range(1, len(s)), min(len(s) - 1,
                                                  rng.randrange(1, 3))))
    return [s[a:b] for a, b in zip([0] + cut, cut + [len(s)])]


def ident(rng, prefix):
    return prefix + "".join(rng.choice("abcdef0123456789") for _ in range(8))


# ------------------------------------------------------------ histories --

def history(api, rng):
    """Abstract units; the last is always a plain new user text."""
    units = []
    if rng.random() < 0.6:
        if api == "messages" and rng.random() < 0.3:
            units.append(("system", [text(rng) for _ in range(2)]))
        else:
            units.append(("system", text(rng)))
    for _ in range(rng.randrange(1, 6)):
        units.append(("user", user_content(api, rng)))
        for _ in range(rng.randrange(0, 3)):
            ids = [ident(rng, "call_") for _ in range(rng.randrange(1, 3))]
            units.append(("assistant", assistant(api, rng, ids)))
            for cid in ids:
                units.append(("tool", cid, text(rng)))
        if rng.random() < 0.2 and api != "messages":
            units.append(("developer", text(rng)))
        units.append(("assistant", assistant(api, rng, [])))
    for _ in range(rng.randrange(0, 3) if rng.random() < 0.5 else 0):
        units.insert(rng.randrange(1, len(units) + 1), ("raw", edge(api, rng)))
    units.append(("user", text(rng, 1, 10, SAFE)))
    return units


def edge(api, rng):
    """Items at the edges of section 8 (rendered as they are): a list of
    items (Responses) or of messages."""
    t = text(rng)
    rs = {"type": "reasoning", "id": ident(rng, "rs_"),
          "summary": [{"type": "summary_text", "text": t}],
          "encrypted_content": "gAAAA" + t}
    call = {"type": "function_call", "call_id": ident(rng, "call_"),
            "name": "f", "arguments": rng.choice(["{bad", "", "[1, 2]",
                                                  " {\"a\" : 1.0} "])}
    if api == "responses":
        return rng.choice([
            [{"role": "assistant", "content": [{"type": "refusal",
                                                "refusal": t}]}],
            [rs, {"type": "web_search_call", "id": "ws_1",
                  "status": "completed"},
             {"role": "assistant", "content": t}],
            [rs, {"type": "function_call_output", "call_id": "c",
                  "output": t}],
            [rs, {"role": "user", "content": t}],
            [{"type": "function_call_output", "call_id": "c",
              "output": rng.choice(["", [], [{"type": "input_text",
                                              "text": ""}]])}],
            [{"role": "assistant", "content": []}],
            [{"role": "assistant", "content": ""}],
            [{"role": "user", "content": []}],
            [{"role": "user", "content": None}], [{"role": "user"}],
            [{"type": "function_call_output", "call_id": "c"}],
            [{"type": "function_call_output", "call_id": "c",
              "output": None}],
            [{"role": "assistant", "content": None}],
            [dict(rs, summary=None, content=None)],
            [dict(rs, summary=[{"type": "other", "text": t}],
                  content=[{"text": t}]), {"role": "assistant",
                                           "content": t}],
            [{"role": "user", "content": ""}],
            [call],
            [{"type": "message", "role": "developer", "content": [
                {"type": "input_text", "text": t},
                {"type": "input_text", "text": t}]}],
            [{"role": "user", "content": [
                {"type": "input_file", "file_id": "file-1", "filename": None},
                {"type": "input_image", "file_id": "file-2",
                 "detail": "low", "image_url": None}]}],
        ])
    if api == "messages":
        return [rng.choice([
            {"role": "assistant", "content": []},
            {"role": "assistant", "content": ""},
            {"role": "user", "content": ""},
            {"role": "user", "content": []},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "t1",
                 "is_error": True, "content": rng.choice(["", [], t])}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "t1",
                 "content": [{"type": "text", "text": t},
                             {"type": "image", "source": {
                                 "type": "url", "url": "https://x/y.png"}}]}]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": t, "signature": "s" + t,
                 "cache_control": None}]},
            {"role": "assistant", "content": [
                {"type": "text", "text": t, "citations": [
                    {"type": "char_location", "cited_text": "c"}]}]},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "toolu_e", "name": "f",
                 "input": {}}]},
            {"role": "assistant", "content": [
                {"type": "server_tool_use", "id": "srvtoolu_1",
                 "name": "web_search", "input": {"query": t}},
                {"type": "web_search_tool_result",
                 "tool_use_id": "srvtoolu_1", "content": []},
                {"type": "text", "text": t}]},
        ])]
    return [rng.choice([
        {"role": "Üser", "content": t},
        {"role": "assistant", "content": t, "thinking": ""},
        {"role": "user", "content": t, "foo": rng.choice([1, "x", None])},
        {"role": "user", "content": None, "images": []},
        {"role": "assistant", "content": None, "tool_calls": [
            {"type": None, "function": {"name": "f", "arguments": None}}]},
        {"role": "tool", "content": "", "tool_name": None},
        {"role": "system", "content": t, "images": ["aGk="]},
    ])]


def user_content(api, rng):
    if rng.random() < 0.7:
        return text(rng)
    parts = [("text", text(rng)) for _ in range(rng.randrange(1, 3))]
    if rng.random() < 0.5:
        parts.insert(rng.randrange(len(parts) + 1),
                     ("image", "data:image/png;base64,iVBORw0KGgo" +
                      text(rng, 1, 4, ["A", "b", "+", "/"])))
    return parts


def assistant(api, rng, call_ids):
    """{"text", "refusal", "reasoning": [...], "calls": [(id, name, args)]}"""
    a = {"text": text(rng) if (not call_ids or rng.random() < 0.4) else None,
         "calls": [(cid, rng.choice(["get_weather", "f", "search_é"]),
                    args_obj(rng)) for cid in call_ids],
         "reasoning": []}
    if api == "responses" and rng.random() < 0.1 and a["text"]:
        a["refusal"] = text(rng)
    for _ in range(rng.randrange(0, 3) if rng.random() < 0.5 else 0):
        a["reasoning"].append({
            "id": ident(rng, "rs_"), "summary": [text(rng)],
            "enc": "gAAAA" + text(rng, 4, 12, ["A", "z", "+", "/", "=", "9"]),
            "redacted": rng.random() < 0.2})
    if api == "ollama":
        a["reasoning"] = a["reasoning"][:1]
    return a


# ------------------------------------------------------------ rendering --

def maybe(rng, d, k, v, p=0.5):
    if rng.random() < p:
        d[k] = v


def render(api, units, rng, top):
    return {"responses": r_responses, "messages": r_messages,
            "ollama": r_ollama}[api](units, rng, dict(top))


def r_responses(units, rng, body):
    items = []
    for i, u in enumerate(units):
        kind = u[0]
        if kind == "system":
            if rng.random() < 0.5:
                body["instructions"] = u[1]
                continue
            if rng.random() < 0.3:  # says nothing: the item is the prompt
                body["instructions"] = rng.choice(["", None])
            it = {"role": rng.choice(["system", "developer"]),
                  "content": u[1] if rng.random() < 0.5 else
                  [{"type": "input_text", "text": u[1]}]}
        elif kind in ("user", "developer"):
            c = u[1]
            if isinstance(c, list):
                c = [{"type": "input_text", "text": v} if t == "text" else
                     dict({"type": "input_image", "image_url": v},
                          **({"detail": None} if rng.random() < 0.3 else {}))
                     for t, v in c]
            elif rng.random() < 0.5:
                c = [{"type": "input_text", "text": c}]
            it = {"role": kind, "content": c}
        elif kind == "tool":
            it = {"type": "function_call_output", "call_id": u[1],
                  "output": u[2] if rng.random() < 0.6 else
                  [{"type": "input_text", "text": u[2]}]}
            maybe(rng, it, "id", ident(rng, "fco_"), 0.3)
            items.append(it)
            continue
        elif kind == "raw":
            items += json.loads(json.dumps(u[1]))
            continue
        else:
            items += r_responses_assistant(u[1], rng)
            continue
        if rng.random() < 0.5:
            it = dict({"type": "message"}, **it)
        items.append(it)
    body["input"] = items
    return body


def r_responses_assistant(a, rng):
    items = []
    if rng.random() < 0.15:  # a hosted tool's record: not history
        items.append({"type": "web_search_call", "id": ident(rng, "ws_"),
                      "status": "completed",
                      "action": {"type": "search", "query": "q"}})
    for r in a["reasoning"]:
        it = {"type": "reasoning", "id": r["id"],
              "summary": [dict({"type": "summary_text", "text": s},
                               **({"x": 1} if rng.random() < 0.1 else {}))
                          for s in r["summary"]]}
        if not r["redacted"]:
            it["encrypted_content"] = r["enc"]
        maybe(rng, it, "status", None, 0.3)
        if rng.random() < 0.2:
            it["content"] = None
        items.append(it)
    if a["text"] is not None:
        refusal = a.get("refusal")
        if refusal is None and rng.random() < 0.4:
            content = a["text"]  # the AI SDK's spelling
        else:
            content = [{"type": "output_text", "text": p, "annotations": [],
                        "logprobs": []} for p in chunks(a["text"], rng)]
            if refusal is not None:
                content.append({"type": "refusal", "refusal": refusal})
        it = {"role": "assistant", "content": content}
        if rng.random() < 0.5:
            it = dict({"type": "message", "id": ident(rng, "msg_"),
                       "status": "completed"}, **it)
        items.append(it)
    for cid, name, args in a["calls"]:
        it = {"type": "function_call", "call_id": cid, "name": name,
              "arguments": dumps(args, rng)}
        if rng.random() < 0.5:
            it["id"] = ident(rng, "fc_")
            it["status"] = "completed"
        items.append(it)
    return items


def text_block(s, rng):
    b = {"type": "text", "text": s}
    maybe(rng, b, "cache_control", {"type": "ephemeral"}, 0.2)
    maybe(rng, b, "citations", None, 0.3)
    return b


def r_messages(units, rng, body):
    msgs = []
    for u in units:
        kind = u[0]
        if kind == "system":
            s = u[1]
            if isinstance(s, list):
                body["system"] = [text_block(x, rng) for x in s]
            else:
                body["system"] = s if rng.random() < 0.5 else \
                    [text_block(s, rng)]
        elif kind == "user":
            c = u[1]
            if isinstance(c, list):
                c = [text_block(v, rng) if t == "text" else
                     {"type": "image", "source": {
                         "type": "base64", "media_type": "image/png",
                         "data": v.split(",", 1)[1]}} for t, v in c]
            elif rng.random() < 0.5:
                c = [text_block(c, rng)]
            msgs.append({"role": "user", "content": c})
        elif kind == "raw":
            msgs += json.loads(json.dumps(u[1]))
        elif kind == "tool":
            b = {"type": "tool_result", "tool_use_id": u[1],
                 "content": u[2] if rng.random() < 0.5 else
                 [text_block(u[2], rng)]}
            maybe(rng, b, "is_error", False, 0.4)
            if msgs and msgs[-1]["role"] == "user" and \
                    isinstance(msgs[-1]["content"], list) and msgs[-1]["content"] and \
                    msgs[-1]["content"][-1].get("type") == "tool_result":
                msgs[-1]["content"].append(b)
            else:
                msgs.append({"role": "user", "content": [b]})
        else:
            msgs.append({"role": "assistant",
                         "content": r_messages_assistant(u[1], rng)})
    body["messages"] = msgs
    return body


def r_messages_assistant(a, rng):
    if not a["reasoning"] and not a["calls"] and rng.random() < 0.4:
        return a["text"]
    kinds = []
    for r in a["reasoning"]:
        if r["redacted"]:
            kinds.append(("r", {"type": "redacted_thinking", "data": r["enc"]}))
        else:
            kinds.append(("r", {"type": "thinking", "thinking": r["summary"][0],
                                "signature": r["enc"]}))
    if a["text"] is not None:
        kinds.append(("c", text_block(a["text"], rng)))
    for cid, name, args in a["calls"]:
        kinds.append(("t", {"type": "tool_use", "id": cid, "name": name,
                            "input": respell(args, rng)}))
    # another order across kinds, the same order within each kind
    if rng.random() < 0.3:
        order = [k for k, _ in kinds]
        rng.shuffle(order)
        queues = {k: [b for kk, b in kinds if kk == k] for k in "rct"}
        return [queues[k].pop(0) for k in order]
    return [b for _, b in kinds]


def r_ollama(units, rng, body):
    msgs = []
    for u in units:
        kind = u[0]
        if kind == "raw":
            msgs += json.loads(json.dumps(u[1]))
            continue
        role = kind if rng.random() < 0.8 else rng.choice(
            [kind.upper(), kind.capitalize()])
        if kind in ("system", "developer"):
            m = {"role": role, "content": u[1]}
        elif kind == "user":
            c = u[1]
            if isinstance(c, list):
                m = {"role": role,
                     "content": "".join(v for t, v in c if t == "text")}
                imgs = [v.split(",", 1)[1] for t, v in c if t == "image"]
                if imgs:
                    m["images"] = imgs
            else:
                m = {"role": role, "content": c}
            maybe(rng, m, "images", None, 0.2) if "images" not in m else None
        elif kind == "tool":
            m = {"role": role, "content": u[2], "tool_name": "f"}
            if u[1][-1] in "02468ace":
                m["tool_call_id"] = u[1]
        else:
            m = r_ollama_assistant(u[1], rng, role)
        msgs.append(m)
    body["messages"] = msgs
    return body


def r_ollama_assistant(a, rng, role):
    m = {"role": role}
    if a["text"] is not None:
        m["content"] = a["text"]
    else:
        m["content"] = rng.choice(["", None, "absent"])
        if m["content"] == "absent":
            del m["content"]
    if a["reasoning"]:
        m["thinking"] = a["reasoning"][0]["summary"][0]
    else:
        maybe(rng, m, "thinking", None, 0.2)
    if a["calls"]:
        calls = []
        for i, (cid, name, args) in enumerate(a["calls"]):
            f = {"name": name, "arguments": respell(args, rng)}
            if not args and rng.random() < 0.5:
                f["arguments"] = None if rng.random() < 0.5 else "absent"
                if f["arguments"] == "absent":
                    del f["arguments"]
            maybe(rng, f, "index", i, 0.5)
            c = {"function": f}
            maybe(rng, c, "id", cid, 0.5)
            maybe(rng, c, "type", "function", 0.3)
            calls.append(c)
        m["tool_calls"] = calls
    else:
        maybe(rng, m, "tool_calls", None, 0.2)
    maybe(rng, m, "images", None, 0.2)
    maybe(rng, m, "created_at", "2026-12-05T08:00:00Z", 0.1)
    return m


def top(api, rng):
    """Top-level members (the same for every spelling of one case)."""
    t = {"model": rng.choice(["m", "qwen3:0.6b", "claude-sonnet-4-5"])}
    if api == "responses":
        maybe(rng, t, "temperature", rng.choice([0, 0.25, 1]))
        maybe(rng, t, "metadata", {"n": "1"}, 0.1)
        maybe(rng, t, "top_logprobs", number(rng), 0.2)
        maybe(rng, t, "max_output_tokens", 256)
        maybe(rng, t, "store", rng.choice([False, None]))
        maybe(rng, t, "previous_response_id", None, 0.2)
        maybe(rng, t, "tools", [{"type": "function", "name": "get_weather",
                                 "parameters": {"type": "object"}}], 0.3)
    elif api == "messages":
        t["max_tokens"] = 1024
        maybe(rng, t, "temperature", rng.choice([0, 0.7, number(rng)]))
        maybe(rng, t, "stream", False, 0.3)
        maybe(rng, t, "metadata", {"user_id": "u-1"}, 0.2)
    else:
        t["stream"] = False
        maybe(rng, t, "options", {"temperature": 0.5, "num_ctx": 4096,
                                  "seed": number(rng)})
        maybe(rng, t, "keep_alive", "5m", 0.3)
        maybe(rng, t, "think", rng.choice([True, False]), 0.3)
    return t


def respell_top(t, rng):
    return {k: respell(v, rng) for k, v in t.items()}


# -------------------------------------------------------------- replies --

def reply(api, rng):
    a = assistant(api, rng, [ident(rng, "call_") for _ in range(
        rng.choice([0, 0, 0, 1, 2]))])
    if api == "responses":
        out = r_responses_assistant(a, rng)
        if rng.random() < 0.05:  # reasoning alone (max_output_tokens hit)
            out = [it for it in out if it.get("type") == "reasoning"] or [
                {"type": "reasoning", "id": "rs_x", "summary": []}]
        for it in out:  # a server's items always have a type, parts
            if "type" not in it:
                it["type"] = "message"
            if isinstance(it.get("content"), str):
                it["content"] = [{"type": "output_text", "annotations": [],
                                  "text": it["content"]}]
        return {"id": ident(rng, "resp_"), "object": "response",
                "status": rng.choice(["completed", "completed", "incomplete"]),
                "model": "m", "output": out,
                "usage": {"input_tokens": 12, "output_tokens": 3,
                          "total_tokens": number(rng)}}
    if api == "messages":
        c = r_messages_assistant(a, rng)
        if rng.random() < 0.03:
            c = []  # an empty reply (max_tokens 0, a stop sequence at once)
        return {"id": ident(rng, "msg_"), "type": "message",
                "role": "assistant", "model": "claude",
                "content": [text_block(c, rng)] if isinstance(c, str) else c,
                "stop_reason": "tool_use" if a["calls"] else "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": 12, "output_tokens": number(rng)}}
    m = r_ollama_assistant(a, rng, "assistant")
    if rng.random() < 0.03:
        m = {"role": "assistant", "content": ""}  # an empty reply
    return {"model": "qwen3", "created_at": "2026-12-05T08:00:00.1Z",
            "message": m, "done": True, "done_reason": "stop",
            "total_duration": 123456789, "eval_count": number(rng)}


# -------------------------------------------------------------- streams --

def _pieces(s, rng):
    """s in 1..4 fragments, cut anywhere between code points."""
    if not s:
        return [s] if rng.random() < 0.5 else []
    cuts = sorted(set(rng.randrange(0, len(s) + 1)
                      for _ in range(rng.randrange(0, 4))))
    out, prev = [], 0
    for c in cuts + [len(s)]:
        out.append(s[prev:c])
        prev = c
    return [p for p in out if p] or [s]


def _cut(data, rng):
    """The bytes in TCP-sized writes, cut anywhere (inside a UTF-8
    sequence too)."""
    out, i = [], 0
    while i < len(data):
        n = rng.randrange(1, 200)
        out.append(data[i:i + n])
        i += n
    return out


def stream_messages(reply, rng):
    """An Anthropic SSE stream carrying reply["content"] (the Anthropic
    SDK's event grammar, ping anywhere)."""
    evs = []

    def ev(obj):
        evs.append(obj)
        if rng.random() < 0.1:
            evs.append({"type": "ping"})
    msg = {k: v for k, v in reply.items() if k != "content"}
    msg.update(content=[], stop_reason=None)
    ev({"type": "message_start", "message": msg})
    for i, b in enumerate(reply["content"]):
        t = b["type"]
        if t == "text":
            ev({"type": "content_block_start", "index": i,
                "content_block": {"type": "text", "text": ""}})
            for p in _pieces(b["text"], rng):
                ev({"type": "content_block_delta", "index": i,
                    "delta": {"type": "text_delta", "text": p}})
        elif t == "thinking":
            ev({"type": "content_block_start", "index": i,
                "content_block": {"type": "thinking", "thinking": "",
                                  "signature": ""}})
            for p in _pieces(b["thinking"], rng):
                ev({"type": "content_block_delta", "index": i,
                    "delta": {"type": "thinking_delta", "thinking": p}})
            ev({"type": "content_block_delta", "index": i,
                "delta": {"type": "signature_delta",
                          "signature": b["signature"]}})
        elif t == "tool_use":
            ev({"type": "content_block_start", "index": i,
                "content_block": {"type": "tool_use", "id": b["id"],
                                  "name": b["name"], "input": {}}})
            text = json.dumps(b["input"], ensure_ascii=rng.random() < 0.5)
            if b["input"] or rng.random() < 0.5:
                for p in _pieces(text, rng):
                    ev({"type": "content_block_delta", "index": i,
                        "delta": {"type": "input_json_delta",
                                  "partial_json": p}})
        else:  # redacted_thinking: whole in its start
            ev({"type": "content_block_start", "index": i,
                "content_block": b})
        ev({"type": "content_block_stop", "index": i})
    ev({"type": "message_delta", "delta": {"stop_reason": "end_turn",
                                           "stop_sequence": None},
        "usage": {"output_tokens": 3}})
    evs.append({"type": "message_stop"})
    data = "".join(("" if e["type"] == "ping" and rng.random() < 0.3 else
                    f"event: {e['type']}\n") +
                   f"data: {json.dumps(e, ensure_ascii=rng.random() < 0.5)}"
                   "\n\n" for e in evs).encode()
    return "text/event-stream", _cut(data, rng)


def stream_ollama(reply, rng):
    """Ollama's NDJSON: thinking and content in fragments, tool calls whole,
    then the done line."""
    m = reply["message"]
    head = {"model": reply["model"], "created_at": reply["created_at"]}
    lines = []
    for p in _pieces(m.get("thinking") or "", rng):
        lines.append(dict(head, message={"role": "assistant", "content": "",
                                         "thinking": p}, done=False))
    for p in _pieces(m.get("content") or "", rng):
        lines.append(dict(head, message={"role": "assistant", "content": p},
                          done=False))
    if m.get("tool_calls"):
        lines.append(dict(head, message={"role": "assistant", "content": "",
                                         "tool_calls": m["tool_calls"]},
                          done=False))
    lines.append(dict(head, message={"role": "assistant", "content": ""},
                      done=True, done_reason="stop", total_duration=12345,
                      eval_count=reply["eval_count"]))
    data = "".join(json.dumps(x, ensure_ascii=rng.random() < 0.5) + "\n"
                   for x in lines).encode()
    return "application/x-ndjson", _cut(data, rng)


def stream_responses(reply, rng):
    """OpenAI's named SSE events for reply["output"] (what
    response.completed carries), deltas with an obfuscation pad, no
    [DONE]."""
    evs = []
    items = json.loads(json.dumps(reply["output"]))
    for k, it in enumerate(items):
        it.setdefault("id", f"item_{k}")
        it.setdefault("status", "completed")
    head = {k: v for k, v in reply.items() if k != "output"}
    evs.append({"type": "response.created",
                "response": dict(head, status="in_progress", output=[])})
    for oi, it in enumerate(items):
        t, iid = it["type"], it["id"]
        base = {"item_id": iid, "output_index": oi}
        if t == "message":
            evs.append({"type": "response.output_item.added",
                        "output_index": oi,
                        "item": dict(it, status="in_progress", content=[])})
            for ci, p in enumerate(it["content"]):
                key = "text" if p["type"] == "output_text" else "refusal"
                kind = "output_text" if key == "text" else "refusal"
                evs.append(dict(base, type="response.content_part.added",
                                content_index=ci,
                                part=dict(p, **{key: ""})))
                for piece in _pieces(p[key], rng):
                    evs.append(dict(base, type=f"response.{kind}.delta",
                                    content_index=ci, delta=piece,
                                    obfuscation="x" * rng.randrange(1, 9)))
                evs.append(dict(base, type=f"response.{kind}.done",
                                content_index=ci, **{key: p[key]}))
                evs.append(dict(base, type="response.content_part.done",
                                content_index=ci, part=p))
        elif t == "function_call":
            evs.append({"type": "response.output_item.added",
                        "output_index": oi,
                        "item": dict(it, arguments="", status="in_progress")})
            for piece in _pieces(it["arguments"], rng):
                evs.append(dict(base, delta=piece, obfuscation="ab",
                                type="response.function_call_arguments.delta"))
            evs.append(dict(base, arguments=it["arguments"],
                            type="response.function_call_arguments.done"))
        elif t == "reasoning":
            evs.append({"type": "response.output_item.added",
                        "output_index": oi, "item": dict(it, summary=[])})
            for si, s in enumerate(it["summary"]):
                sb = dict(base, summary_index=si)
                evs.append(dict(sb, type="response.reasoning_summary_part."
                                "added", part={"type": "summary_text",
                                               "text": ""}))
                for piece in _pieces(s["text"], rng):
                    evs.append(dict(sb, delta=piece, obfuscation="q",
                                    type="response.reasoning_summary_text."
                                    "delta"))
                evs.append(dict(sb, text=s["text"],
                                type="response.reasoning_summary_text.done"))
                evs.append(dict(sb, type="response.reasoning_summary_part."
                                "done", part={"type": "summary_text",
                                              "text": s["text"]}))
        else:  # a hosted tool's record
            evs.append({"type": "response.output_item.added",
                        "output_index": oi,
                        "item": dict(it, status="in_progress")})
        evs.append({"type": "response.output_item.done", "output_index": oi,
                    "item": it})
    evs.append({"type": "response.completed",
                "response": dict(head, output=items)})
    def frame(n, e):
        # a data field over several lines (pretty-printed), now and then
        text = json.dumps(dict(e, sequence_number=n), ensure_ascii=rng.random()
                          < 0.5, indent=1 if rng.random() < 0.1 else None)
        return f"event: {e['type']}\n" + "".join(
            f"data: {line}\n" for line in text.split("\n")) + "\n"
    data = "".join(frame(n, e) for n, e in enumerate(evs)).encode()
    return "text/event-stream", _cut(data, rng)
