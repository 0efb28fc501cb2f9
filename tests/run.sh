#!/usr/bin/env bash
# Runs Fordra's whole test suite. The tests start their own PostgreSQL cluster (from the
# PostgreSQL binaries on this machine) and give every test a fresh database; nothing to set up.
# Missing prerequisites are installed when running as root (Debian/apt), else named.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  need_apt+=(postgresql)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing: ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "missing: ${need_apt[*]} — install them (e.g. sudo apt-get install ${need_apt[*]})" >&2
    exit 1
  fi
fi

exec cargo test --locked "$@"
