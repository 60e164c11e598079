#!/usr/bin/env bash
# Benchmark (not a test): how long after an execution ends `ecs-migrate wait` exits, and how
# many AWS API calls it makes per minute of waiting, against moto server on 127.0.0.1.
#
#   bash benches/wait-latency.sh            # about 2 minutes
#   RUNS=4 LONG_WAIT=30 bash benches/wait-latency.sh
#
# ECS_MIGRATE_BIN=PATH uses that binary instead of building one (cargo test --no-run builds the
# command with the test profile's features, which the other tests have compiled already).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash tests/support/install-moto.sh >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ -z "${ECS_MIGRATE_BIN:-}" ]; then
  cargo test --no-run --test wire >/dev/null 2>&1 || cargo test --no-run --test wire
  target=${CARGO_TARGET_DIR:-$root/target}
  # A link of our own: a build in a shared target dir may replace target/debug/ecs-migrate.
  ln "$target/debug/ecs-migrate" "$work/ecs-migrate" 2>/dev/null \
    || cp "$target/debug/ecs-migrate" "$work/ecs-migrate"
  ECS_MIGRATE_BIN="$work/ecs-migrate"
fi
if ! "$ECS_MIGRATE_BIN" start --help | grep -q -- --state-machine-arn; then
  echo "wait-latency.sh: $ECS_MIGRATE_BIN has no 'start --state-machine-arn' (another build replaced it?); run again" >&2
  exit 2
fi

"$root/.tools/moto/bin/python" "$root/benches/wait_latency.py" \
  "$ECS_MIGRATE_BIN" "$root/.tools/moto/bin/python" "$root/tests/support/moto_server.py" "$work"
