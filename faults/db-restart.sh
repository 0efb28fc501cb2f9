#!/usr/bin/env bash
# The database going away: 64 clients load pages and register claims through the API against
# `fordra serve` (release build, its own private PostgreSQL, loopback only) while PostgreSQL is
# stopped and started again. Checks that /healthz answers 503 within 2 s of the stop, that the
# server recovers on its own within 10 s of the database's return, that every claim answered
# with 201 is in the database, that every failed request said so in Swedish with a request id,
# and that no claim is half-written. Prints the counts; exits non-zero if a check fails.
#
#   bash faults/db-restart.sh
#   DOWN_SECONDS=8 bash faults/db-restart.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-3998}
DOWN_SECONDS=${DOWN_SECONDS:-5}
export FORDRA_DB_POOL_SIZE=${POOL:-16}

source bench/lib.sh

FORDRA_KEY=$("$BIN" create-api-key --creditor 5566778899 | tail -n 1)
PG="$DATA/pg"
# PostgreSQL refuses to run as root: act as the cluster's owner.
as_owner() {
  local owner
  owner=$(stat -c %U "$PG")
  if [ "$(id -u)" = 0 ] && [ "$owner" != root ]; then runuser -u "$owner" -- "$@"; else "$@"; fi
}
PG_CTL=$(command -v pg_ctl || ls /usr/lib/postgresql/*/bin/pg_ctl | tail -n 1)

python3 - "$BASE" "$FORDRA_KEY" "$DOWN_SECONDS" "$PG" "$PG_CTL" "$(stat -c %U "$PG")" "$DATA/result.json" <<'PY'
import json, subprocess, sys, threading, time, http.client, os
base, key, down, pg, pg_ctl, owner, out = sys.argv[1:8]
down = float(down)
host, port = base.replace("http://", "").split(":")
stop = threading.Event()
lock = threading.Lock()
results = []  # (kind, invoice, status, body, request_id)

def request(conn, method, path, body=None, headers=None):
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    return r.status, r.read(), r.getheader("x-request-id") or ""

def client(n):
    conn = http.client.HTTPConnection(host, int(port), timeout=15)
    i = 0
    while not stop.is_set():
        i += 1
        try:
            if i % 2:
                status, body, rid = request(conn, "GET", ["/", "/rantekalkylator", "/integritet", "/logga-in"][i % 4])
                kind, invoice = "page", None
            else:
                invoice = f"R-{n}-{i}"
                claim = {"invoice_number": invoice, "capital": "2500.00", "invoice_date": "2026-01-10",
                         "due_date": "2026-02-09", "debtor": {"kind": "person", "id_number": "198112189876",
                         "name": "Sven Svensson", "capacity": "consumer",
                         "address": {"street": "Storgatan 1", "postal_code": "11122", "city": "Stockholm"}}}
                status, body, rid = request(conn, "POST", "/api/v1/claims", json.dumps(claim),
                                            {"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
                kind = "api"
        except Exception as e:
            status, body, rid, kind = 0, type(e).__name__.encode(), "", "api" if i % 2 == 0 else "page"
            conn.close()
            conn = http.client.HTTPConnection(host, int(port), timeout=15)
            time.sleep(0.05)
        with lock:
            results.append((kind, invoice, status, body.decode("utf-8", "replace"), rid))

def healthz():
    try:
        c = http.client.HTTPConnection(host, int(port), timeout=5)
        c.request("GET", "/healthz")
        return c.getresponse().status
    except Exception:
        return 0

# Started again exactly as the server started it (socket directory, settings).
opts = open(pg + "/postmaster.opts").read().strip().split(" ", 1)[1]

def ctl(action):
    cmd = [pg_ctl, "-D", pg, "-w", "-m", "fast", action] if action == "stop" else [pg_ctl, "-D", pg, "-w", "-o", opts, "-l", pg + "/restart.log", "start"]
    if os.geteuid() == 0 and owner != "root":
        cmd = ["runuser", "-u", owner, "--"] + cmd
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

threads = [threading.Thread(target=client, args=(n,)) for n in range(64)]
for t in threads: t.start()
time.sleep(5)
ctl("stop")
stopped = time.time()
unhealthy_after = None
while time.time() - stopped < down:
    if unhealthy_after is None and healthz() == 503:
        unhealthy_after = time.time() - stopped
    time.sleep(0.1)
ctl("start")
started = time.time()
recovered_after = None
while time.time() - started < 30:
    if healthz() == 200:
        recovered_after = time.time() - started
        break
    time.sleep(0.1)
time.sleep(5)
stop.set()
for t in threads: t.join()
json.dump({"results": results, "unhealthy_after": unhealthy_after, "recovered_after": recovered_after}, open(out, "w"))
PY

python3 - "$DATA/result.json" "$(sql "select invoice_number from claim where invoice_number like 'R-%'" | tr '\n' ' ')" \
  "$(sql "select count(*) from claim c where invoice_number like 'R-%' and not exists (select 1 from claim_event e where e.claim_id = c.claim_id and e.kind = 'registered')")" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
stored = set(sys.argv[2].split())
half_written = int(sys.argv[3])
results = data["results"]
ok = [r for r in results if 200 <= r[2] < 400]
failed = [r for r in results if not 200 <= r[2] < 400]
created = [r for r in results if r[0] == "api" and r[2] == 201]
missing = [r[1] for r in created if r[1] not in stored]
# A failed answer from Fordra says what happened in Swedish with its request id; a refused
# connection (while the server could not take it) has no answer to check.
answered = [r for r in failed if r[2] != 0]
unexplained = [r for r in answered if not (r[4] and (r[4] in r[3]) and any(w in r[3] for w in ("fel", "Fel", "inte", "tillgänglig", "försök")))]
checks = {
    "healthz 503 within 2 s of the stop": data["unhealthy_after"] is not None and data["unhealthy_after"] <= 2,
    "recovered within 10 s of PostgreSQL's return": data["recovered_after"] is not None and data["recovered_after"] <= 10,
    "every 201 is in the database": not missing,
    "every failed answer in Swedish with its request id": not unexplained,
    "no half-written claim": half_written == 0,
}
from collections import Counter
no_answer = Counter(r[3] for r in failed if r[2] == 0)
print(f"requests: {len(results)} ({len(ok)} ok, {len(failed)} failed: {len(answered)} answered with an error, {len(failed) - len(answered)} without an answer {dict(no_answer)})")
print("answers by status:", dict(Counter(r[2] for r in results)))
print(f"claims answered 201: {len(created)}, found in the database: {len(created) - len(missing)}; half-written: {half_written}")
print(f"/healthz 503 after {data['unhealthy_after']:.1f} s; recovered {data['recovered_after']:.1f} s after PostgreSQL returned")
if unexplained:
    print("unexplained failures, e.g.:", unexplained[:3])
for name, passed in checks.items():
    print(("ok   " if passed else "FAIL ") + name)
sys.exit(0 if all(checks.values()) else 1)
PY
