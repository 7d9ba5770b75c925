#!/bin/sh
# Run libFuzzer targets for a fixed time each.  Called by `make check-fuzz`
# (30 s each, part of `make check`) and `make fuzz` (FUZZ_SECONDS each).
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

failed=""
summary=""
ntargets=$#
# The word list is expanded once, so reusing "$@" for the flags is safe.
for bin in "$@"; do
	name=$(basename "$bin")
	[ -x "$bin" ] || { say "$name: $bin is not an executable"; failed="$failed $name"; continue; }
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
	done_line=$(grep -E '^Done [0-9]+ runs in' "$log" | tail -n 1 || true)
	if [ "$rc" -ne 0 ]; then
		tail -n 60 "$log"
		say "$name: FAILED (exit $rc); log $log; artifacts:"
		find "$artifacts" -type f | sed "s/^/  /"
		failed="$failed $name"
		summary="$summary
fuzz: $name: FAILED"
	else
		summary="$summary
fuzz: $name: ${done_line:-?}"
	fi
done

printf '%s\n' "$summary" | sed '/^$/d'
if [ -n "$failed" ]; then
	say "FAILED:$failed"
	exit 1
fi
say "all $ntargets targets passed"
