#!/usr/bin/env python3
"""checksrc.py -- the source rules clang-format cannot see, in the spirit of
curl's checksrc.pl.  Python standard library only.

Rules, over every git-tracked .c/.h file (or the files named on the command
line):

  banned-call     a call to a function with a safer replacement in this
                  project: strcpy, strcat, strncat, sprintf, vsprintf, gets,
                  strtok, atoi, atol, atoll, atof, tmpnam, mktemp, rand,
                  srand.  Use memcpy with a known length or cs_buf,
                  snprintf, strtol/strtoll with an end pointer and errno,
                  RAND_bytes.  An error.
  long-function   a function body longer than 150 lines.  An error unless
                  the function says why it must be one piece: a comment
                  "checksrc: long-function <reason>" on one of the five lines
                  above its definition or anywhere in its body (a state
                  machine that reads better whole, say).
  long-file       a file over 800 lines.  A warning, listed but not failed:
                  the split is a design decision, not a style fix.

Findings print as "path:line: rule: message".  Known findings listed in
scripts/checksrc.allow (path, rule, name) print as "allowed" and do not
fail; an entry that no longer matches anything prints as stale, so the list
only shrinks.  The exit status is 1 when there is an error, else 0;
scripts/test.sh runs this as one check, and `--selftest` checks the rules
themselves on small made-up sources.

Functions are found by the layout clang-format enforces (.clang-format,
BreakBeforeBraces: Linux): a definition's opening brace and closing brace
stand alone at column 0.  Comments and string/character literals are blanked
before matching, so a banned name inside a comment or a string is fine.
"""
import os
import re
import subprocess
import sys

FUNC_MAX = 150
FILE_MAX = 800
BANNED = {
    "strcpy": "memcpy with a known length, or cs_buf",
    "strcat": "memcpy with a known length, or cs_buf",
    "strncat": "memcpy with a known length, or cs_buf",
    "sprintf": "snprintf",
    "vsprintf": "vsnprintf",
    "gets": "fgets",
    "strtok": "strtok_r or a hand-written split",
    "atoi": "strtol with an end pointer and errno",
    "atol": "strtol with an end pointer and errno",
    "atoll": "strtoll with an end pointer and errno",
    "atof": "strtod with an end pointer and errno",
    "tmpnam": "mkstemp",
    "mktemp": "mkstemp",
    "rand": "RAND_bytes (OpenSSL), or a local PRNG in tests",
    "srand": "RAND_bytes (OpenSSL), or a local PRNG in tests",
}
BANNED_RE = re.compile(r"(?<![\w.>])(" + "|".join(BANNED) + r")\s*\(")
ALLOW_LONG = "checksrc: long-function"
DEF_NAME_RE = re.compile(r"(\w+)\s*\(")


def blank_comments_and_strings(text):
    """The text with comments and literals replaced by spaces (newlines
    kept), so that line numbers and columns still match."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + re.sub(r"[^\n]", " ", text[i + 1:j - 1]) + c)
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(raw_lines, code_lines):
    """(name, first line, last line) of each function definition, 1-based:
    from its signature to its closing brace."""
    found = []
    i = 0
    while i < len(code_lines):
        if code_lines[i].rstrip() != "{" or i == 0:
            i += 1
            continue
        # the signature: back to the line that starts at column 0
        start = i - 1
        while start > 0 and code_lines[start][:1] in (" ", "\t"):
            start -= 1
        sig = " ".join(code_lines[start:i])
        m = DEF_NAME_RE.search(sig)
        end = i + 1
        while end < len(code_lines) and code_lines[end].rstrip() != "}":
            end += 1
        aggregate = re.match(r"\s*(typedef\s+)?(struct|enum|union)\b[^(]*$",
                             sig)
        if m and not aggregate and "=" not in sig:
            found.append((m.group(1), start + 1, end + 1))
        i = end + 1
    return found


def check_file(path):
    errors, warnings = [], []
    with open(path, encoding="utf-8", errors="replace") as f:
        raw = f.read()
    raw_lines = raw.split("\n")
    code = blank_comments_and_strings(raw)
    code_lines = code.split("\n")
    nlines = len(raw_lines) - (1 if raw.endswith("\n") else 0)

    for lineno, line in enumerate(code_lines, 1):
        for m in BANNED_RE.finditer(line):
            name = m.group(1)
            errors.append(((path, "banned-call", name),
                           f"{path}:{lineno}: banned-call: {name}() -- use "
                           f"{BANNED[name]}"))

    for name, first, last in functions(raw_lines, code_lines):
        length = last - first + 1
        if length <= FUNC_MAX:
            continue
        context = "\n".join(raw_lines[max(0, first - 6):last])
        if ALLOW_LONG in context:
            continue
        errors.append(((path, "long-function", name),
                       f"{path}:{first}: long-function: {name}() is {length} "
                       f"lines (over {FUNC_MAX}); split it, or say why it is "
                       f"one piece with a '{ALLOW_LONG} <reason>' comment"))

    if nlines > FILE_MAX:
        warnings.append(f"{path}:1: long-file: {nlines} lines "
                        f"(over {FILE_MAX})")
    return errors, warnings


def tracked_sources(root):
    try:
        out = subprocess.run(["git", "ls-files", "*.c", "*.h"], cwd=root,
                             capture_output=True, text=True, check=True)
        files = [p for p in out.stdout.split("\n") if p]
        if files:
            return files
    except (OSError, subprocess.CalledProcessError):
        pass
    files = []
    for top in ("src", "include", "tests", "fuzz", "bench", "examples"):
        for d, _, names in os.walk(os.path.join(root, top)):
            files += [os.path.relpath(os.path.join(d, n), root)
                      for n in names if n.endswith((".c", ".h"))]
    return sorted(files)


def read_allow(path):
    """{(path, rule, name): line number} from checksrc.allow."""
    allow = {}
    try:
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                words = line.split("#", 1)[0].split()
                if len(words) == 3:
                    allow[tuple(words)] = lineno
    except FileNotFoundError:
        pass
    return allow


def run(paths, allow, allow_name):
    """Prints the findings; returns the number of errors."""
    errors, warnings, allowed = [], [], []
    seen = set()
    for p in paths:
        e, w = check_file(p)
        for key, text in e:
            if key in allow:
                seen.add(key)
                allowed.append(text + f" (allowed: {allow_name})")
            else:
                errors.append(text)
        warnings += w
    stale = [f"{allow_name}:{n}: stale: {' '.join(k)} no longer found"
             for k, n in sorted(allow.items(), key=lambda kv: kv[1])
             if k not in seen and
             (k[0] in paths or not os.path.exists(k[0]))]
    for line in errors + allowed + warnings + stale:
        print(line)
    print(f"checksrc: {len(paths)} files, {len(errors)} errors, "
          f"{len(allowed)} allowed, {len(warnings)} warnings")
    return len(errors)


SELFTEST = {
    "banned.c": ("static int f(const char *s)\n{\n"
                 "    char b[8];\n    strcpy(b, s);\n"
                 "    return atoi(s);\n}\n", 2),
    "quiet.c": ("/* strcpy(a, b) in a comment */\n"
                "static const char *g(void)\n{\n"
                "    return \"sprintf(x)\";\n}\n"
                "static int h(int sprintf_count)\n{\n"
                "    return snprintf(0, 0, \"\") + sprintf_count;\n}\n", 0),
    "long.c": ("static int big(void)\n{\n" + "    x++;\n" * 160
               + "}\n", 1),
    "marked.c": ("/* checksrc: long-function one state machine */\n"
                 "static int big(void)\n{\n" + "    x++;\n" * 160
                 + "}\n", 0),
}


def selftest():
    import tempfile
    failed = 0
    with tempfile.TemporaryDirectory() as d:
        for name, (text, want) in SELFTEST.items():
            path = os.path.join(d, name)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            got = len(check_file(path)[0])
            ok = got == want
            failed += not ok
            print(f"{'ok' if ok else 'FAIL'}: {name}: {got} errors, "
                  f"want {want}")
    print(f"{len(SELFTEST) - failed} passed, {failed} failed")
    return 1 if failed else 0


def main(argv):
    if argv[1:2] == ["--selftest"]:
        return selftest()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    allow_path = os.path.join(root, "scripts", "checksrc.allow")
    paths = argv[1:]
    if not paths:
        os.chdir(root)
        paths = tracked_sources(root)
    errors = run(paths, read_allow(allow_path), "scripts/checksrc.allow")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
