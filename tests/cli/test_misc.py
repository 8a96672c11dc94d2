#!/usr/bin/env python3
"""chatseal canon, inspect and bench, through the binary."""
import hashlib
import json
import re

import clitest
from clitest import expect, header, new_key, run, token_of

KEYS = "k1:" + new_key()

# (input, RFC 8785 output): numbers as ECMAScript writes them, members
# sorted by UTF-16 code units, minimal escapes, literals
CANON_CASES = [
    (b'{"b":1.0,"a":"x"}', b'{"a":"x","b":1}'),
    (b"[1e21, 1e-7, 0.000001, -0, 100, 1.5e300]",
     b"[1e+21,1e-7,0.000001,0,100,1.5e+300]"),
    (b"[18446744073709551617]", b"[18446744073709552000]"),
    (b'"\\u00e9\\/\\u2028\\u007f"', '"\u00e9/\u2028\u007f"'.encode()),
    (b'"\\b\\t\\n\\f\\r\\u0001\\""', b'"\\b\\t\\n\\f\\r\\u0001\\""'),
    (b' { "\\ud83d\\ude00" : 1 , "\\uffff" : 2 , "a" : [ true , null ,'
     b' false ] } ',
     '{"a":[true,null,false],"\U0001F600":1,"\uffff":2}'.encode()),
    (b"{}", b"{}"), (b"[]", b"[]"), (b'""', b'""'), (b"0", b"0"),
]


def test_canon(tmp):
    for text, want in CANON_CASES:
        res = expect(run("canon", stdin=text), 0)
        assert res.out == want, f"canon {text!r}: {res.out!r} != {want!r}"
        assert res.err == b"", res
    # idempotent
    for _, want in CANON_CASES:
        assert run("canon", stdin=want).out == want


def test_canon_is_stable_under_reencoding(tmp):
    """The message digest (FORMAT.md section 2) is SHA-256 of these bytes,
    so any re-encoding of the same value must give the same bytes."""
    msg = {"role": "assistant", "content": "caf\u00e9 1.0", "n": 1.0}
    a = run("canon", stdin=json.dumps(msg, ensure_ascii=True)).out
    b = run("canon", stdin=json.dumps(msg, ensure_ascii=False, indent=3)).out
    assert a == b == '{"content":"caf\u00e9 1.0","n":1,"role":"assistant"}' \
        .encode(), (a, b)
    assert hashlib.sha256(a).digest() == hashlib.sha256(b).digest()


def test_inspect(tmp):
    tok = token_of(run("sign", "--purpose", "chat", "--ttl", "60", "--now",
                       "1000", stdin='[{"role":"user","content":"x"}]',
                       keys=KEYS))
    res = expect(run("inspect", tok), 0)
    assert res.text.endswith("}\n") and res.text.count("\n") == 1, res
    assert res.text.startswith('{"verified":false,"header":{'), res
    out = res.json()
    assert out["verified"] is False
    assert out["header"] == header(tok), out
    h = out["header"]
    assert h["typ"] == "conv" and h["kid"] == "k1" and h["iat"] == 1000
    assert h["exp"] == 1060 and h["pur"] == "chat" and h["n"] == 1
    assert "nothing was verified" in res.errtext, res
    # no key is needed, and none is used
    assert run("inspect", tok).out == res.out
    # stdin, --token, --token-file
    assert expect(run("inspect", "-", stdin=tok + "\n"), 0).out == res.out
    assert expect(run("inspect", "--token", tok), 0).out == res.out
    path = clitest.write(tmp, "t", tok)
    assert expect(run("inspect", "--token-file", path), 0).out == res.out
    # a forged token inspects fine: inspect is not verify
    forged = clitest.with_header(tok, kid="admin")
    assert run("inspect", forged).json()["header"]["kid"] == "admin"


def test_inspect_other_types(tmp):
    for args, typ in ((["state", "sign"], "state"),
                      (["state", "seal"], "sealed"),
                      (["message", "sign"], "msg")):
        tok = token_of(run(*args, stdin='{"role":"user"}', keys=KEYS))
        assert run("inspect", tok).json()["header"]["typ"] == typ


def test_inspect_bad(tmp):
    for bad in ("garbage", "cs1.", "cs1.!!!.x", "", "cs1.e30"):
        res = run("inspect", bad)
        assert res.rc == 2, res
        assert res.error_code() in ("malformed_token",
                                    "missing_signature"), res
        assert res.out == b"", res


def test_bench(tmp):
    res = expect(run("bench", "--messages", "20", "--rounds", "3"), 0)
    text = res.text
    assert "20 messages" in text and "3 rounds" in text, text
    for row in ("sha256", "parse + verify", "parse + sign", "MB/s",
                "verify / sha256"):
        assert row in text, f"{row} missing: {text}"
    m = re.search(r"verify / sha256: ([0-9.]+)x", text)
    assert m and float(m.group(1)) > 0, text


def test_bench_json(tmp):
    res = expect(run("bench", "--json", "--messages", "10", "--rounds", "2"),
                 0)
    rep = res.json()
    assert rep["messages"] == 10 and rep["rounds"] == 2, rep
    assert rep["bytes"] > 10 * 1000, rep  # ~1 KB per message
    for k in ("sha256", "parse_verify", "parse_sign", "verify", "sign"):
        assert rep[k + "_us"] > 0 and rep[k + "_mbps"] > 0, (k, rep)
    assert rep["verify_vs_sha256"] > 0, rep


if __name__ == "__main__":
    clitest.main(globals())
