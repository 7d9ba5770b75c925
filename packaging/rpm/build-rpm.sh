#!/bin/sh
# build-rpm.sh - build picket-agent and picket-hub RPMs from the binaries
# `make all` made: reuse build-deb.sh's layout (stripped binaries, gzipped
# man pages and docs) by extracting the debs' data into one buildroot,
# move the units to /usr/lib/systemd/system, then rpmbuild -bb
# packaging/rpm/picket.spec.  Called by packaging/packaging.mk (`make rpm`)
# from the top of the source tree:
#   sh packaging/rpm/build-rpm.sh VERSION RELEASE BUILD OUTDIR
set -eu

version=$1 release=$2 build=$3 outdir=$4
command -v rpmbuild >/dev/null 2>&1 || {
	echo "$0: rpmbuild missing (apt-get install rpm)" >&2; exit 1; }
top=$(pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/picket-rpm.XXXXXX")
trap 'rm -rf "$work"' EXIT
buildroot=$work/stage
mkdir -p "$buildroot" "$work/debs"

for which in agent hub; do
	deb=$(sh packaging/deb/build-deb.sh "$which" "$version" "$build" "$work/debs")
	dpkg-deb -x "$deb" "$buildroot"
done
# The debs' Debian-only parts.
rm -rf "$buildroot/usr/share/lintian"
mkdir -p "$buildroot/usr/lib/systemd"
mv "$buildroot/lib/systemd/system" "$buildroot/usr/lib/systemd/system"
rm -rf "$buildroot/lib"
# A Debian changelog means nothing to rpm users; the spec has none.
rm -f "$buildroot"/usr/share/doc/picket-*/changelog.gz

# rpm's Version may not hold '-'.
rpmver=$(printf '%s' "$version" | tr '-' '_')
mkdir -p "$outdir"
PICKET_STAGE=$buildroot rpmbuild -bb --quiet \
    --define "_topdir $work/rpmbuild" \
    --define "_rpmdir $top/$outdir" \
    --define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" \
    --define "pkg_version $rpmver" \
    --define "pkg_release $release" \
    --define "_dbpath $work/rpmdb" \
    --buildroot "$work/buildroot" \
    packaging/rpm/picket.spec
ls "$outdir"/picket-agent-"$rpmver"-"$release".*.rpm \
   "$outdir"/picket-hub-"$rpmver"-"$release".*.rpm
