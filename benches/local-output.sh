#!/usr/bin/env bash
# Benchmark (not a test): peak memory of `ecs-migrate local` while the migration writes as fast
# as it can (`yes`) for 10 s, with standard output (a) a pipe that is never read and (b)
# /dev/null. Goal: under 50 MiB in both; the output path drops what the terminal cannot take.
#
#   bash benches/local-output.sh            # builds the release binary
#   ECS_MIGRATE_BIN=target/debug/ecs-migrate bash benches/local-output.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bin=${ECS_MIGRATE_BIN:-}
if [ -z "$bin" ]; then
  cargo build --release --quiet --bin ecs-migrate
  bin="${CARGO_TARGET_DIR:-$root/target}/release/ecs-migrate"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/taskdef.json" <<'JSON'
{"family": "bench", "containerDefinitions": [{"name": "migrate", "essential": true, "stopTimeout": 2}]}
JSON

peak() { # how stdout is wired: "stalled" or "devnull"
  local pidfile="$work/$1.pid"
  if [ "$1" = stalled ]; then
    # `sleep` holds the read end of the pipe and never reads it (that is the point).
    # shellcheck disable=SC2216
    { "$bin" local --task-definition "$work/taskdef.json" -- yes & echo $! >"$pidfile"; wait; } | sleep 30 &
  else
    "$bin" local --task-definition "$work/taskdef.json" -- yes >/dev/null &
    echo $! >"$pidfile"
  fi
  sleep 0.5
  local pid
  pid=$(cat "$pidfile")
  sleep 10
  local kib
  kib=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
  kill -TERM "$pid"
  # The runner stops `yes`, then waits at most 5 s for a stalled terminal before it exits.
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then echo "$1: still running 10 s after SIGTERM" >&2; kill -KILL "$pid"; fi
  printf '%-8s peak %6.1f MiB (goal < 50 MiB)\n' "$1" "$(echo "$kib / 1024" | bc -l)"
}

echo "peak memory of ecs-migrate local with 'yes' as the migration for 10 s"
peak stalled
peak devnull
