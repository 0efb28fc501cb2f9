#!/usr/bin/env bash
# Load test of the integration API: 64 concurrent clients (wrk) registering claims with
# POST /api/v1/claims for DURATION seconds (default 30), each request a new invoice, next to
# GET /healthz measured the same way in the same run. Prints requests/s, p50, p99, errors and
# the ratio to /healthz. The API rate limit is off for the run; everything runs on loopback and
# is stopped at the end.
#
#   bash bench/api.sh
#   DURATION=10 bash bench/api.sh
#   SEED_CLAIMS=1000000 bash bench/api.sh   # the same on a table of a million claims first
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-30}

source bench/lib.sh

if [ -n "${SEED_CLAIMS:-}" ]; then
  # The claims table at a second size, through the CSV import (the web's format and rules).
  python3 - "$SEED_CLAIMS" "$DATA/seed.csv" <<'PY'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    f.write("fakturanummer;belopp;fakturadatum;förfallodag;galdenar_typ;person_orgnr;namn;egenskap;gatuadress;postnummer;postort\n")
    for i in range(n):
        f.write(f"S-{i};2500,00;2026-01-10;2026-02-09;person;198112189876;Sven Svensson;konsument;Storgatan 1;11122;Stockholm\n")
PY
  started=$(date +%s)
  "$BIN" import-claims --creditor 5566778899 "$DATA/seed.csv" | tail -n 1
  echo "seeded $SEED_CLAIMS claims in $(( $(date +%s) - started )) s"
  sql "analyze" >/dev/null
fi

FORDRA_KEY=$("$BIN" create-api-key --creditor 5566778899 | tail -n 1)
export FORDRA_KEY

run "/healthz" "$BASE/healthz"
run "POST /api/v1/claims" -s bench/api_create.lua "$BASE"
run "/healthz (again)" "$BASE/healthz"
CREATED=$(sql "select count(*) from claim where invoice_number like 'L-%'")
TOTAL=$(sql "select count(*) from claim")

echo
echo "$CONNECTIONS connections, ${DURATION} s each, release build, $(nproc) cores; $CREATED claims registered, $TOTAL in the table"
report "Request"
