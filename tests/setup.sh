#!/usr/bin/env bash
# Install everything the test suite needs on a fresh machine: the package with its test
# extra and Debian's chromium for the browser tests (needs root or sudo). Maps carry the
# scripts they need (geokmeans/_assets), so the browser tests load nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -e ".[test]"
if ! command -v chromium >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
