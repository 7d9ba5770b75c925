#!/bin/sh
# make run: run the agent live on this host, indicators on stdout, and a
# local picket-hub it reports to over mutual TLS (certificates made here
# with mkcerts.sh).  Needs root (or CAP_NET_RAW) to capture.  Stop with
# Ctrl-C: the agent reports every open indicator, ships the last of them,
# and the hub's store is summarised.
set -eu
bin=${1:-build/picketd}
hub=${2:-build/picket-hub}
if [ "$(id -u)" != 0 ]; then
	echo "make run: packet capture needs root; try: sudo make run" >&2
	exit 1
fi
top=$(cd "$(dirname "$0")/.." && pwd)
run=$top/build/run
mkdir -p "$run" /var/lib/picket
[ -f "$run/pki/agents/run-agent.crt" ] ||
	sh "$top/packaging/mkcerts.sh" -a run-agent "$run/pki" >/dev/null

cat >"$run/hub.ini" <<EOF
; written by packaging/run.sh for make run
[hub]
data_dir = $run/hub
listen = 127.0.0.1:7443
[api]
listen = 127.0.0.1:8443
ui_dir = $top/hub/ui
[tls]
ca = $run/pki/ca.crt
cert = $run/pki/hub.crt
key = $run/pki/hub.key
crl = $run/pki/ca.crl
EOF
# The rules and IOC lists of this tree, as a package installs them under
# /usr/share/picket; the agent's collector and shipper run as nobody (a
# package creates the picket user).
cat >"$run/agent.ini" <<EOF
; written by packaging/run.sh for make run
[agent]
user = nobody
[rules]
paths = $top/rules
[ioc]
paths = $top/rules/ioc
[spool]
dir = /var/lib/picket/run-spool
[hub]
address = 127.0.0.1:7443
server_name = localhost
ca = $run/pki/ca.crt
cert = $run/pki/agents/run-agent.crt
key = $run/pki/agents/run-agent.key
crl = $run/pki/ca.crl
EOF
"$bin" -n -c "$run/agent.ini" || exit 1

# Its own session: Ctrl-C in the terminal must stop the agent first.
setsid "$hub" serve -c "$run/hub.ini" 2>"$run/hub.log" &
hubpid=$!
stop_hub() {
	kill "$hubpid" 2>/dev/null || true
	wait "$hubpid" 2>/dev/null || true
}
trap stop_hub EXIT
i=0
until grep -q "listening on" "$run/hub.log" 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$hubpid" 2>/dev/null; then
		cat "$run/hub.log" >&2
		echo "make run: picket-hub did not start" >&2
		exit 1
	fi
	sleep 0.1
done

# A viewer token for the API (a new one each run).
"$hub" token revoke run-viewer -c "$run/hub.ini" >/dev/null 2>&1 || true
token=$("$hub" token create --role viewer --name run-viewer -c "$run/hub.ini")
echo "picket-hub: web UI on https://127.0.0.1:8443/ (the demo CA is $run/pki/ca.crt)" >&2
echo "           and the API (docs/api.md); log in with this viewer token:" >&2
echo "    $token" >&2
echo "    curl --cacert $run/pki/ca.crt -H 'Authorization: Bearer $token' https://127.0.0.1:8443/api/v1/indicators" >&2
echo "picketd: capturing on all interfaces; indicators appear below as NDJSON" >&2
echo "         and go to picket-hub on 127.0.0.1:7443 (log: $run/hub.log)." >&2
echo "picketd: try it from another shell, e.g. a port scan of this host's own" >&2
echo "         loopback:  for p in \$(seq 20000 20040); do (echo > /dev/tcp/127.0.0.1/\$p) 2>/dev/null; done" >&2
# Ctrl-C reaches the agent (which stops in order) and this script alike.
trap '' INT
"$bin" -f -c "$run/agent.ini" -o - || true
echo "picket-hub stores (build/picket-hub indicators -c $run/hub.ini):" >&2
"$hub" indicators -c "$run/hub.ini" --limit 20 >&2 || true
