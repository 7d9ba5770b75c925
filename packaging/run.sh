#!/bin/sh
# make run: run the agent live on this host, indicators on stdout.
# Needs root (or CAP_NET_RAW) to capture.  Stop with Ctrl-C: the agent then
# reports every open indicator and its statistics.
set -eu
bin=${1:-build/picketd}
if [ "$(id -u)" != 0 ]; then
	echo "make run: packet capture needs root; try: sudo make run" >&2
	exit 1
fi
# The rules and IOC lists of this tree, as a package installs them under
# /usr/share/picket; everything else is the built-in default.
top=$(cd "$(dirname "$0")/.." && pwd)
cfg=$top/build/run-agent.ini
cat >"$cfg" <<EOF
; written by packaging/run.sh for make run
[rules]
paths = $top/rules
[ioc]
paths = $top/rules/ioc
EOF
"$bin" -n -c "$cfg" || exit 1
echo "picketd: capturing on all interfaces; indicators appear below as NDJSON." >&2
echo "picketd: try it from another shell, e.g. a port scan of this host's own" >&2
echo "         loopback:  for p in \$(seq 20000 20040); do (echo > /dev/tcp/127.0.0.1/\$p) 2>/dev/null; done" >&2
exec "$bin" -f -c "$cfg" -o -
