#!/usr/bin/env python3
"""api_differential.py -- the gateway's three API adapters (Responses,
Anthropic Messages, Ollama chat) against apis_ref.py, an independent
reimplementation of their mapping written from docs/FORMAT.md section 8.

The real `chatseal serve` runs with a fixed key ring (CHATSEAL_KEYS, so the
reference can sign and verify with the same key), --store none, in front of
a recording upstream of this file that answers each request with a reply
the test chose.  For every API, seeded random SDK-shaped histories (text,
content parts/blocks, tool calls and results, reasoning/thinking with
opaque signatures and encrypted_content, system prompts in both spellings,
null/empty members, astral and escaped unicode, numbers in several
spellings) are checked as follows:

  (a) the reference maps the body to internal messages and signs all but
      the last (a new user turn) with chatseal_ref: the gateway must
      accept that token (2xx);
  (b) the body the upstream received must equal the reference's
      to_upstream rendering.  "Equal": the same JSON values after parsing
      both, where objects are compared as member sets (order ignored),
      strings by code points, numbers as IEEE doubles (1 == 1.0), booleans
      and null by type (true is not 1); and every integral number the
      gateway wrote (|x| < 2^53) is written as an integer (no fraction, no
      exponent), as section 8 promises;
  (c) a re-spelling of the same history (the SDK variants section 8 calls
      equivalent, rendered from the same abstract history with another
      seed) maps to the same internal messages in the reference, and the
      gateway accepts it with the same token and forwards the same body;
  (d) a random change of a signed message (text, tool arguments, role,
      order, deletion) is refused 403 with the code and index the
      diagnosis of FORMAT.md 5.1 gives (computed by apis_ref.diagnose);
      a change to reasoning only is not refused: the reasoning is dropped;
  (e) reply: the chatseal member's token verifies in chatseal_ref over the
      reference's forwarded messages plus reference.reply_messages(the
      upstream reply), its reasoning tags too, and chatseal.output equals
      reference.output(...); every few cases the next turn, built from
      chatseal.output (or the reply as received) as a client appends it,
      is accepted with that token.  Streams too: the upstream streams a
      random reply in the API's grammar (cut anywhere, inside UTF-8 too),
      and the token of the closing event must cover the reply as the
      reference assembles the stream; and replies of --upstream mock
      (JSON and streamed, text, tool calls, reasoning);
  (f) a body that section 8 refuses gets 400 with the reference's code;
  (g) Ollama: section 8.3's rules for unsigned messages (403
      member_not_allowed, or accepted and forwarded as the reference says).

Deterministic: fixed seeds; CHATSEAL_API_DIFF_CASES sets the number of
cases per API (default 250).  Python 3 standard library only.
"""

import http.client
import http.server
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import apis_ref as api  # noqa: E402
import chatseal_ref as ref  # noqa: E402
import api_gen as gen  # noqa: E402

BIN = os.path.join(os.environ["CHATSEAL_BUILD"], "src", "cli", "chatseal")
KEY_TEXT = "apidiff:" + ref.b64u(bytes(range(40, 72)))
RING = ref.parse_keyring(KEY_TEXT)
CASES = int(os.environ.get("CHATSEAL_API_DIFF_CASES", "250"))
failures = []
stats = {}


def fail(what, body=None):
    """Records a failure; CHATSEAL_API_DIFF_DUMP=FILE also appends the
    client body as one JSON line (to replay it by hand)."""
    failures.append(what)
    if body is not None and os.environ.get("CHATSEAL_API_DIFF_DUMP"):
        with open(os.environ["CHATSEAL_API_DIFF_DUMP"], "a") as f:
            f.write(json.dumps(body) + "\n")
    print("FAIL " + what[:3000], flush=True)


# ------------------------------------------------------------ upstream --

class Upstream(http.server.BaseHTTPRequestHandler):
    """Records the body and answers with server.reply (JSON)."""
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes

    def log_message(self, *a):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        self.server.received.append((self.path, self.rfile.read(n)))
        if self.server.stream:  # (content type, writes)
            ctype, writes = self.server.stream
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for w in writes:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(w), w))
            self.wfile.write(b"0\r\n\r\n")
            return
        data = json.dumps(self.server.reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


# ---------------------------------------------------------- comparison --

def same(a, b, where="$"):
    """None if equal in the sense of the module docstring, else where."""
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return None if a is b else f"{where} ({a!r} vs {b!r})"
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return None if float(a) == float(b) else f"{where} ({a!r} vs {b!r})"
    if type(a) is not type(b):
        return f"{where} ({str(a)[:80]!r} vs {str(b)[:80]!r})"
    if isinstance(a, dict):
        if set(a) != set(b):
            return f"{where} members {sorted(set(a) ^ set(b))}"
        for k in a:
            d = same(a[k], b[k], f"{where}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{where} length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = same(x, y, f"{where}[{i}]")
            if d:
                return d
        return None
    return None if a == b else f"{where} ({a!r} vs {b!r})"


def fraction_integers(v, where="$"):
    if isinstance(v, float) and v.is_integer() and abs(v) < 2 ** 53:
        return where
    items = v.items() if isinstance(v, dict) else enumerate(v) \
        if isinstance(v, list) else ()
    for k, x in items:
        d = fraction_integers(x, f"{where}.{k}")
        if d:
            return d
    return None


# ------------------------------------------------------------- gateway --

class Gateway:
    def __init__(self, upstream_url):
        self.log = tempfile.NamedTemporaryFile(prefix="api-diff-gw-")
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("CHATSEAL_")}
        env["CHATSEAL_KEYS"] = KEY_TEXT
        self.proc = subprocess.Popen(
            [BIN, "serve", "--listen", "127.0.0.1:0", "--upstream",
             upstream_url, "--store", "none", "--mock-delay", "0ms"],
            stdin=subprocess.DEVNULL, stdout=self.log,
            stderr=subprocess.STDOUT, env=env)
        self.port = None
        deadline = time.time() + 20
        while self.port is None and time.time() < deadline:
            for line in self.output().splitlines():
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                if ev.get("event") == "listening":
                    self.port = int(ev["address"].rsplit(":", 1)[1])
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        if self.port is None:
            self.proc.kill()
            sys.exit("the gateway did not start:\n" + self.output())
        self.conn = None

    def output(self):
        with open(self.log.name, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def post(self, path, body, token):
        data = json.dumps(body, ensure_ascii=gen.RNG_ASCII.random() < 0.5)
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                                       timeout=30)
            try:
                h = {"Content-Type": "application/json"}
                if token:
                    h["Chatseal-Token"] = token
                self.conn.request("POST", path, body=data.encode(), headers=h)
                r = self.conn.getresponse()
                payload = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return r.status, payload
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise

    def stop(self):
        if self.conn:
            self.conn.close()
        self.proc.terminate()
        try:
            rc = self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = -9
        if rc != 0:
            print(self.output()[-6000:], flush=True)
        return rc


def error_code(payload):
    try:
        b = json.loads(payload)
    except ValueError:
        return None, None
    err = b.get("error") if isinstance(b.get("error"), dict) else b
    report = err.get("report", b.get("report"))
    index = report.get("index") if isinstance(report, dict) else None
    return err.get("code", b.get("code")), index


# --------------------------------------------------------------- cases --

def history_of(api, body):
    return body["input"] if api == "responses" else body["messages"]


def with_history(api, body, items):
    b = dict(body)
    b["input" if api == "responses" else "messages"] = items
    return b


def forwarded(A, internal, n, token):
    """What the reference says the gateway forwards for `internal` verified
    by `token` over its first n messages: (upstream body, forms)."""
    msgs = internal["messages"]
    kept = ref.kept_reasoning(RING, token, [api.to_obj(m) for m in msgs]) \
        if token else [None] * len(msgs)
    forms = []
    for i, m in enumerate(msgs):
        core, full, _ = ref.signed_form(api.to_obj(m))
        forms.append(api.from_obj(full if kept[i] else core))
    return A.to_upstream(internal, forms), forms


class Case:
    def __init__(self, name, A, gw, up, now):
        self.name, self.A, self.gw, self.up, self.now = name, A, gw, up, now

    def send(self, label, body, token, reply):
        self.up.reply = reply
        self.up.received.clear()
        status, payload = self.gw.post(self.A.path, body, token)
        stats[label] = stats.get(label, 0) + 1
        return status, payload

    def expect_ok(self, label, body, token, n, reply, rng):
        """(a), (b), (e) for one request; returns the gateway's reply."""
        internal = self.A.to_internal(json.loads(json.dumps(body)))
        status, payload = self.send(label, body, token, reply)
        if status != 200:
            at = error_code(payload)[1]
            near = internal["messages"][at] if isinstance(at, int) and \
                0 <= at < len(internal["messages"]) else None
            fail(f"{self.name} {label}: {status} {payload[:600]!r}\n"
                 f"reference message {at}: {json.dumps(near)}\n"

                 f"body={json.dumps(body)[:3000]}")
            return None
        want, forms = forwarded(self.A, internal, n, token)
        got = json.loads(self.up.received[-1][1])
        d = same(want, got) or fraction_integers(got)
        if not d and self.name == "ollama" and list(got) != sorted(got):
            d = f"top-level order {list(got)}, want them sorted"
        if d:
            fail(f"{self.name} {label}: forwarded body differs at {d}\n"
                 f"client={json.dumps(body)}\nref={json.dumps(want)}\n"
                 f"gateway={json.dumps(got)}")
        return self.check_reply(label, payload, forms, reply)

    def check_reply(self, label, payload, forms, reply):
        out = json.loads(payload)
        cs = out.get("chatseal")
        rmsgs = self.A.reply_messages(reply)
        rforms = api.verified_forms(rmsgs, len(rmsgs))
        if not isinstance(cs, dict):
            fail(f"{self.name} {label}: no chatseal member: {payload[:500]!r}")
            return None
        allm = [api.to_obj(m) for m in forms + rforms]
        try:
            ref.verify_conv(RING, cs["token"], allm, now=self.now + 3600)
            kept = ref.kept_reasoning(RING, cs["token"], allm)
            if False in kept:
                fail(f"{self.name} {label}: reply token drops reasoning "
                     f"{kept}")
        except ref.RefError as e:
            fail(f"{self.name} {label}: the reply token does not verify in "
                 f"the reference ({e.args})\nforms={json.dumps(forms)}\n"
                 f"reply={json.dumps(reply)}\nref={json.dumps(rforms)}")
        if cs.get("count") != len(allm):
            fail(f"{self.name} {label}: count {cs.get('count')} != "
                 f"{len(allm)}")
        d = same(self.A.output(rforms), cs.get("output"))
        if d:
            fail(f"{self.name} {label}: chatseal.output differs at {d}\n"
                 f"ref={json.dumps(self.A.output(rforms))}\n"
                 f"gateway={json.dumps(cs.get('output'))}")
        return out


def mutate(api_name, units, rng):
    """A random change of a signed unit (never the last, unsigned one):
    (kind, new units)."""
    units = json.loads(json.dumps(units))
    last = len(units) - 1
    kind = rng.choice(["text", "text", "args", "role", "swap", "delete",
                       "reasoning"])
    idx = [i for i in range(last) if units[i][0] != "raw"
           or kind in ("swap", "delete")]
    if kind == "args":
        idx = [i for i in idx if units[i][0] == "assistant"
               and units[i][1]["calls"]]
    elif kind == "reasoning":
        idx = [i for i in idx if units[i][0] == "assistant"
               and units[i][1]["reasoning"]]
    elif kind == "role":
        idx = [i for i in idx if units[i][0] == "user"
               and isinstance(units[i][1], str)]
    elif kind == "swap":
        idx = [i for i in idx if i + 1 < last]
    if not idx:
        return None, None
    i = rng.choice(idx)
    u = units[i]
    if kind == "text":
        if u[0] == "assistant":
            if u[1]["text"] is None:
                return None, None
            u[1]["text"] += "x"
        elif u[0] == "tool":
            u[2] += "x"
        elif isinstance(u[1], list) and u[0] == "user":
            u[1][0][1] += "x"
        elif isinstance(u[1], list):
            u[1][0] += "x"
        else:
            u[1] += "x"
    elif kind == "args":
        c = u[1]["calls"][0]
        c[2]["zz"] = 1
    elif kind == "role":
        if api_name == "messages":
            units[i] = ["assistant", {"text": u[1], "calls": [],
                                      "reasoning": []}]
        else:
            u[0] = "developer"
    elif kind == "swap":
        units[i], units[i + 1] = units[i + 1], units[i]
    elif kind == "delete":
        del units[i]
    else:
        u[1]["reasoning"][0]["enc"] += "A"
        u[1]["reasoning"][0]["summary"][0] += "!"
    return kind, units


def expect_tamper(case, label, body, token, signed, n):
    """(d): the reference's verdict and diagnosis for a changed history."""
    A = case.A
    internal = A.to_internal(json.loads(json.dumps(body)))
    msgs = internal["messages"]
    objs = [api.to_obj(m) for m in msgs]
    try:
        ref.verify_conv(RING, token, objs, now=case.now + 3600,
                        tail_roles="user,tool")
        code = None
    except ref.RefError as e:
        code, index = e.code, None
        if code == "invalid_signature":
            code, index = api.diagnose(signed, msgs)
    if code is None:  # the change left the signed forms alone
        case.expect_ok(label, body, token, n, gen.reply(case.name, random.Random(n)), None)
        return
    status, payload = case.send(label, body, token,
                                gen.reply(case.name, random.Random(1)))
    got, gindex = error_code(payload)
    if status != 403 or got != code or (index is not None and gindex
                                        is not None and gindex != index):
        fail(f"{case.name} {label}: want 403 {code} index {index}, got "
             f"{status} {got} index {gindex}: {payload[:300]!r}\n"
             f"body={json.dumps(body)[:3000]}")
    if case.up.received:
        fail(f"{case.name} {label}: a refused request reached the upstream")
    if gindex is None and index is not None:
        fail(f"{case.name} {label}: no report index: {payload[:300]!r}")
    stats[f"{label}:{code}"] = stats.get(f"{label}:{code}", 0) + 1


BAD = {
    "responses": [
        lambda b: b.update(store=True), lambda b: b.update(
            previous_response_id="resp_1"),
        lambda b: b.update(instructions=5), lambda b: b.update(messages=[]),
        lambda b: b["input"].insert(0, {"type": "item_reference",
                                        "id": "msg_1"}),
        lambda b: b["input"].insert(0, {"type": "computer_call_output",
                                        "call_id": "c"}),
        lambda b: b["input"].insert(0, {"role": "user", "content": [
            {"type": "output_text", "text": "x"}]}),
        lambda b: b["input"].insert(0, {"role": "developer", "content": [
            {"type": "input_image", "image_url": "x"}]}),
        lambda b: b.pop("input"), lambda b: b.update(input={"a": 1}),
        lambda b: b["input"].insert(0, {"role": "assistant", "content": [
            {"type": "output_text", "text": "a"}, {"type": "foo"}]}),
        lambda b: b["input"].insert(0, {"role": "assistant", "content": [
            {"type": "refusal", "refusal": 5}]}),
        lambda b: b["input"].insert(0, {"role": "assistant", "content": 5}),
        lambda b: b["input"].insert(0, {"type": "function_call",
                                        "call_id": "c", "name": "f",
                                        "arguments": {"a": 1}}),
        lambda b: b["input"].insert(0, {"type": "function_call",
                                        "name": "f", "arguments": "{}"}),
        lambda b: b["input"].insert(0, {"type": "function_call_output",
                                        "output": "x"}),
        lambda b: b["input"].insert(0, {"type": "function_call_output",
                                        "call_id": "c", "output": 5}),
        lambda b: b["input"].insert(0, {"type": "reasoning", "summary": "x"}),
        lambda b: b["input"].insert(0, {"type": "reasoning",
                                        "summary": [{"type": "t"}]}),
        lambda b: b["input"].insert(0, {"type": "reasoning", "summary": [],
                                        "content": [5]}),
    ],
    "messages": [
        lambda b: b["messages"][0].update(id="m1"),
        lambda b: b["messages"].insert(0, {"role": "system",
                                           "content": "s"}),
        lambda b: b.update(system=5),
        lambda b: b.update(system=[{"type": "image", "source": {}}]),
        lambda b: b["messages"].insert(0, {"role": "assistant", "content": [
            {"type": "tool_use", "id": "t", "name": "f", "input": "{}"}]}),
        lambda b: b["messages"].insert(0, {"role": "user", "content": [
            {"text": "x"}]}),
        lambda b: b["messages"].insert(0, {"role": "user", "content": [
            {"type": "text", "text": 5}]}),
        lambda b: b["messages"].insert(0, {"role": "user"}),
    ],
    "ollama": [
        lambda b: b["messages"].insert(0, {"content": "x"}),
        lambda b: b["messages"].insert(0, {"role": "assistant",
                                           "content": "x", "reasoning": "r"}),
        lambda b: b["messages"].insert(0, {"role": "user", "content": 5}),
        lambda b: b["messages"].insert(0, {"role": "assistant",
                                           "tool_calls": "x"}),
        lambda b: b["messages"].insert(0, {"role": "assistant", "tool_calls": [
            {"function": {"name": "f", "arguments": "{}"}}]}),
        lambda b: b["messages"].insert(0, {"role": "assistant", "tool_calls": [
            {"type": "x", "function": {"name": "f"}}]}),
        lambda b: b["messages"].insert(0, {"role": "user", "images": [1]}),
        lambda b: b["messages"].insert(0, {"role": 1, "content": "x"}),
    ],
}


def expect_refused(case, label, body, token):
    """(f) a body section 8 refuses: the gateway's code is the reference's."""
    try:
        case.A.to_internal(json.loads(json.dumps(body)))
        fail(f"{case.name} {label}: the reference accepts {body}")
        return
    except api.Refused as e:
        code = e.code
    status, payload = case.send(label, body, token,
                                gen.reply(case.name, random.Random(2)))
    got = error_code(payload)[0]
    if status != 400 or got != code:
        fail(f"{case.name} {label}: want 400 {code}, got {status} {got}: "
             f"{payload[:300]!r}\nbody={json.dumps(body)[:2000]}")
    stats[f"{label}:{code}"] = stats.get(f"{label}:{code}", 0) + 1


OLLAMA_TAILS = [
    {"foo": 1}, {"tool_calls": [{"function": {"name": "f", "arguments": {}}}]},
    {"thinking": "t"}, {"thinking": None}, {"images": ["aGk="]},
    {"images": None}, {"images": []}, {"tool_name": "f"}, {"content": ""},
    {"role": "tool", "tool_name": "f", "tool_call_id": "c"},
    {"role": "tool", "images": ["aGk="]}, {"role": "TOOL", "tool_name": "f"},
    {"role": "tool", "tool_name": None, "bar": None}, {"created_at": "x"},
]


def expect_ollama_tail(case, body, token, n):
    """(g) FORMAT.md 8.3's rules for unsigned messages."""
    body = json.loads(json.dumps(body))
    extra = random.Random(n * 31 + len(json.dumps(body))).choice(
        OLLAMA_TAILS)
    body["messages"][-1].update(extra)
    internal = case.A.to_internal(json.loads(json.dumps(body)))
    form = api.verified_forms(internal["messages"], n)[-1]
    code = case.A.tail_refusal(form)
    label = "ollama/g-tail"
    if code is None:
        case.expect_ok(label, body, token, n, gen.reply("ollama",
                                                        random.Random(3)), None)
        return
    status, payload = case.send(label, body, token,
                                gen.reply("ollama", random.Random(3)))
    got = error_code(payload)[0]
    if status != 403 or got != code or case.up.received:
        fail(f"ollama {label}: {extra}: want 403 {code}, got {status} {got} "
             f"(upstream reached: {bool(case.up.received)}) {payload[:300]!r}")
    stats[f"{label}:{code}"] = stats.get(f"{label}:{code}", 0) + 1


def expect_stream(case, body, token, n, rng):
    """(e) for streams: the upstream streams a random reply (split
    anywhere, inside UTF-8 sequences too); the closing event's token must
    verify over the reply as FORMAT.md 8 assembles it (Responses: the
    output response.completed carries)."""
    name = case.name
    body = dict(body, stream=True)
    if name == "ollama" and rng.random() < 0.5:
        del body["stream"]  # Ollama streams by default
    reply = gen.reply(name, rng)
    if name == "messages":
        case.up.stream = gen_stream = gen.stream_messages(reply, rng)
    elif name == "responses":
        case.up.stream = gen_stream = gen.stream_responses(reply, rng)
    else:
        case.up.stream = gen_stream = gen.stream_ollama(reply, rng)
    label = f"{name}/e-stream"
    try:
        internal = case.A.to_internal(json.loads(json.dumps(body)))
        status, payload = case.send(label, body, token, None)
    finally:
        case.up.stream = None
    if status != 200:
        fail(f"{name} {label}: {status} {payload[:500]!r}", body)
        return
    want, forms = forwarded(case.A, internal, n, token)
    d = same(want, json.loads(case.up.received[-1][1]))
    if d:
        fail(f"{name} {label}: forwarded body differs at {d}", body)
    try:
        if name == "messages":
            got, member = api.assemble_messages(api.sse(payload))
        elif name == "responses":
            got, member = api.assemble_responses(api.sse(payload))
        else:
            got, member = api.assemble_ollama(payload)
    except (AssertionError, ValueError, KeyError) as e:
        fail(f"{name} {label}: the stream does not assemble ({e!r}): "
             f"{payload[-600:]!r}", body)
        return
    if member is None:
        fail(f"{name} {label}: no chatseal member in the stream: "
             f"{payload[-800:]!r}\nupstream sent: "
             f"{b''.join(gen_stream[1])[-1500:]!r}", body)
        return
    case.check_reply(label, json.dumps({"chatseal": member}), forms, got)


def expect_unsignable(case, body, token, rng):
    """FORMAT.md 8.1: a reply whose status is not completed/incomplete, or
    with an item a client cannot send back, gets no token (502)."""
    reply = gen.reply("responses", rng)
    if rng.random() < 0.5:
        reply["status"] = rng.choice(["failed", "cancelled", "in_progress",
                                      "queued", None])
    else:
        reply["output"].insert(rng.randrange(len(reply["output"]) + 1), {
            "type": rng.choice(["computer_call", "mcp_call",
                                "local_shell_call"]), "id": "x",
            "status": "completed"})
    try:
        case.A.reply_messages(reply)
        fail(f"responses: the reference signs {reply}")
        return
    except api.Refused as e:
        code = e.code
    label = "responses/e-unsignable"
    status, payload = case.send(label, body, token, reply)
    got = error_code(payload)[0]
    if status != 502 or got != code or b"chatseal" in payload:
        fail(f"responses {label}: want 502 {code}, got {status} {got}: "
             f"{payload[:300]!r}", body)


def run_api(name, gw, up, seed):
    A = api.APIS[name]
    now = int(time.time()) - 5
    case = Case(name, A, gw, up, now)
    rng = random.Random(seed)
    for i in range(CASES):
        s1, s2 = rng.randrange(1 << 30), rng.randrange(1 << 30)
        units = gen.history(name, rng)
        top = gen.top(name, rng)
        b1 = gen.render(name, units, random.Random(s1), top)
        b2 = gen.render(name, units, random.Random(s2),
                        gen.respell_top(top, rng))
        internal = A.to_internal(json.loads(json.dumps(b1)))
        msgs = internal["messages"]
        n = len(msgs) - 1
        assert msgs[-1]["role"] == "user", msgs[-1]
        # (c) in the reference: the two spellings are one history
        i2 = A.to_internal(json.loads(json.dumps(b2)))
        if api.canon_text(api.verified_forms(i2["messages"], n)) != \
                api.canon_text(api.verified_forms(msgs, n)):
            fail(f"{name} #{i}: the reference maps two spellings apart")
        token = api.sign(RING, msgs[:n], now) if n else None
        reply = gen.reply(name, rng)
        out = case.expect_ok(f"{name}/a+b", b1, token, n, reply, rng)
        case.expect_ok(f"{name}/c", b2, token, n, gen.reply(name, rng), rng)
        kind, tunits = mutate(name, units, rng)
        if kind and n:
            tb = gen.render(name, tunits, random.Random(s1), top)
            expect_tamper(case, f"{name}/d-{kind}", tb, token, msgs[:n], n)
        if name == "responses" and i % 8 == 5:
            expect_unsignable(case, b1, token, rng)
        if name == "ollama" and i % 4 == 1:
            expect_ollama_tail(case, b1, token, n)
        if i % 4 == 0:
            bad = json.loads(json.dumps(b1))
            rng.choice(BAD[name])(bad)
            expect_refused(case, f"{name}/f-refused", bad, token)
        if i % 3 == 1:
            expect_stream(case, b1, token, n, rng)
        if out and i % 3 == 0:
            # (e) the next turn, carrying the reply as the client got it
            cs = out["chatseal"]
            if rng.random() < 0.5:
                carried = cs["output"]
                if isinstance(carried, dict):  # Messages, Ollama
                    carried = [carried]
            elif name == "responses":
                carried = [it for it in reply["output"]]
            elif name == "messages":
                carried = [{"role": "assistant", "content": reply["content"]}]
            else:
                carried = [reply["message"]]
            nb = with_history(name, b1, history_of(name, b1) + carried + [
                {"role": "user", "content": gen.text(rng, 1, 6, gen.SAFE)}])
            ni = A.to_internal(json.loads(json.dumps(nb)))
            case.expect_ok(f"{name}/e-next", nb, cs["token"],
                           len(ni["messages"]) - 1, gen.reply(name, rng), rng)


# ------------------------------------------------- the built-in mock --

MOCK_TOOLS = {
    "responses": [{"type": "function", "name": "get_weather",
                   "parameters": {"type": "object"}}],
    "messages": [{"name": "get_weather", "input_schema": {"type": "object"}}],
    "ollama": [{"type": "function", "function": {
        "name": "get_weather", "parameters": {"type": "object"}}}],
}
MOCK_THINK = {
    "responses": ("reasoning", {"effort": "low"}),
    "messages": ("thinking", {"type": "enabled", "budget_tokens": 1024}),
    "ollama": ("think", True),
}


def run_mock(name, gw, seed, cases):
    """(e) with --upstream mock, streamed and not: the token the gateway
    issues verifies in the reference over the reply as the client reads
    it (the JSON body, or the stream assembled as section 8 says)."""
    A = api.APIS[name]
    rng = random.Random(seed)
    now = int(time.time()) - 5
    case = Case(name, A, gw, None, now)
    for i in range(cases):
        units = gen.history(name, rng)
        units[-1] = ("user", rng.choice(["weather in Paris?", "hello é😀",
                                         "use the tool"]))
        top = gen.top(name, rng)
        top.pop("stream", None)
        top["stream"] = stream = rng.random() < 0.5
        if name == "ollama" and stream and rng.random() < 0.5:
            del top["stream"]  # Ollama streams by default
        if rng.random() < 0.6:
            top["tools"] = MOCK_TOOLS[name]
        if rng.random() < 0.5:
            k, v = MOCK_THINK[name]
            top[k] = v
            if name == "responses":
                top["include"] = ["reasoning.encrypted_content"]
        body = gen.render(name, units, random.Random(i), top)
        internal = A.to_internal(json.loads(json.dumps(body)))
        n = len(internal["messages"]) - 1
        token = api.sign(RING, internal["messages"][:n], now) if n else None
        label = f"{name}/mock-{'stream' if stream else 'json'}"
        status, payload = gw.post(A.path, body, token)
        stats[label] = stats.get(label, 0) + 1
        if status != 200:
            fail(f"{name} {label}: {status} {payload[:500]!r}")
            continue
        _, forms = forwarded(A, internal, n, token)
        if not stream:
            reply = json.loads(payload)
            reply.pop("chatseal", None)
            case.check_reply(label, payload, forms, reply)
        elif name == "ollama":
            reply, member = api.assemble_ollama(payload)
        elif name == "messages":
            reply, member = api.assemble_messages(api.sse(payload))
        else:
            reply, member = api.assemble_responses(api.sse(payload))
        if stream:
            case.check_reply(label, json.dumps({"chatseal": member}), forms,
                             reply)
        for m in A.reply_messages(reply):
            for k in ("tool_calls", "reasoning"):
                if m.get(k):
                    stats[f"{label}+{k}"] = stats.get(f"{label}+{k}", 0) + 1


def main():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    srv.handle_error = lambda *a: None  # the gateway hanging up early
    srv.daemon_threads = True
    srv.received, srv.reply, srv.stream = [], None, None
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    gw = Gateway(f"http://127.0.0.1:{srv.server_address[1]}")
    t0 = time.time()
    try:
        only = sys.argv[1:] or ["responses", "messages", "ollama"]
        for k, name in enumerate(["responses", "messages", "ollama"]):
            if name in only:
                run_api(name, gw, srv, 1000 + k)
        mock = Gateway("mock")
        try:
            for k, name in enumerate(["responses", "messages", "ollama"]):
                if name in only:
                    run_mock(name, mock, 2000 + k, max(CASES // 5, 10))
        finally:
            if mock.stop() != 0:
                fail("the mock gateway's exit status")
    finally:
        rc = gw.stop()
        srv.shutdown()
        srv.server_close()
    for k in sorted(stats):
        print(f"  {k}: {stats[k]}")
    print(f"{sum(stats.values())} requests in {time.time() - t0:.1f}s; "
          f"gateway exit {rc}")
    if rc != 0:
        fail(f"gateway exit status {rc}")
    print(f"{len(failures)} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
