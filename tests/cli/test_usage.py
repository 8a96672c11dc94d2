#!/usr/bin/env python3
"""chatseal command line: help, version, dispatch and usage errors (exit 2).

Every usage error must exit 2 with "chatseal: invalid_argument: ..." on
stderr and nothing on stdout; help goes to stdout with exit 0.
"""
import clitest
from clitest import expect, new_key, run

COMMANDS = [
    ["keygen"], ["sign"], ["verify"], ["extend"], ["canon"], ["inspect"],
    ["message"], ["message", "sign"], ["message", "verify"],
    ["state"], ["state", "sign"], ["state", "verify"], ["state", "seal"],
    ["state", "open"], ["bench"],
]


def usage_error(res):
    expect(res, 2, "invalid_argument")
    assert res.out == b"", f"usage error wrote to stdout: {res}"


def test_version(tmp):
    res = expect(run("--version"), 0)
    assert res.text.startswith("chatseal 0.1.0"), res
    assert res.text.count("\n") == 1, res
    assert run("version").out == res.out
    usage_error(run("--version", "extra"))


def test_main_help(tmp):
    res = expect(run("--help"), 0)
    assert "Usage: chatseal COMMAND" in res.text, res
    for word in ("keygen", "sign", "verify", "extend", "canon", "inspect",
                 "message", "state", "serve", "bench", "--version"):
        assert word in res.text, f"{word} missing from --help"
    assert run("-h").out == res.out
    assert run("help").out == res.out
    assert run("help", "help").out == res.out


def test_no_arguments(tmp):
    res = run()
    assert res.rc == 2, res
    assert b"Usage: chatseal" in res.err and res.out == b"", res


def test_every_command_has_help(tmp):
    for words in COMMANDS:
        a = expect(run(*words, "--help"), 0)
        b = expect(run("help", *words), 0)
        assert a.out == b.out, f"--help and help differ for {words}"
        assert a.text.startswith("Usage: chatseal " + " ".join(words)), a
        assert a.err == b"", a
        # -h too, and --help wins over bad options on the same line
        assert run(*words, "-h").out == a.out
        assert run(*words, "--bogus", "--help").out == a.out


def test_help_mentions_every_flag(tmp):
    flags = {
        "sign": ["--conversation", "--principal", "--purpose", "--ttl",
                 "--now", "--compact", "--assistant-only", "--count",
                 "--key-file", "--dev"],
        "verify": ["--token", "--token-file", "--json", "--allow-roles",
                   "--leeway", "--now"],
        "extend": ["--token", "--append", "--allow-roles"],
        "bench": ["--messages", "--rounds"],
        "keygen": ["--kid"],
    }
    for cmd, names in flags.items():
        text = run(cmd, "--help").text
        for f in names:
            assert f in text, f"{f} missing from chatseal {cmd} --help"


def test_unknown_command(tmp):
    usage_error(run("frobnicate"))
    usage_error(run("message", "frobnicate"))
    usage_error(run("state", "frobnicate"))
    usage_error(run("help", "frobnicate"))
    usage_error(run("help", "state", "frobnicate"))


def test_group_without_subcommand(tmp):
    for g in ("message", "state"):
        res = run(g)
        assert res.rc == 2 and res.error_code() == "invalid_argument", res
        assert b"Usage: chatseal " + g.encode() in res.err, res


def test_bad_options(tmp):
    k = "k1:" + new_key()
    usage_error(run("sign", "--frobnicate", keys=k))
    usage_error(run("sign", "-x", keys=k))
    usage_error(run("canon", "--ttl", "5"))            # not for canon
    usage_error(run("keygen", "--token", "x"))         # not for keygen
    usage_error(run("sign", "--ttl", keys=k))          # missing value
    usage_error(run("sign", "--ttl", "soon", keys=k))  # not a number
    usage_error(run("sign", "--ttl", "0", keys=k))     # out of range
    usage_error(run("sign", "--now", "-5", keys=k))
    usage_error(run("sign", "--count", "1x", keys=k))
    usage_error(run("sign", "--compact=yes", keys=k))  # flag with a value
    usage_error(run("sign", "--ttl", "5", "--ttl", "6", keys=k))  # twice
    usage_error(run("sign", "a.json", "b.json", keys=k))  # two inputs
    usage_error(run("state", "open", "file.json", "--token", "x", keys=k))
    usage_error(run("bench", "--messages", "0"))
    usage_error(run("bench", "--rounds", "x"))
    usage_error(run("verify", "--leeway", "-1", "--token", "x", keys=k))
    # --opt=value works as well as --opt value
    res = run("bench", "--messages=3", "--rounds=1")
    assert res.rc == 0, res


def test_missing_required(tmp):
    k = "k1:" + new_key()
    usage_error(run("verify", stdin="[]", keys=k))
    usage_error(run("message", "verify", stdin="{}", keys=k))
    usage_error(run("state", "verify", stdin="{}", keys=k))
    usage_error(run("state", "open", keys=k))
    usage_error(run("extend", "--token", "x", stdin="[]", keys=k))
    usage_error(run("inspect"))


def test_conflicting_options(tmp):
    k = "k1:" + new_key()
    usage_error(run("sign", "--dev", "--key-file", "/nonexistent", stdin="[]"))
    usage_error(run("verify", "--token", "x", "--token-file", "f",
                    stdin="[]", keys=k))
    # two readers of stdin
    usage_error(run("extend", "--token", "x", "--append", "-", stdin="[]",
                    keys=k))
    usage_error(run("extend", "--token", "x", "--append", "-", "-",
                    stdin="[]", keys=k))
    usage_error(run("verify", "--token-file", "-", stdin="[]", keys=k))
    usage_error(run("inspect", "cs1.x.y", "--token", "cs1.x.y"))


def test_double_dash(tmp):
    # after --, a name starting with '-' is a file name
    clitest.write(tmp, "-weird.json", '{"b":1,"a":2}')
    res = expect(run("canon", "--", "-weird.json", cwd=tmp), 0)
    assert res.out == b'{"a":2,"b":1}', res
    usage_error(run("canon", "-weird.json", cwd=tmp))


def test_serve_is_dispatched(tmp):
    # the gateway parses its own options; an unknown one is a usage error
    res = run("serve", "--no-such-gateway-option", timeout=20)
    assert res.rc == 2, res


if __name__ == "__main__":
    clitest.main(globals())
