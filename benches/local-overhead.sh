#!/usr/bin/env bash
# Benchmark (not a test): the wall-clock overhead of `ecs-migrate local` over running the same
# command directly, for a command that exits at once and one that runs 10 s. Goal: at most 1 s,
# i.e. the local loop notices a stopped process at once rather than at the next poll.
#
#   bash benches/local-overhead.sh
# Needs hyperfine (Debian); builds the release binary.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine >/dev/null; }
cargo build --release --quiet --bin ecs-migrate
bin="${CARGO_TARGET_DIR:-$root/target}/release/ecs-migrate"
taskdef=$(mktemp --suffix=.json)
trap 'rm -f "$taskdef" "$taskdef".*.json' EXIT
cat >"$taskdef" <<'JSON'
{"family": "bench", "containerDefinitions": [{"name": "migrate", "image": "none", "essential": true}]}
JSON

run() { # name, runs, command...
  local name=$1 runs=$2
  shift 2
  local export="$taskdef.$name.json"
  hyperfine --style basic --runs "$runs" --warmup 1 --export-json "$export" \
    --command-name "direct" "$*" \
    --command-name "ecs-migrate local" "$bin local --json --task-definition $taskdef -- $*" >&2
  python3 - "$export" "$name" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
direct, local = results["direct"]["mean"], results["ecs-migrate local"]["mean"]
print(f"{sys.argv[2]:<16} direct {direct:8.3f} s   ecs-migrate local {local:8.3f} s   overhead {local - direct:6.3f} s")
PY
}

echo "wall-clock overhead of ecs-migrate local (mean of hyperfine runs; goal: <= 1 s)"
run "exits at once" 20 true
run "runs 10 s" 3 sleep 10
