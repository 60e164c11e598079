#!/usr/bin/env bash
# Benchmark (not a test): the reconciler's API calls and duration per run for 0, 10 and 100
# tasks in the cluster, against moto server on 127.0.0.1 (ECS, DynamoDB, Step Functions).
#
#   bash benches/reconcile.sh                 # about a minute
#   SIZES="0 10 100 300" RUNS=5 bash benches/reconcile.sh
#
# Each run is `ecs-migrate reconcile --json`, the same code the scheduled function runs. The
# cluster holds N tasks that ecs-migrate started for N RUNNING executions, one lock item each
# (the steady state: nothing to fix), plus, with FIX=1, one aborted execution's task and lock
# (one stop, one release). Calls are counted by the report and by moto's request log.
#
# ECS_MIGRATE_BIN=PATH uses that binary instead of building a release one.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash tests/support/install-moto.sh >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ -z "${ECS_MIGRATE_BIN:-}" ]; then
  cargo build --release --bin ecs-migrate >/dev/null 2>&1 || cargo build --release --bin ecs-migrate
  target=${CARGO_TARGET_DIR:-$root/target}
  cp "$target/release/ecs-migrate" "$work/ecs-migrate"
  ECS_MIGRATE_BIN="$work/ecs-migrate"
fi

"$root/.tools/moto/bin/python" "$root/benches/reconcile_moto.py" \
  "$ECS_MIGRATE_BIN" "$root/.tools/moto/bin/python" "$root/tests/support/moto_server.py" "$work"
