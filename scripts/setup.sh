#!/usr/bin/env bash
# Set up everything on a fresh machine with Python 3.11 and pip: the Debian packages the
# PDF reports, the browser test, the network-namespace test and the PostgreSQL store tests
# need (when run as root and missing), uv, and the locked environment in .venv/.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
ldconfig -p 2>/dev/null | grep -q libpango-1.0 || need+=(libpango-1.0-0 libpangoft2-1.0-0)
# WeasyPrint subsets the embedded fonts with it (and warns at import without it).
ldconfig -p 2>/dev/null | grep -q libharfbuzz-subset || need+=(libharfbuzz-subset0)
fc-list 2>/dev/null | grep -qi dejavu || need+=(fonts-dejavu-core)
# The store tests run against a throwaway PostgreSQL cluster (scripts/with_postgres.sh).
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || need+=(postgresql)
# The no-outbound-request test runs the app in a network namespace (`ip netns`).
command -v ip >/dev/null 2>&1 || need+=(iproute2)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian packages: ${need[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "warning: missing Debian packages (${need[*]}); install them for PDF reports, the browser test and the PostgreSQL tests" >&2
  fi
fi

python3 -m uv --version >/dev/null 2>&1 \
  || python3 -m pip install --quiet --disable-pip-version-check uv==0.13.9
# --locked: install exactly what uv.lock records, and fail if pyproject.toml and the lock disagree.
# --compile-bytecode: a venv without bytecode compiles every module at each start (a third of
# the CLI's and the app's start-up).
python3 -m uv sync --locked --quiet --compile-bytecode
