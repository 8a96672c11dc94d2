#!/usr/bin/env python3
"""Bad inputs through the binary: each kind of malformed JSON, bad message
lists, the 64 MiB input bound, unreadable files.  Each must give its own
stable code and exit 2, through canon, sign and verify --json alike, and
never a crash (clitest.run fails on death by signal).
"""
import json
import os

import clitest
from clitest import expect, expect_report, new_key, run, token_of, write

KEYS = "k1:" + new_key()
LIMIT = 64 << 20

# (input bytes, code) for strict JSON: wrapped as a message list below
JSON_CASES = [
    (b"", "malformed_json"),
    (b"   ", "malformed_json"),
    (b"[", "malformed_json"),
    (b'[{"role":"user","content":}]', "malformed_json"),
    (b"[{'role':'user'}]", "malformed_json"),
    (b'[{"role":"user","content":"x",}]', "malformed_json"),
    (b'[{"role":"user","content":NaN}]', "malformed_json"),
    (b'[{"role":"user","content":"a","content":"b"}]', "duplicate_key"),
    (b'[{"role":"user","content":"a","cont\\u0065nt":"b"}]', "duplicate_key"),
    (b'[{"role":"user","content":"\xff"}]', "invalid_utf8"),
    (b'[{"role":"user","content":"\xc0\xaf"}]', "invalid_utf8"),  # overlong
    (b'[{"role":"user","content":"\xed\xa0\x80"}]', "invalid_utf8"),
    (b'[{"role":"user","content":"\xf4\x90\x80\x80"}]', "invalid_utf8"),
    (b'[{"role":"user","content":"\xe2\x82"}]', "invalid_utf8"),
    (b'[{"role":"user","content":"\\ud800"}]', "lone_surrogate"),
    (b'[{"role":"user","content":"\\udc00x"}]', "lone_surrogate"),
    (b'[{"role":"user","content":"a\x01b"}]', "control_character"),
    (b'[{"role":"user","content":"a\nb"}]', "control_character"),
    (b'[{"role":"user","content":' + b"[" * 70 + b"]" * 70 + b"}]",
     "too_deep"),
    (b'[{"role":"user","content":1e400}]', "invalid_number"),
    (b'[{"role":"user","content":-1e999}]', "invalid_number"),
    (b'[{"role":"user","content":"x"}] []', "trailing_data"),
    (b'[{"role":"user","content":"x"}]x', "trailing_data"),
]

MESSAGE_CASES = [
    (b"[1]", "invalid_message"),
    (b'["user: hi"]', "invalid_message"),
    (b'[{"content":"no role"}]', "invalid_message"),
    (b'[{"role":1,"content":"x"}]', "invalid_message"),
    (b'[{"role":null}]', "invalid_message"),
    (b'{"model":"gpt"}', "invalid_request"),
    (b'{"messages":{"role":"user"}}', "invalid_request"),
    (b'"just a string"', "invalid_request"),
    (b"42", "invalid_request"),
]


def test_strict_json_through_sign_and_verify(tmp):
    tok = token_of(run("sign", stdin=b"[]", keys=KEYS))
    for text, code in JSON_CASES:
        res = run("sign", stdin=text, keys=KEYS)
        expect(res, 2, code)
        assert res.out == b"", res
        expect_report(run("verify", "--json", "--token", tok, stdin=text,
                          keys=KEYS), 2, code)


def test_strict_json_through_canon(tmp):
    for text, code in JSON_CASES:
        res = run("canon", stdin=text)
        expect(res, 2, code)
        assert res.out == b"", f"canon wrote partial output: {res}"
    # escaped controls are valid JSON, raw ones are not
    res = expect(run("canon", stdin=b'["\\u0000\\u001f\\n"]'), 0)
    assert res.out == b'["\\u0000\\u001f\\n"]', res


def test_message_shapes(tmp):
    tok = token_of(run("sign", stdin=b"[]", keys=KEYS))
    for text, code in MESSAGE_CASES:
        expect(run("sign", stdin=text, keys=KEYS), 2, code)
        expect_report(run("verify", "--json", "--token", tok, stdin=text,
                          keys=KEYS), 2, code)
    # but canon takes any JSON value
    for text, _ in MESSAGE_CASES:
        expect(run("canon", stdin=text), 0)


def test_depth_limit(tmp):
    ok = b"[" * 64 + b"]" * 64
    expect(run("canon", stdin=ok), 0)
    expect(run("canon", stdin=b"[" + ok + b"]"), 2, "too_deep")
    expect(run("canon", "--max-depth", "3", stdin=b"[[[1]]]"), 0)
    expect(run("canon", "--max-depth", "2", stdin=b"[[[1]]]"), 2,
           "too_deep")
    deep_msg = b'[{"role":"user","content":[[[1]]]}]'
    expect(run("sign", stdin=deep_msg, keys=KEYS), 0)
    expect(run("sign", "--max-depth", "3", stdin=deep_msg, keys=KEYS), 2,
           "too_deep")


def test_too_many_messages(tmp):
    many = json.dumps([{"role": "user", "content": ""}] * 10001).encode()
    expect(run("sign", stdin=many, keys=KEYS), 2, "too_many_messages")
    enough = json.dumps([{"role": "user", "content": ""}] * 10000).encode()
    expect(run("sign", stdin=enough, keys=KEYS), 0)


def test_input_size_bound(tmp):
    # exactly 64 MiB is accepted ...
    exact = b'"' + b"a" * (LIMIT - 2) + b'"'
    res = expect(run("canon", stdin=exact, timeout=120), 0)
    assert res.out == exact
    # ... one byte more is too_large, from stdin and from a file
    res = run("canon", stdin=exact + b" ", timeout=120)
    expect(res, 2, "too_large")
    path = write(tmp, "big.json", exact + b" ")
    expect(run("sign", path, keys=KEYS, timeout=120), 2, "too_large")
    expect_report(run("verify", "--json", "--token", "x", path, keys=KEYS,
                      timeout=120), 2, "too_large")


def test_unreadable_input(tmp):
    missing = os.path.join(tmp, "missing.json")
    for args in (["canon", missing], ["sign", missing],
                 ["state", "sign", missing], ["message", "sign", missing],
                 ["canon", tmp]):  # a directory
        res = run(*args, keys=KEYS)
        expect(res, 2, "io_error")
        assert res.out == b"", res
    assert missing in run("canon", missing).errtext


def test_file_and_stdin_agree(tmp):
    text = '{"messages":[{"role":"user","content":"caf\\u00e9"}]}'
    path = write(tmp, "in.json", text)
    a = expect(run("canon", path), 0)
    b = expect(run("canon", stdin=text), 0)
    c = expect(run("canon", "-", stdin=text), 0)
    assert a.out == b.out == c.out


if __name__ == "__main__":
    clitest.main(globals())
