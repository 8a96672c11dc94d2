"""sim_messages.py -- an upstream speaking the Anthropic Messages API
(POST /v1/messages) the way three real servers do, for the gateway's tests.

Dialect = the request's "model" (any model name containing one of the names
below; otherwise the simulator's default dialect):

  anthropic  mirrors api.anthropic.com (docs: "Messages", "Streaming
             Messages", "Extended thinking"): a message object {id, type,
             role, model, content, stop_reason, stop_sequence, usage}; text
             blocks without "citations" (the AI SDK's schema refuses a
             null there, so the API leaves it out); thinking blocks carry an opaque
             "signature" that the server CHECKS when the block comes back
             (an altered one is 400 invalid_request_error, as Anthropic
             does), redacted_thinking blocks an opaque "data" (model names
             containing "redacted").  Streaming: named events
             (`event: X` + `data: {"type": X}`), message_start with the
             message and its usage, a ping right after it and another one
             between deltas, thinking as {"type":"thinking","thinking":""}
             + thinking_delta + one signature_delta before its stop,
             tool_use starting with "input": {} then input_json_delta pieces
             (the first one "", as the API sends), message_delta with
             stop_reason/stop_sequence and usage, message_stop.
  vllm       mirrors vLLM's /v1/messages (vllm/entrypoints/anthropic/
             serving_messages.py): message_start's message holds only
             {id, content: [], model} with usage beside it at the top level
             (pydantic exclude_unset); no ping; a text block is opened
             (text "") before a tool call; content_block_stop comes late, at
             the usage chunk; message_delta has no stop_sequence; after
             message_stop a nameless `data: [DONE]`.  Non-streamed content
             always starts with a text block (text "" beside tool calls).
             No thinking (vLLM's Anthropic path drops reasoning).
  ollama     mirrors Ollama's /v1/messages (anthropic/anthropic.go): Go
             omitempty shapes (no stop_sequence, no citations), thinking
             blocks WITHOUT a signature, no ping, a tool call's input in one
             input_json_delta, errors with a request_id.

Quirks common to all: SSE frames are written in two TCP writes cut inside a
multi-byte character when the event has one (so the gateway's reader sees
a character split across frames).  Special models: "overloaded" answers 529
overloaded_error; "midstream-error" sends an error event after the first
text delta; "cutstream" stops without message_stop.

Answers are deterministic, driven by the last message: after tool_result
blocks "The tool said: <their text>"; a user text mentioning "weather" while
tools are offered, a call of the first tool with {"city": "Paris"}; else
"Reply N: café ☕ 😀 <echo>" where N counts the user messages.  With
"thinking": {"type": "enabled"} the anthropic and ollama dialects think
first ("The user wrote K characters.").

Every request is recorded (method, path, headers, raw body, answer) so the
tests assert what reached the model.  Control endpoints (never proxied):
GET /_sim/requests, POST /_sim/reset.  Run as a program it prints
{"port": N, "url": ...} on one line and serves until stdin closes.
Python 3 standard library only; listens on 127.0.0.1 only.
"""

import base64
import hashlib
import http.server
import json
import sys
import threading

DIALECTS = ("anthropic", "vllm", "ollama")
SECRET = b"sim-messages-signing"  # what "signs" thinking (opaque to others)


def dialect_of(model, default):
    m = (model or "").lower()
    for d in DIALECTS:
        if d in m:
            return d
    return default


def signature(text):
    return base64.b64encode(
        hashlib.sha256(SECRET + text.encode()).digest()).decode()


def block_text(content):
    if isinstance(content, str):
        return content
    out = []
    for b in content or []:
        if isinstance(b, dict) and b.get("type") == "text":
            out.append(b.get("text", ""))
    return " ".join(out)


def check_thinking(req):
    """Anthropic rejects thinking blocks whose signature is not its own."""
    for i, m in enumerate(req.get("messages", [])):
        if m.get("role") != "assistant" or not isinstance(m.get("content"),
                                                           list):
            continue
        for b in m["content"]:
            if b.get("type") == "thinking" and "signature" in b and \
                    b["signature"] != signature(b.get("thinking", "")):
                return f"messages.{i}.content: Invalid `signature` in " \
                       f"`thinking` block"
            if b.get("type") == "redacted_thinking" and \
                    b.get("data") != "opaque-" + signature("redacted")[:16]:
                return f"messages.{i}.content: Invalid `data` in " \
                       f"`redacted_thinking` block"
    return None


def plan(req, d):
    msgs = req.get("messages") or []
    last = msgs[-1] if msgs else {}
    content = last.get("content")
    results = [b for b in content if isinstance(b, dict)
               and b.get("type") == "tool_result"] if isinstance(
                   content, list) else []
    p = {"thinking": None, "redacted": False, "text": None, "tool": None}
    think = (req.get("thinking") or {}).get("type") == "enabled"
    said = block_text(content)
    if think and d != "vllm":
        p["thinking"] = f"The user wrote {len(said)} characters."
    if think and d == "anthropic" and "redacted" in req.get("model", ""):
        p["redacted"] = True
    if results:
        p["text"] = "The tool said: " + " ".join(
            block_text(r.get("content")) for r in results)
    elif req.get("tools") and "weather" in said.lower():
        p["tool"] = [req["tools"][0]["name"], {"city": "Paris"}]
    else:
        n = sum(1 for m in msgs if m.get("role") == "user")
        p["text"] = f"Reply {n}: caf\u00e9 \u2615 \U0001F600 {said[:80]}"
    return p


def tool_id(req):
    h = hashlib.sha256(json.dumps(req, sort_keys=True).encode()).hexdigest()
    return "toolu_sim_" + h[:16]


def blocks(d, p, req):
    out = []
    if p["redacted"]:
        out.append({"type": "redacted_thinking",
                    "data": "opaque-" + signature("redacted")[:16]})
    if p["thinking"]:
        b = {"type": "thinking", "thinking": p["thinking"]}
        if d == "anthropic":
            b["signature"] = signature(p["thinking"])
        out.append(b)
    if p["text"] is not None:
        out.append({"type": "text", "text": p["text"]})
    if p["tool"]:
        if d == "vllm":
            out.append({"type": "text", "text": ""})
        out.append({"type": "tool_use", "id": tool_id(req),
                    "name": p["tool"][0], "input": p["tool"][1]})
    return out


def message(d, p, req):
    stop = "tool_use" if p["tool"] else "end_turn"
    m = {"id": "msg_sim_" + tool_id(req)[10:], "type": "message",
         "role": "assistant", "model": req.get("model", ""),
         "content": blocks(d, p, req), "stop_reason": stop,
         "stop_sequence": None,
         "usage": {"input_tokens": 10, "output_tokens": 5}}
    if d == "ollama":
        del m["stop_sequence"]
    return m


def pieces(text, n=3):
    k = max(1, -(-len(text) // n))
    return [text[i:i + k] for i in range(0, len(text), k)] or [""]


def stream(d, p, req):
    """[(event name or None, data object or raw text)]"""
    ev = []
    msg = message(d, p, req)
    if d == "vllm":
        ev.append(("message_start", {"type": "message_start", "message": {
            "id": msg["id"], "content": [], "model": msg["model"]},
            "usage": {"input_tokens": 10, "output_tokens": 0}}))
    else:
        start = dict(msg, content=[], stop_reason=None)
        if d == "ollama":
            del start["stop_reason"]
        else:
            start["stop_sequence"] = None
        ev.append(("message_start", {"type": "message_start",
                                     "message": start}))
    if d == "anthropic":
        ev.append(("ping", {"type": "ping"}))

    def delta(i, dl):
        ev.append(("content_block_delta", {"type": "content_block_delta",
                                           "index": i, "delta": dl}))

    def stop(i):
        ev.append(("content_block_stop", {"type": "content_block_stop",
                                          "index": i}))
    late_stop = None
    for i, b in enumerate(msg["content"]):
        t = b["type"]
        if t == "redacted_thinking":
            ev.append(("content_block_start", {"type": "content_block_start",
                                               "index": i,
                                               "content_block": b}))
            stop(i)
            continue
        if t == "thinking":
            ev.append(("content_block_start", {
                "type": "content_block_start", "index": i,
                "content_block": {"type": "thinking", "thinking": ""}}))
            for s in pieces(b["thinking"]):
                delta(i, {"type": "thinking_delta", "thinking": s})
            if "signature" in b:
                delta(i, {"type": "signature_delta",
                          "signature": b["signature"]})
            stop(i)
        elif t == "text":
            cb = {"type": "text", "text": ""}
            ev.append(("content_block_start", {"type": "content_block_start",
                                               "index": i,
                                               "content_block": cb}))
            for k, s in enumerate(pieces(b["text"], 4) if b["text"] else []):
                delta(i, {"type": "text_delta", "text": s})
                if k == 0 and "midstream-error" in req.get("model", ""):
                    ev.append(("error", {"type": "error", "error": {
                        "type": "overloaded_error",
                        "message": "Overloaded"}}))
                    return ev
                if k == 1 and d == "anthropic":
                    ev.append(("ping", {"type": "ping"}))
            if d == "vllm" and i == len(msg["content"]) - 1:
                late_stop = i  # vLLM closes the last block at the usage chunk
            else:
                stop(i)
        elif t == "tool_use":
            ev.append(("content_block_start", {
                "type": "content_block_start", "index": i,
                "content_block": {"type": "tool_use", "id": b["id"],
                                  "name": b["name"], "input": {}}}))
            text = json.dumps(b["input"], separators=(",", ":")) \
                if d == "ollama" else json.dumps(b["input"])
            parts = [text] if d == "ollama" else [""] + pieces(text)
            for s in parts:
                delta(i, {"type": "input_json_delta", "partial_json": s})
            if d == "vllm":
                late_stop = i
            else:
                stop(i)
    if "cutstream" in req.get("model", ""):
        return ev
    if late_stop is not None:
        stop(late_stop)
    md = {"type": "message_delta", "delta": {"stop_reason":
                                             msg["stop_reason"]},
          "usage": {"output_tokens": 5}}
    if d == "anthropic":
        md["delta"]["stop_sequence"] = None
    else:
        md["usage"]["input_tokens"] = 10
    ev.append(("message_delta", md))
    ev.append(("message_stop", {"type": "message_stop"}))
    if d == "vllm":
        ev.append((None, "[DONE]"))
    return ev


def frame(name, data):
    text = data if isinstance(data, str) else json.dumps(data,
                                                         ensure_ascii=False)
    head = f"event: {name}\n" if name else ""
    return (head + "data: " + text + "\n\n").encode()


def split_point(raw):
    """An offset inside a multi-byte character, or None."""
    for i, c in enumerate(raw):
        if c >= 0xC0:  # a lead byte: cut right after it
            return i + 1
    return None


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def _send(self, status, obj):
        data = json.dumps(obj, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status, etype, msg, d="anthropic"):
        body = {"type": "error", "error": {"type": etype, "message": msg}}
        if d == "ollama":
            body["request_id"] = "req_sim"
        self._send(status, body)

    def _chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def do_GET(self):
        if self.path == "/_sim/requests":
            with self.server.sim.lock:
                return self._send(200, list(self.server.sim.requests))
        self._error(404, "not_found_error", "not found")

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        sim = self.server.sim
        if self.path == "/_sim/reset":
            with sim.lock:
                sim.requests.clear()
            return self._send(200, {"ok": True})
        entry = {"method": self.command, "path": self.path,
                 "headers": {k.lower(): v for k, v in self.headers.items()},
                 "body": body.decode("utf-8", "replace"), "answer": None}
        with sim.lock:
            sim.requests.append(entry)
        if self.path.split("?")[0] != "/v1/messages":
            return self._error(404, "not_found_error", "not found")
        try:
            req = json.loads(body)
            assert isinstance(req.get("messages"), list) and req["messages"]
            assert isinstance(req.get("max_tokens"), int)
        except (ValueError, AssertionError):
            return self._error(400, "invalid_request_error",
                               "messages and an integer max_tokens required")
        d = dialect_of(req.get("model"), sim.dialect)
        if "overloaded" in req.get("model", ""):
            return self._error(529, "overloaded_error", "Overloaded", d)
        bad = check_thinking(req) if d == "anthropic" else None
        if bad:
            return self._error(400, "invalid_request_error", bad, d)
        p = plan(req, d)
        with sim.lock:
            entry["answer"] = p
        if not req.get("stream"):
            return self._send(200, message(d, p, req))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for name, data in stream(d, p, req):
            raw = frame(name, data)
            cut = split_point(raw)
            if cut:
                self._chunk(raw[:cut])
                self._chunk(raw[cut:])
            else:
                self._chunk(raw)
        self._chunk(b"")


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client hanging up is not the simulator's failure


class Simulator:
    """The simulator on 127.0.0.1:<free port>, served by a thread."""

    def __init__(self, dialect="anthropic"):
        assert dialect in DIALECTS, dialect
        self.dialect = dialect
        self.requests = []
        self.lock = threading.Lock()
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.sim = self
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()

    def bodies(self):
        with self.lock:
            return [json.loads(r["body"]) for r in self.requests
                    if r["path"].startswith("/v1/messages")]

    def last(self):
        with self.lock:
            return self.requests[-1] if self.requests else None

    def reset(self):
        with self.lock:
            self.requests.clear()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def main(argv):
    dialect = argv[1] if len(argv) >= 2 and argv[0] == "--dialect" \
        else "anthropic"
    sim = Simulator(dialect)
    print(json.dumps({"port": sim.port, "url": sim.url}), flush=True)
    try:
        sys.stdin.read()
    except KeyboardInterrupt:
        pass
    sim.stop()


if __name__ == "__main__":
    import signal
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    main(sys.argv[1:])
