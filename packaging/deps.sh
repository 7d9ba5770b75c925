#!/bin/sh
# Install the Debian 12 (bookworm) packages that building, testing and
# running Picket need.  Called by `make deps` (and so by `make check` and
# `make run`); safe to run any number of times.  When everything is present
# it only asks dpkg and returns in well under a second; otherwise, as root,
# it runs apt-get update and installs what is missing.  Not root and
# something missing: it names the packages and exits 1.
#
# Why each group is here:
#   build-essential pkg-config libpcap-dev libinih-dev zlib1g-dev libssl-dev
#                              build picketd
#   libcmocka-dev              unit tests
#   clang libclang-rt-14-dev   libFuzzer (-fsanitize=fuzzer needs the rt lib)
#   gcc-mingw-w64-x86-64 wine wine64
#                              cross-build the portable core and run its unit
#                              tests; wine64 is the 64-bit loader (bookworm's
#                              `wine` accepts wine32 or wine64: say which)
#   dpkg-dev                   apt-get source cmocka (mingw cmocka is built
#                              from Debian's source by tests/wine/run.sh)
#   python3 python3-pytest python3-jsonschema python3-scapy tcpdump iproute2
#   curl dnsutils procps       integration tests (captures, namespaces, traffic)
#   tcpreplay                  replays captures onto a veth for the live tests
#   libz-mingw-w64-dev         zlib for the Windows build of the transport
#   libsqlite3-dev             the hub's default store
#   libpq-dev postgresql       the hub's PostgreSQL store (several hubs over
#                              one database) and the server its tests start
#                              (tests/pg/pgserver.sh: a private cluster on a
#                              Unix socket; Debian's own cluster is unused)
#   libevent-dev libjansson-dev
#                              the hub's HTTPS API (libevent's evhttp with its
#                              OpenSSL bufferevents) and its JSON (jansson)
#   chromium (+ nodejs npm when the machine has no node/npm of its own)
#                              the web UI's browser test: playwright-core from
#                              the npm registry drives Debian's chromium
#   poppler-utils              pdftotext, pdfinfo, pdftoppm: check the hub's
#                              after-action report PDFs
#   wixl msitools              build the Windows agent's MSI (make msi) and
#                              read its tables
#   libbpf-dev libelf-dev bpftool
#                              the eBPF process collector: libbpf and its ELF
#                              library; vmlinux.h and skeleton generation
#   suricata (bookworm-backports: bookworm itself has none)
#                              the reference the rule engine's alerts are
#                              compared with on the same captures; its
#                              service is disabled, the tests run it by hand
# --no-install-recommends: wine's recommends are fonts, GL, sound and
# GStreamer plugins; the headless console tests need none of them.
set -eu

PKGS="build-essential pkg-config libpcap-dev libinih-dev zlib1g-dev libssl-dev
libcmocka-dev clang libclang-rt-14-dev gcc-mingw-w64-x86-64 wine wine64
dpkg-dev python3 python3-pytest python3-jsonschema python3-scapy tcpdump
iproute2 curl dnsutils procps tcpreplay libbpf-dev libelf-dev bpftool
libz-mingw-w64-dev libsqlite3-dev libevent-dev libjansson-dev chromium
poppler-utils debootstrap lintian rpm time tshark wixl msitools libpq-dev
postgresql"
BACKPORTS_PKGS="suricata"

say() { printf 'deps: %s\n' "$*"; }

# A node/npm installed another way (e.g. NodeSource's nodejs, which
# bundles npm and conflicts with Debian's npm) is used as it is.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1
then
	PKGS="$PKGS nodejs npm"
fi

command -v dpkg-query >/dev/null 2>&1 || {
	say "dpkg-query not found: this script is for Debian 12 (bookworm)"
	exit 1
}

# One dpkg-query for all; packages it has never heard of print nothing.
# shellcheck disable=SC2086
installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' $PKGS 2>/dev/null |
    awk '$2 == "ii" { print $1 }') || true
missing=""
n=0 nmissing=0
for p in $PKGS; do
	n=$((n + 1))
	printf '%s\n' "$installed" | grep -qx "$p" && continue
	missing="$missing $p"
	nmissing=$((nmissing + 1))
done
# shellcheck disable=SC2086
bp_installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' $BACKPORTS_PKGS 2>/dev/null |
    awk '$2 == "ii" { print $1 }') || true
bp_missing=""
for p in $BACKPORTS_PKGS; do
	n=$((n + 1))
	printf '%s\n' "$bp_installed" | grep -qx "$p" && continue
	bp_missing="$bp_missing $p"
done

if [ -z "$missing" ] && [ -z "$bp_missing" ]; then
	say "all $n packages present"
	exit 0
fi
missing=${missing# }
bp_missing=${bp_missing# }
say "missing: $missing${bp_missing:+ (backports: $bp_missing)}"

if [ "$(id -u)" != 0 ]; then
	say "not root; as root run: apt-get update && apt-get install --no-install-recommends $missing${bp_missing:+ && apt-get install -t bookworm-backports $bp_missing}"
	exit 1
fi

if [ -n "$bp_missing" ] &&
    ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d; then
	say "adding bookworm-backports to apt sources"
	cat >/etc/apt/sources.list.d/picket-backports.sources <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
fi

export DEBIAN_FRONTEND=noninteractive
say "apt-get update"
apt-get update -q -o DPkg::Lock::Timeout=300 >/tmp/picket-deps-update.log 2>&1 || {
	cat /tmp/picket-deps-update.log >&2
	say "apt-get update failed"
	exit 1
}
install() {
	say "apt-get install $*"
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends \
	    -o DPkg::Lock::Timeout=300 "$@" >/tmp/picket-deps-install.log 2>&1 || {
		tail -n 30 /tmp/picket-deps-install.log >&2
		say "apt-get install failed (full log: /tmp/picket-deps-install.log)"
		exit 1
	}
}
# shellcheck disable=SC2086
[ -z "$missing" ] || install $missing
if [ -n "$bp_missing" ]; then
	# shellcheck disable=SC2086
	install -t bookworm-backports $bp_missing
	# Suricata is the tests' reference, run by hand on files: its
	# service must not sniff this machine's interfaces.
	if command -v systemctl >/dev/null 2>&1; then
		systemctl disable --now suricata >/dev/null 2>&1 || true
	fi
fi
say "installed the missing packages"
