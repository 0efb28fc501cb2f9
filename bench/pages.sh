#!/usr/bin/env bash
# Load test of the pages people wait for: 64 concurrent clients (wrk) for DURATION seconds
# against each kind of page of a release build on its own private PostgreSQL, /healthz measured
# the same way in the same run as the ceiling. Prints requests/s, p50, p99 and errors per page,
# and each page's rate as a share of /healthz's.
#
#   bash bench/pages.sh            # 15 s per page
#   DURATION=5 bash bench/pages.sh
#
# Everything runs on loopback and is stopped at the end. The API rate limit is off for the run.
set -euo pipefail
cd "$(dirname "$0")/.."

source bench/lib.sh

creds() { sql "select email || ' ' || password from demo_account where label like '$1%'"; }

# Sessions: the creditor, an admin (demo mode: no TOTP) and a debtor through the BankID simulator.
session_for() {
  local email=$1 password=$2 jar
  jar=$(mktemp)
  curl -s -c "$jar" -o /dev/null -H "Origin: $BASE" \
    --data-urlencode "email=$email" --data-urlencode "password=$password" "$BASE/logga-in"
  awk '$6 == "fordra_session" { print $7 }' "$jar"
  rm -f "$jar"
}
read -r C_EMAIL C_PASS <<<"$(creds 'Borgenär')"
read -r A_EMAIL A_PASS <<<"$(creds 'Administratör')"
CREDITOR=$(session_for "$C_EMAIL" "$C_PASS")
ADMIN=$(session_for "$A_EMAIL" "$A_PASS")

JAR=$(mktemp)
ORDER_PAGE=$(curl -s -c "$JAR" -b "$JAR" -o /dev/null -w '%{redirect_url}' -H "Origin: $BASE" \
  --data "next=" "$BASE/mina-sidor/logga-in")
ORDER_REF=$(curl -s "$BASE/bankid-sim/orders" | python3 -c 'import json,sys; print(json.load(sys.stdin)["orders"][0]["orderRef"])')
curl -s -o /dev/null -H 'content-type: application/json' \
  -d '{"personalNumber":"198112189876","givenName":"Sven","surname":"Svensson"}' \
  "$BASE/bankid-sim/orders/$ORDER_REF/complete"
NEXT=""
for _ in $(seq 1 30); do
  NEXT=$(curl -s -b "$JAR" -c "$JAR" "$ORDER_PAGE/status" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("next") or "")')
  [ -n "$NEXT" ] && break
  sleep 0.5
done
curl -s -b "$JAR" -c "$JAR" -o /dev/null "$BASE$NEXT"
DEBTOR=$(awk '$6 == "fordra_mina" { print $7 }' "$JAR")
rm -f "$JAR"

KEY=$("$BIN" create-api-key --creditor 5566778899 | tail -n 1)
CLAIM=$(sql "select claim_id from claim where debtor_id_number = '198112189876' order by case_number limit 1")
[ -n "$CREDITOR" ] && [ -n "$ADMIN" ] && [ -n "$DEBTOR" ] && [ -n "$KEY" ] && [ -n "$CLAIM" ] || {
  echo "could not set up sessions (creditor=${CREDITOR:+ok} admin=${ADMIN:+ok} debtor=${DEBTOR:+ok} key=${KEY:+ok} claim=$CLAIM)" >&2
  cat "$LOG" >&2
  exit 1
}

run "/healthz" "$BASE/healthz"
run "creditor's claim page" -H "Cookie: fordra_session=$CREDITOR" "$BASE/borgenar/krav/$CLAIM"
run "staff claim page" -H "Cookie: fordra_session=$ADMIN" "$BASE/admin/krav/$CLAIM"
run "Mina sidor case page" -H "Cookie: fordra_mina=$DEBTOR" "$BASE/mina-sidor/arenden/$CLAIM"
run "API claim read" -H "Authorization: Bearer $KEY" "$BASE/api/v1/claims/$CLAIM"
run "claim list" -H "Cookie: fordra_session=$CREDITOR" "$BASE/borgenar/krav"
run "/healthz (again)" "$BASE/healthz"

echo
echo "$CONNECTIONS connections, ${DURATION} s each, release build, $(nproc) cores"
report "Page"
