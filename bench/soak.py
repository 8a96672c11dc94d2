#!/usr/bin/env python3
"""soak.py -- minutes of mixed traffic through `chatseal serve` (issue 10,
"Also"): RSS flat, no 5xx the gateway caused, and no token for a reply the
client did not fully get.  Started by bench/soak.sh (or by hand:
`python3 bench/soak.py --build build --duration 180`; `--short`: 20 s).

What runs, all on 127.0.0.1, stopped at the end (also on error or Ctrl-C):

  upstream  a threaded stdlib HTTP server in this process
            (soak_upstream.py) answering on every API's path in that API's
            wire format: Chat Completions, OpenAI Responses, Anthropic
            Messages, Ollama /api/chat (NDJSON).  The request's
            "model" picks the behaviour, so every client knows what it asked
            for: ok / stream (a deterministic echo of the last user message,
            so the client knows the complete reply in advance), and the
            injected faults: f500 (its own 500, code "injected_fault"),
            fcut (JSON reply cut after 20 bytes), fstall (no head for 3 s),
            scut (stream cut midway), sstall (stream stalls 3 s midway),
            sbad (a malformed event midway), serr (an error event midway),
            slong (a long, slow stream, for clients that hang up).
  gateway   build/src/cli/chatseal serve, one worker, a fresh key in
            CHATSEAL_KEYS, a temporary LMDB --store (so conversation-header
            turns are exercised), --fresh-roles system,developer,user (the
            conversations open with a system message), --upstream-timeout 1s
            (stalls become 504 / error events) and --body-timeout 2s (slow
            clients become 408).

Client threads (--clients, default 6) pick scenarios at random (seeded,
--seed), each scenario on an API picked at random (what each API's client
sends and reads is soak_apis.py), until --duration runs out: multi-turn
conversations carrying tokens
(JSON and streamed, header token), conversation-header-only turns (the store
keeps the token), tampered histories (403 and the exact code), malformed
bodies and malformed HTTP (400 and the exact code), slow clients (a body
trickled in ~1 s: 200; in ~3.5 s: 408), clients that hang up mid-stream,
and every upstream fault above.  Every request checks its status and code.

Invariants, checked continuously, reported at the end (exit 1 if one fails):
  1. RSS of the gateway (/proc/PID/status every second: VmRSS and its
     parts RssAnon, the heap, and RssFile, mostly the LMDB store's mapped
     pages, which grow with the conversations stored): start, after warm-up
     (--warmup, default 20% of the run, at most 30 s), max, end, the growth
     from warm-up to the end (median of the last 10% of samples minus the
     median of the 5 s after warm-up) and the least-squares slope after
     warm-up.  Fails if RssAnon grows by more than 10% of its warm-up value
     or 1 MiB, whichever is larger (the heap is ~1.5 MB; requests in flight
     at a sample move it by a few hundred KB).
  2. No 5xx but the injected ones: f500 must come back as the upstream's own
     500 (passed through, code injected_fault), fcut as 502 upstream_error,
     fstall as 504 upstream_timeout; any other 5xx is a failure.
  3. No token for a reply the client did not fully get: every faulted or
     cut stream ends with an error event, no chatseal chunk and no [DONE];
     every token received comes with the complete reply (the deltas and the
     signed message equal the echo the upstream was asked for), and every
     token is then verified by sending the next turn with it (200).  For
     the other APIs the same: no chatseal member and no end of stream
     (response.completed, message_stop, done:true) in a faulted stream; the
     reply is appended as the API's SDKs do (Responses: the output items as
     received; Anthropic: the assembled message; Ollama: the message).  After
     a fault or a hang-up, the next turn resends the history without the
     lost reply: it must be accepted (the gateway did not advance the
     conversation for a reply the client never got).
  4. Gateway CPU per request (utime+stime, /proc/PID/stat, per 5 s
     interval): median over the intervals (a figure, not a pass/fail).
  Also: the gateway must still be alive at the end, /healthz 200, and exit 0
  on SIGTERM.

Timing is not asserted beyond the timeouts the gateway itself enforces
(slow clients are built to be far from the 2 s body deadline); still, this
is a benchmark, not a suite test: it runs for minutes on purpose.

Python 3 standard library only.
"""
import argparse
import base64
import collections
import http.client
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

from soak_apis import API_BAD, APIS, JSON_BAD, Check
from soak_upstream import (ENDED, SEEN, UpHandler, UpServer, cpu_s,
                           echo_text, free_port, raw_http, rss_kb,
                           split_response, wait_port)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet "
         "kilo lima mike november oscar papa quebec romeo sierra tango "
         "uniform victor whiskey xray yankee zulu").split()

# ------------------------------------------------------------------ results


class Stats:
    """Counts per scenario and outcome, per API, and the failures,
    thread-safe."""

    def __init__(self):
        self.lock = threading.Lock()
        self.count = collections.Counter()   # (scenario, outcome)
        self.status = collections.Counter()  # HTTP status -> n
        self.api = collections.Counter()     # (api, "requests"|"tokens"|...)
        self.requests = 0
        self.failures = []
        self.tokens = 0
        self.tokens_verified = 0
        self.injected = 0

    def req(self, status, api="chat"):
        with self.lock:
            self.requests += 1
            self.status[status] += 1
            self.api[(api, "requests")] += 1
            if status >= 500:
                self.api[(api, "5xx")] += 1

    def ok(self, scenario, outcome="ok"):
        with self.lock:
            self.count[(scenario, outcome)] += 1

    def fail(self, scenario, what):
        with self.lock:
            self.count[(scenario, "FAIL")] += 1
            if len(self.failures) < 200:
                self.failures.append("%s: %s" % (scenario, what))

    def issued(self, api):
        with self.lock:
            self.tokens += 1
            self.api[(api, "tokens")] += 1

    def verified(self, api):
        with self.lock:
            self.tokens_verified += 1
            self.api[(api, "verified")] += 1

# ------------------------------------------------------------------- client


class Client:
    """One client thread.  Each scenario picks an API (self.api, a codec of
    soak_apis.py) and speaks it on that API's path; histories are
    {"sys", "units"} in the API's own shape."""

    def __init__(self, port, stats, rng):
        self.port, self.stats, self.rng = port, stats, rng
        self.keep = None  # a keep-alive connection, while a scenario uses one
        self.api = APIS[0]

    def post(self, body, headers=None, stream=False, hangup_after=None,
             raw=None):
        """One request on a fresh connection: (status, headers, body bytes,
        complete).  complete is False when the response ended early."""
        c = self.keep or http.client.HTTPConnection("127.0.0.1", self.port,
                                                    timeout=30)
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        data = raw if raw is not None else json.dumps(body).encode()
        try:
            c.request("POST", self.api.path, body=data, headers=h)
            r = c.getresponse()
            self.stats.req(r.status, self.api.name)
            hd = {k.lower(): v for k, v in r.getheaders()}
            if hangup_after is not None:
                got = r.read(hangup_after)
                c.sock.shutdown(socket.SHUT_RDWR)
                return r.status, hd, got, False
            try:
                return r.status, hd, r.read(), True
            except http.client.IncompleteRead as e:
                return r.status, hd, e.partial, False
        finally:
            if c is not self.keep:
                c.close()

    def chat(self, hist, model, token=None, conv=None, stream=False):
        h = {}
        if token:
            h["Chatseal-Token"] = token
        if conv:
            h["Chatseal-Conversation"] = conv
        return self.post(self.api.body(hist, model, stream), h, stream)

    def words(self, lo=3, hi=12):
        return " ".join(self.rng.choice(WORDS)
                        for _ in range(self.rng.randint(lo, hi)))

    def hist(self, sys_text, *users):
        return {"sys": sys_text, "units": [{"role": "user", "content": u}
                                           for u in users]}

    def plus(self, hist, *units):
        """A copy of hist with units appended (a user turn if a str)."""
        return {"sys": hist["sys"], "units": hist["units"] + [
            {"role": "user", "content": u} if isinstance(u, str) else u
            for u in units]}

    # -------------------------------------------------- reply checks

    def expect_error(self, r, status, code):
        st, hd, body, _ = r
        got = None
        try:
            got = self.api.error_code(body)
        except (ValueError, KeyError, TypeError):
            pass
        if st != status or got != code:
            raise Check("%s: expected %d %s, got %d %s: %r" %
                        (self.api.name, status, code, st, got, body[:200]))

    def reply_ok(self, r, stream, expect_text):
        """A 200 reply with its token: (units to append, token).  Asserts
        the client got the complete reply, whose text it knows in advance,
        and that the signed text is that text.  The caller counts the token
        as issued (Stats.issued) when a later turn will use it, and that
        turn counts it verified: the two counts must agree at the end."""
        st, hd, body, complete = r
        if st != 200:
            raise Check("%s: expected 200, got %d: %r" %
                        (self.api.name, st, body[:300]))
        if not complete:
            raise Check("200 reply not complete")
        if not stream:
            obj = json.loads(body)
            text, signed, units = self.api.parse_json(obj)
            tok = obj["chatseal"]["token"]
            if hd.get("chatseal-token") != tok:
                raise Check("header token differs from body token")
            if text != expect_text or signed != expect_text:
                raise Check("%s: token with reply %r (signed %r), expected %r"
                            % (self.api.name, text, signed, expect_text))
            return units, tok
        p = self.api.parse_stream(body)
        if p["error"]:
            raise Check("error event in a clean stream: %r" % body[-300:])
        if p["seal"] is None or not p["last"]:
            raise Check("%s: complete stream without a chatseal event last: "
                        "%r" % (self.api.name, body[-300:]))
        if not p["done"] or p["text"] != expect_text or \
                p["signed"] != expect_text:
            raise Check("%s: token for an incomplete stream: deltas %r, "
                        "signed %r, expected %r" % (
                            self.api.name, p["text"], p["signed"],
                            expect_text))
        return p["units"], p["seal"]["token"]

    def stream_faulted(self, r):
        """A stream that failed midway: 200, an error event at the end, no
        chatseal member, no end of stream ([DONE], response.completed,
        message_stop, done:true)."""
        st, hd, body, complete = r
        if st != 200:
            raise Check("faulted stream: status %d %r" % (st, body[:200]))
        frames = self.api.frames(body)
        if any('"chatseal"' in f for f in frames):
            raise Check("TOKEN for a faulted stream: %r" % body[-300:])
        try:
            done = self.api.parse_stream(body)["done"]
        except (ValueError, KeyError, TypeError, AttributeError):
            done = False  # a frame the client cannot read: not complete
        if done or "[DONE]" in frames:
            raise Check("faulted stream ended as complete: %r" % body[-300:])
        if not frames or '"error"' not in frames[-1]:
            raise Check("faulted stream does not end with an error event: %r"
                        % body[-300:])

    def next_ok(self, hist, token, conv, stream=False, model="ok"):
        """One more turn that must succeed: (its history, units, token)."""
        m = self.plus(hist, self.words())
        units, tok = self.reply_ok(self.chat(m, model, token, conv, stream),
                                   stream, echo_text(m["units"]))
        return m, units, tok

    # ----------------------------------------------------- scenarios

    def conversation(self, name, mode, stream_pick):
        """Multi-turn: mode 'token' (header token) or 'header' (conversation
        id only).  Each turn's token is verified by the next turn."""
        conv = str(uuid.uuid4()) if mode == "header" else None
        hist = self.hist("You are soak " + self.words(1, 3))
        if self.rng.random() < 0.5:  # every turn on one keep-alive connection
            self.keep = http.client.HTTPConnection("127.0.0.1", self.port,
                                                   timeout=30)
            name += "+ka"
        try:
            token = None
            for turn in range(self.rng.randint(2, 5)):
                stream = stream_pick()
                m, units, tok = self.next_ok(hist, token, conv, stream,
                                             "stream" if stream else "ok")
                self.stats.issued(self.api.name)
                if turn > 0:
                    self.stats.verified(self.api.name)  # the previous token
                hist = self.plus(m, *units)
                token = tok if mode == "token" else None
            # the last token verified too, by one more turn
            self.next_ok(hist, token, conv)
            self.stats.verified(self.api.name)
            self.stats.ok(name)
        finally:
            if self.keep:
                self.keep.close()
                self.keep = None

    def one_turn(self, mode="token"):
        conv = str(uuid.uuid4()) if mode == "header" else None
        hist = self.hist("sys " + self.words(1, 2), self.words())
        units, tok = self.reply_ok(self.chat(hist, "ok", None, conv), False,
                                   echo_text(hist["units"]))
        self.stats.issued(self.api.name)  # every caller uses it next
        return self.plus(hist, *units), tok, conv

    def tampered(self):
        kind = self.rng.choice(["content", "role", "inserted", "signature",
                                "deleted", "stale"])
        hist, tok, conv = self.one_turn("header" if kind == "stale" else "token")
        m = self.plus(hist, self.words())
        u = m["units"]
        if kind == "content":
            u[1] = self.api.edit(u[1])
            self.expect_error(self.chat(m, "ok", tok), 403, "content_changed")
        elif kind == "role":
            u.insert(2, {"role": "assistant", "content": "forged"})
            self.expect_error(self.chat(m, "ok", tok), 403, "role_not_allowed")
        elif kind == "inserted":
            u.insert(0, {"role": "user", "content": "smuggled"})
            self.expect_error(self.chat(m, "ok", tok), 403, "message_inserted")
        elif kind == "deleted":
            del u[0]
            self.expect_error(self.chat(m, "ok", tok), 403, "message_deleted")
        elif kind == "signature":
            t = tok[:-3] + ("AAA" if tok[-3:] != "AAA" else "BBB")
            self.expect_error(self.chat(m, "ok", t), 403, "invalid_signature")
        else:
            # a conversation-header conversation, two turns; the first turn's
            # history and token sent again: an older, genuine token
            m, units, tok2 = self.next_ok(hist, tok, conv)
            self.expect_error(self.chat(self.plus(hist, self.words()), "ok",
                                        tok, conv), 403, "stale_token")
            self.stats.verified(self.api.name)  # tok, by the second turn
            self.stats.issued(self.api.name)  # tok2, verified below
            hist, tok = self.plus(m, *units), tok2
        # the refusal did not hurt the conversation: the genuine history
        # with its token goes on
        self.next_ok(hist, tok, conv)
        self.stats.verified(self.api.name)
        self.stats.ok("tampered/" + self.api.name, kind)

    def malformed(self):
        cases = [(k, r, c) for k, r, c in JSON_BAD] + \
            [(k, json.dumps(b).encode(), c) for k, b, c in API_BAD[self.api.name]]
        if self.api.name == "chat":
            cases += HTTP_BAD
        kind, raw, code = self.rng.choice(cases)
        if code is None:
            st = raw_http(self.port, raw)
            self.stats.req(st)
            if st != 400:
                raise Check("malformed HTTP: status %s" % st)
        else:
            self.expect_error(self.post(None, raw=raw),
                              403 if code == "member_not_allowed" else 400, code)
        self.stats.ok("malformed/" + self.api.name, kind)

    def trickle(self, body, pause, pieces=10):
        """Sends body over pieces * pause seconds; the raw response."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        try:
            s.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Type: application/json\r\nConnection: close\r\n"
                      b"Content-Length: %d\r\n\r\n" % (self.api.path.encode(),
                                                        len(body)))
            step = (len(body) + pieces - 1) // pieces
            try:
                for i in range(0, len(body), step):
                    s.sendall(body[i:i + step])
                    time.sleep(pause)
            except OSError:
                pass  # the gateway answered 408 and closed
            resp = b""
            try:
                while True:
                    d = s.recv(65536)
                    if not d:
                        break
                    resp += d
            except OSError:
                pass
            return resp
        finally:
            s.close()

    def slow(self):
        """Trickles a clean body: over ~1 s (well inside --body-timeout 2s):
        200 and a token; over ~3.5 s: 408 timeout (or, if the gateway closed
        before we finished writing, a reset)."""
        late = self.rng.random() < 0.5
        hist = self.hist("sys", self.words())
        body = json.dumps(self.api.body(hist, "ok", False)).encode()
        name = "slow/" + self.api.name
        if self.rng.random() < 0.3:
            # half a body, then the client goes away: nothing to check but
            # that the gateway forgets it (RSS) and stays up
            with socket.create_connection(("127.0.0.1", self.port), timeout=30) as s:
                s.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\n"
                          b"Content-Type: application/json\r\n"
                          b"Content-Length: %d\r\n\r\n" % (
                              self.api.path.encode(), len(body)) +
                          body[:len(body) // 2])
                time.sleep(0.2)
            self.stats.ok(name, "abandoned")
            return
        resp = self.trickle(body, (3.5 if late else 1.0) / 10)
        st, body_out = split_response(resp)
        if st is not None:
            self.stats.req(st, self.api.name)
        if late:
            if st is None and not resp:
                self.stats.ok(name, "late-reset")
                return
            # the body deadline is the server's, before the path picks an
            # adapter: OpenAI's error shape on every path so far (either
            # shape is read, so that this holds if it takes the API's)
            code = None
            for reader in (self.api, APIS[0]):
                try:
                    code = code or reader.error_code(body_out)
                except (ValueError, KeyError, TypeError, Check):
                    pass
            if st != 408 or code != "timeout":
                raise Check("late body: %s %r" % (st, resp[:200]))
            self.stats.ok(name, "late-408")
        else:
            head = resp.partition(b"\r\n\r\n")[0].decode("latin-1")
            hd = {k.strip().lower(): v.strip() for k, _, v in (
                l.partition(":") for l in head.split("\r\n")[1:])}
            units, tok = self.reply_ok((st, hd, body_out, True), False,
                                       echo_text(hist["units"]))
            self.stats.issued(self.api.name)
            self.next_ok(self.plus(hist, *units), tok, None)
            self.stats.verified(self.api.name)
            self.stats.ok(name, "in-time")

    def after_loss(self, name, hist, tok, conv, lost):
        """The reply of the previous turn was lost (fault or hang-up): the
        next turn resends the history without it; the gateway must not have
        advanced the conversation."""
        m = self.plus(hist, self.words())
        t0 = time.monotonic()
        r = self.chat(m, "ok", tok, conv)
        if r[0] != 200:
            seen = SEEN.get(echo_text(m["units"]))
            raise Check("%s: next turn after a lost reply: %d %r; upstream: %s"
                        % (lost, r[0], r[2][:300], "never got it" if not seen
                           else "got it after %.3f s, answered after %.3f s"
                           % (seen[0] - t0, seen[1] - t0)))
        SEEN.pop(echo_text(m["units"]), None)
        self.reply_ok(r, False, echo_text(m["units"]))
        self.stats.verified(self.api.name)  # tok
        self.stats.ok(name + "/" + self.api.name, lost)

    def hangup(self):
        mode = self.rng.choice(["token", "header"])
        hist, tok, conv = self.one_turn(mode)
        m = self.plus(hist, self.words())
        r = self.post(self.api.body(m, "slong", True),
                      dict({"Chatseal-Token": tok} if mode == "token" else {},
                           **({"Chatseal-Conversation": conv} if conv else {})),
                      hangup_after=self.rng.choice([1, 200, 2000]))
        if r[0] != 200:
            raise Check("long stream: %d %r" % (r[0], r[2][:200]))
        # wait until the upstream's stream is over (written to its end, or
        # broken by the gateway giving up on it): only then would a commit
        # of the lost reply have happened; the next turn must be accepted
        text = echo_text(m["units"])
        if not ENDED[text].wait(20):
            raise Check("the upstream stream did not end 20 s after the hang-up")
        ENDED.pop(text, None)
        time.sleep(0.1)  # the gateway's own end of stream handling
        self.after_loss("hangup", hist, tok if mode == "token" else None,
                        conv, mode)

    def slow_reader(self):
        """Reads a long stream a little at a time (back-pressure on the
        gateway): the complete reply and its token, verified next turn."""
        hist, tok, _ = self.one_turn()
        m = self.plus(hist, self.words(2, 4))
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            c.request("POST", self.api.path, body=json.dumps(
                self.api.body(m, "slong", True)).encode(),
                headers={"Content-Type": "application/json",
                         "Chatseal-Token": tok})
            r = c.getresponse()
            self.stats.req(r.status, self.api.name)
            hd = {k.lower(): v for k, v in r.getheaders()}
            body = b""
            while True:
                d = r.read(512)
                if not d:
                    break
                body += d
                time.sleep(0.05)
        finally:
            c.close()
        words = echo_text(m["units"]).split(" ")
        full = "".join([w + " " for w in words[:-1]] + [words[-1]]) * 20
        units, tok2 = self.reply_ok((r.status, hd, body, True), True, full)
        self.stats.verified(self.api.name)  # tok, by the long stream
        self.stats.issued(self.api.name)  # tok2
        self.next_ok(self.plus(m, *units), tok2, None)
        self.stats.verified(self.api.name)
        self.stats.ok("slow-reader/" + self.api.name)

    def fault(self):
        model = self.rng.choice(["f500", "fcut", "fstall", "scut", "sstall",
                                 "sbad", "serr"])
        mode = self.rng.choice(["token", "header"])
        hist, tok, conv = self.one_turn(mode)
        m = self.plus(hist, self.words())
        stream = model.startswith("s")
        r = self.chat(m, model, tok if mode == "token" else None, conv, stream)
        if model == "f500":
            # the upstream's own error, passed through unchanged
            if r[0] != 500 or b"injected" not in r[2] or \
                    r[1].get("chatseal-token"):
                raise Check("f500: %d %r" % (r[0], r[2][:200]))
        elif model == "fcut":
            self.expect_error(r, 502, "upstream_error")
        elif model == "fstall":
            self.expect_error(r, 504, "upstream_timeout")
        else:
            self.stream_faulted(r)
        with self.stats.lock:
            self.stats.injected += 1
        self.after_loss("fault", hist, tok if mode == "token" else None, conv,
                        model)

    def run(self, deadline):
        scen = [(self.conversation_token_json, 3), (self.conversation_token_stream, 3),
                (self.conversation_header, 3), (self.tampered, 2),
                (self.malformed, 3), (self.slow, 1), (self.hangup, 1), (self.slow_reader, 1),
                (self.fault, 3)]
        fns = [f for f, w in scen for _ in range(w)]
        while time.time() < deadline:
            fn = self.rng.choice(fns)
            self.api = self.rng.choice(APIS)
            try:
                fn()
            except Check as e:
                self.stats.fail(fn.__name__ + "/" + self.api.name, str(e))
            except (OSError, http.client.HTTPException, ValueError,
                    KeyError, TypeError, IndexError) as e:
                self.stats.fail(fn.__name__ + "/" + self.api.name,
                                "%s: %s" % (type(e).__name__, e))

    def conversation_token_json(self):
        self.conversation("conv-token-json/" + self.api.name, "token",
                          lambda: False)

    def conversation_token_stream(self):
        self.conversation("conv-token-mixed/" + self.api.name, "token",
                          lambda: self.rng.random() < 0.7)

    def conversation_header(self):
        self.conversation("conv-header-only/" + self.api.name, "header",
                          lambda: self.rng.random() < 0.5)


HTTP_BAD = [
    ("http", b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n{}", None),
    ("http", b"POST /v1/chat/completions HTTP/1.1\r\nHost : x\r\n\r\n", None),
]


# ----------------------------------------------------------------- sampling


def sampler(pid, stats, stop, rss, cpu, t0):
    """Every second: RSS; every 5 s: CPU seconds per request."""
    last_cpu, last_req, last_t = cpu_s(pid), 0, time.time()
    while not stop.wait(1.0):
        try:
            rss.append((time.time() - t0, rss_kb(pid)))
            if time.time() - last_t >= 5:
                c, n = cpu_s(pid), stats.requests
                if n > last_req:
                    cpu.append((c - last_cpu) * 1e6 / (n - last_req))
                last_cpu, last_req, last_t = c, n, time.time()
        except OSError:
            return  # the gateway died: reported at the end


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.environ.get("BENCH_BUILD", "build"))
    ap.add_argument("--duration", type=float, default=180)
    ap.add_argument("--warmup", type=float, default=None,
                    help="seconds before the RSS reference (default 20%% of "
                    "the duration, at most 30)")
    ap.add_argument("--clients", type=int, default=6)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--short", action="store_true", help="20 seconds")
    ap.add_argument("--json", help="append the figures as one JSON line")
    ap.add_argument("--no-rss-check", action="store_true",
                    help="report RSS but do not fail on it (ASan builds: "
                    "the quarantine holds freed memory by design)")
    a = ap.parse_args()
    if a.short:
        a.duration = 20
    warm = a.warmup if a.warmup is not None else min(30.0, a.duration * 0.2)
    chatseal = os.path.join(ROOT, a.build, "src/cli/chatseal")
    if not os.access(chatseal, os.X_OK):
        print("soak: %s not built" % chatseal, file=sys.stderr)
        return 2
    d = tempfile.mkdtemp(prefix="chatseal-soak-")
    up = UpServer(("127.0.0.1", 0), UpHandler)
    threading.Thread(target=up.serve_forever, daemon=True).start()
    key = "soak:" + base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATSEAL_")}
    env["CHATSEAL_KEYS"] = key
    port = free_port()
    argv = [chatseal, "serve", "--listen", "127.0.0.1:%d" % port,
            "--upstream", "http://127.0.0.1:%d" % up.server_address[1],
            "--store", os.path.join(d, "store"), "--fresh-roles",
            "system,developer,user", "--upstream-timeout", "1s",
            "--body-timeout", "2s", "--quiet"]
    log = open(os.path.join(d, "gateway.log"), "wb")
    gw = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                          stderr=subprocess.STDOUT, env=env)
    stats = Stats()
    rss, cpu = [], []
    stop = threading.Event()
    rc = 0
    try:
        wait_port(port, gw)
        t0 = time.time()
        rss.append((0.0, rss_kb(gw.pid)))  # before any request
        smp = threading.Thread(target=sampler,
                               args=(gw.pid, stats, stop, rss, cpu, t0))
        smp.start()
        deadline = t0 + a.duration
        threads = [threading.Thread(target=Client(
            port, stats, random.Random(a.seed * 1000 + i)).run, args=(deadline,))
            for i in range(a.clients)]
        for t in threads:
            t.daemon = True  # Ctrl-C: main stops the gateway, threads die with us
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.time() - t0
        stop.set()
        smp.join()
        alive = gw.poll() is None
        health = None
        if alive:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            c.request("GET", "/healthz")
            health = c.getresponse().status
            c.close()
        rc = report(a, stats, rss, cpu, warm, elapsed, alive, health)
    finally:
        stop.set()
        if gw.poll() is None:
            gw.send_signal(signal.SIGTERM)
            try:
                gw.wait(30)
            except subprocess.TimeoutExpired:
                gw.kill()
                gw.wait()
        up.shutdown()
        up.server_close()
        log.close()
        if gw.returncode != 0:
            print("FAIL gateway exit status %s; log:" % gw.returncode)
            with open(os.path.join(d, "gateway.log"), "rb") as f:
                print(f.read()[-3000:].decode("utf-8", "replace"))
            rc = 1
        shutil.rmtree(d, ignore_errors=True)
    return rc


def report(a, stats, rss, cpu, warm, elapsed, alive, health):
    fails = []
    figs = {}
    for i, name in enumerate(("VmRSS", "RssAnon", "RssFile")):
        kb = [v[i] for _, v in rss]
        after = [v[i] for t, v in rss if warm <= t < warm + 5] or kb[:1]
        tail = [v[i] for _, v in rss[-max(1, len(rss) // 10):]]
        ref = statistics.median(after)
        late = [(t, v[i]) for t, v in rss if t >= warm]
        slope = 0.0
        if len(late) >= 3:
            mt = statistics.mean(t for t, _ in late)
            mv = statistics.mean(v for _, v in late)
            den = sum((t - mt) ** 2 for t, _ in late)
            slope = sum((t - mt) * (v - mv) for t, v in late) / den * 60 if den else 0
        figs[name] = {"start": kb[0], "warm": ref, "max": max(kb), "end": kb[-1],
                      "growth": statistics.median(tail) - ref,
                      "slope_per_min": round(slope)}
    anon = figs["RssAnon"]
    limit = max(0.10 * anon["warm"], 1024)
    if anon["growth"] > limit and not a.no_rss_check:
        fails.append("RssAnon grew %d KB after warm-up (limit %d KB)" %
                     (anon["growth"], limit))
    bad5xx = {s: n for s, n in stats.status.items() if s >= 500}
    injected5 = sum(n for (sc, o), n in stats.count.items()
                    if sc.startswith("fault/") and o in ("f500", "fcut", "fstall"))
    if sum(bad5xx.values()) > injected5:
        fails.append("%d 5xx, only %d injected" % (sum(bad5xx.values()), injected5))
    if stats.failures:
        fails.append("%d request check(s) failed" % len(stats.failures))
    if not stats.failures and stats.tokens_verified != stats.tokens:
        fails.append("%d tokens issued, %d verified" % (stats.tokens,
                                                        stats.tokens_verified))
    if not alive or health != 200:
        fails.append("gateway alive=%s healthz=%s" % (alive, health))
    print("soak: %.0f s, %d clients, seed %d, %d requests (%.1f/s)" %
          (elapsed, a.clients, a.seed, stats.requests, stats.requests / elapsed))
    print("\n%-30s %-16s %7s" % ("scenario/api", "outcome", "count"))
    for (sc, o), n in sorted(stats.count.items()):
        print("%-30s %-16s %7d" % (sc, o, n))
    print("\n%-10s %9s %6s %9s %9s" % ("api", "requests", "5xx", "tokens",
                                       "verified"))
    for api in [x.name for x in APIS]:
        print("%-10s %9d %6d %9d %9d" % (
            api, stats.api[(api, "requests")], stats.api[(api, "5xx")],
            stats.api[(api, "tokens")], stats.api[(api, "verified")]))
    print("\nstatus: " + ", ".join("%d: %d" % (s, n)
                                   for s, n in sorted(stats.status.items())))
    print("tokens issued to clients: %d, verified by a next turn: %d; "
          "injected upstream faults: %d" % (stats.tokens, stats.tokens_verified,
                                            stats.injected))
    print("\n%-8s %8s %8s %8s %8s %9s %13s  (KB; warm-up: %.0f s)" %
          ("memory", "start", "warm-up", "max", "end", "growth", "slope/min", warm))
    for name, f in figs.items():
        print("%-8s %8d %8d %8d %8d %+9d %+13d" % (
            name, f["start"], f["warm"], f["max"], f["end"], f["growth"],
            f["slope_per_min"]))
    print("pass/fail on RssAnon (the heap): growth limit %d KB "
          "(10%% of warm-up or 1 MiB)" % limit)
    if cpu:
        print("gateway CPU per request: median %.0f us over %d intervals of 5 s "
              "(min %.0f, max %.0f)" % (statistics.median(cpu), len(cpu),
                                        min(cpu), max(cpu)))
    for f in stats.failures[:30]:
        print("  check failed: " + f)
    print("\n" + ("FAIL: " + "; ".join(fails) if fails else
                  "PASS: RSS flat, no 5xx but the injected ones, no token for "
                  "an incomplete reply, every token verified"))
    if a.json:
        with open(a.json, "a") as f:
            f.write(json.dumps({
                "op": "soak", "duration_s": round(elapsed), "clients": a.clients,
                "requests": stats.requests, "status": {str(k): v for k, v in
                                                       stats.status.items()},
                "rss_kb": figs,
                "cpu_us_per_req": statistics.median(cpu) if cpu else None,
                "tokens": stats.tokens, "failures": len(stats.failures),
                "per_api": {x.name: {k: stats.api[(x.name, k)] for k in (
                    "requests", "5xx", "tokens", "verified")} for x in APIS},
                "pass": not fails}) + "\n")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
