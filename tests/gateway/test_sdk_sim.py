"""test_sdk_sim.py -- the gateway against the realistic upstream simulator,
with a raw HTTP client (no SDK): suite 'sdk'.

  - every dialect (openai, vllm, llamacpp, ollama), streamed and not, CRLF
    framing and usage chunks with empty `choices` included: a client that
    stores exactly the message the gateway signed goes through five turns
    and a tool round trip without a refusal, and the simulator received
    each turn's whole history (roles and texts) and no chatseal member;
  - GET /v1/models passes each dialect's listing through unchanged;
  - the streamed reply still carries the upstream's usage chunk, then the
    chatseal chunk, then [DONE];
  - one answer, one signature (issue 9, item 2): the same answer (text with
    reasoning, or a tool call) signed from a non-streamed reply and from a
    streamed one is the same message.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gwtest  # noqa: E402
import upstream_sim  # noqa: E402

TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}}}}]
# the client writes its own system prompt: allowed by the operator
FRESH = ("--fresh-roles", "system,developer,user")
TURNS = ["Hello there!", "Tell me more.", "What is the weather in Paris?",
         "Merci, café at 1.5 km?", "Bye."]


def signed_reply(r, stream):
    """(signed message, token) of a 200 reply."""
    assert r.status == 200, r
    if not stream:
        body = r.json()
        return body["choices"][0]["message"], body["chatseal"]["token"]
    events = [d for _, d in r.events()]
    assert events[-1] == "[DONE]", events[-3:]
    seal = json.loads(events[-2])
    assert seal["choices"] == [] and "chatseal" in seal, events[-2][:200]
    return seal["chatseal"]["message"], seal["chatseal"]["token"]


def text_of(m):
    c = m.get("content")
    return c if isinstance(c, str) else ""


def conversation(gw, sim, dialect, stream):
    model = f"sim-{dialect}"
    history = [{"role": "system", "content": "Be brief."}]
    token = None
    calls = 0
    for i, turn in enumerate(TURNS):
        history.append({"role": "user", "content": turn})
        while True:
            extra = {"tools": TOOLS}
            if stream:
                extra["stream_options"] = {"include_usage": True}
            r = gw.chat(history, token=token, stream=stream, model=model,
                        extra=extra)
            calls += 1
            msg, token = signed_reply(r, stream)
            history.append(msg)  # exactly what was signed
            got = sim.chat_bodies()[-1]
            assert "chatseal_token" not in got
            assert [m["role"] for m in got["messages"]] == \
                [m["role"] for m in history[:-1]], (dialect, stream, i)
            assert [text_of(m) for m in got["messages"]] == \
                [text_of(m) for m in history[:-1]], (dialect, stream, i)
            if not msg.get("tool_calls"):
                break
            call = msg["tool_calls"][0]
            args = json.loads(call["function"]["arguments"])
            history.append({"role": "tool", "tool_call_id": call["id"],
                            "content": f"Sunny in {args['city']}"})
        want = ("The tool says: Sunny in Paris" if i == 2 else
                f"Reply {i + 1}: you said \u201c{turn}\u201d.")
        assert text_of(history[-1]) == want, (dialect, stream, history[-1])
    assert calls == len(TURNS) + 1
    assert len(sim.chat_bodies()) == calls
    reqs = [q for q in sim.requests
            if q["path"].startswith("/v1/chat/completions")]
    assert all("chatseal-token" not in q["headers"] for q in reqs)


def test_exact_signed_messages_round_trip_in_every_dialect():
    for dialect in upstream_sim.DIALECTS:
        for stream in (False, True):
            sim = upstream_sim.Simulator(dialect)
            gw = gwtest.Gateway(*FRESH, upstream=sim.url)
            try:
                conversation(gw, sim, dialect, stream)
            finally:
                gwtest.expect_clean_stop(gw)
                sim.stop()


def test_stream_keeps_usage_chunk_then_seal_then_done():
    sim = upstream_sim.Simulator()
    gw = gwtest.Gateway(*FRESH, upstream=sim.url)
    try:
        for dialect in upstream_sim.DIALECTS:
            r = gw.chat([{"role": "user", "content": "hi"}], stream=True,
                        model=f"sim-{dialect}",
                        extra={"stream_options": {"include_usage": True}})
            assert r.status == 200, r
            data = [d for _, d in r.events()]
            usage = json.loads(data[-3])  # llama.cpp: on the finish chunk
            assert usage["usage"]["total_tokens"] == 26, (dialect, data[-3])
            assert usage["choices"] == [] or dialect == "llamacpp", dialect
            assert "chatseal" in json.loads(data[-2]), dialect
            assert data[-1] == "[DONE]"
    finally:
        gwtest.expect_clean_stop(gw)
        sim.stop()


def test_models_pass_through_in_every_dialect():
    for dialect in upstream_sim.DIALECTS:
        sim = upstream_sim.Simulator(dialect)
        gw = gwtest.Gateway(*FRESH, upstream=sim.url)
        try:
            r = gw.request("GET", "/v1/models")
            assert r.status == 200, r
            assert r.json() == upstream_sim.models(dialect), (dialect, r)
        finally:
            gwtest.expect_clean_stop(gw)
            sim.stop()


def test_one_answer_one_signature():
    """Non-streamed and streamed replies with the same answer sign the same
    message (content, reasoning, tool calls, null members): the message of
    either reply verifies under the token of the other."""
    sim = upstream_sim.Simulator()
    gw = gwtest.Gateway(*FRESH, upstream=sim.url)
    diffs = []
    try:
        for dialect in upstream_sim.DIALECTS:
            for q in ("Hello!", "What is the weather in Oslo?"):
                msgs = [{"role": "user", "content": q}]
                signed = []
                for stream in (False, True):
                    r = gw.chat(msgs, stream=stream, model=f"sim-{dialect}",
                                extra={"tools": TOOLS})
                    signed.append(signed_reply(r, stream))
                (m0, t0), (m1, t1) = signed
                nxt = {"role": "tool", "tool_call_id": "x", "content": "ok"} \
                    if m0.get("tool_calls") else \
                    {"role": "user", "content": "and?"}
                if nxt["role"] == "tool":
                    nxt["tool_call_id"] = m0["tool_calls"][0]["id"]
                codes = []
                for msg, tok in ((m1, t0), (m0, t1)):
                    r = gw.chat(msgs + [msg, nxt], token=tok,
                                model=f"sim-{dialect}", extra={"tools": TOOLS})
                    codes.append(r.status if r.status == 200 else
                                 f"{r.status} {r.code}")
                if codes != [200, 200]:
                    diffs.append(f"{dialect} {q!r}: streamed message under "
                                 f"the non-streamed token: {codes[0]}, and "
                                 f"the reverse: {codes[1]}\n  non-streamed "
                                 f"{json.dumps(m0)}\n  streamed     "
                                 f"{json.dumps(m1)}")
    finally:
        gwtest.expect_clean_stop(gw)
        sim.stop()
    assert not diffs, "\n".join(diffs)


if __name__ == "__main__":
    gwtest.main(globals())
