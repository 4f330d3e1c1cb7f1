#!/usr/bin/env bash
# Run a command (the test suite) with the services it needs: a private PostgreSQL cluster.
# Exports MOTCUA_TEST_PG_URL for the tests that use it; stops the cluster afterwards.
set -euo pipefail
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
cleanup() { :; }
if [ -n "$pg_bin" ] && [ -x "$pg_bin/initdb" ]; then
  pg_dir=$(mktemp -d /tmp/motcua-pg.XXXXXX)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  run_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
  [ "$(id -u)" = 0 ] && chown postgres "$pg_dir"
  run_pg "$pg_bin/initdb" -D "$pg_dir/data" -U motcua --auth=trust >/dev/null
  run_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -o "-p $port -k $pg_dir -c listen_addresses=127.0.0.1 -c fsync=off" -l "$pg_dir/log" -w start >/dev/null
  cleanup() { run_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$pg_dir"; }
  export MOTCUA_TEST_PG_URL="postgresql+psycopg://motcua@127.0.0.1:$port/postgres"
  echo "test-services: PostgreSQL on 127.0.0.1:$port"
else
  echo "test-services: PostgreSQL binaries not found; tests that need it will fail" >&2
fi
trap cleanup EXIT
"$@"
