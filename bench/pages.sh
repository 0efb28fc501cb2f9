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

DURATION=${DURATION:-15}
CONNECTIONS=${CONNECTIONS:-64}
PORT=${PORT:-3999}
BASE="http://127.0.0.1:$PORT"

if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
  else
    echo "wrk is needed: apt-get install wrk" >&2
    exit 1
  fi
fi

cargo build --release --locked --quiet
BIN=target/release/fordra
DATA=$(mktemp -d /tmp/fordra-pages-XXXXXX)
chmod 755 "$DATA"
LOG="$DATA/server.log"
export FORDRA_DATA_DIR="$DATA" FORDRA_DEMO=on FORDRA_API_RATE_LIMIT=0 FORDRA_LOG=warn \
  FORDRA_ENGINE_INTERVAL=1h FORDRA_DB_POOL_SIZE=${POOL:-20}

"$BIN" serve --addr "127.0.0.1:$PORT" >"$LOG" 2>&1 &
SERVER=$!
cleanup() {
  kill "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
  rm -rf "$DATA"
}
trap cleanup EXIT

for _ in $(seq 1 120); do
  curl -sf "$BASE/healthz" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -sf "$BASE/healthz" >/dev/null || { echo "server did not start:"; cat "$LOG"; exit 1; }

SOCKET=$(ls -d "$DATA"/run 2>/dev/null || true)
sql() { psql -h "$SOCKET" -U fordra -d fordra -Atc "$1"; }
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

# Busy CPU ticks of the whole machine (user, nice, system, irq, softirq; steal excluded).
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
TICK=$(getconf CLK_TCK)

# One wrk run; prints "rps p50 p99 errors cpu_ms": cpu_ms is the server's and PostgreSQL's CPU
# time per request (the machine's busy time less wrk's own), steadier than requests/s on a shared
# machine.
measure() {
  local out rps p50 p99 non2xx sockerr before after wrk_cpu requests
  before=$(busy_ticks)
  out=$( { wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@"; times | tail -n 1; } )
  after=$(busy_ticks)
  rps=$(awk '/^Requests\/sec/ { print $2 }' <<<"$out")
  p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
  p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
  non2xx=$(awk '/Non-2xx or 3xx responses/ { print $NF }' <<<"$out")
  sockerr=$(awk -F'[ ,]+' '/Socket errors/ { print $4 + $6 + $8 + $10 }' <<<"$out")
  requests=$(awk '/requests in/ { print $1 }' <<<"$out")
  # `times`: the children's user and system time, as 0m1.234s 0m0.567s.
  wrk_cpu=$(tail -n 1 <<<"$out" | sed -E 's/([0-9]+)m([0-9.]+)s/\1 \2/g' | awk '{ print $1 * 60 + $2 + $3 * 60 + $4 }')
  echo "$rps $p50 $p99 $(( ${non2xx:-0} + ${sockerr:-0} )) $(python3 -c "print(f'{(($after - $before) / $TICK - $wrk_cpu) * 1000 / $requests:.2f}')")"
}

declare -a NAMES RESULTS
run() {
  local name=$1; shift
  NAMES+=("$name")
  RESULTS+=("$(measure "$@")")
}
run "/healthz" "$BASE/healthz"
run "creditor's claim page" -H "Cookie: fordra_session=$CREDITOR" "$BASE/borgenar/krav/$CLAIM"
run "staff claim page" -H "Cookie: fordra_session=$ADMIN" "$BASE/admin/krav/$CLAIM"
run "Mina sidor case page" -H "Cookie: fordra_mina=$DEBTOR" "$BASE/mina-sidor/arenden/$CLAIM"
run "API claim read" -H "Authorization: Bearer $KEY" "$BASE/api/v1/claims/$CLAIM"
run "claim list" -H "Cookie: fordra_session=$CREDITOR" "$BASE/borgenar/krav"
run "/healthz (again)" "$BASE/healthz"

HEALTH=$(cut -d' ' -f1 <<<"${RESULTS[0]}")
echo
echo "$CONNECTIONS connections, ${DURATION} s each, release build, $(nproc) cores"
printf '| %-24s | %10s | %9s | %9s | %6s | %17s | %12s |\n' "Page" "req/s" "p50" "p99" "errors" "share of /healthz" "CPU ms/req"
printf '|%s|%s|%s|%s|%s|%s|%s|\n' "--------------------------" "------------" "-----------" "-----------" "--------" "-------------------" "--------------"
for i in "${!NAMES[@]}"; do
  read -r rps p50 p99 errors cpu <<<"${RESULTS[$i]}"
  share=$(python3 -c "print(f'{float($rps)/float($HEALTH):.2f}')")
  printf '| %-24s | %10s | %9s | %9s | %6s | %17s | %12s |\n' "${NAMES[$i]}" "$rps" "$p50" "$p99" "$errors" "$share" "$cpu"
done
