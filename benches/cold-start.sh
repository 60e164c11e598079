#!/usr/bin/env bash
# Benchmark (not a test): cold start and peak memory of the bootstrap serving run-task, built as the
# Lambda zips are (profile lambda-release, for this machine's architecture), against the Python
# Lambda it replaces. Installs awslambdaric and boto3 into .tools/bench and moto (for both
# functions' RunTask calls) with tests/support/install-moto.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash tests/support/install-moto.sh >/dev/null
if [ ! -x .tools/bench/bin/python ] || ! .tools/bench/bin/python -c 'import awslambdaric, boto3' 2>/dev/null; then
  python3 -m venv .tools/bench
  .tools/bench/bin/pip install --quiet awslambdaric boto3
fi
cargo build --quiet --profile lambda-release --bin bootstrap
ECS_MIGRATE_BOOTSTRAP="${CARGO_TARGET_DIR:-$root/target}/lambda-release/bootstrap" \
  cargo bench --quiet --bench cold_start
