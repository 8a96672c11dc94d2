"""check_shared.py LIB PC HEADER -- what an installed libchatseal offers.

The shared library is the product other programs link, so this pins what
they see:

  - every dynamic symbol the library defines is public (chatseal_*): the
    internal cs_* functions stay hidden (-fvisibility=hidden), and so does
    test-only code, which lives in tests/support and never in the library;
  - every function the header declares CHATSEAL_EXPORT is exported;
  - chatseal.pc asks for what the library links and nothing else: libcrypto
    (privately: the header includes no OpenSSL header), not jansson, and its
    Cflags point at the installed include folder only.

Exit 0 when all hold, 1 otherwise (each failure printed).  Needs nm
(binutils); exits 77 (skipped) without it.
"""
import re
import shutil
import subprocess
import sys


def main(lib, pc, header):
    if not shutil.which("nm"):
        print("nm not found: skipped")
        return 77
    failures = []
    out = subprocess.run(["nm", "-D", "--defined-only", lib],
                         capture_output=True, text=True, check=True).stdout
    exported = {line.split()[-1] for line in out.splitlines()
                if len(line.split()) >= 3}
    for sym in sorted(exported):
        # names with a leading "__" or "_init"/"_fini" are made by the
        # toolchain (sanitizer and coverage instrumentation), not by us
        if sym.startswith("__") or sym in ("_init", "_fini"):
            continue
        if not sym.startswith("chatseal_"):
            failures.append(f"{lib} exports {sym}: not a public name")
    text = open(header, encoding="utf-8").read()
    declared = set(re.findall(r"\b(chatseal_\w+)\s*\(", text))
    # only functions: the macro-free names in CHATSEAL_EXPORT declarations
    exported_decls = set()
    for decl in re.split(r";", text):
        if "CHATSEAL_EXPORT" in decl:
            m = re.findall(r"\b(chatseal_\w+)\s*\(", decl)
            if m:
                exported_decls.add(m[-1] if "(*" in decl else m[0])
    for name in sorted(exported_decls):
        if name not in exported:
            failures.append(f"{header} declares {name}, {lib} lacks it")
    if "chatseal_version" not in declared:
        failures.append("chatseal_version is not declared")
    fields = {}
    for line in open(pc, encoding="utf-8"):
        if ":" in line and "=" not in line.split(":", 1)[0]:
            k, v = line.split(":", 1)
            fields[k.strip()] = v.strip()
    requires = fields.get("Requires", "") + " " + fields.get(
        "Requires.private", "")
    if "libcrypto" not in requires:
        failures.append(f"{pc}: libcrypto missing from Requires(.private)")
    if "jansson" in requires or "jansson" in fields.get("Libs", ""):
        failures.append(f"{pc}: lists jansson, which the library does not use")
    if "src/lib" in fields.get("Cflags", ""):
        failures.append(f"{pc}: Cflags export the internal include folder")
    for f in failures:
        print("FAIL:", f)
    print(f"{len(exported)} symbols exported, "
          f"{len(exported_decls)} declared; {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
