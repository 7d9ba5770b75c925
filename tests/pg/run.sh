#!/bin/sh
# tests/pg/run.sh BUILD... - the hub on PostgreSQL (make check-pg).
# Starts a private server (tests/pg/pgserver.sh) in a fresh directory;
# runs every unit test that opens its store through tests/unit/hubfix.c
# with PICKET_TEST_PG set (each fixture makes a schema of its own and
# drops it), once per build directory given (the plain and the ASan+UBSan
# builds); then the integration suites of the API, the web UI (a real
# browser), targeted collection and incidents against real hubs of the
# first build whose store is that server (PICKET_TEST_HUB_PG: a schema per
# hub); then stops the server.  The same binaries without the variables
# are the SQLite runs of make check-unit and check-integration.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
suites="test_hubstore test_hubtasks test_peerstore test_outbreak test_stix
test_share test_incidents test_bundles_hub"
dir=$(mktemp -d /tmp/picket-pg-check.XXXXXX)
chmod 755 "$dir"
trap 'sh "$here/pgserver.sh" stop "$dir/srv"; rm -rf "$dir"' EXIT INT TERM
dsn=$(sh "$here/pgserver.sh" start "$dir/srv")
echo "== PostgreSQL: $dsn"
export PICKET_TEST_PG="$dsn"
for build in "$@"; do
	for t in $suites; do
		echo "== $build/tests/$t (PostgreSQL)"
		"$build/tests/$t"
	done
done
echo "== integration suites with the hubs' store on PostgreSQL"
cd "$here/../.."
PICKET_TEST_HUB_PG="$dsn" PICKETD="$1/picketd" PICKET_HUB="$1/picket-hub" \
	/usr/bin/python3 -m pytest -q -p no:cacheprovider \
	--basetemp="$dir/pytest" tests/integration/test_api.py \
	tests/integration/test_ui.py tests/integration/test_tasks_hub.py \
	tests/integration/test_incidents.py
echo "check-pg: every store suite passed on PostgreSQL"
