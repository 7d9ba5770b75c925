#!/bin/sh
# setup.sh - install the browser test's one npm dependency (playwright-core,
# pinned in package.json and package-lock.json) into a cache OUTSIDE the
# clone, keyed by its version, and print that node_modules directory (for
# NODE_PATH).  An existing, complete cache is reused without touching the
# network; otherwise `npm ci` fills a fresh directory and it is renamed into
# place, so a run killed half-way never leaves a broken cache behind.
# Playwright's own browser downloads are never used: the test drives
# Debian's /usr/bin/chromium.  Used by tests/integration/test_ui.py.
#
# usage: setup.sh            (cache root: $PICKET_NPM_CACHE, default
#                             /var/cache/picket/npm)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
ver=$(sed -n 's/.*"playwright-core": *"\([0-9][0-9.]*\)".*/\1/p' \
	"$here/package.json")
[ -n "$ver" ] || { echo "setup.sh: no playwright-core version" >&2; exit 1; }
root=${PICKET_NPM_CACHE:-/var/cache/picket/npm}
dir=$root/playwright-core-$ver
mods=$dir/node_modules

if [ -f "$mods/playwright-core/package.json" ] &&
    grep -q "\"version\": \"$ver\"" "$mods/playwright-core/package.json"; then
	echo "$mods"
	exit 0
fi

command -v npm >/dev/null 2>&1 || {
	echo "setup.sh: npm not found (apt-get install nodejs npm)" >&2; exit 1; }
mkdir -p "$root"
tmp=$(mktemp -d "$root/.tmp-playwright-core-$ver.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
chmod 755 "$tmp"		# mktemp's 0700 would lock out other users
cp "$here/package.json" "$here/package-lock.json" "$tmp/"
# No browser download, no telemetry-ish extras, npm's cache beside ours.
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$tmp" --no-audit \
	--no-fund --ignore-scripts --loglevel=error \
	--cache "$root/.npm-cache" >&2
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT INT TERM
echo "$mods"
