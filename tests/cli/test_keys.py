#!/usr/bin/env python3
"""chatseal keys: keygen, key ring sources, bad rings, rotation, --dev.

Also the rule that no key is ever printed: clitest.run checks every output
of every test against every key the tests made, and the --dev test checks
stderr for any base64 run long enough to be a key.
"""
import os
import re
import subprocess

import clitest
from clitest import base_env, expect, expect_report, header, new_key, run, \
    token_of, write

CONV = '[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]'
KEYGEN_LINE = re.compile(r"^([A-Za-z0-9._-]{1,64}):([A-Za-z0-9_-]{43})\n$")
LONG_B64 = re.compile(r"[A-Za-z0-9_+/=-]{43,}")


def test_keygen_format(tmp):
    res = expect(run("keygen", keygen=True), 0)
    m = KEYGEN_LINE.match(res.text)
    assert m, f"keygen line: {res.text!r}"
    clitest.SECRETS.add(m.group(2))
    assert re.match(r"^k\d{8}-[0-9a-f]{4}$", m.group(1)), m.group(1)
    assert len(clitest.b64u_decode(m.group(2))) == 32
    assert res.err == b"", res


def test_keygen_kid_and_uniqueness(tmp):
    a = expect(run("keygen", "--kid", "prod-2026.1", keygen=True), 0)
    b = expect(run("keygen", "--kid", "prod-2026.1", keygen=True), 0)
    assert a.text.startswith("prod-2026.1:"), a
    assert a.out != b.out, "two keygens printed the same key"
    for bad in ("has space", "colon:kid", "x" * 65, ""):
        res = run("keygen", "--kid", bad, keygen=True)
        assert res.rc == 2, res
        assert res.error_code() in ("invalid_key", "invalid_argument"), res
        assert res.out == b"", res


def test_keygen_output_is_a_working_ring(tmp):
    line = expect(run("keygen", "--kid", "gen1", keygen=True), 0).text
    clitest.SECRETS.add(line.strip().split(":", 1)[1])
    path = write(tmp, "keys.txt", line)
    tok = token_of(run("sign", "--key-file", path, stdin=CONV))
    assert header(tok)["kid"] == "gen1"
    expect(run("verify", "--key-file", path, "--token", tok, stdin=CONV), 0)


def test_no_key(tmp):
    for args in (["sign"], ["message", "sign"], ["state", "sign"],
                 ["state", "seal"]):
        res = expect(run(*args, stdin=CONV), 2, "no_key")
        assert res.out == b"", res
    res = expect(run("verify", "--token", "cs1.e30.AA", stdin=CONV), 2,
                 "no_key")
    rep = expect_report(run("verify", "--json", "--token", "cs1.e30.AA",
                            stdin=CONV), 2, "no_key")
    assert rep["valid"] is False
    expect(run("state", "open", "--token", "cs1.e30.AA"), 2, "no_key")
    expect(run("extend", "--token", "x", "--append", "/dev/null",
               stdin=CONV), 2, "no_key")
    # empty variables are not keys either
    env = base_env(CHATSEAL_KEYS="")
    assert run("sign", stdin=CONV, env=env).rc == 2


def test_weak_key(tmp):
    short = new_key(31)  # one byte short of CHATSEAL_KEYBYTES_MIN
    expect(run("sign", stdin=CONV, keys="k1:" + short), 2, "weak_key")
    path = write(tmp, "weak.txt", "k1:" + short + "\n")
    expect(run("sign", "--key-file", path, stdin=CONV), 2, "weak_key")
    expect(run("sign", stdin=CONV,
               env=base_env(CHATSEAL_KEY_FILE=path)), 2, "weak_key")
    rep = expect_report(run("verify", "--json", "--token", "cs1.e30.AA",
                            "--key-file", path, stdin=CONV), 2, "weak_key")
    assert rep["count"] == 0
    # 32 bytes is enough
    token_of(run("sign", stdin=CONV, keys="k1:" + new_key(32)))


def test_invalid_rings(tmp):
    good = new_key()
    for ring, code in [
        ("no-colon-here", "invalid_key"),
        ("bad kid:" + good, "invalid_key"),
        ("k1:not*base64*at*all*" + good, "invalid_key"),
        ("k1:" + good + "==", "invalid_key"),  # padding is not base64url
        ("k1:" + good + "\nk1:" + new_key(), "duplicate_kid"),
        ("k1:" + new_key(129), "invalid_key"),  # longer than KEYBYTES_MAX
    ]:
        res = run("sign", stdin=CONV, keys=ring)
        expect(res, 2, code)
        assert res.out == b"", res


def test_key_sources(tmp):
    k_env, k_file, k_opt = new_key(), new_key(), new_key()
    f_env = write(tmp, "env.txt", "# comment\n\nfromfile:" + k_file + "\n")
    f_opt = write(tmp, "opt.txt", "fromopt:" + k_opt + "\n")
    # CHATSEAL_KEY_FILE
    tok = token_of(run("sign", stdin=CONV,
                       env=base_env(CHATSEAL_KEY_FILE=f_env)))
    assert header(tok)["kid"] == "fromfile"
    # CHATSEAL_KEYS wins over CHATSEAL_KEY_FILE
    env = base_env(CHATSEAL_KEYS="fromenv:" + k_env, CHATSEAL_KEY_FILE=f_env)
    assert header(token_of(run("sign", stdin=CONV, env=env)))["kid"] == "fromenv"
    # --key-file wins over both
    tok = token_of(run("sign", "--key-file", f_opt, stdin=CONV, env=env))
    assert header(tok)["kid"] == "fromopt"
    # comma-separated ring in the variable
    ring = "a:" + new_key() + ",b:" + new_key()
    assert header(token_of(run("sign", stdin=CONV, keys=ring)))["kid"] == "b"
    # missing / unreadable key files
    res = run("sign", "--key-file", os.path.join(tmp, "nope"), stdin=CONV)
    assert res.rc == 2 and res.error_code() in ("io_error", "no_key"), res
    res = run("sign", stdin=CONV,
              env=base_env(CHATSEAL_KEY_FILE=os.path.join(tmp, "nope")))
    assert res.rc == 2 and res.error_code() in ("io_error", "no_key"), res


def test_rotation_with_two_line_key_file(tmp):
    old, new = new_key(), new_key()
    one = write(tmp, "one.txt", "old:" + old + "\n")
    two = write(tmp, "two.txt", "old:" + old + "\nnew:" + new + "\n")
    only_new = write(tmp, "new.txt", "new:" + new + "\n")
    t_old = token_of(run("sign", "--key-file", one, stdin=CONV))
    assert header(t_old)["kid"] == "old"
    # after rotation: the last key signs ...
    t_new = token_of(run("sign", "--key-file", two, stdin=CONV))
    assert header(t_new)["kid"] == "new"
    # ... and every key verifies
    for tok in (t_old, t_new):
        rep = expect_report(run("verify", "--json", "--key-file", two,
                                "--token", tok, stdin=CONV), 0, "ok")
        assert rep["kid"] == header(tok)["kid"]
    # the old key removed: its tokens stop verifying
    expect_report(run("verify", "--json", "--key-file", only_new, "--token",
                      t_old, stdin=CONV), 1, "unknown_key")
    expect(run("verify", "--key-file", only_new, "--token", t_new,
               stdin=CONV), 0)
    # a new token is unknown to a verifier that has not rotated yet
    expect(run("verify", "--key-file", one, "--token", t_new, stdin=CONV),
           1, "unknown_key")


def test_same_kid_other_key(tmp):
    a = "k1:" + new_key()
    b = "k1:" + new_key()
    tok = token_of(run("sign", stdin=CONV, keys=a))
    expect_report(run("verify", "--json", "--token", tok, stdin=CONV,
                      keys=b), 1, "invalid_signature", chain_valid=False)


def test_dev_key(tmp):
    res = run("sign", "--dev", stdin=CONV)
    tok = token_of(res)
    kid = header(tok)["kid"]
    assert re.match(r"^dev-[0-9a-f]{8}$", kid), kid
    err = res.errtext
    assert err.startswith("chatseal: warning:"), err
    assert kid in err, "the warning should name the dev kid"
    assert not LONG_B64.search(err), f"base64 run in --dev warning: {err!r}"
    assert not LONG_B64.search(res.text.replace(tok, "")), res
    # an ephemeral key dies with the process: a second --dev run cannot
    # verify the first one's token
    res = run("verify", "--dev", "--json", "--token", tok, stdin=CONV)
    assert res.rc == 1 and res.json()["code"] == "unknown_key", res
    assert not LONG_B64.search(res.errtext), res
    for args in (["state", "seal"], ["message", "sign"]):
        res = run(*args, "--dev", stdin='{"role":"user","content":"x"}')
        assert res.rc == 0 and not LONG_B64.search(res.errtext), res


def test_keygen_file_is_created_0600(tmp):
    """keygen FILE: created 0600 whatever the umask, appended on rotation,
    nothing on stdout; an existing file others can read is refused."""
    path = os.path.join(tmp, "ring")
    old = os.umask(0o022)
    try:
        res = expect(run("keygen", "--kid", "f1", path, keygen=True), 0)
        expect(run("keygen", "--kid", "f2", path, keygen=True), 0)
    finally:
        os.umask(old)
    assert res.out == b"" and res.err == b"", res
    assert os.stat(path).st_mode & 0o777 == 0o600, oct(os.stat(path).st_mode)
    lines = open(path).read().splitlines()
    assert [ln.split(":")[0] for ln in lines] == ["f1", "f2"], lines
    for ln in lines:
        clitest.SECRETS.add(ln.split(":", 1)[1])
    tok = token_of(run("sign", "--key-file", path, stdin=CONV))
    assert header(tok)["kid"] == "f2"
    shared = os.path.join(tmp, "shared")
    with open(shared, "w"):
        pass
    os.chmod(shared, 0o644)
    res = expect(run("keygen", shared, keygen=True), 2, "invalid_argument")
    assert "chmod 600" in res.errtext, res
    assert os.path.getsize(shared) == 0, "a key was written to a 0644 file"
    # `keygen > file` still works, with a warning that names the fix
    out = os.path.join(tmp, "redirected")
    fd = os.open(out, os.O_WRONLY | os.O_CREAT, 0o644)
    os.fchmod(fd, 0o644)
    os.close(fd)
    with open(out, "wb") as f:
        p = subprocess.run([clitest.BIN, "keygen"], stdout=f,
                           stderr=subprocess.PIPE, env=base_env())
    assert p.returncode == 0
    assert b"chatseal keygen FILE" in p.stderr, p.stderr
    clitest.SECRETS.add(open(out).read().strip().split(":", 1)[1])



def test_keygen_alg(tmp):
    """keygen --alg hs384|hs512: "KID:ALG:KEY" with a key as long as the hash
    output; a ring rotating from hs256 to hs512 keeps verifying old tokens
    and signs with 64-byte tags; the algorithm is never in a token."""
    path = os.path.join(tmp, "ring")
    expect(run("keygen", "--kid", "old", path, keygen=True), 0)
    old_line = open(path).read()
    clitest.SECRETS.add(old_line.strip().split(":", 1)[1])
    old_tok = token_of(run("sign", "--key-file", path, stdin=CONV))
    for alg, size in (("hs256", 32), ("hs384", 48), ("hs512", 64)):
        res = expect(run("keygen", "--kid", "n-" + alg, "--alg", alg,
                         keygen=True), 0)
        kid, *mid, key = res.text.strip().split(":")
        clitest.SECRETS.add(key)
        assert kid == "n-" + alg, res
        assert mid == ([] if alg == "hs256" else [alg]), res
        assert len(clitest.b64u_decode(key)) == size, res
    expect(run("keygen", "--kid", "new", "--alg", "hs512", path,
               keygen=True), 0)
    line = open(path).read().splitlines()[1]
    clitest.SECRETS.add(line.split(":", 2)[2])
    assert line.startswith("new:hs512:"), "ring file line"
    tok = token_of(run("sign", "--key-file", path, stdin=CONV))
    assert header(tok)["kid"] == "new"
    assert "alg" not in header(tok), header(tok)
    assert len(clitest.b64u_decode(tok.split(".")[2])) == 64
    expect(run("verify", "--key-file", path, "--token", tok, stdin=CONV), 0)
    expect(run("verify", "--key-file", path, "--token", old_tok,
               stdin=CONV), 0)
    for bad in ("HS512", "sha512", "none", ""):
        res = expect(run("keygen", "--alg", bad, keygen=True), 2,
                     "invalid_argument")
        assert res.out == b"", res


if __name__ == "__main__":
    clitest.main(globals())
