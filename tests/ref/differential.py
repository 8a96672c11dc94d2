#!/usr/bin/env python3
"""differential.py -- the Python reference and the chatseal binary sign the
same random conversations, messages and states and must produce the same
token, byte for byte; each side verifies the other's tokens.

Tokens are deterministic for a fixed key and clock (--now), so equality of
the two token strings checks canonicalization, digests, chain, locators,
binding, header layout and tag at once, on inputs nobody wrote by hand:
random roles (including unknown ones), random Unicode (escaped and raw),
the signed form's cases (empty members, tool calls with loosely spelled
arguments, reasoning, members an assistant does not keep),
random numbers in many spellings, nested content, random option sets
(compact, assistant-only, count, ttl, conversation id, principal, purpose),
and a signer of each key algorithm (hs256, hs384, hs512).

Deterministic: a fixed seed; CHATSEAL_DIFF_CASES sets the number of cases.
"""

import json
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chatseal_ref as ref  # noqa: E402

CLI = os.path.join(os.environ["CHATSEAL_BUILD"], "src", "cli", "chatseal")
KEY_TEXT = "# differential\nold:" + ref.b64u(bytes(range(100, 140))) + \
    "\nd-1.x_y:" + ref.b64u(bytes(range(200, 248)))
# The same ring rotated to an HMAC-SHA-384 or -512 signer (FORMAT.md section
# 3): each case picks one of the three, from its own generator so that the
# cases themselves stay the same.
KEY_TEXTS = [KEY_TEXT,
             KEY_TEXT + "\nd-384:hs384:" + ref.b64u(bytes(range(7, 55))),
             KEY_TEXT + ",d-512:hs512:" + ref.b64u(bytes(range(60, 124)))]
ENV = RING = None
ring_rng = random.Random(4231)


def use_ring():
    global ENV, RING
    text = ring_rng.choice(KEY_TEXTS)
    ENV = dict(os.environ, CHATSEAL_KEYS=text)
    RING = ref.parse_keyring(text)
    used.add(RING[-1][1].alg)


used = set()
NOW = 1767225600
rng = random.Random(8785)
failures = []


def cli(args, data):
    proc = subprocess.run([CLI] + args, input=data, env=ENV,
                          capture_output=True, timeout=30)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def rand_text():
    pool = ["a", "Z", " ", "|", ":", "\"", "\\", "/", "\n", "\t", "\x01",
            "\x7f", "é", "€", "\u2028", "😀", "\ufb33", "中", "0", "}"]
    return "".join(rng.choice(pool) for _ in range(rng.randrange(0, 12)))


def rand_number_text():
    choice = rng.randrange(8)
    if choice == 0:
        return str(rng.randrange(-10**6, 10**6))
    if choice == 1:
        return str(rng.randrange(10**17, 10**30))
    if choice == 2:
        return f"{rng.uniform(-1e3, 1e3)!r}"
    if choice == 3:
        return f"{rng.randrange(1, 99)}.{rng.randrange(0, 99)}e{rng.randrange(-30, 30)}"
    if choice == 4:
        return f"{rng.randrange(0, 9)}.{'0' * rng.randrange(1, 4)}"
    if choice == 5:
        return rng.choice(["-0", "0.0", "1E21", "1e-7", "5e-324", "1e+2"])
    if choice == 6:
        return repr(rng.random() * 10 ** rng.randrange(-10, 25))
    return str(rng.randrange(2**53 - 5, 2**53 + 5))


def escape(text):
    """A JSON string literal spelled at random: raw or \\u-escaped."""
    out = ['"']
    for ch in text:
        o = ord(ch)
        if ch in '"\\' or o < 0x20 or rng.random() < 0.3:
            if o > 0xFFFF:
                o -= 0x10000
                out.append(f"\\u{0xD800 + (o >> 10):04x}\\u{0xDC00 + (o & 0x3FF):04X}")
            elif ch == "/" and rng.random() < 0.5:
                out.append("\\/")
            else:
                out.append(f"\\u{o:04x}" if rng.random() < 0.5 else f"\\u{o:04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def rand_value(depth):
    kind = rng.randrange(7 if depth < 3 else 4)
    if kind == 0:
        return escape(rand_text())
    if kind == 1:
        return rand_number_text()
    if kind == 2:
        return rng.choice(["true", "false", "null"])
    if kind == 3:
        return escape(rand_text())
    if kind == 4:
        return "[" + ", ".join(rand_value(depth + 1)
                               for _ in range(rng.randrange(4))) + "]"
    names = list({rand_text() for _ in range(rng.randrange(4))})
    return "{" + ",".join(f"{escape(n)} :{rand_value(depth + 1)}"
                          for n in names) + "}"


ROLES = ["system", "user", "assistant", "tool", "developer", "function",
         "critic", "User", ""]


def rand_message():
    members = [f'"role":{escape(rng.choice(ROLES))}',
               f'"content":{rand_value(1)}']
    for name in {rand_text() for _ in range(rng.randrange(3))}:
        if name not in ("role", "content"):
            members.append(f"{escape(name)}:{rand_value(1)}")
    rng.shuffle(members)
    return "{" + " ,\n ".join(members) + "}"


EMPTY = ["null", '""', "[]", "{}"]


def rand_arguments():
    """Tool-call arguments: JSON text spelled loosely, or not JSON at all."""
    kind = rng.randrange(4)
    if kind == 0:
        return escape(rand_text())
    if kind == 1:
        return rng.choice(EMPTY[:2])
    text = rand_value(2 if kind == 2 else 1)
    if rng.random() < 0.5:
        text = text.replace(":", ": ").replace(",", ", ")
    return escape(text)


def rand_call():
    members = [f'"function":{{"name":{escape(rand_text())},'
               f'"arguments":{rand_arguments()}'
               + (',"extra":null' if rng.random() < 0.3 else "") + "}",
               f'"id":{rng.choice([escape(rand_text()), "null"])}',
               f'"type":{rng.choice([escape("function"), "null"])}']
    if rng.random() < 0.5:
        members.append(f'"index":{rng.randrange(3)}')
    rng.shuffle(members)
    return "{" + ",".join(members) + "}"


def rand_sdk_message():
    """What chat APIs answer and SDKs send back (FORMAT.md 2.1): empty
    members, tool calls, reasoning, members assistants do not keep."""
    members = [f'"role":{escape(rng.choice(ROLES[:4]))}']
    pool = {
        "content": lambda: rng.choice(EMPTY + [rand_value(1)]),
        "refusal": lambda: rng.choice(["null", escape(rand_text())]),
        "annotations": lambda: rng.choice(["[]", rand_value(1)]),
        "audio": lambda: rng.choice(["null", "{}", '{"id":"a1"}']),
        "parsed": lambda: rng.choice(["null", rand_value(1)]),
        "reasoning_content": lambda: rng.choice(EMPTY + [rand_value(1)]),
        "reasoning": lambda: rng.choice(["null", escape(rand_text())]),
        "tool_calls": lambda: "[" + ",".join(
            rand_call() for _ in range(rng.randrange(3))) + "]",
        "function_call": lambda: rng.choice(
            ["null", '{"name":"f","arguments":' + rand_arguments() + "}"]),
        "name": lambda: rng.choice(["null", escape(rand_text())]),
        "tool_call_id": lambda: escape(rand_text()),
        "logprobs": lambda: rand_value(1),
    }
    for name in rng.sample(sorted(pool), rng.randrange(1, 6)):
        members.append(f'"{name}":{pool[name]()}')
    rng.shuffle(members)
    return "{" + " ,\n ".join(members) + "}"


def rand_options():
    """(arguments for sign and verify, sign-only arguments, reference kw)"""
    args, sign_only, kw = ["--now", str(NOW)], [], {"now": NOW}
    if rng.random() < 0.3:
        sign_only = ["--ttl", "90"]
        kw["ttl"] = 90
    for opt, name in (("--conversation", "cid"), ("--principal", "prn"),
                      ("--purpose", "pur")):
        if rng.random() < 0.3:
            value = rng.choice(["c-1", "ü", "a b", "x" * 200])
            args += [opt, value]
            kw[name] = value
    return args, sign_only, kw


def fail(what, detail):
    failures.append(f"{what}: {detail}")


def case_conv(i):
    msgs = [rand_sdk_message() if rng.random() < 0.4 else rand_message()
            for _ in range(rng.randrange(0, 7))]
    text = "[" + ",\n".join(msgs) + "]"
    if rng.random() < 0.3:
        text = '{"model":"m","messages":' + text + ',"n":1.0}'
    args, sign_only, kw = rand_options()
    flags = {}
    if rng.random() < 0.25:
        sign_only.append("--compact")
        flags["compact"] = True
    elif rng.random() < 0.3:
        sign_only.append("--assistant-only")
        flags["assistant_only"] = True
    parsed = ref.messages_of(ref.parse(text.encode()))
    count = None
    if parsed and rng.random() < 0.2:
        count = rng.randrange(len(parsed) + 1)
        sign_only += ["--count", str(count)]
    want = ref.sign_messages(RING, parsed, count=count, **kw, **flags)["token"]
    rc, out, err = cli(["sign"] + args + sign_only, text.encode())
    if rc != 0 or out != want + "\n":
        fail(f"conv {i}", f"rc {rc} {err.strip()}\n  input {text!r}\n"
             f"  args {args + sign_only}\n  library   {out.strip()}\n"
             f"  reference {want}")
        return
    if count is not None and count < len(parsed):
        if any(m.get("role") == "" for m in parsed[count:]):
            return  # an empty role cannot be listed in --allow-roles
        args += ["--allow-roles", ",".join(sorted(set(ROLES) - {""}))]
    rc, _, err = cli(["verify", "--token", want, "--quiet"] + args,
                     text.encode())
    if rc != 0:
        fail(f"conv {i}", f"library refuses the reference token: {err}")


def case_msg(i):
    text = rand_message()
    args, sign_only, kw = rand_options()
    msg = ref.parse(text.encode())
    want = ref.sign_messages(RING, [msg], typ="msg", **kw)["token"]
    rc, out, err = cli(["message", "sign"] + args + sign_only, text.encode())
    if rc != 0 or out != want + "\n":
        fail(f"msg {i}", f"rc {rc} {err.strip()}\n  input {text!r}\n"
             f"  library   {out.strip()}\n  reference {want}")
        return
    try:
        ref.verify_conv(RING, out.strip(), [msg], typ="msg", **{
            k: v for k, v in kw.items() if k != "ttl"})
    except ref.RefError as exc:
        fail(f"msg {i}", f"reference refuses the library token: {exc}")


def case_state(i):
    text = rand_value(0)
    args, sign_only, kw = rand_options()
    value = ref.parse(text.encode())
    want = ref.sign_state(RING, value, **kw)["token"]
    rc, out, err = cli(["state", "sign"] + args + sign_only, text.encode())
    if rc != 0 or out != want + "\n":
        fail(f"state {i}", f"rc {rc} {err.strip()}\n  input {text!r}\n"
             f"  library   {out.strip()}\n  reference {want}")
        return
    reparsed = json.dumps(json.loads(text), ensure_ascii=rng.random() < 0.5,
                          indent=rng.choice([None, 1]))
    rc, _, err = cli(["state", "verify", "--token", want, "--quiet"] + args,
                     reparsed.encode())
    if rc != 0:
        fail(f"state {i}", f"re-serialized state refused: {err}")


def main():
    cases = int(os.environ.get("CHATSEAL_DIFF_CASES", "60"))
    for i in range(cases):
        for case in (case_conv, case_msg, case_state):
            use_ring()
            case(i)
    if used != set(ref.ALGS):
        failures.append(f"signers used: {sorted(used)}")
    for f in failures[:20]:
        print("FAIL", f)
    print(f"differential: {cases} x 3 cases, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
