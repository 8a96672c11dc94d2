"""clitest.py -- shared helpers for the tests of the chatseal binary.

Every test script in tests/cli imports this module, defines functions named
test_*, and ends with `clitest.main(globals())`.  The helpers:

  - run the binary found at $CHATSEAL_BUILD/src/cli/chatseal with a clean
    environment (no CHATSEAL_KEYS / CHATSEAL_KEY_FILE unless a test sets one);
  - check on EVERY run that no key the tests created appears in stdout or
    stderr (keygen's stdout excepted, printing a key is its job);
  - parse error lines ("chatseal: <code>: <detail>") and token headers.

Python 3 standard library only.
"""

import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import traceback

BUILD = os.environ.get("CHATSEAL_BUILD")
if not BUILD:
    sys.exit("CHATSEAL_BUILD is not set (run through meson test)")
BIN = os.path.join(BUILD, "src", "cli", "chatseal")

# every key (base64url text) handed to the binary; none may ever be printed
SECRETS = set()

ERROR_LINE = re.compile(r"^chatseal: ([a-z0-9_]+): (.+)$")


class Result:
    def __init__(self, args, rc, out, err):
        self.args, self.rc, self.out, self.err = args, rc, out, err

    @property
    def text(self):
        return self.out.decode("utf-8", "replace")

    @property
    def errtext(self):
        return self.err.decode("utf-8", "replace")

    def json(self):
        try:
            return json.loads(self.out)
        except ValueError as e:
            raise AssertionError(
                f"stdout of {self.args} is not JSON ({e}): {self.out[:300]!r}")

    def error_code(self):
        """The <code> of the first 'chatseal: <code>: ...' line on stderr."""
        for line in self.errtext.splitlines():
            m = ERROR_LINE.match(line)
            if m and m.group(1) not in ("warning", "note"):
                return m.group(1)
        return None

    def __repr__(self):
        return (f"<{' '.join(self.args)} -> rc={self.rc} "
                f"out={self.out[:200]!r} err={self.err[:300]!r}>")


def new_key(nbytes=32):
    """A fresh random key as base64url text without padding (registered)."""
    key = b64u(os.urandom(nbytes))
    SECRETS.add(key)
    return key


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def header(token):
    """The decoded header JSON of a token (no verification)."""
    assert token.startswith("cs1."), token
    return json.loads(b64u_decode(token.split(".")[1]))


def with_header(token, **changes):
    """The token with header members changed (None deletes), re-encoded in
    canonical form (sorted keys, no spaces), payload untouched."""
    parts = token.split(".")
    h = json.loads(b64u_decode(parts[1]))
    for k, v in changes.items():
        if v is None:
            h.pop(k, None)
        else:
            h[k] = v
    text = json.dumps(h, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()
    parts[1] = b64u(text)
    return ".".join(parts)


def base_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("CHATSEAL_KEYS", "CHATSEAL_KEY_FILE")}
    env.update({k: v for k, v in extra.items() if v is not None})
    return env


def run(*args, stdin=b"", env=None, keys=None, keygen=False, timeout=60,
        cwd=None):
    """Runs chatseal ARGS.  keys: key ring text put in CHATSEAL_KEYS.
    stdin: bytes or str.  Checks that no registered secret leaks."""
    if env is None:
        env = base_env()
    if keys is not None:
        env = dict(env, CHATSEAL_KEYS=keys)
    if isinstance(stdin, str):
        stdin = stdin.encode()
    argv = [BIN] + [str(a) for a in args]
    p = subprocess.run(argv, input=stdin, capture_output=True, env=env,
                       timeout=timeout, cwd=cwd)
    res = Result([str(a) for a in args], p.returncode, p.stdout, p.stderr)
    for secret in SECRETS:
        if not keygen:
            assert secret.encode() not in p.stdout, f"key leaked on stdout: {res}"
        assert secret.encode() not in p.stderr, f"key leaked on stderr: {res}"
    assert p.returncode >= 0, f"killed by signal {-p.returncode}: {res}"
    return res


def expect(res, rc, code=None):
    """Asserts the exit status and, if given, the error code on stderr."""
    assert res.rc == rc, f"expected exit {rc}, got {res.rc}: {res}"
    if code is not None:
        got = res.error_code()
        assert got == code, f"expected error code {code}, got {got}: {res}"
    if rc == 0:
        assert res.error_code() is None, f"error line on success: {res}"
    return res


def expect_report(res, rc, code, **fields):
    """verify --json: exit status, the report's code, the same code on
    stderr (unless valid), and any other report fields given."""
    expect(res, rc, None if rc == 0 else code)
    rep = res.json()
    assert rep["code"] == code, f"report code {rep['code']} != {code}: {res}"
    assert rep["valid"] is (rc == 0), f"report valid wrong: {rep}"
    for k, v in fields.items():
        assert rep.get(k) == v, f"report {k}={rep.get(k)!r}, expected {v!r}: {rep}"
    return rep


def token_of(res):
    """stdout of a signing command: one token and exactly one newline."""
    expect(res, 0)
    out = res.text
    assert out.endswith("\n") and out.count("\n") == 1, f"token output: {res}"
    tok = out[:-1]
    assert tok.startswith("cs1.") and tok.count(".") == 2, f"token: {tok!r}"
    return tok


def write(directory, name, content):
    path = os.path.join(directory, name)
    mode = "wb" if isinstance(content, bytes) else "w"
    with open(path, mode) as f:
        if isinstance(content, (list, dict)):
            json.dump(content, f)
        else:
            f.write(content)
    return path


def main(namespace):
    """Runs every test_* function of the calling module; exits 0 if all
    passed, 1 otherwise (a missing binary is a failure, not a skip)."""
    if not os.access(BIN, os.X_OK):
        print(f"FAIL: {BIN} is not built")
        sys.exit(1)
    tests = [(n, f) for n, f in namespace.items()
             if n.startswith("test_") and callable(f)]
    failed = 0
    for name, fn in tests:
        with tempfile.TemporaryDirectory(prefix="chatseal-cli-") as tmp:
            try:
                fn(tmp)
                print(f"ok   {name}")
            except Exception:  # noqa: BLE001 -- report every failure
                failed += 1
                print(f"FAIL {name}")
                traceback.print_exc(file=sys.stdout)
    print(f"{len(tests) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
