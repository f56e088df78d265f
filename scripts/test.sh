#!/usr/bin/env bash
# Install, then run the whole test suite. PostgreSQL tests run too when DATABASE_URL is set.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
# Two workers (the machine has 2 cores); tests that run the demo copy it onto free ports (tests/demo.py).
exec .venv/bin/python -m pytest -q -p no:cacheprovider -n 2 "$@"
