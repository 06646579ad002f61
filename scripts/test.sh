#!/usr/bin/env bash
# Builds reel and runs every test suite: unit, media, integration (real reeld,
# nginx-rtmp, ffprobe), Janus, a bounded libFuzzer run, then the unit and media
# suites again under ASan/UBSan.
# Usage: scripts/test.sh            (installs missing Debian packages first)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

build=build
[ -d "$build" ] || meson setup "$build" -Dwerror=true
meson compile -C "$build"

asan=build-asan
[ -d "$asan" ] || CC=gcc meson setup "$asan" -Db_sanitize=address,undefined -Db_lundef=false -Dwerror=true
meson compile -C "$asan"

fuzz=build-fuzz
[ -d "$fuzz" ] || CC=clang meson setup "$fuzz" -Dfuzz=true -Dfuzz_seconds="${REEL_FUZZ_SECONDS:-30}" >/dev/null
ninja -C "$fuzz" tests/fuzz/fuzz-request tests/fuzz/fuzz-cloudflare tests/fuzz/fuzz-orange \
  tests/realtime/fuzz-realtime >/dev/null

status=0
meson test -C "$build" --print-errorlogs --num-processes 1 || status=1
# Bounded libFuzzer runs of the request parser, of the Cloudflare API answer
# parsers, of the Orange room message parsers and of the local Realtime SFU's
# request parser (their corpora run above).
meson test -C "$fuzz" --no-rebuild --print-errorlogs --suite fuzz || status=1
# GStreamer and GLib keep caches for the life of the process: leak checking would
# only report them. Memory errors and undefined behaviour still abort.
ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C "$asan" --print-errorlogs --suite unit --suite media || status=1

# One closing line over both runs, from meson's machine-readable logs.
python3 - "$build" "$asan" "$fuzz" <<'PY'
import json, sys
passed = failed = skipped = 0
for d in sys.argv[1:]:
    try:
        lines = open(f"{d}/meson-logs/testlog.json").read().splitlines()
    except OSError:
        continue
    for line in lines:
        r = json.loads(line).get("result")
        if r == "OK" or r == "EXPECTEDFAIL": passed += 1
        elif r == "SKIP": skipped += 1
        else: failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
