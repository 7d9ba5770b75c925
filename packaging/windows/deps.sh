#!/bin/sh
# Fetch, cross-build and cache the libraries the Windows agent links
# statically: OpenSSL and inih, each built with mingw-w64 from Debian's own
# source package (Debian ships neither for mingw), and zlib from Debian's
# libz-mingw-w64-dev.  Called by mk/windows.mk (`make windows`) before the
# link; safe to run any number of times: a library whose cache directory is
# complete is reused and the script says so.
#
#   $CACHE/openssl-mingw-<debian version>/{include,lib}  (libssl.a libcrypto.a)
#   $CACHE/inih-mingw-<debian version>/{include,lib}     (libinih.a)
#
# CACHE is /var/cache/picket (PICKET_CACHE), or ~/.cache/picket when that is
# not writable.  The OpenSSL build takes about 9 minutes on 2 CPUs; it is
# done once per Debian version.  The version wanted is the one of the
# installed libssl-dev (the Linux build's OpenSSL), so both agents run the
# same library; when that exact source is not in the apt indexes (security
# updates live in another archive), root adds a deb-src line for
# bookworm-security, and failing that the newest source apt offers is used.
#
# Output: the last line is "OPENSSL=<dir> INIH=<dir>", for the makefile.
# Fetching a source the first time needs root (deb-src lines, apt-get
# update) and the network to deb.debian.org.
set -eu

say() { printf 'windows-deps: %s\n' "$*" >&2; }
die() { printf 'windows-deps: error: %s\n' "$*" >&2; exit 1; }

cd "$(dirname "$0")/../.."
CROSS=x86_64-w64-mingw32
JOBS=$(nproc 2>/dev/null || echo 2)

for tool in $CROSS-gcc $CROSS-ar $CROSS-ranlib make perl dpkg-source apt-get; do
	command -v "$tool" >/dev/null 2>&1 ||
	    die "$tool not found; run 'sh packaging/deps.sh' as root"
done
[ -f /usr/$CROSS/lib/libz.a ] && [ -f /usr/$CROSS/include/zlib.h ] ||
    die "no mingw zlib; install libz-mingw-w64-dev ('sh packaging/deps.sh' as root)"
say "zlib: /usr/$CROSS/lib/libz.a (libz-mingw-w64-dev)"

CACHE=${PICKET_CACHE:-/var/cache/picket}
if ! mkdir -p "$CACHE" 2>/dev/null || [ ! -w "$CACHE" ]; then
	CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/picket
	mkdir -p "$CACHE"
fi
# Two builds at once would race on the same cache directory.  (The lock
# file is not tests/wine/run.sh's: that one is held across wine runs.)
if command -v flock >/dev/null 2>&1; then
	exec 8>"$CACHE/.lock-windows-deps"
	flock 8
fi

# --- source packages -------------------------------------------------------
# Does apt have a source index for this suite?  (Configured by any file,
# ours or the machine's: apt's own answer, not a guess from sources.list.)
have_src_suite() {
	apt-get indextargets --format '$(RELEASE)' 'Created-By: Sources' \
	    2>/dev/null | grep -qx "$1"
}

# Leave no half-made source or build directory behind on failure.
work="" tmp=""
trap 'rm -rf ${work:+"$work"} ${tmp:+"$tmp"}' EXIT
trap 'exit 1' INT TERM

codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")

# Same approach as tests/wine/run.sh: a deb-src stanza in a file of our own.
add_src() { # file uri suites
	[ "$(id -u)" = 0 ] || return 1
	say "adding deb-src $2 $3: /etc/apt/sources.list.d/$1"
	cat >"/etc/apt/sources.list.d/$1" <<EOF
# Added by Picket (packaging/windows/deps.sh): Debian source packages, used
# to cross-build OpenSSL and inih for mingw from Debian's own sources.
Types: deb-src
URIs: $2
Suites: $3
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
	say "apt-get update (source indexes)"
	apt-get update -q >"$CACHE/windows-deps-apt.log" 2>&1 ||
	    { cat "$CACHE/windows-deps-apt.log" >&2; die "apt-get update failed"; }
}

ensure_deb_src() {
	have_src_suite "$codename" && return 0
	add_src picket-deb-src.sources http://deb.debian.org/debian \
	    "$codename $codename-updates" ||
	    die "no deb-src line for $codename; as root run: sh packaging/windows/deps.sh"
}

# Newest source version apt knows for a package, or nothing.
src_version() {
	apt-cache showsrc --only-source "$1" 2>/dev/null |
	    sed -n 's/^Version: //p' | sort -V | tail -n 1
}

# apt-get source as root warns that _apt cannot read the target directory.
fetch_src() { # dir package version
	(cd "$1" && apt-get source -q -o APT::Sandbox::User=root "$2=$3") \
	    >"$1/apt.log" 2>&1
}

# --- OpenSSL ---------------------------------------------------------------
# Bump when build_openssl changes, so caches made by an older recipe rebuild.
OPENSSL_RECIPE=1

openssl_ready() {
	[ -f "$1/lib/libssl.a" ] && [ -f "$1/lib/libcrypto.a" ] &&
	    [ -f "$1/include/openssl/ssl.h" ] &&
	    [ "$(cat "$1/.recipe" 2>/dev/null)" = "$OPENSSL_RECIPE" ]
}

build_openssl() { # version srcroot dest
	ver=$1 src=$2 dest=$3
	dir=$(find "$src" -mindepth 1 -maxdepth 1 -type d -name 'openssl-*' | head -n 1)
	[ -n "$dir" ] && [ -x "$dir/Configure" ] ||
	    die "unexpected openssl source layout in $src"
	tmp=$dest.tmp.$$
	rm -rf "$tmp"
	say "openssl $ver: configuring for mingw64 (log: $src/build.log)"
	start=$(date +%s)
	# build_libs + install_dev: the libraries and headers only, not the
	# openssl.exe program or the manual pages.
	(cd "$dir" &&
	    ./Configure mingw64 --cross-compile-prefix=$CROSS- no-shared \
		no-tests --prefix="$tmp" --libdir=lib &&
	    make -j"$JOBS" build_libs &&
	    make install_dev) >"$src/build.log" 2>&1 ||
	    { tail -n 40 "$src/build.log" >&2; die "openssl build failed"; }
	end=$(date +%s)
	say "openssl $ver: built in $((end - start)) s"
	rm -rf "$tmp/lib/pkgconfig" "$tmp/lib/engines-3" "$tmp/lib/ossl-modules"
	echo "$OPENSSL_RECIPE" >"$tmp/.recipe"
	echo "$ver" >"$tmp/.version"
	rm -rf "$dest"
	mv "$tmp" "$dest"
}

# Candidates, best first: the installed libssl-dev's version, then every
# source version apt knows, newest first.  The first one cached is reused;
# otherwise the first one that can be fetched is built.  (Here the mirror
# lists bookworm-security's sources but serves none of them: 3.0.22 from
# security is installed, 3.0.20 from bookworm-updates is what builds.)
src_versions() {
	apt-cache showsrc --only-source "$1" 2>/dev/null |
	    sed -n 's/^Version: //p' | sort -rV | uniq
}
inst_ossl=$(dpkg-query -W -f='${source:Version}' libssl-dev 2>/dev/null || true)
cands=$(printf '%s\n%s\n' "$inst_ossl" "$(src_versions openssl)" | awk 'NF && !seen[$0]++')
OPENSSL=""
for v in $cands; do
	if openssl_ready "$CACHE/openssl-mingw-$v"; then
		OPENSSL=$CACHE/openssl-mingw-$v
		say "openssl $v for mingw: reused $OPENSSL"
		break
	fi
done
if [ -z "$OPENSSL" ]; then
	ensure_deb_src
	# Security updates: their sources are in debian-security.
	if [ -n "$inst_ossl" ] && ! src_versions openssl | grep -qxF "$inst_ossl" &&
	    ! have_src_suite "$codename-security"; then
		add_src picket-deb-src-security.sources \
		    http://deb.debian.org/debian-security "$codename-security" || true
		cands=$(printf '%s\n%s\n' "$inst_ossl" "$(src_versions openssl)" | awk 'NF && !seen[$0]++')
	fi
	work=$(mktemp -d "$CACHE/openssl-src.XXXXXX")
	got=""
	for v in $cands; do
		rm -rf "$work" && mkdir -p "$work"
		if fetch_src "$work" openssl "$v"; then
			got=$v
			break
		fi
		say "openssl $v: source not fetchable; trying the next version"
	done
	[ -n "$got" ] || { cat "$work/apt.log" >&2; die "apt-get source openssl failed"; }
	[ "$got" = "$inst_ossl" ] ||
	    say "openssl: building $got (the installed libssl-dev is ${inst_ossl:-none})"
	OPENSSL=$CACHE/openssl-mingw-$got
	say "openssl $got for mingw: building into $OPENSSL (about 9 minutes)"
	build_openssl "$got" "$work" "$OPENSSL"
	rm -rf "$work"
fi

# --- inih ------------------------------------------------------------------
INIH_RECIPE=1

inih_ready() {
	[ -f "$1/lib/libinih.a" ] && [ -f "$1/include/ini.h" ] &&
	    [ "$(cat "$1/.recipe" 2>/dev/null)" = "$INIH_RECIPE" ]
}

# Upstream builds with meson; ini.c is one file, compiled here directly
# (Debian's patches applied by apt-get source).  The options hardly
# matter: agent/config_ini.c hands inih only normalised lines.
# inih's own defaults, stated so the build does not depend on them, and a
# 2003-byte line: agent/config_ini.c's longest line (2000) plus newline and
# NUL, which Debian's patched inih lets it set at run time (ini_max_line)
# but an unpatched one fixes here.
INIH_DEFS="-DINI_ALLOW_MULTILINE=1 -DINI_ALLOW_BOM=1 -DINI_ALLOW_INLINE_COMMENTS=1 -DINI_USE_STACK=1 -DINI_MAX_LINE=2003 -DINI_ALLOW_REALLOC=0 -DINI_STOP_ON_FIRST_ERROR=0 -DINI_HANDLER_LINENO=0 -DINI_CALL_HANDLER_ON_NEW_SECTION=0 -DINI_ALLOW_NO_VALUE=0"

build_inih() { # version srcroot dest
	ver=$1 src=$2 dest=$3
	dir=$(find "$src" -mindepth 1 -maxdepth 1 -type d -name 'libinih-*' | head -n 1)
	[ -n "$dir" ] && [ -f "$dir/ini.c" ] ||
	    die "unexpected libinih source layout in $src"
	tmp=$dest.tmp.$$
	rm -rf "$tmp"
	mkdir -p "$tmp/include" "$tmp/lib" "$tmp/obj"
	# shellcheck disable=SC2086  # one word per define
	$CROSS-gcc -std=gnu11 -O2 -g $INIH_DEFS -c "$dir/ini.c" -o "$tmp/obj/ini.o"
	$CROSS-ar rcs "$tmp/lib/libinih.a" "$tmp/obj/ini.o"
	cp "$dir/ini.h" "$tmp/include/"
	rm -rf "$tmp/obj"
	echo "$INIH_RECIPE" >"$tmp/.recipe"
	echo "$ver" >"$tmp/.version"
	echo "$INIH_DEFS" >"$tmp/.defines"
	rm -rf "$dest"
	mv "$tmp" "$dest"
}

# When Debian's source cannot be fetched (this machine's mirror serves the
# .dsc but not the tarballs), the Windows build falls back to
# packaging/windows/inih_min.c with the installed libinih-dev's header:
# the part of inih's API that agent/config_ini.c uses (see that file for
# why it is equivalent there).  Built into build/win/inih-min, not cached:
# it is a file of this tree.
build_inih_min() { # dest
	dest=$1
	[ -f /usr/include/ini.h ] ||
	    die "no /usr/include/ini.h; install libinih-dev ('sh packaging/deps.sh' as root)"
	if [ -f "$dest/include/ini.h" ] && [ -n "$(find "$dest/lib/libinih.a" \
	    -newer packaging/windows/inih_min.c 2>/dev/null)" ]; then
		say "inih: reused $dest (packaging/windows/inih_min.c)"
		return 0
	fi
	rm -rf "$dest"
	mkdir -p "$dest/include" "$dest/lib"
	cp /usr/include/ini.h "$dest/include/"
	$CROSS-gcc -std=gnu11 -O2 -g -Wall -Wextra -Werror -I"$dest/include" \
	    -c packaging/windows/inih_min.c -o "$dest/inih_min.o"
	$CROSS-ar rcs "$dest/lib/libinih.a" "$dest/inih_min.o"
	rm -f "$dest/inih_min.o"
	echo "fallback: packaging/windows/inih_min.c" >"$dest/.version"
}

inst_inih=$(dpkg-query -W -f='${source:Version}' libinih-dev 2>/dev/null || true)
cands=$(printf '%s\n%s\n' "$inst_inih" "$(src_versions libinih)" | awk 'NF && !seen[$0]++')
INIH=""
for v in $cands; do
	if inih_ready "$CACHE/inih-mingw-$v"; then
		INIH=$CACHE/inih-mingw-$v
		say "inih $v for mingw: reused $INIH"
		break
	fi
done
# A mirror that refused these versions once is not asked again on every
# build; PICKET_RETRY_SRC=1 (or removing the marker) asks again.
NOSRC=$CACHE/inih-src-unavailable
if [ -z "$INIH" ] && [ "${PICKET_RETRY_SRC:-0}" != 1 ] &&
    [ "$(cat "$NOSRC" 2>/dev/null)" = "$(echo $cands)" ]; then
	INIH=$(pwd)/build/win/inih-min
	say "inih: Debian's libinih source was not fetchable ($NOSRC);" \
	    "using packaging/windows/inih_min.c"
	build_inih_min "$INIH"
fi
if [ -z "$INIH" ]; then
	ensure_deb_src
	work=$(mktemp -d "$CACHE/inih-src.XXXXXX")
	got=""
	for v in $cands; do
		rm -rf "$work" && mkdir -p "$work"
		if fetch_src "$work" libinih "$v"; then
			got=$v
			break
		fi
	done
	if [ -z "$got" ]; then
		echo $cands >"$NOSRC"
	else
		rm -f "$NOSRC"
	fi
	if [ -n "$got" ]; then
		INIH=$CACHE/inih-mingw-$got
		say "inih $got for mingw: building into $INIH"
		build_inih "$got" "$work" "$INIH"
	else
		INIH=$(pwd)/build/win/inih-min
		say "inih: Debian's libinih source cannot be fetched here" \
		    "($(grep -m1 -o '[0-9]\{3\}  *Not Found' "$work/apt.log" || echo 'apt-get source failed'));" \
		    "using packaging/windows/inih_min.c in $INIH"
		build_inih_min "$INIH"
	fi
	rm -rf "$work"
fi

echo "OPENSSL=$OPENSSL INIH=$INIH"
