#!/usr/bin/env bash
# A newcomer's first hour, timed: clone COMMIT fresh, run `make run` with no pip cache (as on a
# new machine) and time it until the API answers 200; then the venv's size and package count.
#
#   bench/first_200.sh [COMMIT] [PORT]      (defaults: HEAD, 8801; run from the repository)
set -u
repo=$(git rev-parse --show-toplevel)
commit=${1:-HEAD} port=${2:-8801}
dir=$(mktemp -d /tmp/first200.XXXXXX)
git clone -q "$repo" "$dir" && cd "$dir" && git checkout -q "$commit"
start=$(date +%s.%N)
env -u DATABASE_URL -u REDIS_URL PIP_NO_CACHE_DIR=1 make run PORT="$port" > "$dir/run.log" 2>&1 &
run=$!
until curl -sf -o /dev/null "http://127.0.0.1:$port/api/products/"; do
  kill -0 "$run" 2>/dev/null || { echo "make run exited; see $dir/run.log" >&2; exit 1; }
  sleep 0.5
done
end=$(date +%s.%N)
printf '%s: first 200 after %.1f s; venv %s MB; %s packages\n' "$commit" \
  "$(echo "$end - $start" | bc)" "$(du -sm .venv | cut -f1)" \
  "$(.venv/bin/pip list 2>/dev/null | tail -n +3 | wc -l)"
pkill -f -- "--port $port"
wait "$run" 2>/dev/null
rm -rf "$dir"
