#!/usr/bin/env bash
# The test command: installs what the tests need (when missing), starts a throwaway
# PostgreSQL cluster, then runs `cargo test` (every test on SQLite and on PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
[ -e /usr/include/postgresql/libpq-fe.h ] || missing+=(libpq-dev)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
command -v python3 >/dev/null 2>&1 || missing+=(python3 python3-pip)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "missing packages: ${missing[*]} (install them with apt-get, as root)" >&2
    exit 1
  fi
fi

# The tests' SMTP server (tests/smtp_sink.py) runs on Python's aiosmtpd.
if ! python3 -c 'import aiosmtpd' 2>/dev/null; then
  python3 -m pip install --quiet aiosmtpd 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages aiosmtpd
fi

# The S3-compatible server the object-storage tests start (tests/integration/storage_s3.rs).
# Pinned: later versions need a newer Rust than this project's.
if ! command -v s3s-fs >/dev/null 2>&1 && [ ! -x "${CARGO_HOME:-$HOME/.cargo}/bin/s3s-fs" ]; then
  cargo install --locked --quiet s3s-fs@0.14.1 --features binary
fi

# Front-end and API-client packages, exactly as pinned in package-lock.json.
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
# The example Flatfile listener (examples/listener) the listener tests run.
npm ci --prefix examples/listener --no-audit --no-fund --loglevel=error

if [ -z "${TEST_PG_ADMIN_URL:-}" ]; then
  pgdir=$(mktemp -d /tmp/wharf-pg.XXXXXX)
  TEST_PG_ADMIN_URL=$(scripts/pg-test-cluster.sh "$pgdir" $$)
  export TEST_PG_ADMIN_URL
fi

cargo test --locked "$@"
