"""soak_upstream.py -- the parts of bench/soak.py that are not the clients:
the model server the soak puts behind `chatseal serve` (a threaded stdlib
HTTP server whose behaviour the request's "model" selects, so every client
knows in advance the complete reply, or which fault, it asked for), raw HTTP
helpers (SSE parsing, a raw response splitter) and the /proc readers (RSS
and CPU time of the gateway).  Kept apart so that soak.py stays readable;
see soak.py for what the behaviours are for.

The server answers on each API's path in that API's wire format (the
request path picks it, as the gateway forwards on the client's path):
  /v1/chat/completions  Chat Completions: chunks, finish_reason, [DONE]
  /v1/responses         OpenAI Responses: named events with sequence
                        numbers, response.created ... output_text.delta ...
                        response.completed carrying the whole response, no
                        [DONE] (as tests/gateway/sim_responses.py, openai
                        dialect, without its optional items)
  /v1/messages          Anthropic Messages: message_start, ping,
                        content_block_start/delta/stop, message_delta,
                        message_stop; errors as an `event: error`
                        (as tests/gateway/sim_messages.py, anthropic dialect)
  /api/chat             Ollama: NDJSON lines, the last one "done": true
                        with the durations; errors as {"error": "..."}
                        (as tests/gateway/sim_ollama.py)
The faults are the same on every path, each in the API's own shape.

Python 3 standard library only.
"""
import collections
import http.server
import json
import os
import socket
import threading
import time

# ------------------------------------------------------------------ upstream


def echo_text(messages):
    """The reply to a history: its last user text echoed.  messages: any
    API's history list (Responses input items, Anthropic or Ollama
    messages), content a string or parts with "text", as the gateway
    forwards them and as the clients keep them."""
    for m in reversed(messages):
        if m.get("role") != "user":
            continue
        c = m.get("content")
        if isinstance(c, list):
            c = "".join(p.get("text", "") for p in c if isinstance(p, dict))
        if isinstance(c, str):
            return "echo: " + c
    return "echo:"


API_OF_PATH = {"/v1/chat/completions": "chat", "/v1/responses": "responses",
               "/v1/messages": "messages", "/api/chat": "ollama"}


def history_of(api, req):
    if api == "responses":
        inp = req.get("input", [])
        return [{"role": "user", "content": inp}] if isinstance(inp, str) else inp
    return req.get("messages", [])


def chunk(delta, finish=None):
    return {"id": "chatcmpl-soak", "object": "chat.completion.chunk",
            "created": 1767225600, "model": "soak",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


# slong streams that ended on the upstream's side (written out, or broken by
# the gateway hanging up), by their echo text
ENDED = collections.defaultdict(threading.Event)
# when the upstream got each request and finished its answer (monotonic
# seconds), by echo text: when a turn fails, the client can tell "the
# upstream answered late" from "the request never reached it"
SEEN = {}


class UpHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def setup(self):
        super().setup()
        # http.server writes the head and the body in two sends: with Nagle
        # on, the second waits for the gateway's delayed ACK (40 ms a reply)
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send_json(self, status, obj, cut=None):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if cut is None:
            self.wfile.write(data)
            return
        self.wfile.write(data[:cut])
        self.wfile.flush()
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    def chunked(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        req = json.loads(body)
        api = API_OF_PATH.get(self.path.split("?")[0], "chat")
        w = WIRE[api]
        model = req.get("model")
        text = echo_text(history_of(api, req))
        if model == "f500":
            return self.send_json(500, w.fault_body())
        if model == "fstall":
            time.sleep(3)
        if model in ("ok", "fcut", "fstall"):
            t0 = time.monotonic()
            self.send_json(200, w.reply(model, text),
                           cut=20 if model == "fcut" else None)
            if len(SEEN) > 20000:  # only the latest few matter
                SEEN.clear()
            SEEN[text] = (t0, time.monotonic())
            return
        self.send_response(200)
        self.send_header("Content-Type", w.ctype)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        words = text.split(" ")
        pieces = [x + " " for x in words[:-1]] + [words[-1]]
        if model == "slong":
            pieces = pieces * 20
        try:
            self.stream(w(model), model, pieces)
        finally:
            if model == "slong":  # tell the client its stream is over here
                ENDED[text].set()

    def stream(self, w, model, pieces):
        for f in w.start():
            self.chunked(f)
        half = len(pieces) // 2
        for i, p in enumerate(pieces):
            if i == half and model in ("scut", "sstall", "sbad", "serr"):
                if model == "scut":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if model == "sstall":
                    time.sleep(3)
                    return
                self.chunked(w.bad() if model == "sbad" else w.error())
                self.wfile.write(b"0\r\n\r\n")
                return
            self.chunked(w.piece(p))
            if model == "slong":
                time.sleep(0.02)
        for f in w.end("".join(pieces)):
            self.chunked(f)
        self.wfile.write(b"0\r\n\r\n")


# ------------------------------------------------------- wire formats --
# One class per API: reply(model, text) the JSON reply, fault_body() the
# injected 500's body; an instance per stream: start(), piece(p), end(text)
# the frames of a clean stream, bad() a malformed frame, error() the API's
# own error event.


def sse(obj, name=None):
    head = ("event: %s\n" % name).encode() if name else b""
    raw = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return head + b"data: " + raw + b"\n\n"


class ChatWire:
    ctype = "text/event-stream"

    def __init__(self, model):
        self.model = model

    @staticmethod
    def fault_body():
        return {"error": {"message": "injected", "type": "server_error",
                          "code": "injected_fault"}}

    @staticmethod
    def reply(model, text):
        return {"id": "chatcmpl-soak", "object": "chat.completion",
                "created": 1767225600, "model": model,
                "choices": [{"index": 0, "finish_reason": "stop", "message": {
                    "role": "assistant", "content": text}}],
                "usage": {"prompt_tokens": 3, "completion_tokens": 2,
                          "total_tokens": 5}}

    def start(self):
        return [sse(chunk({"role": "assistant", "content": ""}))]

    def piece(self, p):
        return sse(chunk({"content": p}))

    def end(self, text):
        return [sse(chunk({}, "stop")), sse(b"[DONE]")]

    def bad(self):
        return sse(b'{"choices":[{"index":0,"delta":{"content":"x"')

    def error(self):
        return sse(self.fault_body())


class ResponsesWire(ChatWire):
    def __init__(self, model):
        self.model, self.seq = model, 0

    @staticmethod
    def item(text, status="completed"):
        return {"type": "message", "id": "msg_soak", "status": status,
                "role": "assistant",
                "content": [] if text is None else [{
                    "type": "output_text", "text": text, "annotations": [],
                    "logprobs": []}]}

    @staticmethod
    def reply(model, text, status="completed"):
        return {"id": "resp_soak", "object": "response",
                "created_at": 1767225600, "status": status, "error": None,
                "model": model, "store": False,
                "output": [] if text is None else [ResponsesWire.item(text)],
                "usage": None if text is None else {
                    "input_tokens": 3, "output_tokens": 2, "total_tokens": 5}}

    def ev(self, obj):
        obj = dict(obj, sequence_number=self.seq)
        self.seq += 1
        return sse(obj, obj["type"])

    def part(self):
        return {"item_id": "msg_soak", "output_index": 0, "content_index": 0}

    def start(self):
        r = self.reply(self.model, None, "in_progress")
        return [self.ev({"type": "response.created", "response": r}),
                self.ev({"type": "response.in_progress", "response": r}),
                self.ev({"type": "response.output_item.added",
                         "output_index": 0,
                         "item": self.item(None, "in_progress")}),
                self.ev(dict(self.part(), type="response.content_part.added",
                             part={"type": "output_text", "text": "",
                                   "annotations": [], "logprobs": []}))]

    def piece(self, p):
        return self.ev(dict(self.part(), type="response.output_text.delta",
                            delta=p, logprobs=[],
                            obfuscation="AbC123"[:len(p) % 6 + 1]))

    def end(self, text):
        it = self.item(text)
        return [self.ev(dict(self.part(), type="response.output_text.done",
                             text=text, logprobs=[])),
                self.ev(dict(self.part(), type="response.content_part.done",
                             part=it["content"][0])),
                self.ev({"type": "response.output_item.done",
                         "output_index": 0, "item": it}),
                self.ev({"type": "response.completed",
                         "response": self.reply(self.model, text)})]

    def bad(self):
        return sse(b'{"type":"response.output_text.delta","delta":"x"',
                   "response.output_text.delta")

    def error(self):
        return self.ev({"type": "error", "code": "injected_fault",
                        "message": "injected", "param": None})


class MessagesWire(ChatWire):
    @staticmethod
    def fault_body():
        return {"type": "error", "error": {"type": "api_error",
                                           "message": "injected"}}

    @staticmethod
    def reply(model, text):
        return {"id": "msg_soak", "type": "message", "role": "assistant",
                "model": model, "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn", "stop_sequence": None,
                "usage": {"input_tokens": 3, "output_tokens": 2}}

    def start(self):
        m = dict(self.reply(self.model, ""), content=[], stop_reason=None)
        return [sse({"type": "message_start", "message": m}, "message_start"),
                sse({"type": "ping"}, "ping"),
                sse({"type": "content_block_start", "index": 0,
                     "content_block": {"type": "text", "text": ""}},
                    "content_block_start")]

    def piece(self, p):
        return sse({"type": "content_block_delta", "index": 0,
                    "delta": {"type": "text_delta", "text": p}},
                   "content_block_delta")

    def end(self, text):
        return [sse({"type": "content_block_stop", "index": 0},
                    "content_block_stop"),
                sse({"type": "message_delta", "delta": {
                    "stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": 2}}, "message_delta"),
                sse({"type": "message_stop"}, "message_stop")]

    def bad(self):
        return sse(b'{"type":"content_block_delta","index":0,"delta":{',
                   "content_block_delta")

    def error(self):
        return sse(self.fault_body(), "error")


class OllamaWire(ChatWire):
    ctype = "application/x-ndjson"

    @staticmethod
    def fault_body():
        return {"error": "injected"}

    @staticmethod
    def line(model, content, done=False):
        out = {"model": model, "created_at": "2026-01-01T00:00:00.000000Z",
               "message": {"role": "assistant", "content": content},
               "done": done}
        if done:
            out.update(done_reason="stop", total_duration=912345678,
                       load_duration=1234567, prompt_eval_count=3,
                       eval_count=2, eval_duration=423271000)
        return out

    @staticmethod
    def reply(model, text):
        return OllamaWire.line(model, text, True)

    def start(self):
        return []

    def piece(self, p):
        return json.dumps(self.line(self.model, p)).encode() + b"\n"

    def end(self, text):
        return [json.dumps(self.line(self.model, "", True)).encode() + b"\n"]

    def bad(self):
        return b'{"model":"x","message":{"role":"assistant","content":\n'

    def error(self):
        return json.dumps(self.fault_body()).encode() + b"\n"


WIRE = {"chat": ChatWire, "responses": ResponsesWire,
        "messages": MessagesWire, "ollama": OllamaWire}


class UpServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # the gateway hanging up on a fault is expected

def parse_sse(body):
    out = []
    for block in body.decode("utf-8", "replace").replace("\r\n", "\n").split("\n\n"):
        data = [l[5:].lstrip(" ") for l in block.split("\n") if l.startswith("data:")]
        if data:
            out.append("\n".join(data))
    return out


def split_response(resp):
    """(status, body) of one raw HTTP/1.1 response (Content-Length or
    chunked), or (None, b"") if there is none."""
    if not resp.startswith(b"HTTP/1."):
        return None, b""
    head, _, body = resp.partition(b"\r\n\r\n")
    st = int(head.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in head.lower():
        out = b""
        while body:
            n, _, rest = body.partition(b"\r\n")
            n = int(n, 16)
            if n == 0:
                break
            out += rest[:n]
            body = rest[n + 2:]
        body = out
    return st, body


def raw_http(port, data):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        s.sendall(data)
        resp = b""
        while b"\r\n" not in resp:
            d = s.recv(4096)
            if not d:
                break
            resp += d
    finally:
        s.close()
    st, _ = split_response(resp)
    return st

# ----------------------------------------------------------------- sampling


def rss_kb(pid):
    """(VmRSS, RssAnon, RssFile) in KB: the heap is in RssAnon; RssFile is
    mostly the LMDB store's mapped pages, which grow with the number of
    conversations stored and which the kernel can drop at will."""
    v = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, rest = line.partition(":")
            if k in ("VmRSS", "RssAnon", "RssFile"):
                v[k] = int(rest.split()[0])
    return v.get("VmRSS", 0), v.get("RssAnon", 0), v.get("RssFile", 0)


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=15.0):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            raise SystemExit("soak: chatseal serve exited with %s" % proc.returncode)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("soak: chatseal serve did not listen on %d" % port)
