#!/usr/bin/env bash
# Shared by the load tests in bench/: builds the release binary, starts it on its own durable
# private PostgreSQL with the demo data on loopback (stopped and removed on exit), and
# `measure`, one wrk run printed as "rps p50 p99 errors cpu_ms".
# Sourced, not run; the caller has `set -euo pipefail` and is in the repository root.

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

# `run NAME WRK-ARGS…` measures one thing; `report HEADING` prints every result as a table, each
# rate also as a share of the first one (the /healthz ceiling).
declare -a NAMES RESULTS
run() {
  local name=$1; shift
  NAMES+=("$name")
  RESULTS+=("$(measure "$@")")
}

report() {
  local heading=$1 health
  health=$(cut -d' ' -f1 <<<"${RESULTS[0]}")
  printf '| %-24s | %10s | %9s | %9s | %6s | %17s | %12s |\n' "$heading" "req/s" "p50" "p99" "errors" "share of /healthz" "CPU ms/req"
  printf '|%s|%s|%s|%s|%s|%s|%s|\n' "--------------------------" "------------" "-----------" "-----------" "--------" "-------------------" "--------------"
  for i in "${!NAMES[@]}"; do
    read -r rps p50 p99 errors cpu <<<"${RESULTS[$i]}"
    share=$(python3 -c "print(f'{float($rps)/float($health):.2f}')")
    printf '| %-24s | %10s | %9s | %9s | %6s | %17s | %12s |\n' "${NAMES[$i]}" "$rps" "$p50" "$p99" "$errors" "$share" "$cpu"
  done
}
