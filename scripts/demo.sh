#!/usr/bin/env bash
# Sets reel up and runs its default job: records a synthetic room (four test
# participants, each a colour and a tone) for a few seconds into an MP4 and prints
# where the file is. Usage: scripts/demo.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-8}

bash scripts/install-deps.sh
[ -d build ] || meson setup build
meson compile -C build >/dev/null

work=$(mktemp -d /tmp/reel-demo.XXXXXX)
token=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
cat > "$work/reel.conf" <<CONF
[api]
listen = 127.0.0.1:0
token = $token
[storage]
recordings_dir = $PWD/recordings
state_db = $work/reel.db
[media]
pipelines_dir = $PWD/pipelines
CONF

build/src/reeld/reeld --config "$work/reel.conf" 2> "$work/reeld.log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  grep -q "listening on" "$work/reeld.log" && break
  sleep 0.1
done
url=$(sed -n 's/^reeld: listening on //p' "$work/reeld.log" | head -n 1)
[ -n "$url" ] || { cat "$work/reeld.log"; exit 1; }

api() { curl -sS -H "Authorization: Bearer $token" -H "Content-Type: application/json" "$@"; }
id=$(api -X POST "$url/v1/recordings" -d @- <<JSON | jq -r .id
{"room": {"provider": "synthetic", "participants": [
   {"name": "Alice", "color": "#e03030", "tone_hz": 440},
   {"name": "Bob",   "color": "#30c030", "tone_hz": 660},
   {"name": "Carol", "color": "#3060e0", "tone_hz": 880, "join_at_s": 2},
   {"name": "Dave",  "color": "#e0c020", "tone_hz": 1100, "join_at_s": 3}]},
 "outputs": [{"type": "file", "format": "mp4"}],
 "max_duration_s": $seconds}
JSON
)
echo "recording $id for $seconds s..."
while :; do
  state=$(api "$url/v1/recordings/$id" | jq -r .state)
  case "$state" in finished|failed) break ;; esac
  sleep 0.5
done
path=$(api "$url/v1/recordings/$id" | jq -r '.outputs[0].path')
echo "recording $id $state"
echo "file: $path"
[ "$state" = finished ]
