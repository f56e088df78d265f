#!/usr/bin/env bash
# Install what OpenPrepay needs into ./.venv (and, as root on Debian/Ubuntu, the system packages
# WeasyPrint, Chinese receipts and the browser tests need). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0   # WeasyPrint
  fonts-wqy-microhei                                     # CJK font for receipts
  poppler-utils                                          # pdftotext, to read receipts back in tests
  chromium                                               # browser tests (Playwright drives it)
  socat                                                  # pty pairs for serial tests
  openssl                                                # X.509 certificates of the WeChat Pay sandbox
)

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for pkg in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
  done
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "Please install these Debian packages (as root): ${missing[*]}" >&2
  fi
fi

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]"
echo "OpenPrepay installed in .venv"
