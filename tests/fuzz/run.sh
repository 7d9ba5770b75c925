#!/bin/sh
# Run libFuzzer targets for a fixed time each.  Called by `make check-fuzz`
# (20 s each, part of `make check`) and `make fuzz` (FUZZ_SECONDS each),
# FUZZ_JOBS at a time.
#
#   sh tests/fuzz/run.sh SECONDS BIN...
#
# Each BIN (e.g. build/fuzz/fuzz_decode) gets its own working corpus in
# build/fuzz/corpus/NAME, where new inputs are kept between runs, and also
# reads the committed seeds in tests/fuzz/corpus/NAME when that exists (the
# first corpus dir is the one libFuzzer writes to, so seeds stay untouched).
# tests/fuzz/NAME.dict, if present, is passed as the dictionary.
# Crashes, leaks, timeouts, OOMs and UBSan reports all fail the run (exit 1);
# the reproducer lands in build/fuzz/artifacts/NAME/, the log in
# build/fuzz/NAME.log.  Reproduce with: build/fuzz/NAME ARTIFACT
set -eu

say() { printf 'fuzz: %s\n' "$*"; }

if [ $# -lt 2 ]; then
	echo "usage: sh tests/fuzz/run.sh SECONDS BIN..." >&2
	exit 2
fi
secs=$1
shift
case $secs in
''|*[!0-9]*) echo "fuzz: SECONDS must be a number, got '$secs'" >&2; exit 2 ;;
esac

REPO=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$REPO/build/fuzz

# UBSan reports are only warnings unless built with -fno-sanitize-recover;
# halt_on_error makes them crashes here either way.
UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS ASAN_OPTIONS

# Targets run FUZZ_JOBS at a time (default: the machine's processors, at
# most 4): each libFuzzer process is one thread, so two cores halve the
# wall time of `make check-fuzz` without shortening any target's run.
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
case $jobs in ''|*[!0-9]*|0) jobs=1 ;; esac
[ "$jobs" -le 4 ] || jobs=4

# One target: its log in $OUT/NAME.log, its outcome in $OUT/NAME.status.
run_one() {
	bin=$1
	name=$(basename "$bin")
	status=$OUT/$name.status
	if [ ! -x "$bin" ]; then
		say "$name: $bin is not an executable"
		echo "FAILED" >"$status"
		return
	fi
	corpus=$OUT/corpus/$name
	artifacts=$OUT/artifacts/$name
	log=$OUT/$name.log
	mkdir -p "$corpus" "$artifacts"
	set -- -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
	    -print_final_stats=1 -artifact_prefix="$artifacts/"
	[ ! -f "$REPO/tests/fuzz/$name.dict" ] ||
	    set -- "$@" -dict="$REPO/tests/fuzz/$name.dict"
	set -- "$@" "$corpus"
	[ ! -d "$REPO/tests/fuzz/corpus/$name" ] ||
	    set -- "$@" "$REPO/tests/fuzz/corpus/$name"

	say "$name: ${secs}s, corpus $corpus ($(find "$corpus" -type f | wc -l) inputs)"
	rc=0
	"$bin" "$@" >"$log" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "FAILED $rc" >"$status"
	else
		echo "ok $(grep -E '^Done [0-9]+ runs in' "$log" | tail -n 1 ||
		    true)" >"$status"
	fi
}

mkdir -p "$OUT"
ntargets=$#
n=0
for bin in "$@"; do
	rm -f "$OUT/$(basename "$bin").status"
	run_one "$bin" &
	n=$((n + 1))
	[ $((n % jobs)) -ne 0 ] || wait
done
wait

# The outcomes in the order given, then each failure's log tail and
# artifacts last, where a CI log that keeps only its end still shows them.
failed=""
summary=""
for bin in "$@"; do
	name=$(basename "$bin")
	status=$(cat "$OUT/$name.status" 2>/dev/null || echo "FAILED")
	case $status in
	ok*)
		done_line=${status#ok }
		summary="$summary
fuzz: $name: ${done_line:-?}" ;;
	*)
		failed="$failed $name"
		summary="$summary
fuzz: $name: $status" ;;
	esac
done

printf '%s\n' "$summary" | sed '/^$/d'
if [ -n "$failed" ]; then
	for name in $failed; do
		say "---- $name: the end of $OUT/$name.log"
		[ ! -f "$OUT/$name.log" ] ||
		    grep -v -E '^#[0-9]+|^INFO:|NEW_FUNC' "$OUT/$name.log" |
		    tail -n 40
		say "$name: artifacts (reproduce with $OUT/$name ARTIFACT):"
		find "$OUT/artifacts/$name" -type f 2>/dev/null | sed "s/^/  /"
		for a in $(find "$OUT/artifacts/$name" -type f 2>/dev/null |
		    head -n 3); do
			say "  $(basename "$a") in hex:"
			od -An -tx1 -v "$a" | head -n 16
		done
	done
	say "FAILED:$failed"
	exit 1
fi
say "all $ntargets targets passed"
