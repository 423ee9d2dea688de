#!/usr/bin/env bash
# Set up .venv and system packages (Chromium, CJK fonts, PostgreSQL) and run the whole test suite twice: on SQLite,
# then on a real PostgreSQL server started here (DATABASE_URL=postgresql://... makes the suite use it).
# EDITGUARD_TEST_ENGINES=sqlite (or postgresql) runs one engine only.
set -euo pipefail
cd "$(dirname "$0")/.."
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if ! command -v chromium >/dev/null || [ ! -d /usr/share/fonts/opentype/noto ] || [ -z "$PG_BIN" ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk postgresql >/dev/null
    PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  else
    echo "note: install chromium, fonts-noto-cjk and postgresql (apt) for the browser and PostgreSQL tests" >&2
  fi
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt

ENGINES=${EDITGUARD_TEST_ENGINES:-sqlite postgresql}
status=0
for engine in $ENGINES; do
  if [ "$engine" = sqlite ]; then
    echo "== tests on SQLite"
    env -u DATABASE_URL .venv/bin/python -m pytest -q "$@" || status=1
    continue
  fi
  if [ -z "$PG_BIN" ]; then
    echo "== PostgreSQL is not installed: its run is skipped" >&2
    status=1
    continue
  fi
  # A throw-away server: initdb refuses to run as root, so root runs it as the postgres user.
  PGDIR=$(mktemp -d /tmp/editguard-pg.XXXXXX)
  PGPORT=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
  [ "$(id -u)" = 0 ] && chown postgres "$PGDIR"
  as_pg "$PG_BIN/initdb -D $PGDIR/data -U postgres -A trust >/dev/null"
  as_pg "$PG_BIN/pg_ctl -D $PGDIR/data -l $PGDIR/log -w -o '-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300' start >/dev/null"
  trap 'as_pg "$PG_BIN/pg_ctl -D $PGDIR/data -m immediate stop" >/dev/null 2>&1 || true; rm -rf "$PGDIR"' EXIT
  echo "== tests on PostgreSQL ($("$PG_BIN/postgres" --version))"
  DATABASE_URL="postgresql://postgres@127.0.0.1:$PGPORT/postgres" .venv/bin/python -m pytest -q "$@" || status=1
done
exit $status
