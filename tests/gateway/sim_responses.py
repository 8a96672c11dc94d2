"""sim_responses.py -- an upstream speaking the OpenAI Responses API
(POST /v1/responses) the way real servers do, for the gateway's Responses
tests (test_responses.py, sdk/responses.mjs).

Dialect = the request's "model": one containing "vllm" gets vLLM's
dialect, any other OpenAI's.

  openai  mirrors api.openai.com (API reference "The response object",
          "Streaming events"): output items with ids (msg_/fc_/rs_) and
          status; message content [{type: output_text, text, annotations:
          [], logprobs: []}]; reasoning items {id, type, summary:
          [{type: summary_text, text}]} with encrypted_content only when
          include has "reasoning.encrypted_content"; the request's
          parameters echoed (instructions, tools, store, temperature ...),
          usage with *_tokens_details.  Streams: named events (an `event:`
          line equal to data.type), sequence_number from 0,
          response.created / response.in_progress, per item
          response.output_item.added ... .done, text deltas carrying an
          `obfuscation` pad, reasoning_summary_part/_text events,
          response.completed with the whole response, and NO `data: [DONE]`.
  vllm    mirrors vLLM's /v1/responses (entrypoints/openai/responses/
          serving.py, protocol.py): `store` silently turned off (vLLM
          ignores store=true unless VLLM_ENABLE_RESPONSES_API_STORE);
          previous_response_id unknown -> 404; reasoning items
          {id, type, summary: [], content: [{type: reasoning_text, text}],
          encrypted_content: null, status: null} streamed as
          response.content_part.added (a reasoning_text part),
          response.reasoning_text.delta/.done; deltas without
          `obfuscation`, logprobs [] on text parts; response object with
          background/max_tool_calls/service_tier members.

Behaviour switches, also in "model" (any combination):
  reason     a reasoning item first
  websearch  (openai) a web_search_call item before the message
  parallel   two function calls instead of one
  computer   a computer_call item before the message (an item a client
             cannot send back through the gateway)
  lie        streamed: response.completed carries another text than the
             deltas (a broken or hostile upstream)
  failed     streamed: response.failed after the first delta
  cut        streamed: the connection closes after the first delta
Tool calls: when the request offers function tools and the last user text
mentions "weather" or "tool", the reply calls the first tool.  Text replies
carry non-ASCII characters, and one streamed event is written in two TCP
writes split inside a multi-byte character.

The simulator records every request: GET /_sim/requests (JSON list of
{path, headers, body}), POST /_sim/reset.  As a program it prints
{"port": N, "url": ...} on one stdout line and serves until stdin closes.
Python 3 standard library only.
"""

import http.server
import json
import sys
import threading
import time


def _text_of(content):
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content
                        if isinstance(p, dict))
    return ""


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def _send_json(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/_sim/requests":
            with self.server.lock:
                self._send_json(200, list(self.server.requests))
            return
        self._send_json(404, {"error": {"message": "not found",
                                        "type": "invalid_request_error",
                                        "param": None, "code": None}})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        if self.path == "/_sim/reset":
            with self.server.lock:
                self.server.requests.clear()
            self._send_json(200, {})
            return
        with self.server.lock:
            self.server.requests.append(
                {"path": self.path, "headers": dict(self.headers),
                 "body": body.decode("utf-8", "replace")})
        if self.path != "/v1/responses":
            self._send_json(404, {"error": {"message": "no such endpoint",
                                            "type": "invalid_request_error",
                                            "param": None, "code": None}})
            return
        try:
            req = json.loads(body)
        except ValueError:
            self._send_json(400, {"error": {"message": "bad JSON",
                                            "type": "invalid_request_error",
                                            "param": None, "code": None}})
            return
        Turn(self, req).answer()


class Turn:
    def __init__(self, h, req):
        self.h, self.req = h, req
        self.model = str(req.get("model") or "sim")
        self.vllm = "vllm" in self.model
        self.seq = 0
        h.server.counter += 1
        self.n = h.server.counter
        inp = req.get("input")
        items = [{"role": "user", "content": inp}] if isinstance(inp, str) \
            else (inp or [])
        last = items[-1] if items else {}
        tools = [t for t in req.get("tools") or []
                 if isinstance(t, dict) and t.get("type") == "function"]
        self.call = None
        if last.get("type") == "function_call_output":
            outs = []
            for it in reversed(items):
                if it.get("type") != "function_call_output":
                    break
                outs.insert(0, _text_of(it.get("output")))
            self.text = f"Sim: the tool said “{' | '.join(outs)}” ✓"
        else:
            said = _text_of(last.get("content"))
            if tools and ("weather" in said or "tool" in said):
                # only what the tool's schema allows (strict schemas, and
                # the AI SDK re-encodes the input it validated); a space the
                # SDKs drop when they re-serialize
                self.call = (tools[0]["name"], '{"city": "Paris"}')
            nuser = sum(1 for i in items if i.get("role") == "user")
            self.text = f"Sim reply {nuser} to “{said[:60]}” — héllo ✓"

    # ------------------------------------------------------------ items --

    def items(self):
        out = []
        n = self.n
        if "reason" in self.model:
            if self.vllm:
                out.append({"id": f"rs_{n:08x}", "summary": [],
                            "type": "reasoning",
                            "content": [{"text": "Thinking… about it.",
                                         "type": "reasoning_text"}],
                            "encrypted_content": None, "status": None})
            else:
                r = {"id": f"rs_{n:08x}sim", "type": "reasoning",
                     "summary": [{"type": "summary_text",
                                  "text": "**Plan** answer briefly"}]}
                if "reasoning.encrypted_content" in (self.req.get("include")
                                                     or []):
                    r["encrypted_content"] = f"gAAAAABsim{n:04d}+/enc=="
                out.append(r)
        if "websearch" in self.model and not self.vllm:
            out.append({"id": f"ws_{n:08x}", "type": "web_search_call",
                        "status": "completed",
                        "action": {"type": "search", "query": "weather"}})
        if "computer" in self.model:
            out.append({"id": f"cu_{n:08x}", "type": "computer_call",
                        "call_id": f"call_cu{n:04d}", "status": "completed",
                        "action": {"type": "screenshot"},
                        "pending_safety_checks": []})
        if self.call:
            out.append({"id": f"fc_{n:08x}", "type": "function_call",
                        "status": "completed", "arguments": self.call[1],
                        "call_id": f"call_sim{n:04d}", "name": self.call[0]})
            if "parallel" in self.model:
                out.append({"id": f"fc_{n:08x}b", "type": "function_call",
                            "status": "completed",
                            "arguments": '{"city": "Lyon"}',
                            "call_id": f"call_sim{n:04d}b",
                            "name": self.call[0]})
        else:
            out.append({"id": f"msg_{n:08x}", "type": "message",
                        "status": "completed", "role": "assistant",
                        "content": [{"type": "output_text",
                                     "annotations": [],
                                     "logprobs": [], "text": self.text}]})
        return out

    def response(self, status, output):
        req = self.req
        r = {"id": f"resp_{self.n:08x}sim", "object": "response",
             "created_at": 1764900000 + self.n, "status": status,
             "error": None, "incomplete_details": None,
             "instructions": req.get("instructions"),
             "max_output_tokens": req.get("max_output_tokens"),
             "model": self.model, "output": output,
             "parallel_tool_calls": req.get("parallel_tool_calls", True),
             "previous_response_id": None,
             "reasoning": {"effort": None, "summary": None},
             "store": False if self.vllm else req.get("store", True),
             "temperature": req.get("temperature", 1.0),
             "text": {"format": {"type": "text"}},
             "tool_choice": req.get("tool_choice", "auto"),
             "tools": req.get("tools", []), "top_p": 1.0,
             "truncation": "disabled",
             "usage": None if status == "in_progress" else {
                 "input_tokens": 20, "input_tokens_details":
                     {"cached_tokens": 0},
                 "output_tokens": 12, "output_tokens_details":
                     {"reasoning_tokens": 4}, "total_tokens": 32},
             "user": None, "metadata": req.get("metadata", {})}
        if self.vllm:
            r.update(background=False, max_tool_calls=None,
                     service_tier="auto", top_logprobs=None, prompt=None)
        return r

    # ----------------------------------------------------------- answer --

    def answer(self):
        req = self.req
        if self.vllm and req.get("previous_response_id"):
            self.h._send_json(404, {"error": {
                "message": "Response with id "
                f"'{req['previous_response_id']}' not found.",
                "type": "invalid_request_error", "param": None,
                "code": None}})
            return
        if not req.get("stream"):
            self.h._send_json(200, self.response("completed", self.items()))
            return
        h = self.h
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream; charset=utf-8")
        h.send_header("Cache-Control", "no-cache")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        try:
            self.stream()
            h.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError, _Cut):
            pass
        h.close_connection = True

    def _write(self, data):
        self.h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.h.wfile.flush()

    def ev(self, obj, split=False):
        obj = dict(obj, sequence_number=self.seq)
        self.seq += 1
        data = (f"event: {obj['type']}\ndata: "
                f"{json.dumps(obj, ensure_ascii=False)}\n\n").encode()
        if split:
            # two writes, cut inside the first multi-byte character
            k = next((i for i, b in enumerate(data) if b >= 0xC0), None)
            if k is not None:
                self._write(data[:k + 1])
                time.sleep(0.01)
                self._write(data[k + 1:])
                return
        self._write(data)

    def stream(self):
        items = self.items()
        self.ev({"type": "response.created",
                 "response": self.response("in_progress", [])})
        self.ev({"type": "response.in_progress",
                 "response": self.response("in_progress", [])})
        for oi, item in enumerate(items):
            t = item["type"]
            if t == "message":
                self.stream_message(oi, item)
            elif t == "function_call":
                self.ev({"type": "response.output_item.added",
                         "output_index": oi,
                         "item": dict(item, arguments="",
                                      status="in_progress")})
                a = item["arguments"]
                for piece in (a[:len(a) // 2], a[len(a) // 2:]):
                    d = {"type": "response.function_call_arguments.delta",
                         "item_id": item["id"], "output_index": oi,
                         "delta": piece}
                    if not self.vllm:
                        d["obfuscation"] = "x" * (len(piece) % 7 + 1)
                    self.ev(d)
                self.ev({"type": "response.function_call_arguments.done",
                         "item_id": item["id"], "output_index": oi,
                         "arguments": a})
            elif t == "reasoning":
                self.stream_reasoning(oi, item)
            elif t == "computer_call":
                self.ev({"type": "response.output_item.added",
                         "output_index": oi, "item": item})
            else:  # web_search_call
                self.ev({"type": "response.output_item.added",
                         "output_index": oi,
                         "item": dict(item, status="in_progress")})
                self.ev({"type": "response.web_search_call.completed",
                         "item_id": item["id"], "output_index": oi})
            self.ev({"type": "response.output_item.done",
                     "output_index": oi, "item": item})
        if "lie" in self.model:
            items = json.loads(json.dumps(items))
            for it in items:
                if it["type"] == "message":
                    it["content"][0]["text"] = "Something else entirely."
        self.ev({"type": "response.completed",
                 "response": self.response("completed", items)})

    def stream_message(self, oi, item):
        mid, text = item["id"], item["content"][0]["text"]
        self.ev({"type": "response.output_item.added", "output_index": oi,
                 "item": dict(item, status="in_progress", content=[])})
        self.ev({"type": "response.content_part.added", "item_id": mid,
                 "output_index": oi, "content_index": 0,
                 "part": {"type": "output_text", "annotations": [],
                          "logprobs": [], "text": ""}})
        words = text.split(" ")
        for i, w in enumerate(words):
            piece = w + (" " if i < len(words) - 1 else "")
            d = {"type": "response.output_text.delta", "item_id": mid,
                 "output_index": oi, "content_index": 0, "delta": piece,
                 "logprobs": []}
            if not self.vllm:
                d["obfuscation"] = "AbC123xyz"[:len(piece) % 9 + 1]
            self.ev(d, split=any(ord(c) > 127 for c in piece))
            if i == 0 and "failed" in self.model:
                self.ev({"type": "response.failed", "response": dict(
                    self.response("failed", []),
                    error={"code": "server_error",
                           "message": "The model failed."})})
                return
            if i == 0 and "cut" in self.model:
                raise _Cut()
        self.ev({"type": "response.output_text.done", "item_id": mid,
                 "output_index": oi, "content_index": 0, "text": text,
                 "logprobs": []})
        self.ev({"type": "response.content_part.done", "item_id": mid,
                 "output_index": oi, "content_index": 0,
                 "part": item["content"][0]})

    def stream_reasoning(self, oi, item):
        rid = item["id"]
        self.ev({"type": "response.output_item.added", "output_index": oi,
                 "item": dict(item, summary=[], **(
                     {"content": []} if self.vllm else {}))})
        if self.vllm:
            text = item["content"][0]["text"]
            self.ev({"type": "response.content_part.added", "item_id": rid,
                     "output_index": oi, "content_index": 0,
                     "part": {"type": "reasoning_text", "text": ""}})
            for piece in (text[:5], text[5:]):
                self.ev({"type": "response.reasoning_text.delta",
                         "item_id": rid, "output_index": oi,
                         "content_index": 0, "delta": piece})
            self.ev({"type": "response.reasoning_text.done", "item_id": rid,
                     "output_index": oi, "content_index": 0, "text": text})
            self.ev({"type": "response.content_part.done", "item_id": rid,
                     "output_index": oi, "content_index": 0,
                     "part": item["content"][0]})
            return
        s = item["summary"][0]["text"]
        self.ev({"type": "response.reasoning_summary_part.added",
                 "item_id": rid, "output_index": oi, "summary_index": 0,
                 "part": {"type": "summary_text", "text": ""}})
        self.ev({"type": "response.reasoning_summary_text.delta",
                 "item_id": rid, "output_index": oi, "summary_index": 0,
                 "delta": s, "obfuscation": "q1"})
        self.ev({"type": "response.reasoning_summary_text.done",
                 "item_id": rid, "output_index": oi, "summary_index": 0,
                 "text": s})
        self.ev({"type": "response.reasoning_summary_part.done",
                 "item_id": rid, "output_index": oi, "summary_index": 0,
                 "part": {"type": "summary_text", "text": s}})


class _Cut(Exception):
    pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


class ResponsesSim:
    """The simulator in a thread of the calling process."""

    def __init__(self):
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.requests = []
        self.httpd.lock = threading.Lock()
        self.httpd.counter = 0
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()

    def bodies(self):
        """The JSON bodies of the /v1/responses requests received."""
        with self.httpd.lock:
            return [json.loads(r["body"]) for r in self.httpd.requests
                    if r["path"] == "/v1/responses"]

    def reset(self):
        with self.httpd.lock:
            self.httpd.requests.clear()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def main():
    sim = ResponsesSim()
    print(json.dumps({"port": sim.port, "url": sim.url}), flush=True)
    try:
        sys.stdin.read()  # until the parent closes our stdin (or dies)
    finally:
        sim.stop()


if __name__ == "__main__":
    main()
