"""sim_ollama.py -- an upstream simulator speaking Ollama's native
POST /api/chat, for the gateway's Ollama tests (test_ollama.py, and
sdk/ollama.mjs through its command line).

What it mirrors (Ollama's docs/api.md "Generate a chat completion", its
server's api/types.go ChatRequest/ChatResponse/Message/ToolCall and
server/routes.go ChatHandler + streamResponse):

  - `stream` is true unless the request says false;
  - a stream is `Content-Type: application/x-ndjson`, chunked, one JSON
    object per line, each written as Go's json.Marshal output plus "\\n":
    compact, members in struct order (model, created_at, message, done,
    done_reason, then the metrics), and Go's HTML-safe escaping of `<`, `>`,
    `&` (\\u003c ...) and of U+2028/U+2029;
  - every line but the last has "done": false and a message fragment:
    `content` (always present, "" when empty: the Go field has no
    omitempty), `thinking` pieces first when the request asks `think`;
    tool calls arrive whole in one line, as the server's tool parser emits
    them: `{"id":"call_...","function":{"index":0,"name":...,"arguments":
    {...}}}` (current versions; model "noid" gives the older shape, no id
    and no index);
  - the last line is `"done": true` with `done_reason` ("stop") and the
    metrics: total_duration, load_duration, prompt_eval_count,
    prompt_eval_duration, eval_count, eval_duration (nanoseconds);
  - a non-streamed reply is the same object with the whole message,
    `Content-Type: application/json; charset=utf-8`;
  - errors are `{"error": "..."}`: 404 for an unknown model ("model \\"x\\"
    not found, try pulling it first"), and mid-stream as one more line
    (the runner failing while it writes).

The text echoes the last user message with characters of 2, 3 and 4 bytes,
so a split frame cuts a UTF-8 sequence.  The request's "model" picks the
behaviour:

  any       the answer above (a tool call of get_weather when `tools` are
            offered and the last user message mentions "weather"; after a
            tool message, the tool's answer reported)
  noid      tool calls in the older shape (no id, no function.index)
  split     frames cut every 5 bytes, inside lines and UTF-8 sequences
  errmid    one content line, then an error line, then the end
  cut       content lines and no done line
  after     a line after the done line
  forged    a done line that already carries a "chatseal" member
  missing   404 with Ollama's error body
  sse       the lines as SSE events (text/event-stream): not Ollama's format

Every request is recorded (path, headers, body).  Command line: prints
{"port","url"} and serves until stdin closes; GET /_sim/requests gives the
record, POST /_sim/reset clears it.  Python 3 standard library only.
"""

import http.server
import json
import sys
import threading
import time


def go_json(obj):
    """json.Marshal's bytes: compact, HTML-safe escapes, UTF-8."""
    s = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    for a, b in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                 ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        s = s.replace(a, b)
    return s.encode("utf-8")


def created_at():
    t = time.time_ns()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t // 10**9)) + \
        f".{t % 10**9:09d}Z"


def last_of(messages, role):
    for m in reversed(messages or []):
        if isinstance(m, dict) and m.get("role") == role:
            return m
    return None


class Turn:
    """What the model answers to one request."""

    def __init__(self, req, n):
        self.model = req.get("model") or "llama3.2"
        msgs = req.get("messages") or []
        last = msgs[-1] if msgs else {}
        said = str((last_of(msgs, "user") or {}).get("content", ""))[:120]
        self.thinking = ""
        if req.get("think") not in (None, False):
            self.thinking = f"The user said «{said}»; answer kindly."
        self.calls = None
        if last.get("role") == "tool":
            self.text = f"The tool says: {last.get('content', '')} (€ 🙂)"
        elif req.get("tools") and "weather" in said.lower():
            call = {"id": f"call_{n:08x}",
                    "function": {"index": 0, "name": "get_weather",
                                 "arguments": {"city": "Paris",
                                               "unit": "celsius",
                                               "days": 2}}}
            if self.model == "noid":
                call = {"function": {"name": "get_weather",
                                     "arguments": call["function"]
                                     ["arguments"]}}
            self.calls = [call]
            self.text = ""
        else:
            self.text = (f"You said «{said}». Ünïcödé: é € 🙂 <b>&amp;</b> "
                         f"turn {sum(1 for m in msgs if m.get('role') == 'user')}.")

    def line(self, message, done=False, n=0):
        out = {"model": self.model, "created_at": created_at(),
               "message": message, "done": done}
        if done:
            out.update({"done_reason": "stop", "total_duration": 912345678,
                        "load_duration": 1234567, "prompt_eval_count": 26,
                        "prompt_eval_duration": 130079000,
                        "eval_count": n, "eval_duration": 423271000})
        return out

    def whole(self):
        m = {"role": "assistant", "content": self.text}
        if self.thinking:
            m["thinking"] = self.thinking
        if self.calls:
            m["tool_calls"] = self.calls
        return self.line(m, True, 42)

    def lines(self):
        out = []
        for w in _words(self.thinking):
            out.append(self.line({"role": "assistant", "content": "",
                                  "thinking": w}))
        if self.calls:
            out.append(self.line({"role": "assistant", "content": "",
                                  "tool_calls": self.calls}))
        for w in _words(self.text):
            out.append(self.line({"role": "assistant", "content": w}))
        done = self.line({"role": "assistant", "content": ""}, True,
                         len(out))
        if self.model == "errmid":
            return out[:1] + [{"error": "an error was encountered while "
                                        "running the model: unexpected EOF"}]
        if self.model == "cut":
            return out
        if self.model == "forged":
            done["chatseal"] = {"token": "cs1.forged"}
        out.append(done)
        if self.model == "after":
            out.append(self.line({"role": "assistant", "content": "late"}))
        return out


def _words(text):
    out, cur = [], ""
    for ch in text:
        cur += ch
        if ch == " ":
            out.append(cur)
            cur = ""
    if cur:
        out.append(cur)
    return out


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def _send(self, status, body, ctype="application/json; charset=utf-8"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def do_GET(self):
        sim = self.server.sim
        if self.path == "/_sim/requests":
            with sim.lock:
                self._send(200, json.dumps(sim.requests).encode())
        else:
            self._send(404, go_json({"error": "404 page not found"}))

    def do_POST(self):
        sim = self.server.sim
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        if self.path == "/_sim/reset":
            with sim.lock:
                sim.requests.clear()
            return self._send(200, b"{}")
        with sim.lock:
            sim.requests.append({"path": self.path,
                                 "headers": dict(self.headers.items()),
                                 "body": raw.decode("utf-8", "replace")})
            count = len(sim.requests)
        if self.path != "/api/chat":
            return self._send(404, go_json({"error": "404 page not found"}))
        try:
            req = json.loads(raw)
        except ValueError:
            return self._send(400, go_json({"error": "invalid character"}))
        if req.get("model") == "missing":
            return self._send(404, go_json(
                {"error": 'model "missing" not found, try pulling it first'}))
        turn = Turn(req, count)
        if req.get("stream", True) is False:
            return self._send(200, go_json(turn.whole()))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream"
                         if turn.model == "sse" else "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        lines = [go_json(x) + b"\n" for x in turn.lines()]
        if turn.model == "sse":
            lines = [b"data: " + x + b"\n" for x in lines]
        if turn.model == "split":
            data = b"".join(lines)
            for i in range(0, len(data), 5):
                self._chunk(data[i:i + 5])
        else:
            for x in lines:
                self._chunk(x)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        self.close_connection = True


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # a client hanging up is not the simulator's failure


class OllamaSim:
    """The simulator on 127.0.0.1:<free port>, served by a thread."""

    def __init__(self):
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
                    if r["path"] == "/api/chat"]

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def main():
    sim = OllamaSim()
    print(json.dumps({"port": sim.port, "url": sim.url}), flush=True)
    try:
        sys.stdin.read()  # until the parent closes our stdin (or dies)
    except KeyboardInterrupt:
        pass
    sim.stop()


if __name__ == "__main__":
    import signal
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    main()
