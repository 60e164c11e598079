#!/usr/bin/env bash
# Benchmark (not a test): cold start and peak memory of the bootstrap serving run-task, built as
# the Lambda zips are (profile lambda-release, for this machine's architecture), against its
# floor (a hello-world lambda_runtime function of the same profile) and the Python Lambda it
# replaces. Installs awslambdaric and boto3 into .tools/bench and moto (for both functions'
# RunTask calls) with tests/support/install-moto.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash tests/support/install-moto.sh >/dev/null
if [ ! -x .tools/bench/bin/python ] || ! .tools/bench/bin/python -c 'import awslambdaric, boto3' 2>/dev/null; then
  python3 -m venv .tools/bench
  .tools/bench/bin/pip install --quiet awslambdaric boto3
fi
# The bootstrap and its floor (a hello-world lambda_runtime function) with the same profile.
cargo build --quiet --profile lambda-release --bin bootstrap --example lambda_floor
out="${CARGO_TARGET_DIR:-$root/target}/lambda-release"
ECS_MIGRATE_BOOTSTRAP="$out/bootstrap" ECS_MIGRATE_FLOOR="$out/examples/lambda_floor" \
  cargo bench --quiet --bench cold_start
