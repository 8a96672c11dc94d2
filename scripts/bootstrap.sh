#!/usr/bin/env bash
# bootstrap.sh -- install what chatseal needs, and nothing that is already there.
#
# Idempotent: it asks dpkg which Debian packages are missing and apt-gets only
# those, then installs the test clients (tests/node/package.json: openai, ai,
# @langchain/openai, playwright-core, ...) into tests/node/node_modules when one
# of them is missing.
# Run as root, or with sudo available.  `make test` and `make demo` call it.
#
#   scripts/bootstrap.sh          build + test dependencies
#   scripts/bootstrap.sh --bench  also what bench/ needs (nginx, wrk)
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(build-essential pkg-config meson ninja-build clang
      libssl-dev libjansson-dev libevent-dev libhiredis-dev redis-server
      liblmdb-dev
      python3 curl openssl ca-certificates
      nodejs chromium)
if [ "${1:-}" = "--bench" ]; then
    pkgs+=(nginx-light wrk libsqlite3-dev)
fi

missing=()
for p in "${pkgs[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        # nodejs from another Debian-compatible source still provides node + npm
        if [ "$p" = nodejs ] && command -v node >/dev/null && command -v npm >/dev/null; then
            continue
        fi
        missing+=("$p")
    fi
done
# Debian's nodejs does not ship npm; add it only when npm is absent.
if ! command -v npm >/dev/null 2>&1; then
    missing+=(npm)
fi

if [ "${#missing[@]}" -gt 0 ]; then
    echo "bootstrap: installing ${missing[*]}"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# python3 must be a real interpreter (tests use the standard library only)
command -v python3 >/dev/null || { echo "bootstrap: python3 missing" >&2; exit 1; }

# Real clients for the tests, pinned by tests/node/package-lock.json (the
# openai SDK, the Vercel AI SDK, LangChain, playwright-core, and the repo's own
# clients/js helper, linked): `npm ci` whenever one of package.json's
# dependencies is missing from node_modules, so adding a package installs it.
if ! node -e '
  const fs = require("fs");
  const deps = Object.keys(require("./tests/node/package.json").dependencies || {});
  process.exit(deps.every((d) => fs.existsSync("tests/node/node_modules/" + d + "/package.json")) ? 0 : 1);
' 2>/dev/null; then
    echo "bootstrap: installing test clients from npm (tests/node/package-lock.json)"
    (cd tests/node && npm ci --no-audit --no-fund --loglevel=error)
fi
