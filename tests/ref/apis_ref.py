"""apis_ref.py -- an independent reimplementation of docs/FORMAT.md section 8:
how the gateway maps the OpenAI Responses, Anthropic Messages and Ollama chat
APIs onto internal (Chat-Completions-shaped) messages, and back.

Written from FORMAT.md section 8 alone, without reading the C adapters
(src/gateway/api/responses*.c, messages*.c, ollama*.c), so that a
disagreement between this module and the gateway (api_differential.py)
shows either a bug in C or a place where the spec is not precise enough.

Values are plain Python JSON values (dict, list, str, int/float, bool,
None); dicts keep their insertion order.  For each API (classes RESPONSES,
MESSAGES, OLLAMA):

  to_internal(body)          the client's request body -> the internal
                             request {"messages": [...], other members}
                             (raises Refused(code) where section 8 refuses)
  to_upstream(internal, forms)  what the gateway forwards, given the
                             internal request and the verified messages'
                             signed forms (with reasoning only where it
                             verified: see verified_forms)
  reply_messages(reply)      a non-streamed upstream reply -> the internal
                             messages the gateway signs
  output(forms)              the "output" of the chatseal member

and assemble_messages / assemble_ollama / assemble_responses: a streamed
reply as a client assembles it (section 8), with the chatseal member of
its closing event.

verified_forms(messages, n) applies FORMAT.md 2.1/2.2 the way a gateway does
once a token over the first n messages verified: signed forms, reasoning
kept for i < n and dropped for the unsigned tail.

Python 3 standard library only.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chatseal_ref as ref  # noqa: E402


class Refused(Exception):
    def __init__(self, code, why=""):
        super().__init__(f"{code}: {why}")
        self.code = code


# ------------------------------------------------- chatseal_ref bridging --

def to_obj(v):
    """Plain JSON value -> chatseal_ref's parsed shape (_Object)."""
    if isinstance(v, dict):
        return ref._Object([(k, to_obj(x)) for k, x in v.items()])
    if isinstance(v, list):
        return [to_obj(x) for x in v]
    return v


def from_obj(v):
    if isinstance(v, ref._Object):
        return {k: from_obj(x) for k, x in v.pairs}
    if isinstance(v, list):
        return [from_obj(x) for x in v]
    return v


def canon_text(v):
    return ref.canon_text(to_obj(v))


def canonical_arguments(text):
    """§2.1 rule 5 on an arguments string."""
    return ref._canonical_arguments(text)


def sign(ring, messages, now, **kw):
    """A conv token over all of `messages` (internal, plain values)."""
    return ref.sign_messages(ring, [to_obj(m) for m in messages], now=now,
                             **kw)["token"]


def verified_forms(messages, n):
    """Signed forms (§2.1) as a gateway forwards them after a token over the
    first n messages verified: reasoning members kept for i < n (the token
    covered them), dropped after (§2.2)."""
    out = []
    for i, m in enumerate(messages):
        core, full, _ = ref.signed_form(to_obj(m))
        out.append(from_obj(full if i < n else core))
    return out


def says_nothing(v):
    return v is None or v == "" or v == [] or v == {}


# ------------------------------------------------------------ diagnosis --

def diagnose(signed, presented):
    """FORMAT.md 5.1 for a located (not compact, not assistant-only) token
    over `signed` (internal messages) and the presented internal messages:
    (code, index).  Only called when the tag fails."""
    def dig(m):
        return ref.message_digest(to_obj(m))
    L = [dig(m) for m in signed]
    R = [ref.role_code(m.get("role")) for m in signed]
    P = [dig(m) for m in presented]
    r = [ref.role_code(m.get("role")) for m in presented]
    n, M = len(signed), len(presented)
    mn = min(M, n)

    def match(i, j):
        return r[i] == R[j] and P[i] == L[j]
    k = next((i for i in range(mn) if not match(i, i)), mn)
    if n >= 2 and M > 0 and not (set(P) & set(L)):
        return "invalid_signature", -1
    if M < n:
        if all(P[i] == L[i] and r[i] == R[i] for i in range(M)):
            return "truncated", M
        j, removed = 0, []
        for i in range(M):
            while j < n and not match(i, j):
                removed.append(j)
                j += 1
            if j == n:
                break
            j += 1
        else:
            removed += list(range(j, n))
            if len(removed) == n - M:
                return "message_deleted", removed[0]
    if M > n and k < n and not any(match(k, j) for j in range(n)) and \
            all(match(i, i - 1) for i in range(k + 1, n + 1)):
        return "message_inserted", k
    if M >= n and k < n - 1:
        rest = [j for j in range(n) if j != k]
        if all(P[i] == L[j] and r[i] == R[j]
               for i, j in zip(range(n - 1), rest)) and \
                not (P[n - 1] == L[k] and r[n - 1] == R[k]):
            return "message_deleted", k
    if M >= n and 0 < k < n and r[k] != R[k] and not any(
            match(i, j) for i in range(k, M) for j in range(k, n)):
        return "truncated", k
    if M >= n and k < n <= 2048:
        used = [False] * n
        ok = True
        for i in range(n):
            j = next((j for j in range(n) if not used[j] and match(i, j)),
                     None)
            if j is None:
                ok = False
                break
            used[j] = True
        if ok:
            return "reordered", k
    for i in range(mn):
        if r[i] != R[i]:
            return "role_changed", i
    if k < mn:
        return "content_changed", k
    return "invalid_signature", -1


def integral_numbers(v):
    """The gateway writes integral numbers as integers (adapter.h
    cs_json_integers): the same on a plain value."""
    if isinstance(v, float) and v.is_integer() and abs(v) < 2 ** 53:
        return int(v)
    if isinstance(v, dict):
        return {k: integral_numbers(x) for k, x in v.items()}
    if isinstance(v, list):
        return [integral_numbers(x) for x in v]
    return v


def _obj(v, what):
    if not isinstance(v, dict):
        raise Refused("invalid_request", f"{what} is not an object")
    return v


def _str(v, what):
    if not isinstance(v, str):
        raise Refused("invalid_request", f"{what} is not a string")
    return v


# ------------------------------------------------------ 8.1 Responses --

class RESPONSES:
    path = "/v1/responses"
    HOSTED = ("web_search_call", "file_search_call", "code_interpreter_call",
              "image_generation_call")

    @staticmethod
    def part(p, role):
        """A user/system/developer/function_call_output part, normalized."""
        _obj(p, "part")
        t = p.get("type")
        if t == "input_text":
            return {"type": "input_text", "text": _str(p.get("text"), "text")}
        if role not in ("system", "developer"):
            if t == "input_image":
                keep = ("image_url", "file_id", "detail")
            elif t == "input_file":
                keep = ("file_id", "file_url", "file_data", "filename")
            else:
                keep = None
            if keep is not None:
                out = {"type": t}
                for k in keep:
                    if isinstance(p.get(k), str):
                        out[k] = p[k]
                return out
        raise Refused("invalid_request", f"part type {t!r}")

    @classmethod
    def content(cls, c, role):
        if c is None or isinstance(c, str):  # absent or null: no content
            return c
        if not isinstance(c, list):
            raise Refused("invalid_request", "content")
        parts = [cls.part(p, role) for p in c]
        if len(parts) == 1 and parts[0]["type"] == "input_text":
            return parts[0]["text"]
        return parts

    @staticmethod
    def texts(parts, what):
        """The text of each part (any type): absent/null is no part."""
        if parts is None:
            return []
        if not isinstance(parts, list) or not all(
                isinstance(p, dict) and isinstance(p.get("text"), str)
                for p in parts):
            raise Refused("invalid_request", what)
        return [p["text"] for p in parts]

    @classmethod
    def reasoning(cls, item):
        out = {"type": "reasoning"}
        if isinstance(item.get("id"), str):
            out["id"] = item["id"]
        if isinstance(item.get("encrypted_content"), str):
            out["encrypted_content"] = item["encrypted_content"]
        out["summary"] = [{"type": "summary_text", "text": t}
                          for t in cls.texts(item.get("summary"), "summary")]
        content = [{"type": "reasoning_text", "text": t}
                   for t in cls.texts(item.get("content"), "content")]
        if content:
            out["content"] = content
        return out

    @classmethod
    def to_internal(cls, body):
        _obj(body, "body")
        if "messages" in body:
            raise Refused("invalid_request", "messages")
        msgs = []
        instr = body.get("instructions")
        if instr is not None and not isinstance(instr, str):
            raise Refused("invalid_request", "instructions")
        if instr:
            msgs.append({"role": "system", "content": instr})
        inp = body.get("input")
        if isinstance(inp, str):
            msgs.append({"role": "user", "content": inp})
        elif not isinstance(inp, list):
            raise Refused("invalid_request", "input")
        else:
            pending = []  # reasoning items waiting for their assistant item
            for idx, item in enumerate(inp):
                _obj(item, "item")
                t = item.get("type")
                if t is None and "role" in item:
                    t = "message"
                role = item.get("role")
                if t == "reasoning":
                    pending.append(cls.reasoning(item))
                    continue
                if t in cls.HOSTED:
                    continue  # FORMAT.md: unclear whether this ends pending
                if t == "item_reference":
                    raise Refused("parameter_not_allowed", t)
                if t == "message" and role == "assistant":
                    m = {"role": "assistant"}
                    c = item.get("content")
                    if isinstance(c, str):
                        m["content"] = c
                    elif isinstance(c, list):
                        for p in c:
                            if not isinstance(p, dict) or not (
                                    p.get("type") in ("output_text",
                                                      "input_text")
                                    and isinstance(p.get("text"), str) or
                                    p.get("type") == "refusal" and
                                    isinstance(p.get("refusal"), str)):
                                raise Refused("invalid_request", "part")
                        texts = [p["text"] for p in c if p.get("type")
                                 in ("output_text", "input_text")]
                        refusals = [p["refusal"] for p in c
                                    if p.get("type") == "refusal"]
                        if texts:
                            m["content"] = "".join(texts)
                        if refusals:
                            m["refusal"] = "".join(refusals)
                    elif c is not None:
                        raise Refused("invalid_request", "content")
                elif t == "function_call":
                    for k in ("call_id", "name", "arguments"):
                        _str(item.get(k), k)
                    m = {"role": "assistant", "tool_calls": [{
                        "id": item.get("call_id"), "type": "function",
                        "function": {"name": item.get("name"),
                                     "arguments": item.get("arguments")}}]}
                else:
                    if pending:
                        msgs.append({"role": "assistant",
                                     "reasoning": pending})
                        pending = []
                    if t == "message" and role in ("user", "system",
                                                    "developer"):
                        if idx == 0 and not instr and role in ("system",
                                                               "developer"):
                            role = "system"
                        m = {"role": role,
                             "content": cls.content(item.get("content"),
                                                    role)}
                    elif t == "function_call_output":
                        _str(item.get("call_id"), "call_id")
                        m = {"role": "tool", "tool_call_id": item.get("call_id"),
                             "content": cls.content(item.get("output"),
                                                    "tool")}
                    else:
                        raise Refused("invalid_request", f"item {t!r}")
                    msgs.append(m)
                    continue
                if pending:
                    m["reasoning"] = pending
                    pending = []
                msgs.append(m)
            if pending:
                msgs.append({"role": "assistant", "reasoning": pending})
        out = {}
        for k, v in body.items():
            if k in ("instructions", "input"):
                continue
            if k == "store" and v in (False, None):
                continue
            if k == "store" or (k in ("previous_response_id", "conversation")
                                and v is not None):
                raise Refused("parameter_not_allowed", k)
            if k in ("previous_response_id", "conversation"):
                continue
            out[k] = v
        out["messages"] = msgs
        return out

    @staticmethod
    def items_of(m, forward):
        """One verified internal message (signed form) -> Responses items
        (the forwarded input, and chatseal.output: forward False, where
        every signed reasoning item is kept so that the client sends back
        the reasoning value that was signed)."""
        role = m.get("role")
        if role in ("system", "user", "developer"):
            return [{"type": "message", "role": role,
                     "content": m.get("content", "")}]
        if role == "tool":
            return [{"type": "function_call_output",
                     "call_id": m.get("tool_call_id"),
                     "output": m.get("content", "")}]
        if role != "assistant":
            raise Refused("invalid_request", f"role {role!r}")
        out = []
        has = "content" in m or "refusal" in m or "tool_calls" in m
        if has or not forward:
            for r in m.get("reasoning") or []:
                if not forward or "encrypted_content" in r or "content" in r:
                    out.append(r)
        if "refusal" in m:
            parts = []
            if "content" in m:
                parts.append({"type": "output_text", "text": m["content"]})
            parts.append({"type": "refusal", "refusal": m["refusal"]})
            out.append({"type": "message", "role": "assistant",
                        "content": parts})
        elif "content" in m:
            out.append({"type": "message", "role": "assistant",
                        "content": m["content"]})
        for c in m.get("tool_calls") or []:
            f = c.get("function", {})
            out.append({"type": "function_call", "call_id": c.get("id"),
                        "name": f.get("name"),
                        "arguments": f.get("arguments", "")})
        return out

    @classmethod
    def to_upstream(cls, internal, forms):
        body = {k: v for k, v in internal.items()
                if k not in ("messages", "chatseal_token")}
        items = []
        for i, m in enumerate(forms):
            if i == 0 and m.get("role") == "system" and \
                    isinstance(m.get("content"), str):
                body["instructions"] = m["content"]
                continue
            items += cls.items_of(m, True)
        body["input"] = items
        if "store" not in body:
            body["store"] = False
        return integral_numbers(body)

    @classmethod
    def reply_messages(cls, reply):
        if reply.get("status") not in ("completed", "incomplete"):
            raise Refused("upstream_error", "status")
        items = []
        for it in reply.get("output") or []:
            t = it.get("type")
            if t in cls.HOSTED:
                continue
            if t == "message" and it.get("role") == "assistant" or \
                    t in ("function_call", "reasoning"):
                items.append(it)
            else:
                raise Refused("upstream_error", f"item {t!r}")
        return cls.to_internal({"input": items})["messages"]

    @classmethod
    def output(cls, forms):
        out = []
        for m in forms:
            out += cls.items_of(m, False)
        return out


# ------------------------------------------------------- 8.2 Messages --

class MESSAGES:
    path = "/v1/messages"

    @staticmethod
    def block(b):
        if not isinstance(b, dict) or not isinstance(b.get("type"), str):
            raise Refused("invalid_request", "block")
        t = b["type"]
        if t == "text" and not isinstance(b.get("text"), str):
            raise Refused("invalid_request", "text block")
        out = {}
        for k, v in b.items():
            if v is None or k == "cache_control" or \
                    (t == "text" and k == "citations") or \
                    (t == "tool_result" and k == "is_error" and v is False):
                continue
            if t == "tool_result" and k == "content":
                v = MESSAGES.norm(v)
                if says_nothing(v):
                    continue
            out[k] = v
        return out

    @classmethod
    def norm(cls, c):
        if isinstance(c, str):
            return c
        if not isinstance(c, list):
            raise Refused("invalid_request", "content")
        blocks = [cls.block(b) for b in c]
        if len(blocks) == 1 and blocks[0].get("type") == "text" and \
                len(blocks[0]) == 2:
            return blocks[0]["text"]
        return blocks

    @classmethod
    def assistant(cls, content):
        m = {"role": "assistant"}
        if isinstance(content, str):
            if content != "":
                m["content"] = content
            return m
        if not isinstance(content, list):
            raise Refused("invalid_request", "content")
        rsn, calls, other = [], [], []
        for b in content:
            if not isinstance(b, dict) or not isinstance(b.get("type"), str):
                raise Refused("invalid_request", "block")
            t = b["type"]
            if t in ("thinking", "redacted_thinking"):
                rsn.append(cls.block(b))
            elif t == "tool_use":
                if not isinstance(b.get("id"), str) or \
                        not isinstance(b.get("name"), str) or \
                        not isinstance(b.get("input"), dict):
                    raise Refused("invalid_request", "tool_use")
                calls.append({"id": b["id"], "type": "function", "function": {
                    "name": b["name"], "arguments": canon_text(b["input"])}})
            else:
                other.append(b)
        c = cls.norm(other)
        if not says_nothing(c):
            m["content"] = c
        if calls:
            m["tool_calls"] = calls
        if rsn:
            m["reasoning"] = rsn
        return m

    @classmethod
    def to_internal(cls, body):
        _obj(body, "body")
        msgs = []
        system = body.get("system")
        if system is not None:
            if isinstance(system, list):
                if not all(isinstance(b, dict) and b.get("type") == "text"
                           for b in system):
                    raise Refused("invalid_request", "system")
            elif not isinstance(system, str):
                raise Refused("invalid_request", "system")
            s = cls.norm(system)
            if not says_nothing(s):
                msgs.append({"role": "system", "content": s})
        src = body.get("messages")
        if not isinstance(src, list):
            raise Refused("invalid_request", "messages")
        for m in src:
            if not isinstance(m, dict) or set(m) != {"role", "content"} or \
                    m["role"] not in ("user", "assistant"):
                raise Refused("invalid_request", "message")
            if m["role"] == "assistant":
                msgs.append(cls.assistant(m["content"]))
            else:
                c = cls.norm(m["content"])
                msgs.append({"role": "user", **({} if says_nothing(c)
                                                 else {"content": c})})
        out = {k: v for k, v in body.items() if k not in ("system",
                                                          "messages")}
        out["messages"] = msgs
        return out

    @staticmethod
    def wire(m):
        role = m.get("role")
        if role == "user":
            return {"role": "user", "content": m.get("content", "")}
        if role != "assistant":
            raise Refused("invalid_request", f"role {role!r}")
        blocks = []
        r = m.get("reasoning")
        if isinstance(r, list):
            blocks += r
        c = m.get("content")
        if isinstance(c, str):
            blocks.append({"type": "text", "text": c})
        elif isinstance(c, list):
            blocks += c
        for call in m.get("tool_calls") or []:
            f = call["function"]
            blocks.append({"type": "tool_use", "id": call["id"],
                           "name": f["name"],
                           "input": json.loads(f["arguments"])})
        return {"role": "assistant", "content": blocks}

    @classmethod
    def to_upstream(cls, internal, forms):
        body = {k: v for k, v in internal.items()
                if k not in ("messages", "chatseal_token")}
        out = []
        for i, m in enumerate(forms):
            if i == 0 and m.get("role") == "system":
                body["system"] = m.get("content")
                continue
            out.append(cls.wire(m))
        body["messages"] = out
        return integral_numbers(body)

    @classmethod
    def reply_messages(cls, reply):
        return [cls.assistant(reply.get("content"))]

    @classmethod
    def output(cls, forms):
        # one reply message: the object itself, not an array
        (m,) = forms
        return cls.wire(m)


# --------------------------------------------------------- 8.3 Ollama --

class OLLAMA:
    path = "/api/chat"

    @staticmethod
    def call(c):
        _obj(c, "tool call")
        if c.get("type") not in (None, "function"):
            raise Refused("invalid_request", "type")
        f = _obj(c.get("function"), "function")
        name = _str(f.get("name"), "name")
        args = f.get("arguments")
        if args is None:
            args = {}
        _obj(args, "arguments")
        return {"type": "function",
                "function": {"name": name, "arguments": canon_text(args)}}

    @classmethod
    def message(cls, m):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            raise Refused("invalid_request", "message")
        role = "".join(ch.lower() if ch < "\x80" else ch for ch in m["role"])
        out = {"role": role}
        for k, v in m.items():
            if k == "role":
                continue
            if k in ("reasoning", "reasoning_content"):
                raise Refused("invalid_request", k)
            if k in ("content", "thinking", "tool_name", "tool_call_id"):
                if v is None:
                    continue
                _str(v, k)
                out["reasoning" if k == "thinking" else k] = v
            elif k == "images":
                if v is None:
                    continue
                if not isinstance(v, list) or \
                        not all(isinstance(x, str) for x in v):
                    raise Refused("invalid_request", k)
                out[k] = v
            elif k == "tool_calls":
                if v is None:
                    continue
                if not isinstance(v, list):
                    raise Refused("invalid_request", k)
                out[k] = [cls.call(c) for c in v]
            elif role != "assistant":
                out[k] = v
        return out

    @staticmethod
    def tail_refusal(form):
        """FORMAT.md 8.3 "Unsigned messages", on the signed form of a
        message after the signed prefix (reasoning already dropped): the
        code, or None."""
        allowed = ("role", "content", "tool_name", "tool_call_id") \
            if form.get("role") == "tool" else ("role", "content", "images")
        for k, v in form.items():
            if k not in allowed:
                return "member_not_allowed"
            if k == "images" and not (isinstance(v, list) and all(
                    isinstance(x, str) for x in v)):
                return "member_not_allowed"
            if k != "images" and not isinstance(v, str):
                return "member_not_allowed"
        return None

    @classmethod
    def to_internal(cls, body):
        _obj(body, "body")
        src = body.get("messages")
        if not isinstance(src, list):
            raise Refused("invalid_request", "messages")
        out = {}
        for k, v in body.items():
            out[k] = [cls.message(m) for m in src] if k == "messages" else v
        return out

    @staticmethod
    def wire(m):
        out = {"role": m.get("role"), "content": m.get("content", "")}
        if isinstance(m.get("reasoning"), str):
            out["thinking"] = m["reasoning"]
        for k in ("images", "tool_name", "tool_call_id"):
            if k in m:
                out[k] = m[k]
        if "tool_calls" in m:
            out["tool_calls"] = [
                {"function": {"name": c["function"]["name"],
                              "arguments": json.loads(
                                  c["function"].get("arguments", "{}"))}}
                for c in m["tool_calls"]]
        return out

    @classmethod
    def to_upstream(cls, internal, forms):
        body = {}
        for k, v in internal.items():
            if k == "chatseal_token":
                continue
            body[k] = [cls.wire(m) for m in forms] if k == "messages" else v
        return integral_numbers(body)

    @classmethod
    def reply_messages(cls, reply):
        m = dict(reply.get("message") or {})
        if m.get("role", "assistant") != "assistant":
            raise Refused("upstream_error", "role")
        m["role"] = "assistant"
        return [cls.message(m)]

    @classmethod
    def output(cls, forms):
        (m,) = forms  # one reply message: the object itself
        return cls.wire(m)


# ---------------------------------------------------- streams (clients) --

def sse(body):
    """[(event, data)] of an SSE body."""
    out = []
    for block in body.decode("utf-8").replace("\r\n", "\n").split("\n\n"):
        ev, data = "", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                ev = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:][1:] if line[5:6] == " " else line[5:])
        if data:
            out.append((ev, "\n".join(data)))
    return out


def assemble_messages(events):
    """FORMAT.md 8.2: a stream assembled as @anthropic-ai/sdk does."""
    blocks, parts, member = [], {}, None
    for ev, data in events:
        d = json.loads(data)
        t = d.get("type")
        if t == "content_block_start":
            assert d["index"] == len(blocks), d
            blocks.append(dict(d["content_block"]))
        elif t == "content_block_delta":
            b, dl = blocks[d["index"]], d["delta"]
            if dl["type"] == "text_delta":
                b["text"] += dl["text"]
            elif dl["type"] == "thinking_delta":
                b["thinking"] += dl["thinking"]
            elif dl["type"] == "signature_delta":
                b["signature"] = dl["signature"]
            elif dl["type"] == "input_json_delta":
                parts.setdefault(d["index"], []).append(dl["partial_json"])
        elif t == "content_block_stop" and d["index"] in parts:
            blocks[d["index"]]["input"] = json.loads(
                "".join(parts[d["index"]]))
        elif t == "message_stop":
            member = d.get("chatseal")
    return {"content": blocks}, member


def assemble_ollama(body):
    """FORMAT.md 8.3: NDJSON lines joined up to the done line."""
    m = {"role": "assistant", "content": "", "thinking": "", "tool_calls": []}
    for line in body.decode("utf-8").split("\n"):
        if not line.strip():
            continue
        d = json.loads(line)
        msg = d.get("message") or {}
        m["content"] += msg.get("content") or ""
        m["thinking"] += msg.get("thinking") or ""
        m["tool_calls"] += msg.get("tool_calls") or []
        if d.get("done") is True:
            return {"message": m}, d.get("chatseal")
    raise AssertionError("no done line")


def assemble_responses(events):
    """FORMAT.md 8.1: the output that response.completed carries."""
    reply = member = None
    for ev, data in events:
        d = json.loads(data)
        if d.get("type") == "response.completed":
            reply = d["response"]
        if isinstance(d.get("chatseal"), dict):
            member = d["chatseal"]
    return reply, member


APIS = {"responses": RESPONSES, "messages": MESSAGES, "ollama": OLLAMA}
