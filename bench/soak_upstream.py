"""soak_upstream.py -- the parts of bench/soak.py that are not the clients:
the model server the soak puts behind `chatseal serve` (a threaded stdlib
HTTP server whose behaviour the request's "model" selects, so every client
knows in advance the complete reply, or which fault, it asked for), raw HTTP
helpers (SSE parsing, a raw response splitter) and the /proc readers (RSS
and CPU time of the gateway).  Kept apart so that soak.py stays readable;
see soak.py for what the behaviours are for.

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
    for m in reversed(messages):
        if m.get("role") == "user" and isinstance(m.get("content"), str):
            return "echo: " + m["content"]
    return "echo:"


def chunk(delta, finish=None):
    return {"id": "chatcmpl-soak", "object": "chat.completion.chunk",
            "created": 1767225600, "model": "soak",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


# slong streams that ended on the upstream's side (written out, or broken by
# the gateway hanging up), by their echo text
ENDED = collections.defaultdict(threading.Event)


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

    def event(self, payload):
        data = b"data: " + payload + b"\n\n"
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        req = json.loads(body)
        model = req.get("model")
        text = echo_text(req.get("messages", []))
        if model == "f500":
            return self.send_json(500, {"error": {
                "message": "injected", "type": "server_error",
                "code": "injected_fault"}})
        if model == "fstall":
            time.sleep(3)
        if model in ("ok", "fcut", "fstall"):
            return self.send_json(200, {
                "id": "chatcmpl-soak", "object": "chat.completion",
                "created": 1767225600, "model": model,
                "choices": [{"index": 0, "finish_reason": "stop", "message": {
                    "role": "assistant", "content": text}}],
                "usage": {"prompt_tokens": 3, "completion_tokens": 2,
                          "total_tokens": 5}}, cut=20 if model == "fcut" else None)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        words = text.split(" ")
        pieces = [w + " " for w in words[:-1]] + [words[-1]]
        if model == "slong":
            pieces = pieces * 20
        try:
            self.stream(model, pieces)
        finally:
            if model == "slong":  # tell the client its stream is over here
                ENDED[text].set()

    def stream(self, model, pieces):
        self.event(json.dumps(chunk({"role": "assistant", "content": ""})).encode())
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
                if model == "sbad":
                    self.event(b'{"choices":[{"index":0,"delta":{"content":"x"')
                else:
                    self.event(b'{"error":{"message":"injected","type":"server_error",'
                               b'"code":"injected_fault"}}')
                self.wfile.write(b"0\r\n\r\n")
                return
            self.event(json.dumps(chunk({"content": p})).encode())
            if model == "slong":
                time.sleep(0.02)
        self.event(json.dumps(chunk({}, "stop")).encode())
        self.event(b"[DONE]")
        self.wfile.write(b"0\r\n\r\n")


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
