#!/bin/sh
# bench/cachemiss.sh: how many cache lines one call's tick misses, counted by
# valgrind's cache simulator (cachegrind) instead of timed. The machines this project
# runs on are too noisy to time a 5 % change of a clock tick; the simulator's counts
# repeat to within a few percent, so two builds can be compared one run each.
#
# It runs BenchmarkShardReceive (media/rxbatch_linux_test.go) under cachegrind with
# CALLS calls (900 by default) for 20 and for 60 ticks, and reports the difference
# divided by the 40 × CALLS call-ticks between them, so creating the sessions and
# sockets cancels out. Only user space is simulated: the kernel's own misses (the
# sockets, the io_uring) are not in the counts. The caches simulated are 32 KiB
# L1 data and a 4 MiB last level: less than the machine's 32 MiB L3, which the
# kernel's work and the other calls' state share.
#
#   bench/cachemiss.sh                 # this tree
#   bench/cachemiss.sh /tmp/old.test   # a test binary built elsewhere (go test -c ./media)
#
# Columns: instructions (Ir), data reads and writes (Dr, Dw) and their misses in the
# first level (D1mr, D1mw) and last level (DLmr, DLmw), per call-tick; then the
# functions with the most last-level read misses.
set -eu
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "cachemiss: valgrind is required (apt-get install valgrind)" >&2; exit 1; }
CALLS=${CALLS:-900}
out=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$out"' EXIT
bin=${1:-}
if [ -z "$bin" ]; then
	go test -c -o "$out/media.test" ./media
	bin=$out/media.test
fi
for n in 20 60; do
	GOMAXPROCS=1 valgrind --tool=cachegrind --cache-sim=yes \
		--D1=32768,8,64 --LL=4194304,16,64 \
		--cachegrind-out-file="$out/cg-$n.out" \
		"$bin" -test.run '^$' -test.bench 'ShardReceive/listing' -test.benchtime "${n}x" \
		-shard-calls "$CALLS" -shard-valgrind >"$out/cg-$n.log" 2>&1 || {
		cat "$out/cg-$n.log" >&2
		exit 1
	}
done
python3 - "$out" "$CALLS" <<'EOF'
import collections, signal, sys
signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # | head
out, calls = sys.argv[1], int(sys.argv[2])
def load(path):
    events, fns, fn = None, collections.defaultdict(lambda: None), None
    for line in open(path):
        if line.startswith("events:"):
            events = line.split()[1:]
        elif line.startswith("fn="):
            fn = line[3:].strip()
        elif line[:1].isdigit() and fn is not None:
            v = list(map(int, line.split()[1:]))
            v += [0] * (len(events) - len(v))
            fns[fn] = [a + b for a, b in zip(fns[fn] or [0] * len(events), v)]
    return events, fns
events, a = load(f"{out}/cg-20.out")
_, b = load(f"{out}/cg-60.out")
ticks = 40 * calls
per = {fn: [(y - x) / ticks for x, y in zip(a[fn] or [0] * len(events), v)] for fn, v in b.items()}
total = [sum(v[i] for v in per.values()) for i in range(len(events))]
print(f"per call-tick, {calls} calls:", "  ".join(f"{e} {t:.1f}" for e, t in zip(events, total)))
k = events.index("DLmr")
print()
print("  " + "  ".join(e.rjust(6) for e in events) + "  function")
for fn, v in sorted(per.items(), key=lambda kv: -kv[1][k])[:25]:
    print("  " + "  ".join(f"{x:6.1f}" for x in v) + "  " + fn)
EOF
