#!/usr/bin/env bash
# The README's test command: installs what the tests need, starts what they need, runs every
# layer (lint, unit, engine, scenario, wire, static, example, Lambda build) and ends with one
# line that says what ran and what did not:
#
#   10 passed, 0 failed, 0 skipped
#   skipped (4): cargo lambda build: not run with --quick; terraform validate x2 and terraform test: no provider mirror at /opt/tf-plugins
#   9 passed, 0 failed, 4 skipped
#
# Each step prints one line (its status, its time and its figure); its whole output goes to
# target/test-logs/NN-STEP.log and is printed only when the step fails. A step reports what it
# could not run on lines of its own, which this script counts and names at the end:
#   SKIPPED N: WHAT: WHY      N checks did not run (check-terraform.sh without a provider mirror)
#   FALLBACK: WHAT            a check ran in a lesser form (the x86-64 Lambda zip instead of arm64)
# Exit status 0 only when every step passed; under CI=true also only when nothing was skipped
# or fell back except what a flag asked for (--quick): CI's machine has every tool.
#
#   bash tests/run.sh            everything
#   bash tests/run.sh --quick    without the release Lambda build, the longest step (it runs
#                                beside the others: 973 s from its start in the 17 min 56 s a
#                                fresh clone took on a quiet 2-core machine, 2026-12-08)
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
tools="$root/.tools"
mkdir -p "$tools"
quick=false
[ "${1:-}" = "--quick" ] && quick=true
logs="$root/target/test-logs"
rm -rf "$logs"
mkdir -p "$logs"

passed=0
failed=0
skipped=0
failures=()
# Why checks did not run or ran in a lesser form: "WHAT: WHY" each.
skips=()
fallbacks=()
# Skips a flag asked for: named like the others, never a CI failure.
requested=()
step=0

# The figure a step's line shows: its last line of output that is not a SKIPPED/FALLBACK note
# ("no findings" for a step that printed nothing, as cargo fmt and clippy do when clean).
figure_of() {
  local last
  last=$(grep -vE '^(SKIPPED [0-9]+|FALLBACK):' "$1" | grep -vE '^[[:space:]]*$' | tail -n 1 | cut -c1-160)
  echo "${last:-no findings}"
}

# cargo test's figure: the tests that passed over every test binary, and the binaries.
cargo_test_figure() {
  awk '/^test result: /{n++; for (i = 1; i <= NF; i++) if ($(i) ~ /^passed;?$/) p += $(i - 1)}
       END {printf "%d tests passed in %d test binaries\n", p, n}' "$1"
}

check() {
  local name=$1 figure=$2
  shift 2
  step=$((step + 1))
  local log start status took
  log=$(printf '%s/%02d-%s.log' "$logs" "$step" "$(tr -cs 'A-Za-z0-9' '-' <<<"${name%%:*}" | sed 's/-$//')")
  start=$SECONDS
  "$@" >"$log" 2>&1
  status=$?
  took=$((SECONDS - start))
  local line count what
  while IFS= read -r line; do
    case $line in
      "SKIPPED "*)
        count=${line#SKIPPED }
        count=${count%%:*}
        what=${line#SKIPPED *: }
        skipped=$((skipped + count))
        skips+=("$what")
        ;;
      "FALLBACK: "*) fallbacks+=("${line#FALLBACK: }") ;;
    esac
  done < <(grep -E '^(SKIPPED [0-9]+|FALLBACK):' "$log")
  if [ "$status" -eq 0 ]; then
    passed=$((passed + 1))
    printf 'ok      %-58s %4d s  %s\n' "$name" "$took" "$($figure "$log")"
  else
    failed=$((failed + 1))
    failures+=("$name")
    printf 'FAILED  %-58s %4d s  (exit %d); its output, %s:\n' "$name" "$took" "$status" "${log#"$root"/}"
    # Compiler progress is not what failed.
    grep -vE '^[[:space:]]+(Compiling|Checking|Downloaded|Downloading|Locking|Adding|Updating) ' "$log" | sed 's/^/    | /'
  fi
}

apt_install() {
  # Installs Debian packages that are missing (root is needed); apt-get update once per run.
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ -z "${apt_updated:-}" ]; then
    apt-get update -qq && apt_updated=1
  fi
  echo "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

install_tools() {
  # Each step returns on failure: `set -e` does not apply inside a function run by `check`.
  local have=()
  apt_install shellcheck postgresql bc || return 1
  # python3 -m venv: Debian's python3 needs python3-venv; other builds carry it.
  if ! python3 -m venv --help >/dev/null 2>&1; then
    apt_install python3-venv || return 1
  fi
  if ! command -v npm >/dev/null 2>&1; then
    apt_install nodejs npm || return 1
  fi
  # Terraform is in no registry this machine reaches (not in Debian, not on PyPI or npm): where
  # it is absent, check-terraform.sh reports its checks as skipped, naming why.
  if ! command -v terraform >/dev/null 2>&1; then
    echo "terraform: not installed and not installable here; its checks will be skipped"
  else
    have+=("terraform $(terraform version 2>/dev/null | head -n 1 | sed 's/^Terraform //')")
  fi
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
  if [ "$quick" = false ]; then
    if [ ! -x "$tools/cargo-lambda/bin/cargo-lambda" ]; then
      python3 -m venv "$tools/cargo-lambda" || return 1
      "$tools/cargo-lambda/bin/pip" install --quiet 'cargo-lambda==1.9.2' || return 1
    fi
    # The arm64 Lambda zip needs the aarch64 standard library; without it the build falls back
    # to x86-64 and says so.
    if rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1; then
      have+=("rust aarch64 target")
    else
      echo "rustup target add aarch64-unknown-linux-gnu failed"
    fi
  fi
  have+=("moto" "checkov" "asl-validator" "shellcheck" "postgresql")
  local IFS=,
  echo "ready: ${have[*]}" | sed 's/,/, /g'
}

check "install test tools" figure_of install_tools
# The Lambda zip (a release build for arm64 ending in a long single-threaded fat-LTO link) is
# built beside the other steps, in its own target directory (its profile and target share
# nothing with theirs), so the second core does not sit idle; it is reported in its place below.
if [ "$quick" = false ]; then
  lambda_log="$logs/lambda-build.out"
  lambda_began=$SECONDS
  CARGO_TARGET_DIR="$root/target/lambda-build" bash tests/static/build-lambdas.sh >"$lambda_log" 2>&1 &
  lambda_pid=$!
fi

# Waits for the Lambda build started above; its output, and how long it took from its start.
lambda_build() {
  wait "$lambda_pid"
  local status=$?
  cat "$lambda_log"
  echo "built in $((SECONDS - lambda_began)) s beside the other steps: $(tail -n 1 "$lambda_log")"
  return "$status"
}
check "cargo fmt --check" figure_of cargo fmt --all -- --check
check "cargo clippy" figure_of cargo clippy --all-targets --quiet -- -D warnings
# --no-fail-fast: a failing test binary does not hide the results of the ones after it.
check "cargo test (unit, engine, scenario, wire, static, local)" cargo_test_figure cargo test --no-fail-fast
check "asl-validator on the rendered state machine" figure_of bash tests/static/check-asl.sh
check "terraform fmt, checkov, shellcheck, module consistency" figure_of bash tests/static/check-terraform.sh
check "GitHub Actions: actionlint, the composite action's scripts" figure_of bash tests/static/check-workflows.sh
check "wheel: maturin build, fresh venv, a local run" figure_of bash tests/static/check-wheel.sh
check "example: alembic on PostgreSQL via ecs-migrate local" figure_of bash tests/examples/fastapi-postgres.sh
if [ "$quick" = false ]; then
  check "cargo lambda build: one bootstrap zip for all the functions" figure_of lambda_build
else
  skipped=$((skipped + 1))
  requested+=("cargo lambda build: not run with --quick")
fi

# The closing line: counts, then why anything did not run or ran in a lesser form.
why=("${requested[@]}" "${skips[@]}")
for fallback in "${fallbacks[@]}"; do
  why+=("fallback: $fallback")
done
echo
if [ ${#failures[@]} -gt 0 ]; then
  printf 'failed: %s\n' "${failures[@]}"
fi
unrequested=$((${#skips[@]} + ${#fallbacks[@]}))
ci_failed=false
if [ "${CI:-}" = true ] && [ "$unrequested" -gt 0 ]; then
  ci_failed=true
  echo "CI: these should run on this machine but did not (install what they need, or fix the step):"
  printf '  %s\n' "${skips[@]}" "${fallbacks[@]/#/fallback: }"
fi
# Why anything was skipped goes on the line before, so the closing line stays the plain count
# that CI's runner reads ("N passed, M failed, K skipped" alone on its line).
if [ ${#why[@]} -gt 0 ]; then
  echo "skipped ($skipped): $(printf '%s; ' "${why[@]}" | sed 's/; $//')"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$ci_failed" = false ]
