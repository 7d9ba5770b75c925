#!/bin/sh
# build-deb.sh - build picket-agent or picket-hub .deb from the binaries
# `make all` made, with dpkg-deb only (no debhelper): stage the tree,
# strip, gzip man pages and docs, compute Depends with dpkg-shlibdeps
# from a throw-away debian/ directory, write conffiles and md5sums.
# Called by packaging/packaging.mk (`make deb`); run from the top of the
# source tree:  sh packaging/deb/build-deb.sh agent|hub VERSION BUILD OUTDIR
set -eu

which=$1 version=$2 build=$3 outdir=$4
maint=${PKG_MAINTAINER:-"Picket maintainers <picket@example.org>"}
arch=$(dpkg --print-architecture)
top=$(pwd)

case $which in
agent)	pkg=picket-agent bin=picketd unit=picketd.service ini=agent.ini
	man8=picketd.8 man5=picket-agent.ini.5
	docs="docs/operations.md docs/configuration.md docs/enrollment.md
	      docs/privsep.md docs/spool.md docs/rules.md docs/ioc.md rules/README.md"
	section=net
	short="Picket host security agent (worm and virus indicators)"
	long=" picketd watches this host's own traffic (libpcap) and its processes
 (eBPF) for worm and virus indicators and reports them over mutual TLS
 to the member's Picket hub, spooling them on disk while the hub is
 unreachable.  Runs as a hardened systemd service; the collector and the
 shipper drop to the unprivileged picket user." ;;
hub)	pkg=picket-hub bin=picket-hub unit=picket-hub.service ini=hub.ini
	man8=picket-hub.8 man5=picket-hub.ini.5
	docs="docs/operations.md docs/hub.md docs/api.md docs/enrollment.md
	      docs/tls.md docs/ui.md docs/outbreaks.md docs/schema-hub.md
	      docs/tasks.md docs/incidents.md docs/peering.md"
	section=net
	short="Picket hub: agent listener, indicator store, API and web UI"
	long=" picket-hub receives indicators from Picket agents over mutual TLS,
 stores each exactly once in SQLite and serves them through an HTTPS
 JSON API and a web UI for SOC analysts; it runs the member CA that
 enrols agents." ;;
*)	echo "usage: $0 agent|hub VERSION BUILD OUTDIR" >&2; exit 2 ;;
esac

[ -x "$build/$bin" ] || { echo "$0: $build/$bin missing: run make all" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/picket-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
umask 022

# Binaries: stripped like dh_strip does (no debug sections, no .comment).
install -D -m 0755 "$build/$bin" "$root/usr/sbin/$bin"
strip --strip-unneeded --remove-section=.comment --remove-section=.note \
    "$root/usr/sbin/$bin"

# bookworm: units under /lib (not /usr/lib: dpkg's aliasing rules).
install -D -m 0644 "packaging/systemd/$unit" "$root/lib/systemd/system/$unit"
install -D -m 0644 "packaging/$ini" "$root/etc/picket/$ini"

if [ "$which" = agent ]; then
	install -d "$root/usr/share/picket/rules" "$root/usr/share/picket/ioc"
	install -m 0644 rules/*.rules "$root/usr/share/picket/rules/"
	install -m 0644 rules/ioc/*.txt "$root/usr/share/picket/ioc/"
else
	install -d "$root/usr/share/picket-hub/ui"
	for f in hub/ui/*; do
		[ -f "$f" ] && install -m 0644 "$f" "$root/usr/share/picket-hub/ui/"
	done
fi

# Man pages, gzipped without a time stamp (-n) so builds are reproducible.
install -D -m 0644 "packaging/man/$man8" "$root/usr/share/man/man8/$man8"
install -D -m 0644 "packaging/man/$man5" "$root/usr/share/man/man5/$man5"
gzip -9n "$root/usr/share/man/man8/$man8" "$root/usr/share/man/man5/$man5"

# Documentation: copyright, a Debian-format changelog (native package:
# changelog.gz), the docs that concern this package, gzipped as
# dh_compress would.
doc=$root/usr/share/doc/$pkg
install -d "$doc"
install -m 0644 packaging/deb/copyright "$doc/copyright"
for f in $docs; do
	[ -f "$f" ] || continue
	if [ "$f" = rules/README.md ]; then
		install -m 0644 "$f" "$doc/rules.README.md"
	else
		install -m 0644 "$f" "$doc/"
	fi
done
date_r=$(date -R -d "@${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")
printf 'picket (%s) unstable; urgency=medium\n\n  * Picket %s, built from the source tree.\n\n -- %s  %s\n' \
    "$version" "$version" "$maint" "$date_r" > "$doc/changelog"
find "$doc" -type f ! -name copyright -exec gzip -9n {} +

if [ -f "packaging/deb/$pkg.lintian-overrides" ]; then
	install -D -m 0644 "packaging/deb/$pkg.lintian-overrides" \
	    "$root/usr/share/lintian/overrides/$pkg"
fi

# Depends: dpkg-shlibdeps needs a debian/control naming the package.
mkdir -p "$work/src/debian"
printf 'Source: picket\n\nPackage: %s\nArchitecture: any\n' "$pkg" \
    > "$work/src/debian/control"
shlibs=$(cd "$work/src" && dpkg-shlibdeps -O -e"$root/usr/sbin/$bin" 2>/dev/null |
    sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "$0: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

install -d -m 0755 "$root/DEBIAN"
for s in postinst prerm postrm; do
	install -m 0755 "packaging/deb/$pkg.$s" "$root/DEBIAN/$s"
done
printf '/etc/picket/%s\n' "$ini" > "$root/DEBIAN/conffiles"
size=$(du -k -s --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<CTL
Package: $pkg
Version: $version
Architecture: $arch
Maintainer: $maint
Installed-Size: $size
Depends: adduser, $shlibs
Section: $section
Priority: optional
Description: $short
$long
CTL
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' |
    LC_ALL=C sort | xargs md5sum) > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums" "$root/DEBIAN/conffiles" "$root/DEBIAN/control"

mkdir -p "$outdir"
out="$outdir/${pkg}_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null
echo "$out"
