#!/usr/bin/env bash
# Makes sure a Chromium is there for the HTML report's browser test
# (tests/unit/training/htmlReportBrowser.test.ts), which drives $BARFLOW_CHROMIUM, default
# /usr/bin/chromium, with playwright-core. Installs Debian's `chromium` package when it is missing
# and this runs as root on a Debian/Ubuntu system; otherwise says what to do and exits 1.
# Idempotent: does nothing (and needs no network) when the binary is already there.
set -euo pipefail

CHROMIUM="${BARFLOW_CHROMIUM:-/usr/bin/chromium}"

version() {
  # Debian's /usr/bin/chromium is a wrapper script that may print shell noise on stderr.
  "$1" --version 2>/dev/null || true
}

if [ -x "$CHROMIUM" ]; then
  echo "chromium: $CHROMIUM ($(version "$CHROMIUM"))"
  exit 0
fi

if [ "$CHROMIUM" != /usr/bin/chromium ]; then
  echo "BARFLOW_CHROMIUM=$CHROMIUM is not an executable; unset it to use Debian's /usr/bin/chromium, or fix the path." >&2
  exit 1
fi

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "chromium: not found, installing Debian's chromium package (apt-get install chromium)…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
  if [ -x "$CHROMIUM" ]; then
    echo "chromium: $CHROMIUM ($(version "$CHROMIUM"))"
    exit 0
  fi
  echo "apt-get installed chromium but $CHROMIUM is still missing." >&2
  exit 1
fi

cat >&2 <<MSG
chromium: $CHROMIUM is missing; the HTML report's browser test needs it.
  Debian/Ubuntu:  sudo apt-get update && sudo apt-get install -y chromium
  elsewhere:      install Chromium or Chrome and run the tests with BARFLOW_CHROMIUM=/path/to/chrome
MSG
exit 1
