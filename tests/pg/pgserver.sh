#!/bin/sh
# tests/pg/pgserver.sh - a private PostgreSQL server for the tests and
# benchmarks: its own cluster in a directory, listening only on a Unix
# socket in that directory (no TCP port, nothing reachable from outside),
# run as the postgres user (the server refuses root).
#
#   pgserver.sh start DIR     make (if needed) and start the cluster; print
#                             the libpq connection string on stdout
#   pgserver.sh stop DIR      stop it (the directory stays)
#   pgserver.sh dsn DIR       print the connection string
#
# Debian's postgresql package installs the binaries; its own cluster
# (pg_ctlcluster) is not used or touched.
set -eu

cmd=${1:?usage: pgserver.sh start|stop|dsn DIR}
dir=${2:?usage: pgserver.sh start|stop|dsn DIR}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bin" ] && [ -x "$bin/pg_ctl" ] || {
	echo "pgserver: no PostgreSQL server installed (apt-get install postgresql)" >&2
	exit 1
}
port=5439
dsn="host=$dir port=$port dbname=picket user=postgres"

as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

case $cmd in
start)
	mkdir -p "$dir"
	[ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
	chmod 700 "$dir"
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		as_pg "$bin/initdb" -D "$dir/data" -U postgres -A trust \
			-E UTF8 --no-locale >"$dir/initdb.log" 2>&1 || {
			cat "$dir/initdb.log" >&2; exit 1; }
	fi
	if ! as_pg "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
		as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
			-o "-c listen_addresses='' -k $dir -p $port -c fsync=on \
			-c max_connections=200 -c shared_buffers=128MB" \
			start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
	fi
	as_pg "$bin/psql" -h "$dir" -p $port -U postgres -d postgres -qAt \
		-c "SELECT 1 FROM pg_database WHERE datname = 'picket'" |
		grep -q 1 ||
		as_pg "$bin/createdb" -h "$dir" -p $port -U postgres picket
	echo "$dsn"
	;;
stop)
	as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
	;;
dsn)
	echo "$dsn"
	;;
*)
	echo "usage: pgserver.sh start|stop|dsn DIR" >&2
	exit 2
	;;
esac
