#!/usr/bin/env bash
# Set up (see setup.sh) and run the whole test suite, with a throwaway PostgreSQL cluster for
# the store tests (scripts/with_postgres.sh; they are required, never skipped, here).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export DETACHMENT_REQUIRE_PG=1
exec bash scripts/with_postgres.sh .venv/bin/python -m pytest "$@"
