#!/usr/bin/env python3
"""check_vectors.py -- tests/vectors/vectors.json against the reference.

Two checks (suite 'ref'):

  check_vectors.py VECTORS
      Recomputes every recorded value with chatseal_ref.py, from the inputs,
      the key ring text and the options alone: canonical bytes, digests,
      chain digest, role codes, locators, binding check, header bytes, tag,
      token, byte for byte.  Then the reference verifies each token, and a
      few changes (one message, the binding, the clock) must fail it with the
      code FORMAT.md section 5 gives.  Sealed tokens: only the header (the
      payload needs AES: sealed.mjs opens them).

  check_vectors.py --fresh VECTORS GENERATOR
      Runs the generator (build/tests/ref/vectors) again and requires the
      committed file back, byte for byte, except for the payload of sealed
      tokens (random nonces).  A failure means the library's output changed:
      either a regression or a deliberate format change that must also update
      FORMAT.md and the committed vectors.
"""

import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chatseal_ref as ref  # noqa: E402

failures = []


def check(cond, name, what):
    if not cond:
        failures.append(f"{name}: {what}")


def expect_code(code, name, what, fn, *args, **kw):
    try:
        fn(*args, **kw)
    except ref.RefError as exc:
        check(exc.code == code, name, f"{what}: got {exc.code}, want {code}")
        return
    check(False, name, f"{what}: accepted, want {code}")


def opts_of(v):
    o = v["options"]
    return dict(now=o["now"], ttl=o["ttl"], cid=o["conversation_id"],
                prn=o["principal"], pur=o["purpose"])


def check_canonical(vec):
    for i, c in enumerate(vec["canonical"]):
        name = f"canonical[{i}]"
        try:
            out = ref.canonicalize(c["input"].encode("utf-8"))
        except ref.RefError as exc:
            check(False, name, f"refused: {exc}")
            continue
        check(out == c["canonical"].encode("utf-8"), name,
              f"{out!r} != {c['canonical']!r}")
        check(out.hex() == c["canonical_hex"], name, "hex")
        # canonical form is a fixed point
        check(ref.canonicalize(out) == out, name, "not idempotent")
    for i, r in enumerate(vec["reject"]):
        name = f"reject[{i}]"
        if "nested_arrays" in r:
            n = r["nested_arrays"]
            data = b"[" * n + b"]" * n
            check(ref.canonicalize(b"[" * (n - 1) + b"]" * (n - 1)) != b"",
                  name, "one level less must pass")
        else:
            data = bytes.fromhex(r["input_hex"])
        expect_code(r["code"], name, repr(data[:40]), ref.canonicalize, data)


def hexes(items):
    return [x.hex() for x in items]


def check_conv(v, typ):
    name = v["name"]
    o = opts_of(v)
    ring = ref.parse_keyring(v["keyring"])
    value = ref.parse(v["input"].encode("utf-8"))
    msgs = [value] if typ == "msg" else ref.messages_of(value)
    flags = v["options"]["flags"]
    count = v["options"].get("count")
    out = ref.sign_messages(ring, msgs, typ=typ, count=count, now=o["now"],
                            ttl=o["ttl"], cid=o["cid"], prn=o["prn"],
                            pur=o["pur"], compact="compact" in flags,
                            assistant_only="assistant_only" in flags)
    check([c.decode("utf-8") for c in out["canonical"]] == v["canonical"],
          name, "canonical bytes")
    if "forwarded" in v:  # FORMAT.md 2.1: what is signed and forwarded
        fwd = [ref.canon(ref.signed_form(m)[1]).decode("utf-8")
               for m in msgs[:len(v["forwarded"])]]
        check(fwd == v["forwarded"], name, f"signed forms {fwd}")
    check(hexes(out["digests"]) == v["digests"], name, "message digests")
    check(out["chain"].hex() == v["chain_digest"], name, "chain digest")
    if "compact" in flags:
        check("roles" not in v, name, "compact token carries roles")
    else:
        check(out["roles"] == v.get("roles"), name, "role codes")
    check(hexes(out["locators"]) == v["locators"], name, "locators")
    check((ref.b64u(out["bnd"]) if out["bnd"] else None) == v["bnd"], name,
          "binding check")
    check(out["header"].decode("utf-8") == v["header"], name,
          f"header {out['header']!r} != {v['header']!r}")
    check(out["tag"].hex() == v["tag"], name, "tag")
    check(out["token"] == v["token"], name, "token")

    token = v["token"]
    tail = "user,tool" if count is not None and count < len(msgs) else None
    kw = dict(now=o["now"], cid=o["cid"], prn=o["prn"], pur=o["pur"],
              tail_roles=tail)
    try:
        ref.verify_conv(ring, token, msgs, typ=typ, **kw)
    except ref.RefError as exc:
        check(False, name, f"reference refuses the token: {exc}")
        return
    if msgs:
        changed = list(msgs)
        first = ref.parse(ref.canon(changed[0]))
        # a member every role keeps in its signed form (FORMAT.md 2.1)
        first.pairs = [p for p in first.pairs if p[0] != "name"]
        first.pairs.append(("name", "x-tampered"))
        changed[0] = first
        expect_code("invalid_signature", name, "changed message",
                    ref.verify_conv, ring, token, changed, typ=typ, **kw)
    if typ == "conv":
        expect_code("count_mismatch", name, "appended message",
                    ref.verify_conv, ring, token,
                    msgs + [ref.parse(b'{"role":"user","content":"x"}')],
                    typ=typ, **dict(kw, tail_roles=None))
    check_binding_and_time(v, lambda **k: ref.verify_conv(
        ring, token, msgs, typ=typ, **dict(kw, **k)))
    expect_code("wrong_token_type", name, "as state",
                ref.verify_state, ring, token, value, **kw_state(kw))


def kw_state(kw):
    return {k: val for k, val in kw.items() if k != "tail_roles"}


def check_binding_and_time(v, verify):
    name = v["name"]
    o = opts_of(v)
    expect_code("binding_mismatch", name, "other conversation id", verify,
                cid=(o["cid"] or "") + "-other")
    expect_code("binding_mismatch", name, "other principal", verify,
                prn=(o["prn"] or "") + "-other")
    expect_code("binding_mismatch", name, "other purpose", verify,
                pur=(o["pur"] or "") + "-other")
    expect_code("not_yet_valid", name, "clock before iat", verify,
                now=o["now"] - 1)
    if o["ttl"]:
        verify(now=o["now"] + o["ttl"] - 1)
        expect_code("expired", name, "clock at exp", verify,
                    now=o["now"] + o["ttl"])


def check_state(v):
    name = v["name"]
    o = opts_of(v)
    ring = ref.parse_keyring(v["keyring"])
    value = ref.parse(v["input"].encode("utf-8"))
    out = ref.sign_state(ring, value, now=o["now"], ttl=o["ttl"], cid=o["cid"],
                         prn=o["prn"], pur=o["pur"])
    check(out["canonical"].decode("utf-8") == v["canonical"], name,
          "canonical bytes")
    check(out["digest"].hex() == v["digest"], name, "state digest")
    check((ref.b64u(out["bnd"]) if out["bnd"] else None) == v["bnd"], name,
          "binding check")
    check(out["header"].decode("utf-8") == v["header"], name,
          f"header {out['header']!r} != {v['header']!r}")
    check(out["tag"].hex() == v["tag"], name, "tag")
    check(out["token"] == v["token"], name, "token")
    kw = dict(now=o["now"], cid=o["cid"], prn=o["prn"], pur=o["pur"])
    try:
        ref.verify_state(ring, v["token"], value, **kw)
    except ref.RefError as exc:
        check(False, name, f"reference refuses the token: {exc}")
        return
    expect_code("invalid_signature", name, "other value", ref.verify_state,
                ring, v["token"], ref.parse(b'{"other":1}'), **kw)
    check_binding_and_time(v, lambda **k: ref.verify_state(
        ring, v["token"], value, **dict(kw, **k)))


def check_sealed(v):
    name = v["name"]
    o = opts_of(v)
    ring = ref.parse_keyring(v["keyring"])
    kid, key = ring[-1]
    check(ref.canonicalize(v["input"].encode("utf-8")).decode("utf-8")
          == v["canonical"], name, "canonical bytes")
    cid, prn = ref._binding(o["cid"]), ref._binding(o["prn"])
    bnd = ref.binding_check(key, cid, prn) if (cid or prn) else None
    header = ref.build_header("sealed", kid, o["now"], o["ttl"], pur=o["pur"], v=1,
                              bnd=bnd)
    check(header.decode("utf-8") == v["header"], name,
          f"header {header!r} != {v['header']!r}")
    h, hb, payload = ref.decode_token(v["token"])
    check(hb == header, name, "token header segment")
    plain = len(v["canonical"].encode("utf-8"))
    check(len(payload) == 12 + plain + 16, name,
          f"payload is {len(payload)} bytes, want 12 + {plain} + 16")


def check_all(path):
    with open(path, "rb") as f:
        vec = json.loads(f.read().decode("ascii"))
    check(vec["version"] == ref.VERSION, "file", "version")
    check_canonical(vec)
    counts = {}
    for v in vec["tokens"]:
        typ = v["type"]
        counts[typ] = counts.get(typ, 0) + 1
        try:
            if typ in ("conv", "msg"):
                check_conv(v, typ)
            elif typ == "state":
                check_state(v)
            elif typ == "sealed":
                check_sealed(v)
            else:
                check(False, v["name"], f"unknown type {typ}")
        except ref.RefError as exc:
            check(False, v["name"], f"reference error {exc}")
    check_algorithms(vec)
    check(counts.get("conv", 0) >= 5 and counts.get("msg", 0) >= 1
          and counts.get("state", 0) >= 1 and counts.get("sealed", 0) >= 1,
          "file", f"too few vectors: {counts}")
    print(f"check_vectors: {len(vec['canonical'])} canonical, "
          f"{len(vec['reject'])} reject, {counts} token vectors")


def check_algorithms(vec):
    """FORMAT.md section 3: the algorithm is the key entry's.  Each vector
    signed by an hs384/hs512 key has that hash's tag length, and the same
    token is malformed_token once its kid names the same bytes under another
    algorithm (no token can pick a weaker or different MAC)."""
    seen = set()
    for v in vec["tokens"]:
        if v["type"] not in ("conv", "msg", "state"):
            continue
        ring = ref.parse_keyring(v["keyring"])
        kid, key = ring[-1]
        if key.alg == "hs256":
            continue
        seen.add(key.alg)
        name = v["name"]
        _, _, payload = ref.decode_token(v["token"])
        check(len(payload) == key.hash().digest_size, name,
              f"{key.alg} tag is {len(payload)} bytes")
        value = ref.parse(v["input"].encode("utf-8"))
        o = opts_of(v)
        kw = dict(now=o["now"], cid=o["cid"], prn=o["prn"], pur=o["pur"])
        for alg in ref.ALGS:
            if alg == key.alg:
                continue
            other = [(k, ref.Key(key, alg) if k == kid else b)
                     for k, b in ring]
            if v["type"] == "state":
                run = lambda r=other: ref.verify_state(r, v["token"], value,
                                                       **kw)
            else:
                msgs = ([value] if v["type"] == "msg"
                        else ref.messages_of(value))
                run = lambda r=other: ref.verify_conv(
                    r, v["token"], msgs, typ=v["type"], **kw)
            expect_code("malformed_token", name, f"kid rebound to {alg}", run)
    check(seen == {"hs384", "hs512"}, "file",
          f"vectors need hs384 and hs512 keys, have {sorted(seen)}")


def mask_sealed(text):
    """The committed text with every sealed token's payload replaced."""
    vec = json.loads(text)
    for v in vec["tokens"]:
        if v["type"] == "sealed":
            head, _, _ = v["token"].rpartition(".")
            text = text.replace(v["token"], head + ".<random>")
    return text


def check_fresh(path, generator):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "vectors.json")
        proc = subprocess.run([generator, out], capture_output=True,
                              timeout=60)
        if proc.returncode != 0:
            check(False, "generator", proc.stderr.decode(errors="replace"))
            return
        with open(out, "rb") as f:
            fresh = f.read().decode("ascii")
    with open(path, "rb") as f:
        committed = f.read().decode("ascii")
    a, b = mask_sealed(committed), mask_sealed(fresh)
    if a != b:
        al, bl = a.splitlines(), b.splitlines()
        for i, (x, y) in enumerate(zip(al, bl)):
            if x != y:
                check(False, "fresh", f"line {i + 1}: committed {x.strip()!r}"
                      f" != generated {y.strip()!r}")
                break
        else:
            check(False, "fresh", f"{len(al)} lines != {len(bl)} lines")
    else:
        print("check_vectors: the library reproduces vectors.json "
              f"({len(committed)} bytes)")


def main(argv):
    if len(argv) == 2:
        check_all(argv[1])
    elif len(argv) == 4 and argv[1] == "--fresh":
        check_fresh(argv[2], argv[3])
    else:
        sys.stderr.write(__doc__)
        return 2
    for f in failures:
        print("FAIL", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
