#!/bin/sh
# Cross-build the portable core's unit tests for Windows and run them under
# wine.  Called by `make check-wine` (and so by `make check`); it is the proof
# that the core really is portable C, not just that it compiles with mingw.
#
# Steps, each cached so that a second run only rebuilds what changed:
#   1. cmocka for mingw, built from Debian's own cmocka source package into
#      $CACHE/cmocka-mingw-<version> (Debian ships no mingw cmocka).
#   2. a 64-bit wine prefix, $CACHE/wineprefix-<wine version>, created once
#      headless and non-interactive (no Mono/Gecko installers, no display).
#   3. the core (CORE_SRCS + WIN_SRCS) and tests/unit/test_*.c built into
#      build/win/ by the top-level Makefile's rules (tests/wine/win.mk).
#   4. each build/win/tests/test_X.exe run under wine; exit 1 if any fails.
#
# CACHE is /var/cache/picket, or ~/.cache/picket when that is not writable.
# Building cmocka the first time needs root (deb-src line, apt-get update).
# Env: PICKET_PCAPS (sample captures; default ../shared/data/pcaps from the
# repo), WINE_TEST_TIMEOUT (seconds per test binary, default 300).
set -eu

say() { printf 'wine: %s\n' "$*"; }
die() { printf 'wine: error: %s\n' "$*" >&2; exit 1; }

cd "$(dirname "$0")/../.."
REPO=$(pwd)
CROSS=x86_64-w64-mingw32
BUILD=build/win
TIMEOUT=${WINE_TEST_TIMEOUT:-300}

for tool in $CROSS-gcc $CROSS-ar wine wineboot wineserver make; do
	command -v "$tool" >/dev/null 2>&1 ||
	    die "$tool not found; run 'sh packaging/deps.sh' as root"
done

# --- cache directory and lock ---------------------------------------------
CACHE=${PICKET_CACHE:-/var/cache/picket}
if ! mkdir -p "$CACHE" 2>/dev/null || [ ! -w "$CACHE" ]; then
	CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/picket
	mkdir -p "$CACHE"
fi
# Two runs at once would race building the cache and share one wineserver.
# (fd 9 is closed for wine commands: a lingering wineserver must not keep
# the lock.)
if command -v flock >/dev/null 2>&1; then
	exec 9>"$CACHE/.lock"
	flock 9
fi

# --- 1. cmocka for mingw --------------------------------------------------
have_deb_src() {
	grep -Eqs '^[[:space:]]*(deb-src[[:space:]]|Types:.*deb-src)' \
	    /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
	    /etc/apt/sources.list.d/*.sources
}

add_deb_src() {
	# shellcheck disable=SC1091
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
	say "adding deb-src for $codename: /etc/apt/sources.list.d/picket-deb-src.sources"
	cat > /etc/apt/sources.list.d/picket-deb-src.sources <<EOF
# Added by Picket (tests/wine/run.sh): Debian source packages, used to
# cross-build cmocka for mingw from Debian's own cmocka source.
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $codename $codename-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
}

# apt-get source as root warns that _apt cannot read the target directory.
fetch_cmocka_src() {
	apt-get source -q -o APT::Sandbox::User=root "cmocka=$1" ||
	    apt-get source -q -o APT::Sandbox::User=root cmocka
}

build_cmocka() {
	ver=$1 dest=$2
	command -v dpkg-source >/dev/null 2>&1 ||
	    die "dpkg-source not found; run 'sh packaging/deps.sh' as root"
	tmp=$dest.tmp.$$
	rm -rf "$tmp"
	mkdir -p "$tmp/src" "$tmp/include" "$tmp/lib" "$tmp/obj"
	if ! (cd "$tmp/src" && fetch_cmocka_src "$ver") >"$tmp/apt.log" 2>&1; then
		[ "$(id -u)" = 0 ] || {
			rm -rf "$tmp"
			die "cannot fetch cmocka source; as root run: sh tests/wine/run.sh (adds a deb-src line, apt-get update)"
		}
		have_deb_src || add_deb_src
		say "apt-get update (source indexes)"
		apt-get update -q >"$tmp/apt.log" 2>&1 ||
		    { cat "$tmp/apt.log" >&2; die "apt-get update failed"; }
		(cd "$tmp/src" && fetch_cmocka_src "$ver") >"$tmp/apt.log" 2>&1 ||
		    { cat "$tmp/apt.log" >&2; die "apt-get source cmocka failed"; }
	fi
	srcdir=$(find "$tmp/src" -mindepth 1 -maxdepth 1 -type d -name 'cmocka-*' | head -n 1)
	if [ -z "$srcdir" ] || [ ! -f "$srcdir/src/cmocka.c" ]; then
		die "unexpected cmocka source layout in $tmp/src"
	fi
	# Upstream makes config.h with cmake; ours holds the same answers.
	cp tests/wine/cmocka_config.h "$tmp/obj/config.h"
	# Under mingw, format(printf) means the MS printf dialect, which has no
	# %zu; but with __USE_MINGW_ANSI_STDIO (the default for gnu99/gnu11)
	# printf is mingw's C99 one.  So cmocka's print_error() and fail_msg()
	# are declared gnu_printf in the installed header, else every test that
	# says fail_msg("%zu", n) fails -Wformat -Werror.  cmocka.c itself
	# still formats with MS-style %I64x, which mingw's printf also accepts:
	# hence -Wno-format for it alone.
	$CROSS-gcc -std=gnu99 -O2 -g -Wno-format -D__USE_MINGW_ANSI_STDIO=1 \
	    -DHAVE_CONFIG_H -I"$tmp/obj" -I"$srcdir/include" \
	    -c "$srcdir/src/cmocka.c" -o "$tmp/obj/cmocka.o"
	$CROSS-ar rcs "$tmp/lib/libcmocka.a" "$tmp/obj/cmocka.o"
	cp "$srcdir/include/cmocka_pbc.h" "$tmp/include/"
	sed 's/__format__ (__printf__, a, b)/__format__ (gnu_printf, a, b)/' \
	    "$srcdir/include/cmocka.h" >"$tmp/include/cmocka.h"
	grep -q 'gnu_printf' "$tmp/include/cmocka.h" ||
	    die "cmocka.h: CMOCKA_PRINTF_ATTRIBUTE not found to patch"
	echo "$CMOCKA_RECIPE" >"$tmp/.recipe"
	rm -rf "$dest"
	mv "$tmp" "$dest"
}

cm_ver=$(dpkg-query -W -f='${source:Version}' libcmocka-dev 2>/dev/null || true)
[ -n "$cm_ver" ] ||
    die "libcmocka-dev is not installed; run 'sh packaging/deps.sh' as root"
CMOCKA_WIN=$CACHE/cmocka-mingw-$cm_ver
# Bump when build_cmocka changes, so caches made by an older recipe rebuild.
CMOCKA_RECIPE=2
if [ -f "$CMOCKA_WIN/lib/libcmocka.a" ] && [ -f "$CMOCKA_WIN/include/cmocka.h" ] &&
    [ "$(cat "$CMOCKA_WIN/.recipe" 2>/dev/null)" = "$CMOCKA_RECIPE" ]; then
	say "cmocka $cm_ver for mingw: cached in $CMOCKA_WIN"
else
	say "cmocka $cm_ver for mingw: building from Debian source into $CMOCKA_WIN"
	build_cmocka "$cm_ver" "$CMOCKA_WIN"
fi

# --- 2. wine prefix --------------------------------------------------------
# Headless: no display to open; no Mono/Gecko install prompts; no menu
# entries; no 32-bit hint (WINEDEBUG=-all also silences Debian's wine32 nag).
unset DISPLAY WAYLAND_DISPLAY
WINEDEBUG=-all
WINEDLLOVERRIDES='mscoree,mshtml=;winemenubuilder.exe=d'
WINEARCH=win64
export WINEDEBUG WINEDLLOVERRIDES WINEARCH

wine_ver=$(wine --version 2>/dev/null | sed 's/^wine-//; s/[^A-Za-z0-9.+-][^A-Za-z0-9.+-]*/_/g; s/_$//')
[ -n "$wine_ver" ] || die "'wine --version' printed nothing"
WINEPREFIX=$CACHE/wineprefix-$wine_ver
if [ -f "$WINEPREFIX/.picket-ready" ]; then
	say "wine prefix: cached in $WINEPREFIX"
else
	say "wine prefix: creating $WINEPREFIX (once; takes a while)"
	tmp=$WINEPREFIX.tmp.$$
	# A prefix is ~700 MB: drop those of other wine versions.
	rm -rf "$CACHE"/wineprefix-*
	# A prefix holds no absolute path to itself, so it can be moved into
	# place once complete; wineserver -w waits until the registry is saved.
	WINEPREFIX=$tmp wineboot -i >"$CACHE/wineboot.log" 2>&1 9>&- ||
	    { cat "$CACHE/wineboot.log" >&2; die "wineboot -i failed"; }
	WINEPREFIX=$tmp wineserver -w 9>&-
	[ -f "$tmp/system.reg" ] || die "wineboot made no registry in $tmp"
	touch "$tmp/.picket-ready"
	mv "$tmp" "$WINEPREFIX"
fi
export WINEPREFIX

# --- 3. cross-build --------------------------------------------------------
# Explicit overrides: flags such as SAN or CFLAGS given to a parent make are
# for the native build and would break mingw.
winmake() {
	make --no-print-directory -f Makefile -f tests/wine/win.mk \
	    BUILD=$BUILD CC=$CROSS-gcc AR=$CROSS-ar OPT='-O2 -g' SAN= \
	    CFLAGS= LDFLAGS= CMOCKA_WIN="$CMOCKA_WIN" "$@"
}
skipped=$(winmake -s wine-skipped)
[ -z "$skipped" ] || say "not run under wine (need more than the core): $skipped"
exes=$(winmake -s wine-list)
[ -n "$exes" ] || die "no unit tests to run (tests/unit/test_*.c)"
say "building $BUILD with $CROSS-gcc"
# -k: build every test that can be built and run those; a test that did
# not build still fails the suite below.
build_rc=0
winmake -k -j"$(nproc 2>/dev/null || echo 2)" wine-build || build_rc=$?

# --- 4. run ----------------------------------------------------------------
# Absolute Windows path: wine maps / to drive Z:.
pcaps=${PICKET_PCAPS:-$REPO/../shared/data/pcaps}
if [ -d "$pcaps" ]; then
	pcaps=$(cd "$pcaps" && pwd -P)
	# shellcheck disable=SC1003
	PICKET_PCAPS="Z:$(printf '%s' "$pcaps" | tr '/' '\\')"
	export PICKET_PCAPS
else
	say "warning: no sample captures at $pcaps"
fi

log=$BUILD/wine-test.log
passed=0 failed=0 bad=""
for exe in $exes; do
	if [ ! -f "$exe" ]; then
		echo "== $exe: not built (compile error above)"
		failed=$((failed + 1))
		bad="$bad $exe"
		continue
	fi
	echo "== $exe (wine)"
	rc=0
	timeout "$TIMEOUT" wine "$exe" >"$log" 2>&1 9>&- || rc=$?
	# Wine itself, not the test, failed: its client lost the wineserver
	# before the program ran (seen once in a CI run).  Start a fresh
	# wineserver and run it once more; a test that ran and failed is
	# never retried.
	if [ "$rc" -ne 0 ] && ! grep -q '^\[==========\]' "$log" &&
	    grep -q '^wine client error' "$log"; then
		cat "$log"
		echo "wine: $exe: wine failed before the test started; once more"
		wineserver -k 2>/dev/null || true
		rc=0
		timeout "$TIMEOUT" wine "$exe" >"$log" 2>&1 9>&- || rc=$?
	fi
	cat "$log"
	p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test.*/\1/p' "$log" | tail -n 1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test.*/\1/p' "$log" | tail -n 1)
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	if [ "$rc" -ne 0 ]; then
		[ "$rc" -ne 124 ] || echo "wine: $exe timed out after ${TIMEOUT}s"
		# A crash before cmocka's summary still counts as a failure.
		[ -n "$f" ] && [ "$f" -gt 0 ] || failed=$((failed + 1))
		bad="$bad $exe"
	fi
done
rm -f "$log"
wineserver -k 2>/dev/null || true

[ "$build_rc" -eq 0 ] || say "the cross-build failed (make exit $build_rc)"
if [ -n "$bad" ] || [ "$build_rc" -ne 0 ]; then
	say "FAILED:$bad"
	echo "wine: $passed passed, $failed failed"
	exit 1
fi
echo "wine: $passed passed, $failed failed"
