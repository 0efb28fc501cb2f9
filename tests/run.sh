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
# Browser tests drive Debian's Chromium; xmllint validates generated XML against its schema;
# pdffonts and pdftotext check that letters embed their fonts and print names as written.
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v xmllint >/dev/null 2>&1 || need_apt+=(libxml2-utils)
command -v pdftotext >/dev/null 2>&1 || need_apt+=(poppler-utils)
command -v node >/dev/null 2>&1 || need_apt+=(nodejs npm)
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

# playwright-core and axe-core for the browser flows (no browser download: Chromium is Debian's).
if [ ! -d node_modules/playwright-core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

# The official pain.001.001.03 schema, to validate Fordra's payout files: it ships inside the
# PyPI package sepaxml (MIT); fetched once, pinned by hash, kept under target/.
xsd=target/xsd/pain.001.001.03.xsd
if [ ! -f "$xsd" ]; then
  mkdir -p target/xsd
  tmp=$(mktemp -d)
  python3 -m pip download --quiet --no-deps --dest "$tmp" sepaxml==2.6.1
  echo "f110e4a11322c1ea46f86550d703468b109343b4cece1d5b792d394f03d86110  $tmp/sepaxml-2.6.1-py3-none-any.whl" | sha256sum --check --quiet
  python3 -c "import sys, zipfile; open(sys.argv[2], 'wb').write(zipfile.ZipFile(sys.argv[1]).read('sepaxml/schemas/pain.001.001.03.xsd'))" \
    "$tmp/sepaxml-2.6.1-py3-none-any.whl" "$xsd"
  rm -rf "$tmp"
fi

# openapi-spec-validator (PyPI) checks the served OpenAPI document; a venv under target/ keeps it
# off the system Python.
venv=target/tools/venv
if [ ! -x "$venv/bin/openapi-spec-validator" ]; then
  python3 -m venv "$venv" 2>/dev/null || { apt-get install -y -qq python3-venv >/dev/null && python3 -m venv "$venv"; }
  "$venv/bin/pip" install --quiet openapi-spec-validator==0.7.1
fi
export OPENAPI_SPEC_VALIDATOR="$PWD/$venv/bin/openapi-spec-validator"

exec cargo test --locked "$@"
