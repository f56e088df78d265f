#!/usr/bin/env bash
# Install what OpenPrepay needs into ./.venv (and, as root on Debian/Ubuntu, the system packages
# WeasyPrint, Chinese receipts, backups and the browser tests need). Safe to run again: the Python packages are
# installed only when .venv/.openprepay-stamp (pyproject.toml's sha256, the venv's Python version and what was
# installed) differs from this checkout's, so a second start skips them. pip's own output goes to .venv/install.log.
# `setup.sh --server`: what a site runs only (no test tools, no browser); without it, the test extra too.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNTIME_PACKAGES=(
  libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0   # WeasyPrint
  fonts-wqy-microhei                                     # CJK font for receipts
  openssl                                                # X.509 certificates of the WeChat Pay sandbox
  postgresql-client                                      # pg_dump/pg_restore: openprepay db backup|restore
)
TEST_PACKAGES=(
  poppler-utils                                          # pdftotext, to read receipts back in tests
  chromium                                               # browser tests (Playwright drives it)
  socat                                                  # pty pairs for serial tests
)
case "${1:-}" in
  --server) DEBIAN_PACKAGES=("${RUNTIME_PACKAGES[@]}"); TARGET="." ;;
  "") DEBIAN_PACKAGES=("${RUNTIME_PACKAGES[@]}" "${TEST_PACKAGES[@]}"); TARGET=".[test]" ;;
  *) echo "usage: $0 [--server]" >&2; exit 2 ;;
esac
STAMP=.venv/.openprepay-stamp
LOG=.venv/install.log

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

# What the installed packages were made from: this checkout's pyproject.toml, the venv's Python and the target.
stamp() {
  echo "$(sha256sum pyproject.toml | cut -d' ' -f1) $(.venv/bin/python -c 'import sys; print(sys.version.split()[0])') $TARGET"
}

# Show pip's current step on one line when the output is a terminal (nothing otherwise); keep all of it in $LOG.
progress() {
  local line
  while IFS= read -r line; do
    printf '%s\n' "$line" >>"$LOG"
    if [ -t 1 ]; then
      case $line in Collecting*|Downloading*|Building*|Installing*) printf '\r\033[K  %.76s' "$line" ;; esac
    fi
  done
  [ -t 1 ] && printf '\r\033[K'
  return 0
}

pip_install() {
  if ! .venv/bin/python -m pip install --disable-pip-version-check --progress-bar off "$@" 2>&1 | progress; then
    echo "pip failed; the end of $LOG:" >&2
    tail -n 30 "$LOG" >&2
    exit 1
  fi
}

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
if [ "$(cat "$STAMP" 2>/dev/null)" = "$(stamp)" ]; then
  echo "Python packages up to date in .venv (pyproject.toml unchanged)"
else
  [ -f "$STAMP" ] && why="pyproject.toml, Python or --server changed" || why="first start"
  echo "Installing Python packages ($why, about a minute)…"
  : >"$LOG"
  pip_install --upgrade pip
  pip_install -e "$TARGET"
  stamp >"$STAMP"
fi
echo "OpenPrepay installed in .venv"
