#!/bin/bash
# bench/churn.sh: what one call's arrival and departure cost the engine, in CPU
# milliseconds: SIP (INVITE, 100, 180, 200, ACK, BYE), the media session's sockets,
# the flow's start, the call record and its timeline. In regime (b) of the capacity
# benchmark calls end and begin at up to 170 a second on top of the media, and that
# is where its steps fail (bench/PROFILE.md), so this cost is measured on its own.
#
# The engine (this tree's, or HOTLINE=<binary>) runs on CPU 0 and `hotline loadtest`
# on CPU 1, both SCHED_FIFO as in bench/capacity.sh. The generator places CALLS calls
# (3000) at RATE a second (150), each hearing the greeting's start and hanging up
# HOLD later (1s: the record's start and end then fall in different transactions,
# as in a real call). The engine's CPU comes from /proc before and after, so it
# includes each call's HOLD of media.
#
#   bench/churn.sh                                  # this tree
#   HOTLINE=/tmp/old bench/churn.sh                 # another build
#   CONFIG=$'store:\n  commit_interval: 250ms' bench/churn.sh   # extra engine configuration
#   PROFILE=25 bench/churn.sh                       # also a 25 s CPU profile (pprof)
#
# It prints one line: calls completed, setup p50/p99, engine user and system CPU,
# and CPU milliseconds per call. Files stay in OUT (a temporary directory).
set -eu
cd "$(dirname "$0")/.."
CALLS=${CALLS:-3000}
RATE=${RATE:-150}
HOLD=${HOLD:-1s}
CONFIG=${CONFIG:-}
PROFILE=${PROFILE:-}
OUT=${OUT:-$(mktemp -d /tmp/hotline-churn.XXXXXX)}
command -v taskset >/dev/null || { echo "churn: taskset is required (util-linux)" >&2; exit 1; }
[ "$(nproc)" -ge 2 ] || { echo "churn: needs two CPUs" >&2; exit 1; }
mkdir -p bin
HOTLINE=${HOTLINE:-}
if [ -z "$HOTLINE" ]; then
	go build -o bin/hotline ./cmd/hotline
	HOTLINE=bin/hotline
fi
go build -o bin/hotline-gen ./cmd/hotline # the generator stays the same whatever HOTLINE is
SCHED="chrt -f 10"
chrt -f 10 true 2>/dev/null || SCHED="nice -n -10"
free_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM if "'"$1"'"=="udp" else socket.SOCK_STREAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SIP=$(free_port udp)
HTTP=$(free_port tcp)
mkdir -p "$OUT/data"
cat >"$OUT/engine.yaml" <<EOF
# written by bench/churn.sh
data_dir: "$OUT/data"
sip:
  listen: ["udp:127.0.0.1:$SIP"]
http:
  listen: "127.0.0.1:$HTTP"
  pprof: true
rtp:
  port_min: 40000
  port_max: 59998
tts:
  cache_dir: "$HOME/.cache/hotline-bench/tts"
log:
  level: warn
$CONFIG
EOF
taskset -c 0 $SCHED "$HOTLINE" serve --config "$OUT/engine.yaml" >"$OUT/engine.log" 2>&1 &
ENGINE=$!
trap 'kill $ENGINE 2>/dev/null || true' EXIT
for _ in $(seq 100); do
	curl -sf "http://127.0.0.1:$HTTP/metrics" >/dev/null && break
	kill -0 $ENGINE 2>/dev/null || { cat "$OUT/engine.log" >&2; exit 1; }
	sleep 0.2
done
# Warm-up: the prompts are synthesized (or read from the cache) by the first calls.
taskset -c 1 $SCHED bin/hotline-gen loadtest "127.0.0.1:$SIP" -n 10 --rate 10 --calls 20 \
	--script greeting --hangup caller --hold 0 -q --no-fail >"$OUT/warmup.log" 2>&1
cpu() { awk '{print $14 + $15, $14, $15}' "/proc/$ENGINE/stat"; }
read -r t0 u0 s0 < <(cpu)
if [ -n "$PROFILE" ]; then
	(sleep 3 && curl -s -o "$OUT/cpu.pprof" "http://127.0.0.1:$HTTP/debug/pprof/profile?seconds=$PROFILE") &
	PROF=$!
fi
taskset -c 1 $SCHED bin/hotline-gen loadtest "127.0.0.1:$SIP" -n $((RATE * 3 + 100)) --rate "$RATE" \
	--calls "$CALLS" --script greeting --hangup caller --hold "$HOLD" -q --no-fail \
	--json "$OUT/report.json" >"$OUT/loadtest.log" 2>&1
read -r t1 u1 s1 < <(cpu)
[ -z "${PROF:-}" ] || wait "$PROF"
hz=$(getconf CLK_TCK)
python3 - "$OUT/report.json" "$hz" "$t0" "$u0" "$s0" "$t1" "$u1" "$s1" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
hz = int(sys.argv[2])
t0, u0, s0, t1, u1, s1 = map(int, sys.argv[3:])
n = d["calls"]["started"]
ms = lambda j: j * 1000 / hz / n
print(f"{d['calls']['completed']} of {n} calls, setup p50/p99 {d['setup']['p50_ms']:.1f}/{d['setup']['p99_ms']:.1f} ms, "
      f"engine CPU {(t1 - t0) / hz:.2f} s (user {(u1 - u0) / hz:.2f}, system {(s1 - s0) / hz:.2f}): "
      f"{ms(t1 - t0):.3f} ms a call (user {ms(u1 - u0):.3f}, system {ms(s1 - s0):.3f})")
EOF
echo "files: $OUT" >&2
