#!/usr/bin/env bash
# Makes sure LightGBM's shared library is there for the LightGBM models
# (src/training/models/lightgbm/, loaded through koffi): $BARFLOW_LIBLIGHTGBM when set, else
# ${BARFLOW_CACHE:-<repository root>/.barflow/cache}/lib/lightgbm-<version>/lib_lightgbm.so.
# Debian has no LightGBM package, so the library comes out of the official `lightgbm` wheel on PyPI
# (pinned version and sha256 below; a wheel is a zip, lib_lightgbm.so sits in lightgbm/lib/).
# Only the download uses Python (pip); barflow itself never runs Python.
# The library needs glibc >= 2.27, libstdc++ and libgomp.so.1 (OpenMP; Debian/Ubuntu: libgomp1),
# which ldd reports; barflow trains with num_threads=1, but the library links OpenMP regardless.
# Idempotent: does nothing (and needs no network) when the library is already there.
set -euo pipefail

VERSION=4.7.0
WHEEL=lightgbm-4.7.0-py3-none-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl
WHEEL_SHA256=d23e922acd891e77212e4d0fbcee9ba973c96dee479491341d05ba595357ebb7

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${BARFLOW_CACHE:-$ROOT/.barflow/cache}"
case "$CACHE" in /*) ;; *) CACHE="$PWD/$CACHE" ;; esac
DEST_DIR="$CACHE/lib/lightgbm-$VERSION"
DEST="$DEST_DIR/lib_lightgbm.so"

# Fails (and says what is missing) when the dynamic loader cannot resolve the library's dependencies.
check_dependencies() {
  local lib="$1" missing
  command -v ldd >/dev/null 2>&1 || return 0
  missing="$(ldd "$lib" 2>/dev/null | awk '/not found/ { print $1 }' || true)"
  if [ -n "$missing" ]; then
    echo "lightgbm: $lib needs libraries the loader cannot find: $(echo "$missing" | tr '\n' ' ')" >&2
    echo "  Debian/Ubuntu: sudo apt-get install -y libgomp1 libstdc++6" >&2
    exit 1
  fi
}

if [ -n "${BARFLOW_LIBLIGHTGBM:-}" ]; then
  if [ -f "$BARFLOW_LIBLIGHTGBM" ]; then
    check_dependencies "$BARFLOW_LIBLIGHTGBM"
    echo "lightgbm: $BARFLOW_LIBLIGHTGBM (BARFLOW_LIBLIGHTGBM)"
    exit 0
  fi
  echo "BARFLOW_LIBLIGHTGBM=$BARFLOW_LIBLIGHTGBM is not a file; unset it to use the cached lib_lightgbm.so $VERSION, or fix the path." >&2
  exit 1
fi

if [ -f "$DEST" ]; then
  check_dependencies "$DEST"
  echo "lightgbm: $DEST ($VERSION)"
  exit 0
fi

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "lightgbm: the pinned wheel is for Linux x86_64, this is $(uname -s)-$(uname -m); build LightGBM $VERSION and run with BARFLOW_LIBLIGHTGBM=/path/to/lib_lightgbm.so" >&2
  exit 1
fi

PYTHON="$(command -v python3 || command -v python || true)"
if [ -z "$PYTHON" ] || ! "$PYTHON" -m pip --version >/dev/null 2>&1; then
  cat >&2 <<MSG
lightgbm: $DEST is missing, and fetching it needs python3 with pip (to download the lightgbm $VERSION wheel from PyPI).
  Debian/Ubuntu:  sudo apt-get install -y python3-pip, then run this script again
  elsewhere:      build or install LightGBM $VERSION and run with BARFLOW_LIBLIGHTGBM=/path/to/lib_lightgbm.so
MSG
  exit 1
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
echo "lightgbm: $DEST is missing, downloading the lightgbm $VERSION wheel from PyPI…"
if ! "$PYTHON" -m pip download "lightgbm==$VERSION" --no-deps --only-binary=:all: \
  --platform manylinux_2_28_x86_64 --python-version 3.11 --implementation py \
  --disable-pip-version-check --timeout 20 --retries 2 --quiet -d "$TMP" >&2; then
  echo "lightgbm: pip could not download lightgbm==$VERSION (no network or no PyPI?); set BARFLOW_LIBLIGHTGBM=/path/to/lib_lightgbm.so instead." >&2
  exit 1
fi
if [ ! -f "$TMP/$WHEEL" ]; then
  echo "lightgbm: pip did not download $WHEEL (got: $(ls "$TMP"))." >&2
  exit 1
fi
ACTUAL="$(sha256sum "$TMP/$WHEEL" | awk '{ print $1 }')"
if [ "$ACTUAL" != "$WHEEL_SHA256" ]; then
  echo "lightgbm: $WHEEL has sha256 $ACTUAL, expected $WHEEL_SHA256; refusing it." >&2
  exit 1
fi

"$PYTHON" - "$TMP/$WHEEL" "$TMP/lib_lightgbm.so" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel, open(sys.argv[2], "wb") as out:
    out.write(wheel.read("lightgbm/lib/lib_lightgbm.so"))
PY
check_dependencies "$TMP/lib_lightgbm.so"
mkdir -p "$DEST_DIR"
# Rename into place so a half-written file is never taken for the library.
install -m 0755 "$TMP/lib_lightgbm.so" "$DEST.partial"
mv -f "$DEST.partial" "$DEST"
echo "lightgbm: $DEST ($VERSION, from $WHEEL)"
