#!/usr/bin/env python3
"""readme_tour -- runs the CLI tour of README.md exactly as written.

Takes every ```sh block of the section "A five-minute tour of the CLI", in
order, and runs them in ONE bash (so exports and cd carry over, as when a
reader pastes them), with `set -euo pipefail`, in a scratch directory, with
the built binary on PATH as `chatseal` and no key in the environment.  Fails
if any command fails that the README does not catch itself (`|| echo`).

A ```text block right after a ```sh block is what that block prints: every
line of it must appear in the block's actual output (stdout and stderr
together), where "…" stands for any text.  So the outputs shown in the
README stay true too.
"""
import os
import re
import subprocess
import sys
import tempfile

SRC = os.environ.get("CHATSEAL_SRC")
BUILD = os.environ.get("CHATSEAL_BUILD")
TOUR_HEADING = "## A five-minute tour of the CLI"
MARK = "@@chatseal-readme-block-{}@@"
COMMANDS = ["keygen", "sign", "verify", "extend", "canon", "inspect",
            "state seal", "state open"]


def tour_blocks(readme):
    """[(shell code, expected output lines or None)] of the tour section."""
    start = readme.index(TOUR_HEADING)
    nxt = readme.find("\n## ", start + len(TOUR_HEADING))
    section = readme[start:nxt if nxt >= 0 else len(readme)]
    fences = re.findall(r"^```(\w*)\n(.*?)^```$", section, re.M | re.S)
    blocks = []
    for lang, body in fences:
        if lang == "sh":
            blocks.append([body, None])
        elif lang == "text" and blocks and blocks[-1][1] is None:
            blocks[-1][1] = body.splitlines()
    return blocks


def line_pattern(expected):
    parts = [re.escape(p) for p in expected.rstrip().split("\u2026")]
    return re.compile(".*".join(parts))


def main():
    if not SRC or not BUILD:
        sys.exit("CHATSEAL_SRC / CHATSEAL_BUILD not set (run via meson test)")
    binary = os.path.join(BUILD, "src", "cli", "chatseal")
    with open(os.path.join(SRC, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    blocks = tour_blocks(readme)
    if len(blocks) < 5:
        print(f"FAIL: only {len(blocks)} shell blocks found in the tour")
        return 1
    code = "\n".join(b for b, _ in blocks)
    missing = [c for c in COMMANDS if f"chatseal {c}" not in code]
    if missing:
        print(f"FAIL: the tour no longer shows: {', '.join(missing)}")
        return 1

    with tempfile.TemporaryDirectory(prefix="chatseal-tour-") as work:
        bindir = os.path.join(work, "bin")
        scratch = os.path.join(work, "tmp")
        home = os.path.join(work, "home")
        for d in (bindir, scratch, home):
            os.mkdir(d)
        os.symlink(binary, os.path.join(bindir, "chatseal"))
        script = ["set -euo pipefail", "exec 2>&1"]
        for i, (body, _) in enumerate(blocks):
            # a newline first: a block's output may not end with one
            script.append(f"printf '\\n{MARK.format(i)}\\n'")
            script.append(body)
        script.append(f"printf '\\n{MARK.format(len(blocks))}\\n'")
        env = {k: v for k, v in os.environ.items()
               if k not in ("CHATSEAL_KEYS", "CHATSEAL_KEY_FILE")}
        env.update(PATH=bindir + os.pathsep + env.get("PATH", "/usr/bin:/bin"),
                   TMPDIR=scratch, HOME=home, LC_ALL="C.UTF-8")
        p = subprocess.run(["bash", "-c", "\n".join(script)], cwd=work,
                           env=env, capture_output=True, timeout=60)
        out = p.stdout.decode("utf-8", "replace")

    # split the output by block
    pieces = re.split(r"^@@chatseal-readme-block-(\d+)@@\n", out, flags=re.M)
    outputs = {}
    for j in range(1, len(pieces) - 1, 2):
        outputs[int(pieces[j])] = pieces[j + 1]
    failed = 0
    if p.returncode != 0:
        last = max(outputs) if outputs else 0
        print(f"FAIL: the tour stopped with exit status {p.returncode} in "
              f"block {last + 1}:\n{blocks[last][0]}\n--- output:\n"
              f"{outputs.get(last, out)}")
        return 1
    for i, (body, expected) in enumerate(blocks):
        got = outputs.get(i, "")
        lines = got.splitlines()
        bad = 0
        for want in expected or []:
            if not want.strip():
                continue
            pat = line_pattern(want)
            if not any(pat.fullmatch(line) for line in lines):
                bad += 1
                print(f"FAIL: block {i + 1} does not print the README line\n"
                      f"  {want}\n--- block:\n{body}--- actual output:\n{got}")
        failed += bad
        if not bad:
            print(f"ok   block {i + 1}")
    print(f"{len(blocks)} blocks run, {failed} output mismatches")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
