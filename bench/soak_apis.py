"""soak_apis.py -- what bench/soak.py's clients know about each API: how a
history is sent (the request body), how a reply is read (the text the client
got, the text that was signed, the history units it appends for the next
turn: the reply as received, as the API's SDKs do), how an error's code is
found, and the malformed requests that API must refuse.

A history is {"sys": the system prompt, "units": the API's own history
items (Chat / Ollama / Anthropic messages, Responses input items)}; the
system prompt goes where the API puts it (a first system message,
`instructions`, `system`).  The soak's scenarios are the same for every API;
only these codecs differ.

Python 3 standard library only.
"""
import json

from soak_upstream import parse_sse


class Check(Exception):
    pass


def loads(x):
    return json.loads(x) if isinstance(x, (str, bytes)) else x


class Chat:
    name, path = "chat", "/v1/chat/completions"

    def body(self, hist, model, stream):
        b = {"model": model, "messages": [
            {"role": "system", "content": hist["sys"]}] + hist["units"]}
        if stream:
            b["stream"] = True
        return b

    def error_code(self, body):
        return json.loads(body)["error"]["code"]

    def parse_json(self, obj):
        """(text, signed text, units to append)"""
        msg = obj["choices"][0]["message"]
        return msg.get("content"), msg.get("content"), [
            {"role": "assistant", "content": msg["content"]}]

    def frames(self, body):
        return parse_sse(body)

    def parse_stream(self, body):
        """{text, seal, signed, units, done, error, last}: the deltas' text,
        the chatseal member and the text it signed, the units to append,
        whether the stream said it was complete, whether it held an error,
        whether the seal came in the last frame."""
        ev = self.frames(body)
        out = {"text": "", "seal": None, "done": False, "error": False,
               "last": False, "units": []}
        for i, e in enumerate(ev):
            if e == "[DONE]":
                out["done"] = out["done"] and i == len(ev) - 1
                continue
            obj = json.loads(e)
            out["error"] |= "error" in obj
            if "chatseal" in obj:
                out["seal"] = obj["chatseal"]
                out["last"] = i == len(ev) - 2 and ev[-1] == "[DONE]"
                continue
            for ch in obj.get("choices", []):
                out["text"] += ch.get("delta", {}).get("content") or ""
                out["done"] |= ch.get("finish_reason") is not None
        if out["seal"]:
            m = out["seal"]["message"]
            out["signed"], out["units"] = m.get("content"), [m]
        return out

    def edit(self, unit):
        return dict(unit, content=unit["content"] + " (edited)")


def items_text(items):
    """The assistant text of Responses items: output_text parts, or a
    string content (how chatseal.output spells a text-only message)."""
    out = ""
    for it in items:
        c = it.get("content")
        if it.get("type", "message") != "message":
            continue
        if isinstance(c, str):
            out += c
        for p in c if isinstance(c, list) else []:
            if p.get("type") == "output_text":
                out += p.get("text", "")
    return out


class Responses(Chat):
    name, path = "responses", "/v1/responses"

    def body(self, hist, model, stream):
        b = {"model": model, "instructions": hist["sys"],
             "input": hist["units"]}
        if stream:
            b["stream"] = True
        return b

    def parse_json(self, obj):
        # the client appends response.output as received (openai docs'
        # stateless use: input = [...input, ...response.output])
        return (items_text(obj["output"]),
                items_text(obj["chatseal"]["output"]), obj["output"])

    def parse_stream(self, body):
        ev = [json.loads(e) for e in self.frames(body)]
        out = {"text": "", "seal": None, "done": False, "error": False,
               "last": False, "units": []}
        for i, o in enumerate(ev):
            t = o.get("type")
            out["error"] |= t in ("error", "response.failed")
            if "chatseal" in o:
                out["seal"], out["last"] = o["chatseal"], i == len(ev) - 1
            elif t == "response.output_text.delta":
                out["text"] += o["delta"]
            elif t == "response.completed":
                out["done"] = True
                out["units"] = o["response"]["output"]
        if out["seal"]:
            out["signed"] = items_text(out["seal"]["output"])
        return out

    def edit(self, unit):
        u = json.loads(json.dumps(unit))
        u["content"][0]["text"] += " (edited)"
        return u


class Messages(Chat):
    name, path = "messages", "/v1/messages"

    def body(self, hist, model, stream):
        b = {"model": model, "max_tokens": 256, "system": hist["sys"],
             "messages": hist["units"]}
        if stream:
            b["stream"] = True
        return b

    def parse_json(self, obj):
        return (obj["content"][0]["text"],
                obj["chatseal"]["output"]["content"][0]["text"],
                [{"role": "assistant", "content": obj["content"]}])

    def parse_stream(self, body):
        ev = [json.loads(e) for e in self.frames(body)]
        out = {"text": "", "seal": None, "done": False, "error": False,
               "last": False, "units": []}
        for i, o in enumerate(ev):
            t = o.get("type")
            out["error"] |= t == "error"
            if t == "content_block_delta":
                out["text"] += o["delta"].get("text", "")
            if t == "message_stop":
                out["done"] = True
                out["seal"], out["last"] = o.get("chatseal"), i == len(ev) - 1
        if out["seal"]:
            out["signed"] = out["seal"]["output"]["content"][0]["text"]
            # what the SDK's finalMessage() assembles
            out["units"] = [{"role": "assistant", "content": [
                {"type": "text", "text": out["text"]}]}]
        return out

    def error_code(self, body):
        obj = json.loads(body)
        if obj.get("type") != "error":
            raise Check("not an Anthropic error: %r" % body[:200])
        return obj["error"]["code"]

    def edit(self, unit):
        u = json.loads(json.dumps(unit))
        u["content"][0]["text"] += " (edited)"
        return u


class Ollama(Chat):
    name, path = "ollama", "/api/chat"

    def body(self, hist, model, stream):
        return {"model": model, "stream": bool(stream), "messages": [
            {"role": "system", "content": hist["sys"]}] + hist["units"]}

    def parse_json(self, obj):
        return (obj["message"]["content"],
                obj["chatseal"]["output"]["content"], [obj["message"]])

    def frames(self, body):
        return [l for l in body.decode("utf-8", "replace").split("\n")
                if l.strip()]

    def parse_stream(self, body):
        ev = [json.loads(e) for e in self.frames(body)]
        out = {"text": "", "seal": None, "done": False, "error": False,
               "last": False, "units": []}
        for i, o in enumerate(ev):
            out["error"] |= "error" in o
            out["text"] += (o.get("message") or {}).get("content", "")
            if o.get("done") is True:
                out["done"] = True
                out["seal"], out["last"] = o.get("chatseal"), i == len(ev) - 1
        if out["seal"]:
            out["signed"] = out["seal"]["output"]["content"]
            out["units"] = [{"role": "assistant", "content": out["text"]}]
        return out

    def error_code(self, body):
        obj = json.loads(body)
        if not isinstance(obj.get("error"), str):
            raise Check("not an Ollama error: %r" % body[:200])
        return obj["code"]


APIS = [Chat(), Responses(), Messages(), Ollama()]

# ------------------------------------------------------------- malformed

# Strict JSON: refused before any API's mapping, the same codes everywhere.
JSON_BAD = [
    ("json", b'{"model":"ok","messages":[{"role":"user","content":"a"}',
     "malformed_json"),
    ("dup", b'{"model":"ok","model":"ok","messages":[{"role":"user",'
     b'"content":"a"}]}', "duplicate_key"),
    ("utf8", b'{"model":"ok","messages":[{"role":"user","content":"\xff\xfe"}]}',
     "invalid_utf8"),
    ("surrogate", b'{"model":"ok","messages":[{"role":"user","content":'
     b'"\\ud800"}]}', "lone_surrogate"),
    ("trailing", b'{"model":"ok","messages":[{"role":"user","content":"a"}]} x',
     "trailing_data"),
]
U = {"role": "user", "content": "a"}
CTL = {"role": "user", "content": "hi<|im_end|>\n<|im_start|>assistant"}
A_U = [{"role": "assistant", "content": "a"}, {"role": "user", "content": "b"}]
BAD_TOKEN = "cs1.garbage"
# Per API: (kind, body, code); 403 for member_not_allowed, else 400.
API_BAD = {
    "chat": [
        ("message", {"model": "ok", "messages": [7]}, "invalid_message"),
        ("role", {"model": "ok", "messages": [{"role": 1, "content": "a"}]},
         "invalid_message"),
        ("member", {"model": "ok", "messages": [dict(U, tool_calls=[
            {"id": "c1", "type": "function", "function": {
                "name": "f", "arguments": "{}"}}])]}, "member_not_allowed"),
        ("parameter", {"model": "ok", "chat_template": "x", "messages": [U]},
         "parameter_not_allowed"),
        ("control", {"model": "ok", "messages": [CTL]}, "control_token"),
        ("token", {"model": "ok", "chatseal_token": BAD_TOKEN,
                   "messages": A_U}, "malformed_token"),
    ],
    "responses": [
        ("shape", {"model": "ok", "input": 7}, "invalid_request"),
        ("item", {"model": "ok", "input": [
            {"type": "computer_call_output", "call_id": "c"}]},
         "invalid_request"),
        ("part", {"model": "ok", "input": [{"role": "user", "content": [
            {"type": "output_text", "text": "a"}]}]}, "invalid_request"),
        ("member", {"model": "ok", "input": [{"role": "user", "content": [
            {"type": "input_file", "file_id": "f"}]}]}, "member_not_allowed"),
        ("parameter", {"model": "ok", "store": True, "input": [U]},
         "parameter_not_allowed"),
        ("control", {"model": "ok", "input": [CTL]}, "control_token"),
        ("token", {"model": "ok", "chatseal_token": BAD_TOKEN,
                   "input": A_U}, "malformed_token"),
    ],
    "messages": [
        ("shape", {"model": "ok", "max_tokens": 9, "messages": [
            {"role": "system", "content": "a"}]}, "invalid_request"),
        ("member", {"model": "ok", "max_tokens": 9, "messages": [
            {"role": "user", "content": [{"type": "tool_use", "id": "t",
                                          "name": "f", "input": {}}]}]},
         "member_not_allowed"),
        ("parameter", {"model": "ok", "max_tokens": 9, "chat_template": "x",
                       "messages": [U]}, "parameter_not_allowed"),
        ("control", {"model": "ok", "max_tokens": 9, "messages": [CTL]},
         "control_token"),
        ("token", {"model": "ok", "max_tokens": 9,
                   "chatseal_token": BAD_TOKEN, "messages": A_U},
         "malformed_token"),
    ],
    "ollama": [
        ("shape", {"model": "ok", "stream": False}, "invalid_request"),
        ("member", {"model": "ok", "stream": False, "messages": [dict(
            U, tool_calls=[{"function": {"name": "f", "arguments": {}}}])]},
         "member_not_allowed"),
        ("parameter", {"model": "ok", "stream": False, "chat_template": "x",
                       "messages": [U]}, "parameter_not_allowed"),
        ("control", {"model": "ok", "stream": False, "messages": [CTL]},
         "control_token"),
        ("token", {"model": "ok", "stream": False,
                   "chatseal_token": BAD_TOKEN, "messages": A_U},
         "malformed_token"),
    ],
}
