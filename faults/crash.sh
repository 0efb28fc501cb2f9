#!/usr/bin/env bash
# Crashes: `fordra` killed with SIGKILL at random moments, KILLS times each (20 by default),
# during a tick over CLAIMS due claims (20,000 by default) — their lifecycle step and letters —,
# during the letters' delivery to print batches, during the import of a camt.054 file paying
# each of them, and during the settlement run that pays the collected capital out. After every
# kill the work is run again until it finishes. Then: no claim has a letter or a fee twice, no
# print batch holds a letter twice, every due claim advanced exactly once, no payment was
# imported twice, the capital was settled once, and `fordra check-ledger` passes. Release build,
# its own private PostgreSQL in a temporary directory, removed at the end.
#
#   bash faults/crash.sh
#   KILLS=5 CLAIMS=2000 bash faults/crash.sh
#   KILL_MAX_TICK=0.5 KILL_MAX_DELIVERY=0.5 KILL_MAX_IMPORT=2 KILL_MAX_SETTLE=0.1 bash faults/crash.sh   # kill within this many seconds of a start
#   (the settlement run's kills come within KILL_MAX_SETTLE of the run taking its lock)
set -euo pipefail
cd "$(dirname "$0")/.."
KILLS=${KILLS:-20}
CLAIMS=${CLAIMS:-20000}
TODAY=$(date +%F)
DUE=$(date -d "-30 days" +%F)
INVOICED=$(date -d "-60 days" +%F)

cargo build --release --locked --quiet
BIN=target/release/fordra
DATA=$(mktemp -d /tmp/fordra-crash-XXXXXX)
chmod 755 "$DATA"
export FORDRA_DATA_DIR="$DATA" FORDRA_DEMO=off FORDRA_LOG=error FORDRA_MAIL=file \
  FORDRA_PRINT_DIR="$DATA/print" FORDRA_FRESHNESS_GATE=off
PG="$DATA/pg"
cleanup() {
  # (never `kill 0`: that would be this whole process group)
  if [ -n "${SERVER:-}" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  if [ -f "$PG/postmaster.pid" ]; then
    if [ "$(id -u)" = 0 ]; then runuser -u "$(stat -c %U "$PG")" -- pg_ctl -D "$PG" -m immediate stop >/dev/null 2>&1 || true
    else pg_ctl -D "$PG" -m immediate stop >/dev/null 2>&1 || true; fi
  fi
  rm -rf "$DATA"
}
trap cleanup EXIT
sql() { psql -h "$DATA/run" -U fordra -d fordra -Atc "$1"; }

# A server holds the private cluster, so that the killed commands (not the database) are what
# dies; its own engine is idle for the run (business date before the claims are due, one pass an
# hour).
FORDRA_TODAY=$INVOICED FORDRA_ENGINE_INTERVAL=1h "$BIN" serve --addr 127.0.0.1:${PORT:-3997} >"$DATA/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:${PORT:-3997}/healthz" >/dev/null 2>&1 && break; sleep 0.5; done
"$BIN" create-creditor --org-nr 556036-0793 --name "Krasch AB" --approved >/dev/null
python3 - "$CLAIMS" "$DATA/claims.csv" "$INVOICED" "$DUE" <<'PY'
import sys
n, path, invoiced, due = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
with open(path, "w") as f:
    f.write("fakturanummer;belopp;fakturadatum;förfallodag;galdenar_typ;person_orgnr;namn;egenskap;gatuadress;postnummer;postort\n")
    for i in range(n):
        f.write(f"K-{i};2500,00;{invoiced};{due};person;198112189876;Sven Svensson;konsument;Storgatan 1;11122;Stockholm\n")
PY
"$BIN" import-claims --creditor 556036-0793 "$DATA/claims.csv" | tail -n 1

# Kills SIGKILL-style, at a random moment within MAX seconds, the command given; then runs it to
# its end. Prints how many of the runs were killed before they finished.
kill_loop() {
  local max=$1; shift
  local killed=0
  for i in $(seq 1 "$KILLS"); do
    "$@" >/dev/null 2>&1 &
    local pid=$!
    sleep "$(python3 -c "import random; print(round(random.uniform(0.2, $max), 2))")"
    if kill -9 "$pid" 2>/dev/null; then killed=$((killed + 1)); fi
    wait "$pid" 2>/dev/null || true
  done
  "$@" >/dev/null 2>&1 || true
  echo "$killed"
}

# The tick: first KILLS kills at random moments of the pass (the lifecycle steps come first,
# batch by batch); then KILLS kills during the delivery of the letters to print batches, once
# every claim has its step and letter (a pass then only delivers).
TICK_KILLED=0
IN_STEPS=0
for i in $(seq 1 "$KILLS"); do
  "$BIN" tick --today "$TODAY" >/dev/null 2>&1 &
  pid=$!
  sleep "$(python3 -c "import random; print(round(random.uniform(0.2, ${KILL_MAX_TICK:-0.5}), 2))")"
  if kill -9 "$pid" 2>/dev/null; then
    TICK_KILLED=$((TICK_KILLED + 1))
    [ "$(sql "select count(*) from claim where state = 'reminder'")" != "$CLAIMS" ] && IN_STEPS=$((IN_STEPS + 1))
  fi
  wait "$pid" 2>/dev/null || true
done
DELIVERY_KILLED=0
for i in $(seq 1 "$KILLS"); do
  # Every step done (a pass that survived above may have delivered everything already).
  [ "$(sql "select count(*) from claim where state = 'reminder'")" = "$CLAIMS" ] || "$BIN" tick --today "$TODAY" >/dev/null 2>&1 || true
  [ "$(sql "select count(*) from outbox where done_at is null")" = 0 ] && break
  "$BIN" tick --today "$TODAY" >/dev/null 2>&1 &
  pid=$!
  sleep "$(python3 -c "import random; print(round(random.uniform(0.1, ${KILL_MAX_DELIVERY:-0.5}), 2))")"
  if kill -9 "$pid" 2>/dev/null; then DELIVERY_KILLED=$((DELIVERY_KILLED + 1)); fi
  wait "$pid" 2>/dev/null || true
done
"$BIN" tick --today "$TODAY" >/dev/null 2>&1 || true
DUP_LETTERS=$(sql "select count(*) from (select claim_id, kind from letter group by 1, 2 having count(*) > 1) d")
DUP_FEES=$(sql "select count(*) from (select claim_id, kind from fee group by 1, 2 having count(*) > 1) d")
DUP_PRINT=$(sql "select count(*) from (select letter_id from print_batch_letter group by 1 having count(*) > 1) d")
ADVANCED=$(sql "select count(*) from claim where state = 'reminder'")
REMINDERS=$(sql "select count(*) from letter where kind = 'reminder'")
UNSENT=$(sql "select count(*) from outbox where done_at is null")
PRINTED=$(sql "select count(*) from print_batch_letter")

# A camt.054 file paying 100 kr on each claim's OCR.
sql "select ocr from claim order by case_number" >"$DATA/ocrs.txt"
python3 - "$DATA/pay.xml" "$DATA/ocrs.txt" "$TODAY" <<'PY'
import sys
ocrs = [l.strip() for l in open(sys.argv[2]) if l.strip()]
day = sys.argv[3]
out = open(sys.argv[1], "w")
out.write('<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02">\n<BkToCstmrDbtCdtNtfctn>\n<GrpHdr><MsgId>CRASH-1</MsgId><CreDtTm>2026-03-02T18:00:00</CreDtTm></GrpHdr>\n<Ntfctn><Id>CRASH-1-N</Id><CreDtTm>2026-03-02T18:00:00</CreDtTm>\n<Acct><Id><IBAN>SE4550000000058398257466</IBAN></Id></Acct>\n')
for i, ocr in enumerate(ocrs):
    out.write(f'<Ntry><Amt Ccy="SEK">100.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>{day}</Dt></BookgDt><ValDt><Dt>{day}</Dt></ValDt><AcctSvcrRef>CRASH-{i}</AcctSvcrRef>'
              f'<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>DMCT</SubFmlyCd></Fmly></Domn></BkTxCd><NtryDtls><TxDtls><Refs><AcctSvcrRef>CRASH-{i}-1</AcctSvcrRef></Refs>'
              f'<AmtDtls><TxAmt><Amt Ccy="SEK">100.00</Amt></TxAmt></AmtDtls><RltdPties><Dbtr><Nm>Sven Svensson</Nm></Dbtr></RltdPties>'
              f'<RmtInf><Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp><Ref>{ocr}</Ref></CdtrRefInf></Strd></RmtInf></TxDtls></NtryDtls></Ntry>\n')
out.write('</Ntfctn>\n</BkToCstmrDbtCdtNtfctn>\n</Document>\n')
PY
IMPORT_KILLED=$(FORDRA_TODAY=$TODAY kill_loop "${KILL_MAX_IMPORT:-1.5}" "$BIN" import-bank-file "$DATA/pay.xml")
PAYMENTS=$(sql "select count(*) from payment")
DUP_PAYMENTS=$(sql "select count(*) from (select bank_ref from payment group by 1 having count(*) > 1) d")
FILES=$(sql "select count(*) from bank_file")

# A settlement run: the next tick pays the capital those payments collected out to the creditor
# (one settlement, a line per claim, one payout, one ledger entry). Killed as above; a kill that
# comes after the settlement committed is counted apart, since it interrupted nothing of it.
sql "update creditor set payout_bankgiro = '5050-1055' where name = 'Krasch AB'" >/dev/null
OWED=$(sql "select -sum(amount) from journal_line where account = 'creditor_payable'")
SETTLE_BEFORE=0
SETTLE_KILLED=0
for i in $(seq 1 "$KILLS"); do
  "$BIN" tick --today "$TODAY" >/dev/null 2>&1 &
  pid=$!
  # Wait until the tick is inside the settlement run (it holds the settlements' advisory lock,
  # payments::Lock::Settlements), then kill it at a random moment of the run.
  while kill -0 "$pid" 2>/dev/null \
    && [ "$(sql "select count(*) from pg_locks where locktype = 'advisory' and objid = 7302502 and granted")" = 0 ]; do
    sleep 0.005
  done
  sleep "$(python3 -c "import random; print(round(random.uniform(0, ${KILL_MAX_SETTLE:-0.1}), 3))")"
  if kill -9 "$pid" 2>/dev/null; then
    SETTLE_KILLED=$((SETTLE_KILLED + 1))
    [ "$(sql "select count(*) from settlement")" = 0 ] && SETTLE_BEFORE=$((SETTLE_BEFORE + 1))
  fi
  wait "$pid" 2>/dev/null || true
done
START=$(date +%s.%N)
"$BIN" tick --today "$TODAY" >/dev/null 2>&1 || true
SETTLE_SECONDS=$(python3 -c "print(f'{$(date +%s.%N) - $START:.1f}')")
SETTLEMENTS=$(sql "select count(*) from settlement")
SETTLED=$(sql "select coalesce(sum(total), 0) from settlement")
SETTLE_LINES=$(sql "select count(*) from settlement_line")
DUP_SETTLED=$(sql "select count(*) from (select claim_id from settlement_line group by 1 having count(*) > 1) d")
PAYOUTS=$(sql "select count(*) from payout where kind = 'settlement'")
STILL_OWED=$(sql "select coalesce(-sum(amount), 0) from journal_line where account = 'creditor_payable'")
LEDGER=$(FORDRA_TODAY=$TODAY "$BIN" check-ledger 2>&1 | tail -n 1 || true)

echo "tick over $CLAIMS due claims: $TICK_KILLED of $KILLS runs killed before they finished ($IN_STEPS of them with steps still to take, $((TICK_KILLED - IN_STEPS)) while delivering), then $DELIVERY_KILLED of $KILLS runs killed while delivering the letters to print (the rest found nothing left to deliver); $DUP_LETTERS claims with a letter twice, $DUP_FEES with a fee twice, $DUP_PRINT letters twice in print batches; $ADVANCED of $CLAIMS advanced (reminders: $REMINDERS, printed: $PRINTED, unsent: $UNSENT)"
echo "camt.054 import of $CLAIMS payments: $IMPORT_KILLED of $KILLS runs killed; $PAYMENTS payments stored from $FILES file(s), $DUP_PAYMENTS bank references twice"
echo "settlement run of $OWED kr over $CLAIMS claims: $SETTLE_KILLED of $KILLS runs killed inside the run, $SETTLE_BEFORE of them before it committed; then $SETTLEMENTS settlement(s) of $SETTLED kr with $SETTLE_LINES lines ($DUP_SETTLED claims twice), $PAYOUTS payout(s), $STILL_OWED kr still owed to the creditor (an uninterrupted settlement tick: $SETTLE_SECONDS s)"
echo "ledger: $LEDGER"
fail=0
[ "$DUP_LETTERS$DUP_FEES$DUP_PRINT$DUP_PAYMENTS" = 0000 ] || fail=1
[ "$ADVANCED" = "$CLAIMS" ] && [ "$REMINDERS" = "$CLAIMS" ] && [ "$UNSENT" = 0 ] && [ "$PRINTED" = "$CLAIMS" ] || fail=1
[ "$PAYMENTS" = "$CLAIMS" ] && [ "$FILES" = 1 ] || fail=1
[ "$SETTLEMENTS" = 1 ] && [ "$SETTLE_LINES" = "$CLAIMS" ] && [ "$DUP_SETTLED" = 0 ] && [ "$PAYOUTS" = 1 ] || fail=1
[ "$SETTLED" = "$OWED" ] && [ "$STILL_OWED" = 0.00 ] || fail=1
case "$LEDGER" in "ledger ok"*) ;; *) fail=1 ;; esac
[ "$fail" = 0 ] && echo "ok: no duplicates, every claim advanced once, ledger balanced" || { echo "FAILED"; exit 1; }
