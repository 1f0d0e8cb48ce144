#!/usr/bin/env bash
# REGISTER throughput and latency through one scope-node super-node, and through Kamailio
# (in-memory usrloc, ../shared/anchors/sip/kamailio.cfg) in the same run, with sipp.
#
# usage: tests/bench/sip_register_bench.sh            (RATES="1000 2000 4000 8000" STEP_S=10)
# env:   RATES, STEP_S, BIN (scope-node binary; default target/release/scope-node),
#        KAMAILIO_CFG (default /work/shared/anchors/sip/kamailio.cfg; skipped when kamailio
#        is not installed)
# Prints, per rate and target: achieved rate, 200 OKs, failed calls, retransmissions and sipp's
# response-time percentiles (sipp measures in ms ticks), then the ratio of the highest rate each
# passed with zero failed registrations. Every process it starts is stopped on exit.
set -u
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
RATES=${RATES:-"1000 2000 4000 8000"}
STEP_S=${STEP_S:-10}
BIN=${BIN:-$ROOT/target/release/scope-node}
KAMAILIO_CFG=${KAMAILIO_CFG:-/work/shared/anchors/sip/kamailio.cfg}
SCEN=$ROOT/tests/sipp/register.xml
OUT=$(mktemp -d /tmp/scope-sip-bench-XXXX)
PIDS=""
cleanup() { for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done; sleep 0.5; for p in $PIDS; do kill -KILL "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT

command -v sipp >/dev/null || { echo "sipp missing (apt-get install sip-tester)"; exit 1; }
[ -x "$BIN" ] || { echo "build first: cargo build --release -p scope-node"; exit 1; }
python3 -c "
with open('$OUT/users.csv','w') as f:
    f.write('SEQUENTIAL\n'); f.writelines('u%06d\n' % i for i in range(200000))"

# scope-node on an OS-chosen SIP port
"$BIN" --data-dir "$OUT/node" --no-mdns --overlay-addr 127.0.0.1:0 --gateway-addr 127.0.0.1:0 \
  --sip-addr 127.0.0.1:0 > "$OUT/node.out" 2> "$OUT/node.err" &
NPID=$!; PIDS="$PIDS $NPID"
for i in $(seq 50); do [ -s "$OUT/node.out" ] && break; sleep 0.1; done
SCOPE=$(awk '{print $NF}' "$OUT/node.out")
[ -n "$SCOPE" ] || { echo "scope-node did not start"; cat "$OUT/node.err"; exit 1; }

KAM=""
if command -v kamailio >/dev/null && [ -f "$KAMAILIO_CFG" ]; then
  kamailio -DD -E -f "$KAMAILIO_CFG" -m 1024 -M 16 > "$OUT/kamailio.log" 2>&1 &
  KPID=$!; PIDS="$PIDS $KPID"
  for i in $(seq 40); do ss -lun | grep -q "127.0.0.1:5070" && break; sleep 0.25; done
  ss -lun | grep -q "127.0.0.1:5070" && KAM=127.0.0.1:5070 || echo "kamailio did not start (see $OUT/kamailio.log)"
else
  echo "kamailio not installed or no config: scope-node only"
fi

cpu_ticks() { local t=0 p f; for p in "$@"; do read -r -a f < /proc/$p/stat 2>/dev/null || continue; t=$((t + f[13] + f[14])); done; echo $t; }

# run_step NAME TARGET RATE PIDS... -> one result line; returns 0 when the step passed
run_step() {
  local name=$1 target=$2 rate=$3; shift 3
  local d="$OUT/$name-$rate"; mkdir -p "$d"
  local m=$((rate * STEP_S)) t0 t1 c0 c1
  c0=$(cpu_ticks "$@"); t0=$(date +%s.%N)
  ( cd "$d" && timeout $((STEP_S * 3 + 60)) sipp "$target" -sf "$SCEN" -inf "$OUT/users.csv" -i 127.0.0.1 \
      -key domain scope -key prefix "${name}${rate}_" -key contact_port 5999 \
      -r "$rate" -m "$m" -l $((rate * 5)) -nostdin -trace_stat -fd 1 -trace_rtt -rtt_freq "$rate" \
      -timeout $((STEP_S * 3 + 30))s -timeout_error < /dev/null > sipp.out 2>&1; echo $? > rc )
  t1=$(date +%s.%N); c1=$(cpu_ticks "$@")
  python3 - "$d" "$name" "$rate" "$m" "$t0" "$t1" "$c0" "$c1" "$(getconf CLK_TCK)" <<'PY'
import csv, glob, sys
d, name, rate, m, t0, t1, c0, c1, clk = sys.argv[1:]
rate, m = int(rate), int(m)
rc = int(open(d + '/rc').read().strip() or 1)
rows = list(csv.reader(open(glob.glob(d + '/*_.csv')[0]), delimiter=';'))
h, last = rows[0], rows[-1]
g = lambda k: last[h.index(k)] if k in h else '?'
ok, failed, retr = int(g('SuccessfulCall(C)')), int(g('FailedCall(C)')), int(g('Retransmissions(C)'))
elapsed = float(t1) - float(t0)
rtts = []
for f in glob.glob(d + '/*_rtt.csv'):
    for r in list(csv.reader(open(f), delimiter=';'))[1:]:
        try: rtts.append(float(r[1]))
        except (ValueError, IndexError): pass
rtts.sort()
pct = lambda p: rtts[min(len(rtts) - 1, int(p * len(rtts)))] if rtts else float('nan')
cpu = (int(c1) - int(c0)) / int(clk) / elapsed * 100
achieved = ok / max(elapsed - 0.0, 1e-9)
passed = rc == 0 and failed == 0 and ok == m
print(f"{name:9s} target {rate:6d}/s  ok {ok:7d}/{m}  failed {failed:5d}  retrans {retr:6d}  "
      f"achieved {achieved:8.0f}/s  rtt ms p50 {pct(.5):.2f} p90 {pct(.9):.2f} p99 {pct(.99):.2f}  "
      f"cpu {cpu:5.1f}% of a core  {'PASS' if passed else 'FAIL'}")
sys.exit(0 if passed else 1)
PY
}

echo "scope-node SIP at $SCOPE; kamailio at ${KAM:-none}; ${STEP_S}s per step; results in $OUT"
BEST_SCOPE=0; BEST_KAM=0
for rate in $RATES; do
  run_step scope "$SCOPE" "$rate" "$NPID" && BEST_SCOPE=$rate
  sleep 1
  if [ -n "$KAM" ]; then
    run_step kamailio "$KAM" "$rate" "$KPID" $(ps -o pid= --ppid "$KPID") && BEST_KAM=$rate
    sleep 1
  fi
done
echo "highest rate with zero failed registrations: scope-node $BEST_SCOPE/s, kamailio $BEST_KAM/s"
if [ "$BEST_KAM" -gt 0 ]; then
  python3 -c "print('ratio scope-node / kamailio: %.2f' % ($BEST_SCOPE / $BEST_KAM))"
fi
