#!/usr/bin/env bash
# The whole suite: on SQLite, then on PostgreSQL where it answers on 127.0.0.1:5432.
# JIAFANG_REQUIRE_POSTGRES=1 (set by .ci/run) turns a missing PostgreSQL into a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PG_URL=${JIAFANG_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/jiafang}

banner() { printf '\n==================== %s ====================\n' "$*"; }

banner "lint (ruff)"
.venv/bin/ruff check . || exit 1

banner "suite on SQLite"
env -u DATABASE_URL $PY -m pytest -n 2 --dist loadfile "$@"
status=$?
[ $status -ne 0 ] && exit $status

pg_up=$($PY - "$PG_URL" <<'PYEOF'
import sys
import psycopg
try:
    psycopg.connect(sys.argv[1].rsplit("/", 1)[0] + "/postgres", connect_timeout=3).close()
    print("yes")
except Exception:
    print("no")
PYEOF
)
if [ "$pg_up" = "yes" ]; then
  banner "suite on PostgreSQL ($PG_URL)"
  DATABASE_URL=$PG_URL $PY -m pytest -n 2 --dist loadfile "$@"
  status=$?
else
  banner "PostgreSQL NOT REACHABLE on 127.0.0.1:5432: the PostgreSQL run was SKIPPED"
  if [ "${JIAFANG_REQUIRE_POSTGRES:-0}" = "1" ]; then
    echo "JIAFANG_REQUIRE_POSTGRES=1: failing because PostgreSQL is required here." >&2
    exit 1
  fi
fi
exit $status
