#!/bin/sh
# ebpf_bench.sh - overhead of the eBPF process collector.  Not part of
# `make check` (except `--smoke`, a few seconds): run it as root by hand.
#
#   sh tests/bench/ebpf_bench.sh [--smoke] [PICKETD]
#
# PICKET_BENCH_PROCESS="ring_size = 1M" adds lines to the agent's [process];
# PICKET_BENCH_RUNS=N repeats the baseline / picketd / auditd rounds (3):
# each run is printed, then the median [range] of each ratio.
#
# The workload (tests/bench/ebpf_load.c) does fork + exec(/bin/true) + wait
# and one refused TCP connect per round, on every CPU.  It runs:
#   1. alone (baseline),
#   2. with picketd (process collector on, packet capture on lo only),
#   3. with auditd and rules watching execve and connect (Debian auditd),
# and prints each rate and its ratio to the baseline.  Then it raises the
# exec rate (more workers) with picketd running and prints, per step, the
# rate reached and the events picketd's kernel side lost (ring full) or
# rate-limited: the rate where loss begins.
set -eu

SMOKE=0
if [ "${1:-}" = "--smoke" ]; then SMOKE=1; shift; fi
REPO=$(cd "$(dirname "$0")/../.." && pwd)
PICKETD=${1:-$REPO/build/picketd}
[ "$(id -u)" = 0 ] || { echo "ebpf_bench: needs root" >&2; exit 1; }
[ -x "$PICKETD" ] || { echo "ebpf_bench: $PICKETD missing (make)" >&2; exit 1; }

W=$(nproc)
N=4000
STEPS="1 2 4 8"
RUNS=${PICKET_BENCH_RUNS:-3}
[ $SMOKE = 1 ] && { N=300; STEPS="$W"; RUNS=1; }
PORT=9	# discard: nothing listens, connects are refused at once

TMP=$(mktemp -d)
APID=""
cleanup() {
	if [ -n "$APID" ]; then kill "$APID" 2>/dev/null || true; fi
	rm -rf "$TMP"
}
trap cleanup EXIT
cc -O2 -o "$TMP/load" "$REPO/tests/bench/ebpf_load.c"
cat > "$TMP/picket.ini" <<INI
[pcap]
interfaces = lo
[process]
rate_limit = 1000000
${PICKET_BENCH_PROCESS:-}
INI

load() { "$TMP/load" "$1" "$2" $PORT | awk '{print $2}'; }

start_agent() {
	"$PICKETD" -f -c "$TMP/picket.ini" -o "$TMP/out.json" 2>"$TMP/err.txt" &
	APID=$!
	i=0
	until grep -q "hooks attached" "$TMP/err.txt" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 $APID 2>/dev/null; then
			cat "$TMP/err.txt" >&2
			echo "ebpf_bench: picketd did not attach" >&2
			exit 1
		fi
		sleep 0.1
	done
}

stop_agent() {
	kill -TERM $APID
	wait $APID || true
	APID=""
}

# sum of one kernel counter over event types, from the exit statistics
counter() { grep "stats: process.kernel\..*\.$1 " "$TMP/err.txt" | tail -n 9 |
	awk '{s += $NF} END {print s + 0}'; }

# median [min-max] of the numbers in file $1
summary() { sort -n "$1" | awk '{v[NR] = $1} END {if (NR == 0) {print "-"; exit}
	m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
	printf "%.3f [%.3f-%.3f] over %d runs", m, v[1], v[NR], NR}'; }
ratio() { echo "$1 $2" | awk '{printf "%.3f", $1 / $2}'; }

HAVE_AUDIT=0
if [ $SMOKE = 0 ]; then
	if command -v auditd >/dev/null && command -v auditctl >/dev/null; then
		HAVE_AUDIT=1
	else
		echo "auditd:          not installed (apt install auditd)"
	fi
fi
: > "$TMP/r.picketd"
: > "$TMP/r.auditd"
LOST=0
run=1
while [ $run -le $RUNS ]; do
	[ $RUNS -gt 1 ] && echo "run $run of $RUNS:"
	base=$(load "$W" "$N")
	echo "baseline:        $base rounds/s ($W workers x $N)"

	start_agent
	with=$(load "$W" "$N")
	stop_agent
	ratio "$with" "$base" >> "$TMP/r.picketd"
	echo "picketd:         $with rounds/s  ratio $(ratio "$with" "$base")"
	echo "                 lost $(counter lost), rate-limited $(counter rate_limited)"
	LOST=$((LOST + $(counter lost)))

	if [ $HAVE_AUDIT = 1 ]; then
		auditd -n >/dev/null 2>&1 &
		AUD=$!
		sleep 1
		auditctl -D >/dev/null
		auditctl -a always,exit -F arch=b64 -S execve -k pkbench >/dev/null
		auditctl -a always,exit -F arch=b64 -S connect -k pkbench >/dev/null
		auditctl -e 1 >/dev/null
		aud=$(load "$W" "$N")
		auditctl -D >/dev/null
		auditctl -e 0 >/dev/null
		kill $AUD; wait $AUD 2>/dev/null || true
		ratio "$aud" "$base" >> "$TMP/r.auditd"
		echo "auditd:          $aud rounds/s  ratio $(ratio "$aud" "$base")"
	fi
	run=$((run + 1))
done
echo "picketd ratio to the baseline: $(summary "$TMP/r.picketd"), $LOST events lost"
[ $HAVE_AUDIT = 1 ] &&
	echo "auditd ratio to the baseline:  $(summary "$TMP/r.auditd")"

echo "exec rate steps with picketd (workers: rounds/s, lost, rate-limited):"
for w in $STEPS; do
	start_agent
	r=$(load "$w" "$N")
	stop_agent
	echo "  $w: $r/s, lost $(counter lost), rate-limited $(counter rate_limited)"
done
