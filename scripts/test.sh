#!/usr/bin/env bash
# Install, then run the whole test suite. PostgreSQL tests run too when DATABASE_URL is set.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
# Three workers on the 2 cores: most tests wait on simulated wire time, sockets and the browser, so a third keeps
# both cores busy (the whole suite on PostgreSQL and SQLite here: 503 s with three, 596 s with two). Tests that run
# the demo copy it onto free ports (tests/demo.py).
exec .venv/bin/python -m pytest -q -p no:cacheprovider -n 3 "$@"
