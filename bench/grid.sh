#!/usr/bin/env bash
# Runs the grid benchmark beside Datasette (installed into bench/.venv, pinned below).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v sqlite3 >/dev/null || { echo "sqlite3 is needed (apt-get install sqlite3)" >&2; exit 1; }
if [ ! -x bench/.venv/bin/datasette ]; then
  python3 -m venv bench/.venv
  bench/.venv/bin/pip install --quiet "datasette==0.65.5"
fi
DATASETTE=bench/.venv/bin/datasette cargo bench --bench grid
