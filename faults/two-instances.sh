#!/usr/bin/env bash
# Two instances: two `fordra serve` processes on one PostgreSQL behind nginx (the Debian
# package, started here on loopback with its own configuration), with FORDRA_TRUSTED_PROXIES
# naming nginx. While CLIENTS clients load pages and register claims through nginx, both
# engines work through CLAIMS due claims. Then it checks, through nginx and each instance
# directly:
#   - every 2xx claim is stored once, and no request got a 5xx;
#   - both engines ran, and each due claim advanced exactly once (one reminder, one fee);
#   - a session made through one instance works on the other, and logging out on one ends it
#     on both;
#   - a BankID login started on one instance is approved at, collected by and finished on the
#     other (the simulator's orders live in the database);
#   - the client address nginx saw (not a spoofed X-Forwarded-For, not nginx's own) reaches
#     login throttling, the audit log, the access log and the lookup limit, which counts across
#     both instances.
# Prints the counts; exits non-zero if a check fails. Everything listens on 127.0.0.1 only and
# is stopped and removed at the end.
#
#   bash faults/two-instances.sh
#   CLAIMS=2000 CLIENTS=32 LOAD_SECONDS=10 bash faults/two-instances.sh
set -euo pipefail
cd "$(dirname "$0")/.."
CLAIMS=${CLAIMS:-4000}
CLIENTS=${CLIENTS:-64}
LOAD_SECONDS=${LOAD_SECONDS:-20}
PORT=${PORT:-4010}
PORT_A=$((PORT + 1))
PORT_B=$((PORT + 2))
DUE=$(date -d "-30 days" +%F)
INVOICED=$(date -d "-60 days" +%F)

if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
  else
    echo "nginx is needed: apt-get install nginx" >&2
    exit 1
  fi
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
PG_BIN=$(dirname "$(readlink -f "$(command -v pg_ctl || ls /usr/lib/postgresql/*/bin/pg_ctl | tail -n 1)")")

cargo build --release --locked --quiet
BIN=target/release/fordra
DATA=$(mktemp -d /tmp/fordra-two-XXXXXX)
chmod 755 "$DATA"
mkdir -p "$DATA/pg" "$DATA/sock" "$DATA/nginx"
# PostgreSQL refuses to run as root: the cluster belongs to the postgres user then.
if [ "$(id -u)" = 0 ]; then
  chown postgres "$DATA/pg" "$DATA/sock"
  as_pg() { runuser -u postgres -- "$@"; }
else
  as_pg() { "$@"; }
fi
cleanup() {
  # (never `kill 0`: that would be this whole process group)
  for pid in ${A:-} ${B:-}; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  [ -f "$DATA/nginx/nginx.pid" ] && "$NGINX" -p "$DATA/nginx" -c "$DATA/nginx/nginx.conf" -s stop 2>/dev/null || true
  as_pg "$PG_BIN/pg_ctl" -D "$DATA/pg" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$DATA"
}
trap cleanup EXIT

# One PostgreSQL for both instances, on a Unix socket only.
as_pg "$PG_BIN/initdb" -D "$DATA/pg" -A trust -U fordra >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$DATA/pg" -l "$DATA/sock/pg.log" -o "-k $DATA/sock -c listen_addresses='' -c max_connections=100" start >/dev/null
as_pg "$PG_BIN/createdb" -h "$DATA/sock" -U fordra fordra
sql() { psql -h "$DATA/sock" -U fordra -d fordra -Atc "$1"; }

export DATABASE_URL="postgres://fordra@localhost/fordra?host=$DATA/sock"
export FORDRA_DATA_DIR="$DATA/shared" FORDRA_DEMO=on FORDRA_LOG=warn FORDRA_API_RATE_LIMIT=0 \
  FORDRA_PUBLIC_URL="http://127.0.0.1:$PORT" FORDRA_TRUSTED_PROXIES=127.0.0.1 \
  FORDRA_ENGINE_INTERVAL=2s FORDRA_FRESHNESS_GATE=off FORDRA_DB_POOL_SIZE=${POOL:-16} \
  FORDRA_PRINT_DIR="$DATA/shared/print"
"$BIN" migrate >/dev/null
"$BIN" create-creditor --org-nr 556036-0793 --name "Tvilling AB" --approved >/dev/null
python3 - "$CLAIMS" "$DATA/claims.csv" "$INVOICED" "$DUE" <<'PY'
import sys
n, path, invoiced, due = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
with open(path, "w") as f:
    f.write("fakturanummer;belopp;fakturadatum;förfallodag;galdenar_typ;person_orgnr;namn;egenskap;gatuadress;postnummer;postort\n")
    for i in range(n):
        f.write(f"T-{i};2500,00;{invoiced};{due};person;197205302396;Erik Exempelsson;konsument;Storgatan 1;11122;Stockholm\n")
PY
"$BIN" import-claims --creditor 556036-0793 "$DATA/claims.csv" | tail -n 1

# nginx: round robin over both, the client's address appended to X-Forwarded-For.
cat >"$DATA/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $DATA/nginx/nginx.pid;
error_log $DATA/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $DATA/nginx/body;
  proxy_temp_path $DATA/nginx/proxy;
  fastcgi_temp_path $DATA/nginx/fastcgi;
  uwsgi_temp_path $DATA/nginx/uwsgi;
  scgi_temp_path $DATA/nginx/scgi;
  client_max_body_size 12m;
  upstream fordra { server 127.0.0.1:$PORT_A; server 127.0.0.1:$PORT_B; keepalive 32; }
  server {
    listen 127.0.0.1:$PORT;
    location / {
      proxy_pass http://fordra;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$http_host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto \$scheme;
      proxy_set_header X-Request-Id \$request_id;
    }
  }
}
EOF
"$NGINX" -p "$DATA/nginx" -c "$DATA/nginx/nginx.conf"

# Both instances at once: both engines start on the due claims together. (The load's and the
# engine's claims are Erik's; the BankID login below is Sven's, with the demo's few claims.)
FORDRA_LOG=info "$BIN" serve --addr "127.0.0.1:$PORT_A" >"$DATA/a.log" 2>&1 &
A=$!
FORDRA_LOG=info "$BIN" serve --addr "127.0.0.1:$PORT_B" >"$DATA/b.log" 2>&1 &
B=$!
for port in $PORT_A $PORT_B $PORT; do
  for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.5; done
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || { echo "127.0.0.1:$port did not start"; tail -n 20 "$DATA"/*.log; exit 1; }
done
KEY=$("$BIN" create-api-key --creditor 5566778899 | tail -n 1)
PASSWORD=$(sql "select password from demo_account where email = 'kund@demobygg.test'")
DEMO_CLAIM=$(sql "select claim_id from claim c join creditor cr using (creditor_id) where cr.org_nr = '165566778899' limit 1")
OCR=$(sql "select ocr from claim limit 1")

python3 - "$PORT" "$PORT_A" "$PORT_B" "$KEY" "$PASSWORD" "$CLIENTS" "$LOAD_SECONDS" "$DATA/load.json" "$DEMO_CLAIM" "$OCR" <<'PY'
import http.client, json, sys, threading, time, urllib.parse
port, port_a, port_b, key, password, clients, seconds, out, demo_claim, ocr = sys.argv[1:11]
clients, seconds = int(clients), float(seconds)
fails = []

def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        fails.append(what)

def request(port, method, path, body=None, headers=None, source="127.0.0.1"):
    conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30, source_address=(source, 0))
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r, data

def cookies_of(r, jar):
    for v in r.headers.get_all("Set-Cookie") or []:
        name, value = v.split(";", 1)[0].split("=", 1)
        if value:
            jar[name] = value
        else:
            jar.pop(name, None)
    return jar

def cookie_header(jar):
    return "; ".join(f"{k}={v}" for k, v in jar.items())

def form(data):
    return urllib.parse.urlencode(data)

# 1. Load through nginx while both engines work.
stop = threading.Event()
lock = threading.Lock()
results = []
def client(n):
    i = 0
    conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
    while not stop.is_set():
        i += 1
        try:
            if i % 2:
                conn.request("GET", ["/", "/rantekalkylator", "/integritet", "/logga-in"][i % 4])
                r = conn.getresponse(); r.read()
                kind, invoice = "page", None
            else:
                invoice = f"L-{n}-{i}"
                claim = {"invoice_number": invoice, "capital": "2500.00", "invoice_date": "2026-01-10",
                         "due_date": "2026-02-09", "debtor": {"kind": "person", "id_number": "197205302396",
                         "name": "Erik Exempelsson", "capacity": "consumer",
                         "address": {"street": "Storgatan 1", "postal_code": "11122", "city": "Stockholm"}}}
                conn.request("POST", "/api/v1/claims", json.dumps(claim),
                             {"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
                r = conn.getresponse(); r.read()
                kind = "api"
            status = r.status
        except Exception as e:
            status, kind = 0, "error"
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
        with lock:
            results.append((kind, invoice, status))
threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
for t in threads: t.start()
time.sleep(seconds)
stop.set()
for t in threads: t.join()
api_ok = [inv for k, inv, s in results if k == "api" and 200 <= s < 300]
bad = [s for k, _, s in results if s == 0 or s >= 500]
json.dump({"requests": len(results), "api_2xx": api_ok, "bad": len(bad)}, open(out, "w"))
check(not bad, f"load: {len(results)} requests from {clients} clients over {seconds:.0f} s through nginx, {len(api_ok)} claims registered (201), {len(bad)} failed or 5xx")

# 2. A session made through nginx works on each instance directly; logging out on B ends it on A.
jar = {}
r, _ = request(port, "POST", "/logga-in", form({"email": "kund@demobygg.test", "password": password}),
               {"Content-Type": "application/x-www-form-urlencoded", "Origin": f"http://127.0.0.1:{port}",
                "X-Forwarded-For": "198.51.100.1"}, source="127.0.0.5")
cookies_of(r, jar)
check(r.status == 303, f"creditor login through nginx: {r.status}")
codes = [request(p, "GET", "/borgenar", headers={"Cookie": cookie_header(jar)})[0].status for p in (port_a, port_b)]
check(codes == [200, 200], f"the session works on instance A and on instance B: {codes}")
r, _ = request(port, "GET", f"/borgenar/krav/{demo_claim}", headers={"Cookie": cookie_header(jar),
               "X-Forwarded-For": "198.51.100.1"}, source="127.0.0.5")
check(r.status == 200, f"a claim page (personal data) through nginx: {r.status}")
r, _ = request(port_b, "POST", "/logga-ut", "", {"Cookie": cookie_header(jar), "Origin": f"http://127.0.0.1:{port_b}",
                                                  "Content-Type": "application/x-www-form-urlencoded"})
after = request(port_a, "GET", "/borgenar", headers={"Cookie": cookie_header(jar)})[0].status
check(r.status == 303 and after == 303, f"logged out on B ({r.status}) is logged out on A ({after}, to the login page)")

# 3. BankID: started on A, approved at B's simulator, collected and finished on B, used on A.
djar = {}
r, _ = request(port_a, "POST", "/mina-sidor/logga-in", form({"next": ""}),
               {"Content-Type": "application/x-www-form-urlencoded", "Origin": f"http://127.0.0.1:{port_a}"})
cookies_of(r, djar)
page = r.getheader("Location") or ""
_, body = request(port_b, "GET", "/bankid-sim/orders")
orders = json.loads(body)["orders"]
check(r.status == 303 and len(orders) == 1, f"a login started on A is pending at B's simulator ({len(orders)} order)")
r, _ = request(port_b, "POST", f"/bankid-sim/orders/{orders[0]['orderRef']}/complete",
               json.dumps({"personalNumber": "198112189876", "givenName": "Sven", "surname": "Svensson"}),
               {"Content-Type": "application/json"})
nxt = None
for _ in range(40):
    time.sleep(0.5)
    r, body = request(port_b, "GET", f"{page}/status", headers={"Cookie": cookie_header(djar)})
    s = json.loads(body) if r.status == 200 else {}
    if s.get("next"):
        nxt = s["next"]
        break
r, _ = request(port_b, "GET", nxt or "/", headers={"Cookie": cookie_header(djar)})
cookies_of(r, djar)
r2, body = request(port_a, "GET", "/mina-sidor", headers={"Cookie": cookie_header(djar)})
check(nxt is not None and r.status == 303 and r2.status == 200 and b"Sven" in body,
      f"collected and finished on B ({r.status}), Mina sidor on A ({r2.status})")

# 4. The lookup limit (10 per client address and quarter hour), through nginx to both instances.
def lookup(source):
    r, _ = request(port, "POST", "/kontrollera-brev", form({"ocr": ocr, "case_code": "ABCD2345"}),
                   {"Content-Type": "application/x-www-form-urlencoded", "Origin": f"http://127.0.0.1:{port}",
                    "X-Forwarded-For": "203.0.113.7"}, source=source)
    return r.status
codes = [lookup("127.0.0.7") for _ in range(11)]
other = lookup("127.0.0.8")
check(429 not in codes[:10] and codes[10] == 429 and other != 429,
      f"lookups from one client across both instances: 10 answered, the 11th {codes[10]}; another client {other}")

# 5. A failed login through nginx is throttled on the address nginx saw.
r, _ = request(port, "POST", "/logga-in", form({"email": "kund@demobygg.test", "password": "fel"}),
               {"Content-Type": "application/x-www-form-urlencoded", "Origin": f"http://127.0.0.1:{port}",
                "X-Forwarded-For": "198.51.100.2"}, source="127.0.0.6")
check(r.status == 422, f"a wrong password through nginx: {r.status}")
sys.exit(1 if fails else 0)
PY

echo "--- the database afterwards"
fail=0
STORED=$(python3 -c "import json; print(len(json.load(open('$DATA/load.json'))['api_2xx']))")
IN_DB=$(sql "select count(*) from claim where invoice_number like 'L-%'")
TWICE=$(sql "select count(*) from (select invoice_number from claim where invoice_number like 'L-%' group by 1 having count(*) > 1) d")
echo "claims registered through nginx: $STORED answered 2xx, $IN_DB in the database, $TWICE twice"
[ "$STORED" = "$IN_DB" ] && [ "$TWICE" = 0 ] || fail=1
# The engines: wait until both have been through every due claim.
for _ in $(seq 1 180); do
  LEFT=$(sql "select count(*) from claim where invoice_number like 'T-%' and state = 'registered'")
  [ "$LEFT" = 0 ] && break
  sleep 1
done
ADVANCED=$(sql "select count(*) from claim where invoice_number like 'T-%' and state = 'reminder'")
REMINDERS=$(sql "select count(*) from letter l join claim c using (claim_id) where c.invoice_number like 'T-%' and l.kind = 'reminder'")
DUP_LETTERS=$(sql "select count(*) from (select claim_id, kind from letter group by 1, 2 having count(*) > 1) d")
DUP_FEES=$(sql "select count(*) from (select claim_id, kind from fee group by 1, 2 having count(*) > 1) d")
# The logs without their colours.
for i in a b; do sed 's/\x1b\[[0-9;]*m//g' "$DATA/$i.log" >"$DATA/$i.txt"; done
STEPS_A=$(grep -a "engine pass" "$DATA/a.txt" | sed -nE 's/.*steps=([0-9]+).*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
STEPS_B=$(grep -a "engine pass" "$DATA/b.txt" | sed -nE 's/.*steps=([0-9]+).*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
echo "engines: instance A took $STEPS_A lifecycle steps, instance B $STEPS_B (the due claims and those the load registered); $ADVANCED of $CLAIMS due claims advanced, $REMINDERS reminders; $DUP_LETTERS claims with a letter twice, $DUP_FEES with a fee twice"
[ "$ADVANCED" = "$CLAIMS" ] && [ "$REMINDERS" = "$CLAIMS" ] && [ "$DUP_LETTERS$DUP_FEES" = 00 ] || fail=1
[ "$STEPS_A" -gt 0 ] && [ "$STEPS_B" -gt 0 ] || { echo "one engine never took a claim"; fail=1; }
# Client addresses: nginx's view (127.0.0.5/.6), not the spoofed header and not nginx itself.
THROTTLED_IP=$(sql "select ip from login_attempt where not succeeded order by at desc limit 1")
AUDIT_IP=$(sql "select ip from audit_event where action = 'login' order by audit_event_id desc limit 1")
SEEN_A=$(grep -ac 'ip=127.0.0.5' "$DATA/a.txt" || true)
SEEN_B=$(grep -ac 'ip=127.0.0.5' "$DATA/b.txt" || true)
SPOOFED=$(cat "$DATA/a.txt" "$DATA/b.txt" | grep -ac 'ip=198.51.100' || true)
ACCESS_IP=$(sql "select ip from personal_data_access where what is not null order by personal_data_access_id desc limit 1")
echo "client addresses: login throttling $THROTTLED_IP, audit log $AUDIT_IP, request log lines for 127.0.0.5 on A $SEEN_A and on B $SEEN_B, spoofed addresses logged $SPOOFED, access log $ACCESS_IP"
[ "$THROTTLED_IP" = 127.0.0.6 ] && [ "$AUDIT_IP" = 127.0.0.5 ] && [ "$ACCESS_IP" = 127.0.0.5 ] && [ "$SPOOFED" = 0 ] && [ $((SEEN_A + SEEN_B)) -gt 0 ] || fail=1
LEDGER=$("$BIN" check-ledger 2>&1 | tail -n 1 || true)
echo "ledger: $LEDGER"
case "$LEDGER" in "ledger ok"*) ;; *) fail=1 ;; esac
[ "$fail" = 0 ] && echo "ok: two instances behind nginx share sessions, BankID orders and limits; each due claim advanced once" || { echo "FAILED"; exit 1; }
