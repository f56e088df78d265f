#!/usr/bin/env bash
# Install, then start the demo tower on http://localhost:8123 (Ctrl-C stops it cleanly).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec .venv/bin/openprepay run -c config/demo
