#!/usr/bin/env python3
"""selftest.py -- checks chatseal_ref.py on its own, before it is trusted as
a judge of the library: the RFC 8785 test files (tests/data/jcs-rfc8785),
a table of ECMAScript number strings, the strict-input refusals of
FORMAT.md section 1, strict base64url, key ring text (section 3) and token
decoding (section 4), including tokens the reference builds and then breaks.
Needs nothing but Python; the library is not involved.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chatseal_ref as ref  # noqa: E402

SRC = os.environ.get("CHATSEAL_SRC",
                     os.path.join(os.path.dirname(__file__), "..", ".."))
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def code_of(fn, *args, **kw):
    try:
        fn(*args, **kw)
    except ref.RefError as exc:
        return exc.code
    return "ok"


def rfc8785_files():
    base = os.path.join(SRC, "tests", "data", "jcs-rfc8785")
    names = sorted(os.listdir(os.path.join(base, "input")))
    check(len(names) >= 6, "RFC 8785 test files missing")
    for name in names:
        with open(os.path.join(base, "input", name), "rb") as f:
            data = f.read()
        with open(os.path.join(base, "output", name), "rb") as f:
            want = f.read()
        check(ref.canonicalize(data) == want, f"RFC 8785 {name}")


# (double, Number.prototype.toString) pairs, from ECMA-262 and RFC 8785
ES6 = [
    (0.0, "0"), (-0.0, "0"), (1.0, "1"), (-1.0, "-1"), (0.1, "0.1"),
    (1e21, "1e+21"), (1e20, "100000000000000000000"), (1e-6, "0.000001"),
    (1e-7, "1e-7"), (1.5e-7, "1.5e-7"), (123e-20, "1.23e-18"),
    (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"),
    (9007199254740992.0, "9007199254740992"),
    (18446744073709551617, "18446744073709552000"),
    (295147905179352830000.0, "295147905179352830000"),
    (4.35, "4.35"), (0.002, "0.002"), (0.000001234, "0.000001234"),
    (1.2345678901234568e21, "1.2345678901234568e+21"),
    (333333333.3333333, "333333333.3333333"), (2 ** -1074, "5e-324"),
    (1e23, "1e+23"), (-1.5e-9, "-1.5e-9"), (12e20, "1.2e+21"),
]

REJECT = [
    (b'{"a":1,"a":2}', "duplicate_key"),
    (b'{"a":1,"\\u0061":2}', "duplicate_key"),
    (b'"\xff"', "invalid_utf8"), (b'"\xc0\xaf"', "invalid_utf8"),
    (b'"\xed\xa0\x80"', "invalid_utf8"), (b'"\xf4\x90\x80\x80"', "invalid_utf8"),
    (b'"\\ud800"', "lone_surrogate"), (b'"\\udc00\\ud800"', "lone_surrogate"),
    (b'{"\\udfff":1}', "lone_surrogate"),
    (b'"a\x01"', "control_character"), (b'"\x1f"', "control_character"),
    (b"[" * 65 + b"]" * 65, "too_deep"), (b"1e400", "invalid_number"),
    (b"-1e999", "invalid_number"), (b"1" * 400, "invalid_number"),
    (b"[1] [2]", "trailing_data"), (b"", "malformed_json"),
    (b"[1,]", "malformed_json"), (b"NaN", "malformed_json"),
    (b"[-Infinity]", "malformed_json"),
]


def canonical_rules():
    for x, want in ES6:
        got = ref.es6_number(float(x))
        check(got == want, f"es6 {x!r}: {got} != {want}")
    check(ref.canonicalize(b"[" * 64 + b"]" * 64) == b"[" * 64 + b"]" * 64,
          "depth 64 must pass")
    check(ref.canonicalize(b'"\\u0000\\u001f"') == b'"\\u0000\\u001f"',
          "escaped controls")
    check(ref.canonicalize(b'{"\\ufb33":1,"\\ud83d\\ude00":2}')
          == '{"\U0001f600":2,"\ufb33":1}'.encode(), "UTF-16 key order")
    check(ref.canonicalize(b'"\\u2028\\/\\u007f"') == '"\u2028/\x7f"'.encode(),
          "not escaped")
    for data, code in REJECT:
        got = code_of(ref.canonicalize, data)
        check(got == code, f"reject {data[:30]!r}: {got} != {code}")


def base64url():
    check(ref.b64u(b"\xfb\xff") == "-_8", "alphabet")
    check(ref.b64u_decode("-_8") == b"\xfb\xff", "decode")
    for bad in ("-_8=", "+/8", "-_9", "a", "ab c", "AB=="):
        check(code_of(ref.b64u_decode, bad) == "malformed_token",
              f"b64u {bad!r} accepted")


K1 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"


def keyrings():
    ring = ref.parse_keyring(f"# c\n k1:{K1} ,\tk2:{K1}\n\n")
    check([k for k, _ in ring] == ["k1", "k2"], "kids")
    check(ring[0][1] == bytes(range(32)), "key bytes")
    check(code_of(ref.parse_keyring, f"k1:{K1}\nk1:{K1}") == "duplicate_kid",
          "duplicate_kid")
    check(code_of(ref.parse_keyring, "k1:" + ref.b64u(bytes(31)))
          == "weak_key", "weak_key")
    check(code_of(ref.parse_keyring, "k1:" + ref.b64u(bytes(129)))
          == "invalid_key", "too long key")
    check(code_of(ref.parse_keyring, "k 1:" + K1) == "invalid_key", "kid")
    check(code_of(ref.parse_keyring, "k1" + K1) == "invalid_key", "colon")
    # algorithms of ring entries (FORMAT.md section 3), against RFC 4231
    # test case 1 through the reference's own HMAC
    k48, k64 = ref.b64u(bytes(48)), ref.b64u(bytes(64))
    ring = ref.parse_keyring(f"a:{K1},b:hs256:{K1},c:hs384:{k48},d:hs512:{k64}")
    check([k.alg for _, k in ring] == ["hs256", "hs256", "hs384", "hs512"],
          "entry algorithms")
    check([len(ref.hmac256(k, b"x")) for _, k in ring] == [32, 32, 48, 64],
          "tag lengths")
    tc1 = ref.Key(b"\x0b" * 20, "hs512")
    check(ref.hmac256(tc1, b"Hi There").hex().startswith("87aa7cdea5ef619d"),
          "RFC 4231 case 1, HMAC-SHA-512")
    for bad, code in ((f"a:hs384:{K1}", "weak_key"),
                      (f"a:hs512:{k48}", "weak_key"),
                      (f"a:HS512:{k64}", "invalid_key"),
                      (f"a::{K1}", "invalid_key")):
        check(code_of(ref.parse_keyring, bad) == code, f"ring {bad[:9]}")


def tokens():
    ring = ref.parse_keyring("k1:" + K1)
    msgs = ref.messages_of(ref.parse(
        b'[{"role":"user","content":"a"},{"role":"assistant","content":"b"}]'))
    out = ref.sign_messages(ring, msgs, now=1000)
    tok = out["token"]
    check(out["header"].startswith(b'{"iat":1000,"kid":"k1","loc":'),
          "header layout")
    check(ref.verify_conv(ring, tok, msgs, now=1000)["n"] == 2, "verify")
    head, payload = tok[4:].split(".")

    def with_header(text, pay=payload):
        return "cs1." + ref.b64u(text.encode()) + "." + pay

    hdr = out["header"].decode()
    bad = [
        tok + ".x", "cs2" + tok[3:], tok[:-1], tok + "=", "cs1." + head,
        with_header(hdr.replace('"v":2', '"v":2,"w":1')),
        with_header(hdr.replace('{"iat":1000,', '{"iat":1000, ')),
        with_header(hdr.replace('"v":2', '"v":"2"')),
        with_header(hdr.replace('"n":2', '"n":3')),
        with_header(hdr.replace('"iat":1000', '"iat":-1')),
        with_header(hdr.replace('"roles":"ua"', '"roles":"uz"')),
        with_header(hdr, payload[:-2]),
        with_header(hdr[:-1]),
    ]
    for i, t in enumerate(bad):
        got = code_of(ref.verify_conv, ring, t, msgs)
        check(got == "malformed_token", f"bad token {i}: {got}")
    check(code_of(ref.verify_conv, ring,
                  with_header(hdr.replace('"v":2', '"v":3')), msgs)
          == "unsupported_version", "v 3")
    check(code_of(ref.verify_conv, ring, tok, msgs[:1], now=1000)
          == "invalid_signature", "truncated")
    check(code_of(ref.verify_conv, ring, tok, msgs + msgs[:1], now=1000)
          == "count_mismatch", "appended")
    check(code_of(ref.verify_conv, ring, tok, msgs + msgs[:1], now=1000,
                  tail_roles="tool") == "role_not_allowed", "tail role")


def format_md_vectors():
    """The three vectors written out in docs/FORMAT.md ("Test vectors") are
    what the reference computes from the inputs given there."""
    with open(os.path.join(SRC, "docs", "FORMAT.md"), encoding="utf-8") as f:
        doc = f.read()
    section = doc[doc.index("## Test vectors"):]
    tokens = [line.split("= ", 1)[1].strip() for line in section.splitlines()
              if line.strip().startswith("token")]
    check(len(tokens) == 3, f"FORMAT.md shows {len(tokens)} tokens, want 3")
    ring = ref.parse_keyring("k1:" + K1)
    state = ref.parse(b'{"step": 3, "cart": [{"sku": "A-1", "qty": 2.0}], '
                      b'"ok": true}')
    msgs = ref.messages_of(ref.parse(
        '[{"role": "system", "content": "You are terse."},\n'
        '  {"content": "Caf\\u00e9 pr\u00e9, 1.0 or 1?", "role": "user"},\n'
        '  {"role":"assistant","content":"1 \\ud83d\\ude00","refusal":null}]'
        .encode()))
    want = [
        ref.sign_state(ring, state, now=1767225600)["token"],
        ref.sign_messages(ring, msgs, now=1767225600, compact=True)["token"],
        ref.sign_messages(ring, msgs, now=1767225600, cid="conv-42",
                          prn="user-7", pur="chat")["token"],
    ]
    for i, (got, w) in enumerate(zip(tokens, want)):
        check(got == w, f"FORMAT.md vector {i + 1}: {got} != {w}")


def main():
    rfc8785_files()
    format_md_vectors()
    canonical_rules()
    base64url()
    keyrings()
    tokens()
    for f in failures:
        print("FAIL", f)
    print(f"selftest: {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
