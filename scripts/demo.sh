#!/usr/bin/env bash
# Install (only what changed: see setup.sh), seed the demo tower's 60 days of shops, sales and readings on its
# first start (a later start finds them and changes nothing), then start it on http://localhost:8123 (Ctrl-C
# stops it cleanly). Options go to `openprepay run`: `--host 0.0.0.0 --port 8080` serves the LAN on port 8080.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
echo "Seeding the demo tower (about 15 s the first time; later starts find it seeded)…"
.venv/bin/openprepay demo seed -c config/demo || echo "demo data not seeded (see above); starting anyway"
exec .venv/bin/openprepay run -c config/demo "$@"
