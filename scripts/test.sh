#!/usr/bin/env bash
# Install, then run the whole test suite. PostgreSQL tests run too when DATABASE_URL is set.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
