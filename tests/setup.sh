#!/usr/bin/env bash
# Install everything the test suite needs on a fresh machine: the package with its test
# extra, Debian's chromium (browser tests; needs root or sudo) and local copies of the
# JavaScript/CSS files folium pages load from CDNs (npm registry, into .browser-assets/).
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -e ".[test]"
if ! command -v chromium >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
if [ ! -f .browser-assets/node_modules/leaflet/dist/leaflet.js ]; then
  mkdir -p .browser-assets
  npm install --no-save --no-audit --no-fund --prefix .browser-assets \
    leaflet@1.9.3 jquery@3.7.1 bootstrap@5.2.2 @fortawesome/fontawesome-free@6.2.0 \
    drmonty-leaflet-awesome-markers@2.0.2 >/dev/null
fi
