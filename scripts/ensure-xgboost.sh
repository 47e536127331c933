#!/usr/bin/env bash
# Makes sure XGBoost's shared library is there for the gradient-boosted trees
# (src/training/models/xgboost/, loaded through koffi): $BARFLOW_LIBXGBOOST when set, else
# libxgboost.so.0 / libxgboost.so as the system loader finds them. Installs Debian's `libxgboost0`
# package (the runtime library, libxgboost.so.0; the unversioned libxgboost.so comes only with
# libxgboost-dev, and barflow does not need it) when it is missing and this runs as root on a
# Debian/Ubuntu system; otherwise says what to do and exits 1.
# Idempotent: does nothing (and needs no network) when the library is already there.
set -euo pipefail

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

if [ -n "${BARFLOW_LIBXGBOOST:-}" ]; then
  if [ -f "$BARFLOW_LIBXGBOOST" ]; then
    echo "xgboost: $BARFLOW_LIBXGBOOST (BARFLOW_LIBXGBOOST)"
    exit 0
  fi
  echo "BARFLOW_LIBXGBOOST=$BARFLOW_LIBXGBOOST is not a file; unset it to use the system's libxgboost.so.0, or fix the path." >&2
  exit 1
fi

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
xgboost: libxgboost.so.0 is missing; the XGBoost models need XGBoost's C library (1.7 or later).
  Debian/Ubuntu:  sudo apt-get update && sudo apt-get install -y libxgboost0
  elsewhere:      build or install libxgboost.so and run with BARFLOW_LIBXGBOOST=/path/to/libxgboost.so
MSG
exit 1
