#!/usr/bin/env bash
# Starts a throwaway PostgreSQL 15 cluster on a free port and prints its URL.
# Usage: pg-test-cluster.sh DIR [WATCH_PID]
#   DIR        an empty folder for the cluster (created if missing)
#   WATCH_PID  stop the cluster and remove DIR once this process is gone (the test
#              binary, or CI's shell)
set -euo pipefail
dir=$1
watch_pid=${2:-}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bin/initdb" ] || { echo "PostgreSQL server binaries not found under /usr/lib/postgresql; apt-get install postgresql" >&2; exit 1; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$dir"
as_pg=()
if [ "$(id -u)" = 0 ]; then
  chown postgres "$dir"
  as_pg=(runuser -u postgres --)
fi
"${as_pg[@]}" "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 >"$dir/initdb.log" 2>&1
"${as_pg[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
  start >/dev/null
if [ -n "$watch_pid" ]; then
  # Stopped and removed: a cluster of the whole suite holds gigabytes.
  nohup "${as_pg[@]}" sh -c "while [ -d /proc/$watch_pid ]; do sleep 1; done; '$bin/pg_ctl' -D '$dir/data' stop -m immediate; rm -rf '$dir'" >/dev/null 2>&1 &
fi
echo "postgres://postgres@127.0.0.1:$port/postgres"
