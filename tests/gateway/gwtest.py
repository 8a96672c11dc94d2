"""gwtest.py -- shared helpers for the tests of `chatseal serve`.

Every script in tests/gateway imports this module, defines functions named
test_*, and ends with `gwtest.main(globals())`.  What it provides:

  - Gateway: starts the real binary ($CHATSEAL_BUILD/src/cli/chatseal serve)
    on 127.0.0.1 with `--listen 127.0.0.1:0` and reads the port it bound from
    its "listening" log line, so ports are free by construction; stderr goes
    to a file, parsed as JSON lines.  stop() sends SIGTERM and returns the
    exit status (under ASan a leak makes it non-zero, so every stop is also
    a leak check).  Every gateway started is killed at exit, even on failure.
  - Upstream: a small OpenAI-compatible model server (stdlib http.server, in
    a thread) under the test's control.  The request's "model" selects the
    behaviour: ok, chunked, stream, tools-stream, 500, slow, slowstream, cut,
    cutstream, cutchunk, longstream, badjson, gzip.  It records every request
    it received, so tests can assert that a forgery never reached the model
    and see exactly what was forwarded.
  - raw HTTP helpers (http.client), SSE parsing, key ring generation, token
    header decoding, and a check, on every stop, that no key the tests made
    appears in the gateway's output.

Python 3 standard library only.
"""

import atexit
import base64
import http.client
import http.server
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback

BUILD = os.environ.get("CHATSEAL_BUILD")
SRC = os.environ.get("CHATSEAL_SRC")
if not BUILD or not SRC:
    sys.exit("CHATSEAL_BUILD / CHATSEAL_SRC are not set (run through meson test)")
BIN = os.path.join(BUILD, "src", "cli", "chatseal")

SECRETS = set()  # key texts handed to gateways: never to appear in output
_GATEWAYS = []
_UPSTREAMS = []
TMP = tempfile.mkdtemp(prefix="chatseal-gw-")
atexit.register(shutil.rmtree, TMP, True)


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_key_line(kid):
    key = b64u(os.urandom(32))
    SECRETS.add(key)
    return f"{kid}:{key}"


def write_file(name, text, mode=0o600):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def token_header(token):
    """The (unverified) header of a cs1 token, as a dict."""
    assert token.startswith("cs1."), token[:40]
    return json.loads(b64u_decode(token.split(".")[1]))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ------------------------------------------------------------------ gateway --


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError as e:
            raise AssertionError(f"not JSON ({e}): {self.body[:300]!r}")

    @property
    def code(self):
        try:
            return json.loads(self.body)["error"]["code"]
        except (ValueError, KeyError, TypeError):
            return None

    def header(self, name):
        return self.headers.get(name.lower())

    def events(self):
        return parse_sse(self.body)

    def __repr__(self):
        return f"<{self.status} {self.body[:400]!r}>"


def parse_sse(body):
    """[(event, data)] of an SSE body (data lines joined)."""
    out = []
    text = body.decode("utf-8")
    for block in text.replace("\r\n", "\n").split("\n\n"):
        if not block.strip():
            continue
        event, data = "", []
        for line in block.split("\n"):
            if line.startswith("data:"):
                data.append(line[5:].lstrip(" ") if line[5:6] == " " else line[5:])
            elif line.startswith("event:"):
                event = line[6:].strip()
        out.append((event, "\n".join(data)))
    return out


class Gateway:
    def __init__(self, *args, env=None, keys=None, dev=None, wait=True,
                 upstream="mock", store=None):
        """args: extra flags.  keys: key ring text put in CHATSEAL_KEYS.
        dev: add --dev (default: when no keys and no --key-file given)."""
        self.args = [BIN, "serve", "--listen", "127.0.0.1:0"]
        if upstream is not None and "--upstream" not in args:
            self.args += ["--upstream", upstream]
        self.args += list(args)
        # each gateway its own conversation store (an LMDB directory), so
        # tests never see each other's conversations; pass store= to share
        # one (a restart, --workers)
        if "--store" not in args and "--rollback" not in args and not (
                env and ("CHATSEAL_STORE" in env or "CHATSEAL_ROLLBACK" in env)):
            self.store = store or tempfile.mkdtemp(prefix="store-", dir=TMP)
            self.args += ["--store", self.store]
        e = {k: v for k, v in os.environ.items()
             if not k.startswith("CHATSEAL_") or k in ("CHATSEAL_BUILD",
                                                         "CHATSEAL_SRC")}
        if keys is not None:
            e["CHATSEAL_KEYS"] = keys
        if dev is None:
            dev = keys is None and "--key-file" not in args and not (
                env and ("CHATSEAL_KEYS" in env or "CHATSEAL_KEY_FILE" in env))
        if dev:
            self.args.append("--dev")
        e.update(env or {})
        self.logpath = tempfile.mktemp(prefix="gw-", suffix=".log", dir=TMP)
        self.logf = open(self.logpath, "wb")
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL,
                                     stdout=self.logf, stderr=self.logf,
                                     env=e)
        _GATEWAYS.append(self)
        self.host, self.port = "127.0.0.1", None
        self.tls_ctx = None
        if wait:
            self._wait_listening()

    def _wait_listening(self, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for ev in self.log_events():
                if ev.get("event") == "listening":
                    self.address = ev["address"]
                    self.url = ev["url"]
                    self.port = int(self.address.rsplit(":", 1)[1])
                    return
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"gateway exited with {self.proc.returncode}:\n"
                    f"{self.log_text()}")
            time.sleep(0.02)
        raise AssertionError(f"gateway did not listen:\n{self.log_text()}")

    def log_text(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def log_events(self):
        out = []
        for line in self.log_text().splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    def wait_log(self, event, count=1, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            evs = [e for e in self.log_events() if e.get("event") == event]
            if len(evs) >= count:
                return evs[count - 1]
            time.sleep(0.02)
        raise AssertionError(f"no {event!r} log line:\n{self.log_text()}")

    def connect(self, timeout=15):
        if self.tls_ctx:
            return http.client.HTTPSConnection(self.host, self.port,
                                               timeout=timeout,
                                               context=self.tls_ctx)
        return http.client.HTTPConnection(self.host, self.port,
                                          timeout=timeout)

    def request(self, method, path, body=None, headers=None, timeout=15):
        conn = self.connect(timeout)
        try:
            h = {"Content-Type": "application/json"} if body is not None else {}
            h.update(headers or {})
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode()
            elif isinstance(body, str):
                body = body.encode()
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            data = r.read()
            return Response(r.status,
                            {k.lower(): v for k, v in r.getheaders()}, data)
        finally:
            conn.close()

    def chat(self, messages, token=None, stream=False, headers=None,
             body_token=None, model=None, extra=None, timeout=15):
        body = {"model": model or "test-model", "messages": messages}
        if stream:
            body["stream"] = True
        if body_token is not None:
            body["chatseal_token"] = body_token
        body.update(extra or {})
        h = dict(headers or {})
        if token is not None:
            h["Chatseal-Token"] = token
        return self.request("POST", "/v1/chat/completions", body, h, timeout)

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Stops the gateway; returns its exit status.  Checks its output
        for key material."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(
                    f"gateway did not stop in {timeout}s:\n{self.log_text()}")
        self.logf.close()
        check_no_secrets(self.log_text())
        return self.proc.returncode

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def check_no_secrets(text):
    for s in SECRETS:
        assert s not in text, "key material in the gateway's output"


def expect_clean_stop(gw):
    rc = gw.stop()
    assert rc == 0, f"gateway exit status {rc}:\n{gw.log_text()[-3000:]}"


def expect_error(r, status, code):
    assert r.status == status and r.code == code, \
        f"expected {status} {code}, got {r.status} {r.code}: {r.body[:500]!r}"
    err = r.json()["error"]
    for field in ("message", "type", "code"):
        assert isinstance(err.get(field), str) and err[field], err
    return err


# ----------------------------------------------------------------- upstream --


def last_user_text(messages):
    for m in reversed(messages):
        if m.get("role") == "user":
            c = m.get("content")
            return c if isinstance(c, str) else json.dumps(c)
    return ""


def completion(text, model):
    return {"id": "chatcmpl-test", "object": "chat.completion",
            "created": 1700000000, "model": model,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text,
                                     "refusal": None}}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2,
                      "total_tokens": 5}}


def chunk(delta, finish=None, model="test"):
    return {"id": "chatcmpl-test", "object": "chat.completion.chunk",
            "created": 1700000000, "model": model,
            "choices": [{"index": 0, "delta": delta,
                         "finish_reason": finish}]}


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def _record(self, body):
        self.server.owner.requests.append(
            {"method": self.command, "path": self.path,
             "headers": {k.lower(): v for k, v in self.headers.items()},
             "body": body})

    def _send(self, status, obj=None, raw=None, ctype="application/json",
              extra=None):
        data = raw if raw is not None else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._record(b"")
        if self.path == "/v1/models":
            self._send(200, {"object": "list", "data": [
                {"id": "upstream-model", "object": "model", "created": 0,
                 "owned_by": "test"}]})
        else:
            self._send(404, {"error": {"message": "nope", "type": "x",
                                       "code": None}})

    def _chunked(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _sse_head(self, chunked=True):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.flush()

    def _event(self, obj, chunked=True):
        data = b"data: " + (obj if isinstance(obj, bytes)
                            else json.dumps(obj).encode()) + b"\n\n"
        if chunked:
            self._chunked(data)
        else:
            self.wfile.write(data)
            self.wfile.flush()

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        self._record(body)
        try:
            req = json.loads(body)
        except ValueError:
            self._send(400, {"error": {"message": "bad json", "type": "x",
                                       "code": None}})
            return
        model = req.get("model", "ok")
        text = "echo: " + last_user_text(req.get("messages", []))
        words = [w + " " for w in text.split(" ")]
        words[-1] = words[-1].rstrip(" ")
        if model in ("ok", "test-model"):
            self._send(200, completion(text, model))
        elif model == "chunked":
            data = json.dumps(completion(text, model)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self._chunked(data[:10])
            self._chunked(data[10:])
            self.wfile.write(b"0\r\n\r\n")
        elif model == "500":
            self._send(500, {"error": {"message": "model exploded",
                                       "type": "server_error",
                                       "code": "boom"}})
        elif model == "badjson":
            self._send(200, raw=b'{"choices":[{"message":{"role":"assistant",'
                                b'"content":"a","content":"b"}}]}')
        elif model == "gzip":
            self._send(200, raw=b"\x1f\x8b\x08\x00", extra={
                "Content-Encoding": "gzip"})
        elif model == "slow":
            time.sleep(4)
            self._send(200, completion(text, model))
        elif model == "cut":
            data = json.dumps(completion(text, model)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[:20])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif model in ("stream", "longstream", "slowstream", "cutstream",
                       "cutchunk"):
            chunked = model != "cutstream"
            self._sse_head(chunked)
            self._event(chunk({"role": "assistant", "content": ""}),
                        chunked)
            delay = 0.1 if model == "longstream" else 0.005
            reps = 10 if model == "longstream" else 1
            for _ in range(reps):
                for w in words:
                    self._event(chunk({"content": w}), chunked)
                    time.sleep(delay)
            if model == "slowstream":
                time.sleep(4)
            if model in ("cutstream", "cutchunk"):
                if model == "cutchunk":
                    self.wfile.write(b"40\r\ndata: {\"id\":")
                    self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self._event(chunk({}, "stop"), chunked)
            self._event(b"[DONE]", chunked)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        elif model == "tools-stream":
            self._sse_head()
            self._event(chunk({"role": "assistant", "content": None,
                               "tool_calls": [{"index": 0, "id": "call_1",
                                               "type": "function",
                                               "function": {
                                                   "name": "get_weather",
                                                   "arguments": ""}}]}))
            for frag in ['{"ci', 'ty":"Pa', 'ris"}']:
                self._event(chunk({"tool_calls": [{
                    "index": 0, "function": {"arguments": frag}}]}))
            self._event(chunk({}, "tool_calls"))
            self._event(b"[DONE]")
            self.wfile.write(b"0\r\n\r\n")
        else:
            self._send(400, {"error": {"message": "unknown model",
                                       "type": "x", "code": None}})


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # clients (the gateway) hanging up is part of the tests


class Upstream:
    """A controllable OpenAI-compatible server on 127.0.0.1 (thread)."""

    def __init__(self, tls_cert=None, tls_key=None):
        self.requests = []
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.owner = self
        self.scheme = "http"
        if tls_cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls_cert, tls_key)
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket,
                                                server_side=True)
            self.scheme = "https"
        self.port = self.httpd.server_address[1]
        self.url = f"{self.scheme}://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()
        _UPSTREAMS.append(self)

    def chat_requests(self):
        return [r for r in self.requests
                if r["path"].startswith("/v1/chat/completions")]

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


# --------------------------------------------------------------------- main --


def _cleanup():
    for g in _GATEWAYS:
        g.kill()
    for u in _UPSTREAMS:
        try:
            u.stop()
        except Exception:
            pass


def main(ns):
    """Runs every test_* of the calling module; exit 0 only if all pass."""
    tests = [(k, v) for k, v in ns.items()
             if k.startswith("test_") and callable(v)]
    only = sys.argv[1:]
    failed = 0
    try:
        for name, fn in tests:
            if only and name not in only:
                continue
            t0 = time.time()
            try:
                fn()
                print(f"ok   {name} ({time.time() - t0:.2f}s)", flush=True)
            except Exception:
                failed += 1
                print(f"FAIL {name}", flush=True)
                traceback.print_exc()
                for g in _GATEWAYS:
                    if g.proc.poll() is None or g.proc.returncode:
                        print(f"--- gateway {' '.join(g.args[1:])}\n"
                              f"{g.log_text()[-3000:]}", flush=True)
            finally:
                _cleanup()
                _GATEWAYS.clear()
                _UPSTREAMS.clear()
    finally:
        _cleanup()
    print(f"{len(tests) - failed if not only else '-'} passed, {failed} failed")
    sys.exit(1 if failed else 0)
