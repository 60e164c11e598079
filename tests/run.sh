#!/usr/bin/env bash
# The README's test command: installs what the tests need, starts what they need, runs every
# layer (lint, unit, engine, scenario, wire, static, example, Lambda build) and ends with one
# "N passed, M failed" line. Exit status 0 only when every check passed.
#
#   bash tests/run.sh            everything
#   bash tests/run.sh --quick    skip the release Lambda build (5 min 18 s, 2 shared cores)
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
tools="$root/.tools"
mkdir -p "$tools"
quick=false
[ "${1:-}" = "--quick" ] && quick=true

passed=0
failed=0
failures=()
check() {
  local name=$1
  shift
  echo
  echo "=== $name"
  local start=$SECONDS
  if "$@"; then
    passed=$((passed + 1))
    echo "--- ok: $name ($((SECONDS - start)) s)"
  else
    failed=$((failed + 1))
    failures+=("$name")
    echo "--- FAILED: $name ($((SECONDS - start)) s)"
  fi
}

apt_install() {
  # Installs Debian packages that are missing; apt-get update once per run.
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ -z "${apt_updated:-}" ]; then
    apt-get update -qq && apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

install_tools() {
  # Each step returns on failure: `set -e` does not apply inside a function run by `check`.
  apt_install shellcheck postgresql || return 1
  bash tests/support/install-moto.sh || return 1
  # checkov's venv also holds python-hcl2, which tests/static/iam_actions.py (run by the IAM
  # test, tests/static/iam.rs) parses terraform/iam.tf with.
  if [ ! -x "$tools/checkov/bin/checkov" ]; then
    python3 -m venv "$tools/checkov" || return 1
    "$tools/checkov/bin/pip" install --quiet 'checkov>=3.3,<4' || return 1
  fi
  if [ ! -x "$tools/node/node_modules/.bin/asl-validator" ]; then
    npm install --silent --prefix "$tools/node" asl-validator@4 >/dev/null || return 1
  fi
  if [ ! -x "$tools/cargo-lambda/bin/cargo-lambda" ]; then
    python3 -m venv "$tools/cargo-lambda" || return 1
    "$tools/cargo-lambda/bin/pip" install --quiet 'cargo-lambda==1.9.2' || return 1
  fi
}

check "install test tools" install_tools
check "cargo fmt --check" cargo fmt --all -- --check
check "cargo clippy" cargo clippy --all-targets --quiet -- -D warnings
check "cargo test (unit, engine, scenario, wire, static, local)" cargo test --quiet
check "asl-validator on the rendered state machine" bash tests/static/check-asl.sh
check "terraform fmt, checkov, shellcheck, module consistency" bash tests/static/check-terraform.sh
check "GitHub Actions: actionlint on the workflows, the composite action's scripts" bash tests/static/check-workflows.sh
check "wheel: maturin build, fresh venv, ecs-migrate --version and a local run" bash tests/static/check-wheel.sh
check "example: alembic on PostgreSQL via ecs-migrate local" bash tests/examples/fastapi-postgres.sh
if [ "$quick" = false ]; then
  check "cargo lambda build: one bootstrap zip for all the functions" bash tests/static/build-lambdas.sh
fi

echo
if [ ${#failures[@]} -gt 0 ]; then
  printf 'failed: %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
