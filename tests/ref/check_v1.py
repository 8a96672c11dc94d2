#!/usr/bin/env python3
"""check_v1.py -- version 1 tokens still verify (FORMAT.md section 5).

tests/vectors/vectors_v1.json is the vector set the library wrote while it
issued version 1 tokens.  Every conv and msg token in it must still verify
with today's `chatseal verify` / `chatseal message verify` over the same
input, key ring and options (a version 1 token covers the whole canonical
text of each message), and a changed message must still be refused.
"""
import json
import os
import subprocess
import sys

BUILD = os.environ.get("CHATSEAL_BUILD", "build")
CLI = os.path.join(BUILD, "src", "cli", "chatseal")


def run(args, stdin, ring):
    env = dict(os.environ, CHATSEAL_KEYS=ring)
    env.pop("CHATSEAL_KEY_FILE", None)
    return subprocess.run([CLI] + args, input=stdin.encode("utf-8"), env=env,
                          capture_output=True, timeout=60)


def main():
    path = sys.argv[1]
    with open(path, encoding="utf-8") as f:
        vec = json.load(f)
    failed = checked = 0
    for v in vec["tokens"]:
        if v["type"] not in ("conv", "msg"):
            continue
        o = v["options"]
        args = ["--json", "--token", v["token"], "--now", str(o["now"])]
        if o.get("conversation_id"):
            args += ["--conversation", o["conversation_id"]]
        if o.get("principal"):
            args += ["--principal", o["principal"]]
        if o.get("purpose"):
            args += ["--purpose", o["purpose"]]
        if v["type"] == "conv":
            if "count" in o:
                args += ["--allow-roles", "user,tool"]
            cmd = ["verify"] + args
        else:
            cmd = ["message", "verify"] + args
        res = run(cmd, v["input"], v["keyring"])
        checked += 1
        if res.returncode != 0:
            failed += 1
            print(f"FAIL {v['name']}: v1 token refused: {res.stdout!r} "
                  f"{res.stderr!r}")
        if '"role"' not in v["input"]:
            continue
        # the same token over a changed first message: refused
        changed = v["input"].replace('"role"', '"name":"x-changed","role"', 1)
        res = run(cmd, changed, v["keyring"])
        if res.returncode != 1:
            failed += 1
            print(f"FAIL {v['name']}: changed input accepted ({res.returncode})")
    print(f"check_v1: {checked} version 1 tokens, {failed} failures")
    return 1 if failed or checked < 10 else 0


if __name__ == "__main__":
    sys.exit(main())
