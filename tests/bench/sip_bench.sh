#!/usr/bin/env bash
# SIP benchmark of issue 5, SCOPE and Kamailio side by side in one run (release build, sipp).
#
#  1. REGISTER latency on the wire (tcpdump on lo, µs) at LAT_RATE through one super-node of a
#     4-node overlay whose location service is the DHT, and through Kamailio 5.6 (in-memory
#     usrloc, the anchor configuration ../shared/anchors/sip/kamailio.cfg); the DHT's share of a
#     REGISTER from the node's per-REGISTER DHT waits (GET /sip/dht-timings) joined by Call-ID.
#  2. Session setup of calls through two super-nodes: CALLS distinct users register at node A
#     with a sipp UAS as contact; a sipp UAC calls every one of them at CALL_RATE, shared out
#     among the other nodes (three, with 4 nodes) in turn, so every INVITE needs a DHT lookup (no
#     cache hit) and, as when callers are spread over the overlay, about a quarter of the
#     lookups find the calling proxy's own node to be the key's root: entering at one node
#     only, that fraction is its random share of the key space (10-40 % measured), which moved
#     the DHT share by about a point between runs. INVITE→200 at the caller on the wire
#     (tcpdump, µs), split into the entry node's DHT lookup (its /sip/dht-timings, per call)
#     and the rest; the same calls through Kamailio.
#  3. REGISTER throughput: sipp steps through node A alternating with Kamailio at the same
#     rates, last, so an overloaded step cannot disturb the latency figures.
#
# usage: tests/bench/sip_bench.sh
# env:   RATES="1000 1500 2000 3000 4000 6000 8000 12000" STEP_S=10 LAT_RATE=1000 CALL_RATE=100 CALL_S=15
#        BIN (default target/release/scope-node), KAMAILIO_CFG (default the anchor's),
#        NODES=4, THREADS0=default (worker threads of node 0, the one under test: one per
#        core), THREADS=1 (worker threads of each other node), STORE_MB=2048 (store capacity per node),
#        SIPP_BUF=4194304 (sipp's socket buffers in the throughput steps), USERS (length of
#        the user list; default: enough that no step repeats an AOR), KEEP=1 keeps the result
#        directory
# Needs sipp (sip-tester), tcpdump, python3, curl; Kamailio is skipped when not installed.
# Every process it starts is stopped on exit.
set -u
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
HERE=$ROOT/tests/bench
RATES=${RATES:-"1000 1500 2000 3000 4000 6000 8000 12000"}
STEP_S=${STEP_S:-10}
LAT_RATE=${LAT_RATE:-1000}
CALL_RATE=${CALL_RATE:-100}
CALL_S=${CALL_S:-15}
NODES=${NODES:-4}
# worker threads: node 0 is the super-node under test, the one sipp registers at, and runs as a
# user would run it, with scope-node's default (one per core), as Kamailio runs its anchor
# configuration (4 UDP workers); the other nodes stand in for other machines of the overlay and
# share the same 2 cores, so one each. THREADS0=1 measures node 0 on one thread.
THREADS0=${THREADS0:-default}
THREADS=${THREADS:-1}
# store capacity per node: Kamailio runs with 2 GB of shared memory (-m 2048) for its location
# table, so each node may hold as much; the default (1 GiB, an eighth of it for soft state such
# as bindings) fills up with the ~1 M bindings the throughput steps leave behind
STORE_MB=${STORE_MB:-2048}
# sipp's socket buffers in the throughput steps, for both systems: with sipp's default (64 KiB)
# the load generator's own socket overflows whenever sipp is descheduled for a few ms on the
# 2-core machine, and every reply dropped there comes back as a retransmission 500 ms later
# (measured: the kernel's UDP RcvbufErrors equalled sipp's retransmissions while the proxy's
# socket dropped nothing). Each step reports the drops outside the proxy's socket.
SIPP_BUF=${SIPP_BUF:-4194304}
BIN=${BIN:-$ROOT/target/release/scope-node}
KAMAILIO_CFG=${KAMAILIO_CFG:-/work/shared/anchors/sip/kamailio.cfg}
SIPP_DIR=$ROOT/tests/sipp
OUT=$(mktemp -d /tmp/scope-sip-bench-XXXX)
CLK=$(getconf CLK_TCK)
PIDS=""
cleanup() {
  for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done
  sleep 0.5
  for p in $PIDS; do kill -KILL "$p" 2>/dev/null; done
  wait 2>/dev/null
  [ "${KEEP:-0}" = 1 ] || rm -rf "$OUT"
}
trap cleanup EXIT

for b in sipp tcpdump python3 curl; do
  command -v $b >/dev/null || { echo "missing $b (apt-get install sip-tester tcpdump python3 curl)"; exit 1; }
done
[ -x "$BIN" ] || { echo "build first: cargo build --release -p scope-node"; exit 1; }
# users: 200,000 as in the anchor, or more when a step sends more REGISTERs than that, so every
# AOR of a step is new as the anchor intends (a step that wrapped round the list re-registered
# its first users with new Call-IDs, a different workload from the other steps')
MAX_RATE=$(tr ' ' '\n' <<< "$RATES" | sort -n | tail -1)
USERS=${USERS:-$(( MAX_RATE * STEP_S > 200000 ? MAX_RATE * STEP_S : 200000 ))}
python3 -c "
with open('$OUT/users.csv','w') as f:
    f.write('SEQUENTIAL\n'); f.writelines('u%07d\n' % i for i in range($USERS))"

free_port() { python3 -c "
import socket
for _ in range(50):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('127.0.0.1', 0)); p = u.getsockname()[1]
    t = socket.socket(); 
    try: t.bind(('127.0.0.1', p)); print(p); break
    except OSError: pass
    finally: t.close(); u.close()"; }

# ---- the overlay: NODES daemons, node 0 first, the others joining through it ----
SIP=(); HTTP=(); NPID=()
for i in $(seq 0 $((NODES - 1))); do
  boot=()
  [ "$i" -gt 0 ] && boot=(--bootstrap "$OVERLAY0")
  threads=(--threads "$THREADS")
  [ "$i" -eq 0 ] && threads=(--threads "$THREADS0")
  [ "$i" -eq 0 ] && [ "$THREADS0" = default ] && threads=()
  "$BIN" --data-dir "$OUT/node$i" --no-mdns "${threads[@]}" --store-capacity-mb "$STORE_MB" --overlay-addr 127.0.0.1:0 --gateway-addr 127.0.0.1:0 \
    --sip-addr 127.0.0.1:0 "${boot[@]}" > "$OUT/node$i.out" 2> "$OUT/node$i.err" &
  NPID[$i]=$!; PIDS="$PIDS $!"
  for _ in $(seq 100); do [ -s "$OUT/node$i.out" ] && break; sleep 0.1; done
  line=$(head -1 "$OUT/node$i.out")
  [ -n "$line" ] || { echo "scope-node $i did not start"; cat "$OUT/node$i.err"; exit 1; }
  SIP[$i]=$(awk '{print $NF}' <<< "$line")
  HTTP[$i]=$(sed -E 's#.*gateway http://([^ ]+).*#\1#' <<< "$line")
  [ "$i" -eq 0 ] && OVERLAY0=$(sed -E 's#.*overlay udp://([^ ]+).*#\1#' <<< "$line")
done
joined() { curl -s --max-time 2 "http://$1/status" | python3 -c "
import json, sys
s = json.load(sys.stdin); sys.exit(0 if s.get('joined') and len(s.get('leaf_set', [])) >= $NODES - 1 else 1)" 2>/dev/null; }
for i in $(seq 0 $((NODES - 1))); do
  for _ in $(seq 100); do joined "${HTTP[$i]}" && break; sleep 0.2; done
  joined "${HTTP[$i]}" || { echo "node $i did not join the overlay"; exit 1; }
done
# sipp registers at node A; calls enter at every other node in turn (see section 2)
A=0; VIAS=""; VIA_HTTP=""
for i in $(seq 1 $((NODES - 1))); do VIAS="$VIAS ${SIP[$i]}"; VIA_HTTP="$VIA_HTTP ${HTTP[$i]}"; done

# ---- Kamailio, the anchor configuration on a free port and its own control socket ----
KAM=""; KPID=""
if command -v kamailio >/dev/null && [ -f "$KAMAILIO_CFG" ]; then
  KPORT=$(free_port)
  sed -e "s/5070/$KPORT/g" -e "s#unix:/tmp/kam-anchor-ctl.sock#unix:$OUT/kam-ctl.sock#" \
    "$KAMAILIO_CFG" > "$OUT/kamailio.cfg"
  kamailio -DD -E -f "$OUT/kamailio.cfg" -m 2048 -M 16 > "$OUT/kamailio.log" 2>&1 &
  KPID=$!; PIDS="$PIDS $KPID"
  for _ in $(seq 40); do ss -lun | grep -q "127.0.0.1:$KPORT " && break; sleep 0.25; done
  if ss -lun | grep -q "127.0.0.1:$KPORT "; then KAM=127.0.0.1:$KPORT; else
    echo "kamailio did not start (see $OUT/kamailio.log)"; fi
  sleep 1
else
  echo "kamailio not installed or no configuration: scope-node only"
fi
kam_pids() { [ -n "$KPID" ] && echo "$KPID $(ps -o pid= --ppid "$KPID")"; }

cpu_ticks() { local t=0 p f; for p in "$@"; do read -r -a f < /proc/$p/stat 2>/dev/null || continue; t=$((t + f[13] + f[14])); done; echo $t; }
# receive-buffer drops on the UDP socket bound to $1 (ip:port)
sock_drops() { local port=${1##*:}; awk -v p=$(printf '%04X' "$port") '$2 == "0100007F:" p {print $NF; exit}' /proc/net/udp; }
# datagrams dropped on full receive buffers by every UDP socket of the machine
udp_rcvbuf_errors() { awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "RcvbufErrors") c = i; h = 1 } else { print $c; exit } }' /proc/net/snmp; }

# run_step NAME TARGET RATE -> one result line, appended to $OUT/steps.txt; 0 when it passed
run_step() {
  local name=$1 target=$2 rate=$3 pids
  local d="$OUT/$name-$rate"; mkdir -p "$d"
  # others: the system not under test, which should sit idle meanwhile (its CPU is printed)
  local others
  if [ "$name" = scope ]; then pids="${NPID[*]}"; others=$(kam_pids); else pids=$(kam_pids); others="${NPID[*]}"; fi
  local m=$((rate * STEP_S)) t0 t1 c0 c1 r0 r1 d0 d1 u0 u1 o0 o1
  o0=$(cpu_ticks $others); c0=$(cpu_ticks $pids); r0=$(cpu_ticks ${pids%% *}); d0=$(sock_drops "$target"); u0=$(udp_rcvbuf_errors); t0=$(date +%s.%N)
  ( cd "$d" && timeout $((STEP_S * 3 + 60)) sipp "$target" -sf "$SIPP_DIR/register.xml" -inf "$OUT/users.csv" \
      -i 127.0.0.1 -key domain scope -key prefix "${name}${rate}_" -key contact_port 5999 \
      -r "$rate" -m "$m" -l $((rate * 5)) -nostdin -trace_stat -fd 1 -trace_rtt -rtt_freq "$rate" \
      -buff_size "$SIPP_BUF" -timeout $((STEP_S * 3 + 30))s -timeout_error < /dev/null > sipp.out 2>&1; echo $? > rc )
  t1=$(date +%s.%N); o1=$(cpu_ticks $others); c1=$(cpu_ticks $pids); r1=$(cpu_ticks ${pids%% *}); d1=$(sock_drops "$target"); u1=$(udp_rcvbuf_errors)
  [ "$name" = scope ] && for i in $(seq 0 $((NODES - 1))); do curl -s --max-time 5 "http://${HTTP[$i]}/metrics" > "$d/metrics$i.txt"; done
  python3 - "$d" "$name" "$rate" "$m" "$t0" "$t1" "$c0" "$c1" "$r0" "$r1" "${d0:-0}" "${d1:-0}" "$CLK" "${u0:-0}" "${u1:-0}" "$o0" "$o1" <<'PY' | tee -a "$OUT/steps.txt"
import csv, glob, sys
d, name, rate, m, t0, t1, c0, c1, r0, r1, d0, d1, clk, u0, u1, o0, o1 = sys.argv[1:]
rate, m, clk = int(rate), int(m), int(clk)
rc = int(open(d + '/rc').read().strip() or 1)
stat = glob.glob(d + '/*_.csv')
rows = list(csv.reader(open(stat[0]), delimiter=';')) if stat else [[]]
h, last = rows[0], rows[-1]
g = lambda k: int(last[h.index(k)]) if k in h else -1
ok, failed, retr = g('SuccessfulCall(C)'), g('FailedCall(C)'), g('Retransmissions(C)')
rtts, ts = [], []
for f in glob.glob(d + '/*_rtt.csv'):
    for r in list(csv.reader(open(f), delimiter=';'))[1:]:
        try: ts.append(float(r[0])); rtts.append(float(r[1]))
        except (ValueError, IndexError): pass
rtts.sort(); ts.sort()
pct = lambda p: rtts[min(len(rtts) - 1, int(p * len(rtts)))] if rtts else float('nan')
span = (ts[-1] - ts[0]) / 1000 if len(ts) > 1 else 0
achieved = (len(ts) - 1) / span if span > 0 else 0
wall = float(t1) - float(t0)
cpu = (int(c1) - int(c0)) / clk / wall * 100
first = (int(r1) - int(r0)) / clk / wall * 100
per_reg = (int(c1) - int(c0)) / clk * 1e6 / max(ok, 1)
passed = rc == 0 and failed == 0 and ok == m and achieved >= 0.95 * rate
print(f"{name:8s} target {rate:6d}/s achieved {achieved:7.0f}/s  ok {ok:7d}/{m}  failed {failed:5d}  "
      f"retrans {retr:6d}  sock drops {int(d1) - int(d0):5d} (elsewhere {max(0, int(u1) - int(u0) - (int(d1) - int(d0))):5d})  rtt ms p50 {pct(.5):.0f} p90 {pct(.9):.0f} "
      f"p99 {pct(.99):.0f} max {pct(1):.0f}  cpu {cpu:5.1f}% of a core, {per_reg:4.0f} µs per REGISTER"
      f"{f' (SIP node {first:4.1f}%)' if name == 'scope' else ''}  {'PASS' if passed else 'FAIL'}"
      f"  (other system meanwhile: {(int(o1) - int(o0)) / clk / wall * 100:.1f}% of a core)")
sys.exit(0 if passed else 1)
PY
  return "${PIPESTATUS[0]}"
}

start_pcap() { # $1 file, $2 port
  timeout 300 tcpdump -i lo -n -s 2000 -B 65536 -w "$1" udp port "$2" > "$1.log" 2>&1 &
  TDPID=$!; PIDS="$PIDS $TDPID"; sleep 1
}
# tcpdump hands packets over in blocks that retire after its 1 s timeout; stopped sooner, it
# lost the last call or two of a run (captured by the filter, never written)
stop_pcap() { sleep 1.2; kill -INT "$TDPID" 2>/dev/null; wait "$TDPID" 2>/dev/null; }

echo "scope-node: $NODES nodes (node 0 threads: $THREADS0, others: $THREADS), REGISTER to node $A at ${SIP[$A]}, calls via nodes 1-$((NODES - 1)) in turn; kamailio at ${KAM:-none}"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); results in $OUT"

# ---- 1. REGISTER wire latency and the DHT share of a REGISTER ----
echo
echo "== 1. REGISTER latency on the wire at $LAT_RATE/s (REGISTER in -> 200 out, tcpdump, µs)"
reg_latency() { # NAME TARGET
  local name=$1 target=$2 d="$OUT/lat-$1"; mkdir -p "$d"
  start_pcap "$d/reg.pcap" "${target##*:}"
  ( cd "$d" && timeout $((STEP_S * 3 + 60)) sipp "$target" -sf "$SIPP_DIR/register.xml" -inf "$OUT/users.csv" \
      -i 127.0.0.1 -key domain scope -key prefix "lat${name}_" -key contact_port 5999 \
      -r "$LAT_RATE" -m $((LAT_RATE * STEP_S)) -l $((LAT_RATE * 5)) -nostdin \
      -timeout $((STEP_S * 3 + 30))s -timeout_error < /dev/null > sipp.out 2>&1; echo $? > rc )
  stop_pcap
  python3 "$HERE/pcap_latency.py" register "$d/reg.pcap" "${target##*:}" "$d/per_call.json" > "$d/pcap.json"; rm -f "$d/reg.pcap"
}
# the node's per-transaction DHT waits (GET drains them), joined with the wire times by Call-ID
timings() { curl -s --max-time 10 "http://$1/sip/dht-timings"; }
SA=${HTTP[$A]}
timings "$SA" > /dev/null
reg_latency scope "${SIP[$A]}"
timings "$SA" > "$OUT/lat-scope/timings.json"
[ -n "$KAM" ] && reg_latency kamailio "$KAM"
python3 - "$OUT" "$([ -n "$KAM" ] && echo 1 || echo 0)" <<'PY' | tee -a "$OUT/latency.txt"
import json, sys
out, kam = sys.argv[1], sys.argv[2] == '1'
def show(name):
    p = json.load(open(f'{out}/lat-{name}/pcap.json')); r = p['register_to_200']
    rc = open(f'{out}/lat-{name}/rc').read().strip()
    print(f"{name:8s} n {r.get('n', 0):6d} unmatched {p['unmatched']:4d} sipp rc {rc}  p50 {r.get('p50_us')} "
          f"p90 {r.get('p90_us')} p99 {r.get('p99_us')} max {r.get('max_us')} mean {r.get('mean_us')}")
    return r
s = show('scope')
if kam: show('kamailio')
wire = json.load(open(f'{out}/lat-scope/per_call.json'))
recs = [t for t in json.load(open(f'{out}/lat-scope/timings.json')) if t['method'] == 'REGISTER' and t['call_id'] in wire]
if recs:
    total = sum(wire[t['call_id']] for t in recs) * 1e6
    look, store = sum(t['lookup_us'] for t in recs), sum(t['store_us'] for t in recs)
    n = len(recs)
    print(f"scope REGISTER, {n} joined by Call-ID: mean {total / n:.0f} µs on the wire, of which DHT lookup "
          f"{look / n:.0f} µs ({100 * look / total:.1f} %) and DHT store {store / n:.0f} µs "
          f"({100 * store / total:.1f} %; paper: put 32.1 %), the rest {(total - look - store) / n:.0f} µs")
PY

# ---- 2. Session setup through two super-nodes ----
echo
echo "== 2. Session setup: $((CALL_RATE * CALL_S)) calls at $CALL_RATE/s, each to a different user (INVITE -> 200 at the caller, tcpdump, µs)"
NCALLS=$((CALL_RATE * CALL_S))
python3 -c "
with open('$OUT/callees.csv','w') as f:
    f.write('SEQUENTIAL\n'); f.writelines('c%06d\n' % i for i in range(${NCALLS}))"
# NAME REGISTRAR "CALL-VIA..." "HTTP-OF-CALL-VIA...": the calls are shared out in turn among the
# entry proxies, each calling its own slice of the callees
calls() {
  local name=$1 reg=$2 d="$OUT/call-$1"; mkdir -p "$d/reg" "$d/uas"
  local -a vias https; read -r -a vias <<< "$3"; read -r -a https <<< "$4"
  local k=${#vias[@]} per=$((NCALLS / ${#vias[@]}))
  local uas_port; uas_port=$(free_port)
  ( cd "$d/reg" && timeout 120 sipp "$reg" -sf "$SIPP_DIR/register.xml" -inf "$OUT/callees.csv" -i 127.0.0.1 \
      -key domain scope -key prefix "$name" -key contact_port "$uas_port" -r 1000 -m "$NCALLS" -l 5000 \
      -nostdin -timeout 100s -timeout_error < /dev/null > sipp.out 2>&1; echo $? > rc )
  ( cd "$d/uas" && exec timeout $((CALL_S * 3 + 60)) sipp -sf "$SIPP_DIR/uas.xml" -i 127.0.0.1 -p "$uas_port" \
      -m $((per * k)) -nostdin -timeout $((CALL_S * 3 + 40))s < /dev/null > sipp.out 2>&1 ) &
  local upid=$!; PIDS="$PIDS $upid"; sleep 1
  local j via uac_port
  for j in $(seq 0 $((k - 1))); do
    via=${vias[$j]}; uac_port=$(free_port); mkdir -p "$d/uac$j"
    python3 -c "
with open('$d/callees$j.csv','w') as f:
    f.write('SEQUENTIAL\n'); f.writelines('c%06d\n' % i for i in range($j * $per, ($j + 1) * $per))"
    [ -n "${https[$j]:-}" ] && timings "${https[$j]}" > /dev/null
    start_pcap "$d/call$j.pcap" "${via##*:}"
    ( cd "$d/uac$j" && timeout $((CALL_S * 3 + 60)) sipp "$via" -sf "$SIPP_DIR/uac.xml" -inf "$d/callees$j.csv" -i 127.0.0.1 \
        -p "$uac_port" -key domain scope -key prefix "$name" -r "$CALL_RATE" -m "$per" -l $((CALL_RATE * 5)) \
        -nostdin -trace_stat -fd 1 -timeout $((CALL_S * 3 + 30))s -timeout_error < /dev/null > sipp.out 2>&1; echo $? > rc )
    stop_pcap
    if [ -n "${https[$j]:-}" ]; then timings "${https[$j]}" > "$d/timings$j.json"; else echo '[]' > "$d/timings$j.json"; fi
    python3 "$HERE/pcap_latency.py" call "$d/call$j.pcap" "${via##*:}" "$uac_port" "$uas_port" "$d/per_call$j.json" > "$d/pcap$j.json"
    rm -f "$d/call$j.pcap"
  done
  for _ in $(seq 40); do kill -0 $upid 2>/dev/null || break; sleep 0.25; done
  kill -INT $upid 2>/dev/null; wait $upid 2>/dev/null
  python3 - "$d" "$name" "$k" "$3" <<'PY' | tee -a "$OUT/calls.txt"
import csv, glob, json, statistics, sys
d, name, k, vias = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].split()
def pct(v, q): return round(sorted(v)[min(len(v) - 1, int(len(v) * q))]) if v else None
reg_rc = open(d + '/reg/rc').read().strip()
setups, ok, failed, all_look, all_setup, cached = [], 0, 0, [], [], 0
for j in range(k):
    p = json.load(open(f'{d}/pcap{j}.json'))
    stat = glob.glob(f'{d}/uac{j}/*_.csv')
    rows = list(csv.reader(open(stat[0]), delimiter=';')) if stat else [[]]
    h, last = rows[0], rows[-1]
    g = lambda key: int(last[h.index(key)]) if key in h else 0
    ok += g('SuccessfulCall(C)'); failed += g('FailedCall(C)')
    wire = json.load(open(f'{d}/per_call{j}.json'))
    setups += [w * 1e6 for w in wire.values()]
    f, uac_rc = p['proxy_invite_fwd'], open(f'{d}/uac{j}/rc').read().strip()
    recs = [t for t in json.load(open(f'{d}/timings{j}.json')) if t['method'] == 'INVITE' and t['call_id'] in wire]
    if not recs:
        print(f"{name:8s}   via {vias[j]}: calls rc {uac_rc}, proxy INVITE in->out p50 {f.get('p50_us')} mean {f.get('mean_us')} µs")
    else:
        look = [t['lookup_us'] for t in recs]; setup = [wire[t['call_id']] * 1e6 for t in recs]
        cached += sum(t['cached'] for t in recs)
        print(f"{name:8s}   via {vias[j]} (calls rc {uac_rc}, proxy INVITE in->out p50 {f.get('p50_us')} µs): "
              f"{len(recs)} INVITEs, DHT lookup mean {statistics.mean(look):.0f} µs "
              f"(p50 {pct(look, .5)}), session setup mean {statistics.mean(setup):.0f} µs, DHT share "
              f"{100 * sum(look) / sum(setup):.1f} %")
        all_look += look; all_setup += setup
print(f"{name:8s} registrations rc {reg_rc}, calls via {k} {'proxy' if k == 1 else 'proxies'}: ok {ok} failed {failed}  "
      f"INVITE->200 p50 {pct(setups, .5)} p99 {pct(setups, .99)} mean {statistics.mean(setups) if setups else 0:.0f} µs")
if all_look:
    n = len(all_look)
    share = sorted(100 * l / max(w, 1) for l, w in zip(all_look, all_setup))
    print(f"{name:8s} {n} INVITEs joined by Call-ID ({cached} cache hits): DHT lookup mean "
          f"{sum(all_look) / n:.0f} µs, p50 {pct(all_look, .5)} µs, p99 {pct(all_look, .99)} µs; session setup mean "
          f"{sum(all_setup) / n:.0f} µs; DHT share {100 * sum(all_look) / sum(all_setup):.1f} % of the total setup time, "
          f"per call p50 {share[n // 2]:.1f} % (paper 19.8 %, goal < 10 %)")
PY
}
calls scope "${SIP[$A]}" "$VIAS" "$VIA_HTTP"
[ -n "$KAM" ] && calls kamailio "$KAM" "$KAM" ""
echo
echo "== 3. REGISTER throughput, ${STEP_S}s per step (pass: 0 failed, every 200 OK, >= 95% of the target rate;"
echo "   cpu: every process of the system under test, the $NODES nodes or all of Kamailio's)"
# BEST_*: highest step passed with every lower step passed too; TOP_*: highest step passed at all
# (a single noisy failure below it shows as the difference)
BEST_SCOPE=0; BEST_KAM=0; TOP_SCOPE=0; TOP_KAM=0; FAIL_SCOPE=0; FAIL_KAM=0
for rate in $RATES; do
  if [ $FAIL_SCOPE -lt 2 ]; then
    if run_step scope "${SIP[$A]}" "$rate"; then
      [ $FAIL_SCOPE -eq 0 ] && BEST_SCOPE=$rate; TOP_SCOPE=$rate
    else FAIL_SCOPE=$((FAIL_SCOPE + 1)); fi
    sleep 2
  fi
  if [ -n "$KAM" ] && [ $FAIL_KAM -lt 2 ]; then
    if run_step kamailio "$KAM" "$rate"; then
      [ $FAIL_KAM -eq 0 ] && BEST_KAM=$rate; TOP_KAM=$rate
    else FAIL_KAM=$((FAIL_KAM + 1)); fi
    sleep 2
  fi
done
echo "highest REGISTER rate passed (all lower steps passed too): scope-node $BEST_SCOPE/s, kamailio $BEST_KAM/s"
echo "highest REGISTER rate passed at all:                       scope-node $TOP_SCOPE/s, kamailio $TOP_KAM/s"
if [ "$BEST_KAM" -gt 0 ]; then
  python3 -c "print('ratio scope-node / kamailio: %.2f (highest passed at all: %.2f)' % ($BEST_SCOPE / $BEST_KAM, $TOP_SCOPE / max($TOP_KAM, 1)))"
elif [ -n "$KAM" ]; then
  echo "ratio: none, Kamailio passed no step (start RATES lower)"
fi
echo
echo "overlay health at the end (per node: failed peers, leaf set, overlay retransmissions, SIP location failures):"
for i in $(seq 0 $((NODES - 1))); do
  curl -s --max-time 5 "http://${HTTP[$i]}/metrics" | awk -v n=$i '
    $1 == "scope_peers_failed_total" {f=$2} $1 == "scope_leaf_set_size" {l=$2}
    $1 == "scope_retransmits_total" {r=$2} $1 == "scope_sip_dht_failures_total" {d=$2}
    END {printf "  node %d: peers failed %s, leaf set %s, retransmits %s, SIP DHT failures %s\n", n, f, l, r, d}'
done
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
