#!/usr/bin/env python3
"""chatseal state sign / verify / seal / open, through the binary.

The ragbits seed signed state with a key that could default to a random one
printed in a warning, and had no binding or expiry; these tests hold the CLI
to the stricter contract.
"""
import json

import clitest
from clitest import expect, expect_report, header, new_key, run, token_of, \
    write

KEYS = "k1:" + new_key()
STATE = {"cart": [1, 2.5, "caf\u00e9"], "user": "alice", "step": 3,
         "flags": {"beta": True, "admin": False}}


def js(value, **kw):
    return json.dumps(value, **kw)


def canon_of(value):
    return expect(run("canon", stdin=js(value)), 0).out


def test_state_sign_verify(tmp):
    tok = token_of(run("state", "sign", stdin=js(STATE), keys=KEYS))
    h = header(tok)
    assert h["typ"] == "state" and "n" not in h and "loc" not in h, h
    res = expect(run("state", "verify", "--token", tok, stdin=js(STATE),
                     keys=KEYS), 0)
    assert res.text == "valid: state, kid k1\n", res
    # formatting, key order and number spelling are not changes
    pretty = js(STATE, indent=4, sort_keys=True, ensure_ascii=True)
    pretty = pretty.replace('"step": 3', '"step": 3.0')
    path = write(tmp, "state.json", pretty)
    expect_report(run("state", "verify", "--json", "--token", tok, path,
                      keys=KEYS), 0, "ok")


def test_state_tampered(tmp):
    tok = token_of(run("state", "sign", stdin=js(STATE), keys=KEYS))
    for change in ({"user": "mallory"}, {"step": 4},
                   {"flags": {"beta": True, "admin": True}}):
        forged = dict(STATE, **change)
        expect_report(run("state", "verify", "--json", "--token", tok,
                          stdin=js(forged), keys=KEYS), 1,
                      "invalid_signature")
    expect(run("state", "verify", "--token", "", stdin=js(STATE),
               keys=KEYS), 1, "missing_signature")
    conv_tok = token_of(run("sign", stdin='[{"role":"user","content":"x"}]',
                            keys=KEYS))
    expect(run("state", "verify", "--token", conv_tok, stdin=js(STATE),
               keys=KEYS), 1, "wrong_token_type")
    expect(run("state", "verify", "--token", "cs1.nope", stdin=js(STATE),
               keys=KEYS), 1, "malformed_token")


def test_any_json_value(tmp):
    for value in ([], {}, "text", 0, None, True, [{"deep": [[[1]]]}]):
        tok = token_of(run("state", "sign", stdin=js(value), keys=KEYS))
        expect(run("state", "verify", "--token", tok, stdin=js(value),
                   keys=KEYS), 0)
        sealed = token_of(run("state", "seal", stdin=js(value), keys=KEYS))
        res = expect(run("state", "open", "--token", sealed, keys=KEYS), 0)
        assert res.out == canon_of(value), res
    expect(run("state", "sign", stdin=b'{"a":1,"a":2}', keys=KEYS), 2,
           "duplicate_key")
    expect(run("state", "seal", stdin=b'{"a":', keys=KEYS), 2,
           "malformed_json")


def test_seal_open(tmp):
    sealed = token_of(run("state", "seal", stdin=js(STATE), keys=KEYS))
    h = header(sealed)
    assert h["typ"] == "sealed", h
    # the client cannot read the value
    assert b"alice" not in clitest.b64u_decode(sealed.split(".")[2])
    assert "alice" not in sealed
    res = expect(run("state", "open", "--token", sealed, keys=KEYS), 0)
    assert res.out == canon_of(STATE), res
    assert not res.out.endswith(b"\n"), "open must not add a newline"
    # two seals of the same value differ (random nonce)
    again = token_of(run("state", "seal", stdin=js(STATE), keys=KEYS))
    assert again != sealed
    # --json: the report plus the value
    rep = expect_report(run("state", "open", "--json", "--token", sealed,
                            keys=KEYS), 0, "ok")
    assert rep["value"] == json.loads(canon_of(STATE)), rep
    # --token-file and --token-file -
    tf = write(tmp, "sealed.txt", sealed + "\n")
    assert run("state", "open", "--token-file", tf, keys=KEYS).out == \
        res.out
    assert run("state", "open", "--token-file", "-", stdin=sealed,
               keys=KEYS).out == res.out


def test_sealed_tampering(tmp):
    sealed = token_of(run("state", "seal", stdin=js(STATE), keys=KEYS))
    prefix, h, p = sealed.split(".")
    raw = bytearray(clitest.b64u_decode(p))
    for pos in (0, 12, len(raw) - 1):  # nonce, ciphertext, GCM tag
        flipped = bytearray(raw)
        flipped[pos] ^= 0x01
        forged = ".".join([prefix, h, clitest.b64u(bytes(flipped))])
        res = run("state", "open", "--token", forged, keys=KEYS)
        expect(res, 1, "invalid_signature")
        assert res.out == b"", "open printed something for a forged token"
    forged = clitest.with_header(sealed, iat=header(sealed)["iat"] + 1)
    expect(run("state", "open", "--token", forged, keys=KEYS), 1,
           "invalid_signature")
    # a signed-state token is not a sealed one
    signed = token_of(run("state", "sign", stdin=js(STATE), keys=KEYS))
    expect(run("state", "open", "--token", signed, keys=KEYS), 1,
           "wrong_token_type")
    # another key ring
    expect(run("state", "open", "--token", sealed,
               keys="k2:" + new_key()), 1, "unknown_key")
    rep = expect_report(run("state", "open", "--json", "--token", sealed,
                            keys="k1:" + new_key()), 1, "invalid_signature")
    assert "value" not in rep


def test_state_binding_and_expiry(tmp):
    bind = ["--conversation", "c1", "--principal", "alice", "--purpose",
            "cart"]
    for kind in ("sign", "seal"):
        tok = token_of(run("state", kind, *bind, "--ttl", "30", "--now",
                           "5000", stdin=js(STATE), keys=KEYS))
        assert header(tok)["exp"] == 5030
        if kind == "sign":
            def check(*args):
                return run("state", "verify", "--token", tok, *args,
                           stdin=js(STATE), keys=KEYS)
        else:
            def check(*args):
                return run("state", "open", "--token", tok, *args,
                           keys=KEYS)
        expect(check(*bind, "--now", "5010"), 0)
        expect(check(*bind, "--now", "5030"), 1, "expired")
        expect(check(*bind, "--now", "5031", "--leeway", "5"), 0)
        expect(check(*bind, "--now", "4000"), 1, "not_yet_valid")
        expect(check("--conversation", "c2", "--principal", "alice",
                     "--purpose", "cart", "--now", "5010"), 1,
               "binding_mismatch")
        expect(check("--now", "5010"), 1, "binding_mismatch")


if __name__ == "__main__":
    clitest.main(globals())
