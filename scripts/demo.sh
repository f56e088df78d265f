#!/usr/bin/env bash
# Install, seed the demo tower's 60 days of shops, sales and readings on its first start (a later start finds
# them and changes nothing), then start it on http://localhost:8123 (Ctrl-C stops it cleanly).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
.venv/bin/openprepay demo seed -c config/demo || echo "demo data not seeded (see above); starting anyway"
exec .venv/bin/openprepay run -c config/demo
