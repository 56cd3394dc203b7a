#!/usr/bin/env bash
# Run a command with a throwaway PostgreSQL cluster: initdb into a temporary directory, listen
# only on a unix socket in that directory (no TCP port at all), export its URL as
# DETACHMENT_TEST_PG_URL, run the command, then stop the cluster and remove the directory.
# Run as root, the cluster runs as the `postgres` user (PostgreSQL refuses to run as root).
#   bash scripts/with_postgres.sh .venv/bin/python -m pytest tests/store
set -euo pipefail

bindir=""
for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
  [ -x "$d/initdb" ] && { bindir=$d; break; }
done
if [ -z "$bindir" ]; then
  initdb_path=$(command -v initdb || true)
  [ -n "$initdb_path" ] || { echo "with_postgres.sh: PostgreSQL is not installed (Debian: apt-get install postgresql)" >&2; exit 2; }
  bindir=$(dirname "$initdb_path")
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/detachment-pg.XXXXXX")
as_owner=()
if [ "$(id -u)" = 0 ]; then
  owner=postgres
  id -u "$owner" >/dev/null 2>&1 || owner=nobody
  chown "$owner" "$dir"
  as_owner=(runuser -u "$owner" --)
fi
chmod 700 "$dir"

cleanup() {
  "${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

"${as_owner[@]}" "$bindir/initdb" -D "$dir/data" -U detachment -A trust -E UTF8 --no-instructions >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 2; }
"${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
  -o "-c listen_addresses='' -c unix_socket_directories='$dir' -c max_connections=50" start >/dev/null \
  || { cat "$dir/server.log" >&2; exit 2; }
"${as_owner[@]}" "$bindir/createdb" -h "$dir" -U detachment detachment_test

export DETACHMENT_TEST_PG_URL="postgresql+psycopg://detachment@/detachment_test?host=$dir"
set +e
"$@"
rc=$?
set -e
exit $rc
