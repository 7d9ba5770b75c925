#!/bin/sh
# make run: the one-command demo.  A member CA made with `picket-hub ca
# init`, a local picket-hub (SQLite under build/run/), an agent on this
# host that enrols with a one-time token and then reports to the hub over
# mutual TLS, the hub's URL and a viewer token on the terminal, the
# agent's indicators on stdout.  Unless PICKET_REPLAY=0, worm and scan
# captures (written by tests/integration/wormgen.py, plus the sample
# captures in $PICKET_PCAPS or ../shared/data/pcaps when present) are
# replayed through a veth pair whose other end is in a network namespace
# made for it, so indicators appear within a minute.  Needs root to
# capture.  Stop with Ctrl-C: the agent reports every open indicator,
# ships the last of them, and the hub's store is summarised.
set -eu
bin=${1:-build/picketd}
hub=${2:-build/picket-hub}
if [ "$(id -u)" != 0 ]; then
	echo "make run: packet capture needs root; try: sudo make run" >&2
	exit 1
fi
top=$(cd "$(dirname "$0")/.." && pwd)
run=$top/build/run
pcaps=${PICKET_PCAPS:-$top/../shared/data/pcaps}
replay=${PICKET_REPLAY:-1}
mkdir -p "$run/tls" /var/lib/picket

cat >"$run/hub.ini" <<EOF
; written by packaging/run.sh for make run
[hub]
data_dir = $run/hub
listen = 127.0.0.1:7443
[api]
listen = 127.0.0.1:8443
ui_dir = $top/hub/ui
[tls]
ca = $run/tls/ca.crt
cert = $run/tls/hub.crt
key = $run/tls/hub.key
EOF
# The member CA and the hub's certificate, once (kept across runs).
[ -f "$run/hub/ca/ca.crt" ] ||
	"$hub" ca init -c "$run/hub.ini" --name "Picket demo member CA" \
	    --hub-name localhost --hub-ip 127.0.0.1 >/dev/null

# Its own session: Ctrl-C in the terminal must stop the agent first.
setsid "$hub" serve -c "$run/hub.ini" 2>"$run/hub.log" &
hubpid=$!
cleanup() {
	ip netns del pkdemo 2>/dev/null || true
	kill "$hubpid" 2>/dev/null || true
	wait "$hubpid" 2>/dev/null || true
}
trap cleanup EXIT
i=0
# The agent listener is announced after the API.
until grep -q "info: listening on" "$run/hub.log" 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$hubpid" 2>/dev/null; then
		cat "$run/hub.log" >&2
		echo "make run: picket-hub did not start" >&2
		exit 1
	fi
	sleep 0.1
done

# The agent enrols as a sysadmin's would: a one-time token, its own key,
# a certificate from the hub (docs/enrollment.md).  Once: the identity
# is kept across runs.
if [ ! -f "$run/agent/agent.crt" ]; then
	# A new identity must not ship what another one spooled.
	rm -rf /var/lib/picket/demo-spool
	tok=$("$hub" enroll-token create --uses 1 --expires 1h \
	    --tag demo -c "$run/hub.ini" 2>/dev/null)
	"$bin" enroll --hub 127.0.0.1:8443 --token "$tok" \
	    --ca "$run/tls/ca.crt" --dir "$run/agent" \
	    --server-name localhost >/dev/null
fi
agent_id=$(openssl x509 -in "$run/agent/agent.crt" -noout -subject \
    -nameopt RFC2253 | sed 's/^subject=CN=//')

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
dir = /var/lib/picket/demo-spool
[hub]
address = 127.0.0.1:7443
server_name = localhost
ca = $run/agent/ca.crt
cert = $run/agent/agent.crt
key = $run/agent/agent.key
EOF
"$bin" -n -c "$run/agent.ini" >/dev/null || exit 1

# A viewer token for the API (a new one each run).
"$hub" token revoke run-viewer -c "$run/hub.ini" >/dev/null 2>&1 || true
token=$("$hub" token create --role viewer --name run-viewer -c "$run/hub.ini")
echo "picket-hub: open https://127.0.0.1:8443/ in a browser (the demo CA is $run/tls/ca.crt)" >&2
echo "           and log in with this viewer token:" >&2
echo "    $token" >&2
echo "    curl --cacert $run/tls/ca.crt -H 'Authorization: Bearer $token' https://127.0.0.1:8443/api/v1/indicators" >&2
echo "picketd: enrolled as $agent_id; capturing on all interfaces; indicators" >&2
echo "         appear below as NDJSON and go to picket-hub on 127.0.0.1:7443 (log: $run/hub.log)." >&2
echo "picketd: try it from another shell, e.g. a port scan of this host's own" >&2
echo "         loopback:  for p in \$(seq 20000 20040); do (echo > /dev/tcp/127.0.0.1/\$p) 2>/dev/null; done" >&2

# The replay: frames leave pkdemo0 (captured there by the agent) and land
# in the namespace pkdemo, which has no other interface and forwards
# nothing, so no replayed packet can reach any real network.
demo_replay() {
	out=$run/demo-pcaps
	mkdir -p "$out"
	[ -n "$(ls "$out" 2>/dev/null)" ] ||
		/usr/bin/python3 "$top/tests/integration/wormgen.py" "$out" \
		    >/dev/null
	set -- "$out"/*-trigger.pcap
	for f in nmap_synscan ncsa_multiport_scan masscan_tcp_0_1000; do
		[ -f "$pcaps/$f.pcap" ] && set -- "$@" "$pcaps/$f.pcap"
	done
	ip netns del pkdemo 2>/dev/null || true
	ip netns add pkdemo
	ip netns exec pkdemo sysctl -qw net.ipv4.ip_forward=0 \
	    net.ipv6.conf.all.forwarding=0
	ip link add pkdemo0 type veth peer name pkdemo1 netns pkdemo
	sysctl -qw net.ipv6.conf.pkdemo0.disable_ipv6=1
	ip link set pkdemo0 up
	ip netns exec pkdemo ip link set pkdemo1 up
	# Wait for the agent's capture to be open.
	i=0
	while [ $i -lt 100 ] && ! pgrep -x pk-collector >/dev/null; do
		i=$((i + 1))
		sleep 0.2
	done
	sleep 2
	echo "make run: replaying $# captures through pkdemo0 (PICKET_REPLAY=0 turns this off)" >&2
	for f in "$@"; do
		tcpreplay -q -i pkdemo0 --topspeed "$f" >/dev/null 2>&1 ||
		    echo "make run: cannot replay $f" >&2
	done
}
if [ "$replay" != 0 ] && command -v tcpreplay >/dev/null; then
	demo_replay &
fi

# Ctrl-C reaches the agent (which stops in order) and this script alike.
trap '' INT
"$bin" -f -c "$run/agent.ini" -o - || true
echo "picket-hub stores (build/picket-hub indicators -c $run/hub.ini):" >&2
"$hub" indicators -c "$run/hub.ini" --limit 20 >&2 || true
