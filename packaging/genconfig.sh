#!/bin/sh
# genconfig.sh PICKETD - write the files generated from the agent's option
# tables (agent/config.c): docs/configuration.md, packaging/agent.ini
# (every option commented out at its default) and
# packaging/man/picket-agent.ini.5 (its OPTIONS section), the last two from
# their .in templates, whose @OPTIONS@ line the generated text replaces.
# Run by `make docs`.  With --check it writes nothing and exits 1 when a
# committed file differs from what it would write (tests/integration/
# test_cli.py runs that).
set -eu
check=0
if [ "${1:-}" = --check ]; then
	check=1
	shift
fi
bin=${1:-build/picketd}
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fill() {	# template marker generated output
	# ENVIRON, not -v: awk would read the backslash in '.\" ' as an escape.
	MARKER=$2 GEN=$3 awk '
	    $0 == ENVIRON["MARKER"] {
		while ((getline line < ENVIRON["GEN"]) > 0) print line
		next
	    }
	    { print }' "$1" > "$4"
}

"$bin" --config-doc > "$tmp/configuration.md"
"$bin" --config-ini > "$tmp/ini"
"$bin" --config-man > "$tmp/man"
fill "$top/packaging/agent.ini.in" "@OPTIONS@" "$tmp/ini" "$tmp/agent.ini"
fill "$top/packaging/man/picket-agent.ini.5.in" '.\" @OPTIONS@' "$tmp/man" \
    "$tmp/picket-agent.ini.5"
if [ $check = 1 ]; then
	rc=0
	for f in docs/configuration.md packaging/agent.ini \
	    packaging/man/picket-agent.ini.5; do
		if ! cmp -s "$tmp/$(basename "$f")" "$top/$f"; then
			echo "genconfig: $f is not what the option tables say" \
			    "(run make docs)" >&2
			rc=1
		fi
	done
	exit $rc
fi
cp "$tmp/configuration.md" "$top/docs/configuration.md"
cp "$tmp/agent.ini" "$top/packaging/agent.ini"
cp "$tmp/picket-agent.ini.5" "$top/packaging/man/picket-agent.ini.5"
