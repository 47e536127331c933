#!/usr/bin/env bash
# Makes sure XGBoost's shared library is there for the gradient-boosted trees
# (src/training/models/xgboost/, loaded through koffi). The loader (xgboostLibrary.ts) tries, in
# order: $BARFLOW_LIBXGBOOST alone when set; then the pinned XGBoost below, unpacked into
#   ${BARFLOW_CACHE:-<repo>/.barflow/cache}/lib/xgboost-<version>/libxgboost.so
# then the system's libxgboost.so.0 (Debian's libxgboost0, 1.7: no quantile objective).
#
# The pinned build is the C library inside PyPI's `xgboost-cpu` wheel (manylinux_2_28: glibc 2.28+,
# its own libgomp beside it). pip only downloads the wheel (no install, no dependencies, checked
# against the hash below); Python is never needed at run time. When PyPI cannot be reached, the
# system library is accepted (installed from apt when root) with a warning that quantile models
# need XGBoost >= 2.0.
# Idempotent: does nothing (and needs no network) when the library is already there.
set -euo pipefail

# Keep in sync with PINNED_XGBOOST in src/training/models/xgboost/xgboostLibrary.ts (a test checks).
XGBOOST_VERSION=3.2.0
WHEEL=xgboost_cpu-3.2.0-py3-none-manylinux_2_28_x86_64.whl
WHEEL_SHA256=9c10b1653e1a689bf4094a328144cf3633c9be0e5217a76fbdc2fde6abcb2950

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${BARFLOW_CACHE:-$ROOT/.barflow/cache}"
case "$CACHE" in /*) ;; *) CACHE="$PWD/$CACHE" ;; esac
DIR="$CACHE/lib/xgboost-$XGBOOST_VERSION"

if [ -n "${BARFLOW_LIBXGBOOST:-}" ]; then
  if [ -f "$BARFLOW_LIBXGBOOST" ]; then
    echo "xgboost: $BARFLOW_LIBXGBOOST (BARFLOW_LIBXGBOOST)"
    exit 0
  fi
  echo "BARFLOW_LIBXGBOOST=$BARFLOW_LIBXGBOOST is not a file; unset it to use XGBoost $XGBOOST_VERSION from $DIR, or fix the path." >&2
  exit 1
fi

# Every library the pinned one needs resolves (its libgomp from the same folder, the rest from the system).
pinned_ok() {
  [ -f "$DIR/libxgboost.so" ] || return 1
  ! LD_LIBRARY_PATH="$DIR" ldd "$DIR/libxgboost.so" 2>&1 | grep -q 'not found'
}

fetch_pinned() {
  local tmp py
  py="$(command -v python3 || command -v python || true)"
  [ -n "$py" ] && "$py" -m pip --version >/dev/null 2>&1 || { echo "xgboost: no pip to download $WHEEL" >&2; return 1; }
  [ "$(uname -sm)" = "Linux x86_64" ] || { echo "xgboost: the pinned wheel is for Linux x86_64, this is $(uname -sm)" >&2; return 1; }
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' RETURN
  echo "xgboost: downloading xgboost-cpu==$XGBOOST_VERSION from PyPI (the wheel only, for its libxgboost.so)…"
  "$py" -m pip download "xgboost-cpu==$XGBOOST_VERSION" --no-deps --only-binary=:all: \
    --platform manylinux_2_28_x86_64 --python-version 3.11 --timeout 20 --retries 2 -d "$tmp" -q || return 1
  [ -f "$tmp/$WHEEL" ] || { echo "xgboost: pip did not produce $WHEEL" >&2; return 1; }
  echo "$WHEEL_SHA256  $tmp/$WHEEL" | sha256sum -c --quiet - || { echo "xgboost: $WHEEL does not have the pinned sha256" >&2; return 1; }
  "$py" -m zipfile -e "$tmp/$WHEEL" "$tmp/wheel"
  # The wheel keeps libgomp in xgboost_cpu.libs/ (found through an RPATH relative to the wheel's
  # layout); here it sits beside libxgboost.so and the loader loads it first.
  mkdir -p "$tmp/lib"
  cp "$tmp/wheel/xgboost/lib/libxgboost.so" "$tmp/lib/"
  cp "$tmp"/wheel/xgboost_cpu.libs/*.so* "$tmp/lib/"
  mkdir -p "$(dirname "$DIR")"
  rm -rf "$DIR"
  mv "$tmp/lib" "$DIR"
}

if pinned_ok; then
  echo "xgboost: $DIR/libxgboost.so (XGBoost $XGBOOST_VERSION)"
  exit 0
fi
if fetch_pinned && pinned_ok; then
  echo "xgboost: $DIR/libxgboost.so (XGBoost $XGBOOST_VERSION)"
  exit 0
fi
echo "xgboost: XGBoost $XGBOOST_VERSION could not be set up in $DIR; falling back to the system's libxgboost.so.0 (quantile models need XGBoost >= 2.0)." >&2

describe() {
  local version
  version="$(dpkg-query -W -f='${Version}' libxgboost0 2>/dev/null || true)"
  echo "xgboost: $1${version:+ (Debian libxgboost0 $version)}"
}

# What barflow's loader would find: the names it tries, resolved by ld.so's cache.
find_library() {
  local name path
  for name in libxgboost.so.0 libxgboost.so; do
    path="$(ldconfig -p 2>/dev/null | awk -v n="$name" '$1 == n { print $NF; exit }')"
    if [ -n "$path" ] && [ -e "$path" ]; then
      echo "$path"
      return 0
    fi
  done
  return 1
}

if LIB="$(find_library)"; then
  describe "$LIB"
  exit 0
fi

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "xgboost: libxgboost.so.0 not found, installing Debian's libxgboost0 package (apt-get install libxgboost0)…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq libxgboost0 >/dev/null
  ldconfig 2>/dev/null || true
  if LIB="$(find_library)"; then
    describe "$LIB"
    exit 0
  fi
  echo "apt-get installed libxgboost0 but libxgboost.so.0 is still not found by ldconfig -p." >&2
  exit 1
fi

cat >&2 <<MSG
xgboost: no XGBoost library; the XGBoost models need XGBoost's C library (1.7 or later, 2.0+ for quantiles).
  with PyPI access:  rerun this script (it unpacks xgboost-cpu==$XGBOOST_VERSION into $DIR)
  Debian/Ubuntu:     sudo apt-get update && sudo apt-get install -y libxgboost0
  elsewhere:         build or install libxgboost.so and run with BARFLOW_LIBXGBOOST=/path/to/libxgboost.so
MSG
exit 1
