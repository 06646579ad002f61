#!/usr/bin/env bash
# Installs everything reel needs to build, run and test, from Debian packages.
# Idempotent: packages already present are skipped by apt-get.
set -euo pipefail

packages=(
  # build
  meson ninja-build pkg-config gcc clang libclang-rt-14-dev
  libglib2.0-dev libjson-glib-dev libsoup-3.0-dev libcurl4-openssl-dev libsqlite3-dev
  libsystemd-dev libical-dev libnice-dev libopus-dev
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev
  # schedules: libical expands rules in IANA zones read from the system's tzdata
  tzdata
  # media runtime
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-nice gstreamer1.0-tools gstreamer1.0-x
  # tests: real peers and output checks
  ffmpeg nginx libnginx-mod-rtmp python3 python3-numpy curl jq iproute2
  # tests/service: systemd-analyze verify, sysusers, tmpfiles; libseccomp for the sandbox;
  # jsonschema checks answers against the OpenAPI document
  systemd libseccomp2 python3-jsonschema
  # tests/realtime: answers checked against the Realtime OpenAPI document (YAML)
  python3-yaml
  # tests/orange: the local Orange Meets deployment (HTTP, WebSocket, the /partytracks proxy)
  python3-aiohttp
  # tests/janus: a real Janus, GStreamer publishers in Python, headless Chromium
  janus python3-gi python3-gst-1.0 gir1.2-gst-plugins-bad-1.0 gir1.2-gst-plugins-base-1.0 gir1.2-nice-0.1
  chromium
)
# node + npm drive Chromium (playwright-core); install them only if missing (a newer
# node may already be on the machine).
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: every Debian package is installed"
else
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# The distribution's nginx and janus services are not ours: tests start their own.
if command -v systemctl >/dev/null 2>&1; then
  for svc in nginx janus; do
    if systemctl is-enabled "$svc" >/dev/null 2>&1; then
      $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true
    fi
  done
fi

# playwright-core for tests/janus/chromium_publisher.js, exactly as locked. It drives
# Debian's /usr/bin/chromium: never `playwright install` (that downloads a browser).
janus_tests="$(cd "$(dirname "$0")/.." && pwd)/tests/janus"
want="$(sed -n 's/.*"playwright-core": *"\([^"]*\)".*/\1/p' "$janus_tests/package.json" | head -1)"
have="$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$janus_tests/node_modules/playwright-core/package.json" 2>/dev/null | head -1 || true)"
if [ -n "$want" ] && [ "$want" != "$have" ]; then
  echo "install-deps: npm ci in tests/janus (playwright-core $want)"
  (cd "$janus_tests" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi
