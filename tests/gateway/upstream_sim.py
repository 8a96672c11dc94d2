"""upstream_sim.py -- a realistic OpenAI-compatible model server for tests.

The built-in `--upstream mock` and gwtest.Upstream answer with bare
{role, content} messages, which hides what real servers send and what SDKs
then do with it.  This simulator answers POST /v1/chat/completions and
GET /v1/models the way four real server families do, member for member,
quirks included, so the SDK tests see what apps see in production.

Dialect = the request's "model" (any model name containing one of the
names below; otherwise the simulator's default dialect, --dialect):

  openai    mirrors api.openai.com (API reference, "chat completion object"
            and "chunk object"): message {role, content, refusal: null,
            annotations: []}; tool calls with content null; choices carry
            logprobs: null; usage with *_tokens_details; system_fingerprint,
            service_tier.  Streaming: a first delta {role, content: "",
            refusal: null}; tool-call deltas with id/type/name and
            arguments "" first, then the arguments in pieces; a finish
            chunk with an empty delta; with stream_options.include_usage
            every chunk has usage: null and a last chunk has choices: [].
  vllm      mirrors vLLM's OpenAI server (entrypoints/openai/protocol.py,
            serving_chat.py) with a DeepSeek-R1 style reasoning parser:
            message {role, reasoning_content, content, tool_calls: [],
            refusal: null, annotations: null, audio: null,
            function_call: null}; choices carry stop_reason: null; top-level
            prompt_logprobs: null, kv_transfer_params: null.  Streaming: a
            role-only first delta {role, content: ""}, reasoning_content
            deltas, then content deltas; tool calls as {id, type, index,
            function: {name}} (no arguments member) then argument pieces;
            before a tool call the first delta is role-only {role} (a quirk
            the tests must cover; seen from proxies, not confirmed for vLLM).
  llamacpp  mirrors llama.cpp's server (tools/server, --jinja,
            --reasoning-format deepseek): message {role, content,
            reasoning_content}, content null beside tool_calls; "timings"
            at the top level.  Streaming: first delta {role, content: null},
            reasoning_content deltas without content, a finish chunk with an
            empty delta carrying usage and timings (no separate usage chunk:
            captured llama-server streams); SSE lines end in CRLF, as
            sse-starlette (llama-cpp-python and other Python servers) frames
            them -- the one dialect here with CRLF framing.
  ollama    mirrors Ollama's OpenAI compatibility layer (openai/openai.go):
            system_fingerprint "fp_ollama"; message {role, content, reasoning}
            (reasoning only when non-empty); tool calls with content "",
            an `index` inside each call and compact arguments; streaming
            deltas all repeat role "assistant", a tool call arrives whole in
            one chunk, the finish chunk is {role, content: ""}.

Answers are deterministic and driven by the last message: after a tool
result, a sentence quoting it; a user message mentioning "weather" while
the request offers tools, a get_weather call with arguments
'{"city": "<City>"}' (with a space: SDKs re-serialize it); otherwise
"Reply N: ..." where N counts the user messages.  Reasoning dialects think
first ("The user wrote K characters.").  Non-streamed and streamed answers
carry the same message.

Every request received is recorded (method, path, headers, raw body, and
the answer given: {content, reasoning, tool: [name, arguments]}) so tests can
assert exactly what reached the model -- that a forgery never did, and that
every assistant message the model reads back is one it produced.  Control endpoints, never proxied by the gateway:
GET /_sim/requests -> JSON list; POST /_sim/reset clears it.

Use: import and Simulator() (a thread), or run
`python3 upstream_sim.py [--dialect D]`: it prints {"port": N, "url": ...}
on one stdout line and serves until stdin closes or SIGTERM.
Python 3 standard library only; listens on 127.0.0.1 only.
"""

import http.server
import json
import re
import sys
import threading

DIALECTS = ("openai", "vllm", "llamacpp", "ollama")
CREATED = 1764900000


def dialect_of(model, default):
    for d in DIALECTS:
        if d in (model or "").lower().replace(".", "").replace("-", ""):
            return d
    return default


def _text(content):
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts
        return "".join(p.get("text", "") for p in content
                       if isinstance(p, dict))
    return ""


def plan(req):
    """The deterministic answer: {content, reasoning, tool: (name, args)}."""
    msgs = req.get("messages") or []
    last = msgs[-1] if msgs else {}
    users = [m for m in msgs if m.get("role") == "user"]
    utext = _text(users[-1].get("content")) if users else ""
    if last.get("role") == "tool":
        return {"content": f"The tool says: {_text(last.get('content'))}",
                "reasoning": "A tool result arrived.", "tool": None}
    if req.get("tools") and "weather" in utext.lower():
        m = re.search(r"\bin ([A-Z][a-zA-Z]+)", utext)
        args = json.dumps({"city": m.group(1) if m else "Paris"})
        return {"content": None, "reasoning": "A tool is needed.",
                "tool": ("get_weather", args)}
    return {"content": f"Reply {len(users)}: you said \u201c{utext}\u201d.",
            "reasoning": f"The user wrote {len(utext)} characters.",
            "tool": None}


def pieces(text, n=3):
    """Splits text into n roughly equal parts (streamed as deltas)."""
    if not text:
        return []
    step = max(1, -(-len(text) // n))
    return [text[i:i + step] for i in range(0, len(text), step)]


def usage(d):
    u = {"prompt_tokens": 17, "completion_tokens": 9, "total_tokens": 26}
    if d == "openai":
        u["prompt_tokens_details"] = {"cached_tokens": 0, "audio_tokens": 0}
        u["completion_tokens_details"] = {
            "reasoning_tokens": 0, "audio_tokens": 0,
            "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
    elif d == "vllm":
        u["prompt_tokens_details"] = None
    return u


def call_id(d, req):
    n = len(req.get("messages") or [])
    return {"openai": f"call_sim{n:04d}abc", "vllm": f"chatcmpl-tool-{n:04d}",
            "llamacpp": f"llama{n:04d}xyz", "ollama": f"call_{n:04d}ol"}[d]


def message(d, p, req):
    """The non-streamed choices[0].message of dialect d."""
    tool = p["tool"]
    calls = []
    if tool:
        args = tool[1]
        if d == "ollama":  # Go's json.Marshal: compact
            args = json.dumps(json.loads(args), separators=(",", ":"))
        call = {"id": call_id(d, req), "type": "function",
                "function": {"name": tool[0], "arguments": args}}
        if d == "ollama":
            call["index"] = 0
        calls.append(call)
    if d == "openai":
        m = {"role": "assistant", "content": p["content"], "refusal": None,
             "annotations": []}
        if calls:
            m["tool_calls"] = calls
    elif d == "vllm":
        m = {"role": "assistant", "reasoning_content": p["reasoning"],
             "content": p["content"], "tool_calls": calls, "refusal": None,
             "annotations": None, "audio": None, "function_call": None}
    elif d == "llamacpp":
        m = {"role": "assistant", "content": p["content"],
             "reasoning_content": p["reasoning"]}
        if calls:
            m["tool_calls"] = calls
    else:
        m = {"role": "assistant", "content": p["content"] or "",
             "reasoning": p["reasoning"]}
        if calls:
            m["tool_calls"] = calls
    return m


def envelope(d, model, obj, choices):
    out = {"id": f"chatcmpl-sim-{d}", "object": obj, "created": CREATED,
           "model": model, "choices": choices}
    if d == "openai":
        out.update(service_tier="default", system_fingerprint="fp_sim0001")
    elif d == "ollama":
        out["system_fingerprint"] = "fp_ollama"
    elif d == "llamacpp":
        out["system_fingerprint"] = "b6000-sim"
    elif d == "vllm" and obj == "chat.completion":
        out.update(prompt_logprobs=None, kv_transfer_params=None,
                   service_tier=None, system_fingerprint=None)
    return out


def completion(d, p, req):
    finish = "tool_calls" if p["tool"] else "stop"
    choice = {"index": 0, "message": message(d, p, req),
              "finish_reason": finish}
    if d in ("openai", "vllm"):
        choice["logprobs"] = None
    if d == "vllm":
        choice["stop_reason"] = None
    out = envelope(d, req.get("model"), "chat.completion", [choice])
    out["usage"] = usage(d)
    if d == "llamacpp":
        out["timings"] = {"prompt_n": 17, "predicted_n": 9,
                          "predicted_ms": 12.5, "prompt_ms": 3.25}
    return out


def deltas(d, p, req):
    """[(delta, finish_reason)] of a streamed answer, in order."""
    out = []
    role = "assistant"
    if d == "openai":
        first = {"role": role, "content": None if p["tool"] else "",
                 "refusal": None}
    elif d == "vllm":
        # role-only when a tool call follows: a quirk to cover (seen from
        # proxies in front of vLLM; not confirmed for vLLM itself)
        first = {"role": role} if p["tool"] else {"role": role, "content": ""}
    elif d == "llamacpp":
        first = {"role": role, "content": None}
    else:
        first = None  # ollama: every delta carries the role
    tool = p["tool"]
    if d == "openai" and tool:  # the call's head comes with the role
        first["tool_calls"] = [{"index": 0, "id": call_id(d, req),
                                "type": "function", "function": {
                                    "name": tool[0], "arguments": ""}}]
    if first is not None:
        out.append((first, None))
    if d != "openai":
        key = "reasoning" if d == "ollama" else "reasoning_content"
        for r in pieces(p["reasoning"]):
            dl = {key: r}
            if d == "ollama":
                dl = {"role": role, "content": "", key: r}
            out.append((dl, None))
    for c in pieces(p["content"] or ""):
        out.append(({"role": role, "content": c} if d == "ollama"
                    else {"content": c}, None))
    if tool:
        name, args = tool
        if d == "ollama":
            compact = json.dumps(json.loads(args), separators=(",", ":"))
            out.append(({"role": role, "content": "", "tool_calls": [{
                "id": call_id(d, req), "index": 0, "type": "function",
                "function": {"name": name, "arguments": compact}}]}, None))
        else:
            if d == "vllm":
                out.append(({"tool_calls": [{
                    "id": call_id(d, req), "type": "function", "index": 0,
                    "function": {"name": name}}]}, None))
            elif d == "llamacpp":
                out.append(({"tool_calls": [{
                    "index": 0, "id": call_id(d, req), "type": "function",
                    "function": {"name": name, "arguments": ""}}]}, None))
            for a in pieces(args, 4):
                out.append(({"tool_calls": [{
                    "index": 0, "function": {"arguments": a}}]}, None))
    finish = "tool_calls" if tool else "stop"
    last = {"openai": {}, "vllm": {"content": ""}, "llamacpp": {},
            "ollama": {"role": role, "content": ""}}[d]
    out.append((last, finish))
    return out


def stream_events(d, p, req):
    """The data: payloads (JSON text) of a streamed answer, [DONE] last."""
    model = req.get("model")
    with_usage = bool((req.get("stream_options") or {}).get("include_usage"))
    events = []
    for delta, finish in deltas(d, p, req):
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        if d in ("openai", "vllm"):
            choice["logprobs"] = None
        if d == "vllm" and finish:
            choice["stop_reason"] = None
        ev = envelope(d, model, "chat.completion.chunk", [choice])
        if d == "openai" and with_usage:
            ev["usage"] = None
        if d == "openai":
            ev["obfuscation"] = "sImX"
        if d == "llamacpp" and finish:  # usage and timings ride the finish
            ev["usage"] = usage(d)
            ev["timings"] = {"prompt_n": 17, "predicted_n": 9}
        events.append(json.dumps(ev))
    if with_usage and d != "llamacpp":
        ev = envelope(d, model, "chat.completion.chunk", [])
        ev["usage"] = usage(d)
        events.append(json.dumps(ev))
    events.append("[DONE]")
    return events


def models(d):
    entry = {"id": f"sim-{d}", "object": "model", "created": CREATED,
             "owned_by": {"openai": "system", "vllm": "vllm",
                          "llamacpp": "llamacpp", "ollama": "library"}[d]}
    if d == "vllm":
        entry.update(root=f"sim-{d}", parent=None, max_model_len=32768,
                     permission=[])
    out = {"object": "list", "data": [entry]}
    if d == "llamacpp":
        entry["meta"] = {"n_ctx_train": 32768, "n_params": 1000}
    return out


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _record(self, body):
        sim = self.server.sim
        entry = {"method": self.command, "path": self.path,
                 "headers": {k.lower(): v for k, v in self.headers.items()},
                 "body": body.decode("utf-8", "replace"), "answer": None}
        with sim.lock:
            sim.requests.append(entry)
        return entry

    def do_GET(self):
        if self.path == "/_sim/requests":
            with self.server.sim.lock:
                return self._send(200, list(self.server.sim.requests))
        self._record(b"")
        if self.path.split("?")[0] == "/v1/models":
            return self._send(200, models(self.server.sim.dialect))
        self._send(404, {"error": {"message": "not found",
                                   "type": "invalid_request_error"}})

    def do_POST(self):
        body = self._body()
        if self.path == "/_sim/reset":
            with self.server.sim.lock:
                self.server.sim.requests.clear()
            return self._send(200, {"ok": True})
        entry = self._record(body)
        if self.path.split("?")[0] != "/v1/chat/completions":
            return self._send(404, {"error": {"message": "not found",
                                              "type": "invalid_request_error"}})
        try:
            req = json.loads(body)
            assert isinstance(req.get("messages"), list) and req["messages"]
        except (ValueError, AssertionError):
            return self._send(400, {"error": {
                "message": "messages required", "type": "invalid_request_error",
                "code": None}})
        d = dialect_of(req.get("model"), self.server.sim.dialect)
        p = plan(req)
        with self.server.sim.lock:
            entry["answer"] = p
        if not req.get("stream"):
            return self._send(200, completion(d, p, req))
        eol = b"\r\n" if d == "llamacpp" else b"\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for ev in stream_events(d, p, req):
            data = b"data: " + ev.encode() + eol + eol
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client hanging up is not the simulator's failure


class Simulator:
    """The simulator on 127.0.0.1:<free port>, served by a thread."""

    def __init__(self, dialect="openai"):
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

    def chat_bodies(self):
        with self.lock:
            return [json.loads(r["body"]) for r in self.requests
                    if r["path"].startswith("/v1/chat/completions")]

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def main(argv):
    dialect = "openai"
    if len(argv) >= 2 and argv[0] == "--dialect":
        dialect = argv[1]
    sim = Simulator(dialect)
    print(json.dumps({"port": sim.port, "url": sim.url}), flush=True)
    try:
        sys.stdin.read()  # until the parent closes our stdin (or dies)
    except KeyboardInterrupt:
        pass
    sim.stop()


if __name__ == "__main__":
    import signal
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    main(sys.argv[1:])
