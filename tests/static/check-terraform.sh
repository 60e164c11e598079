#!/usr/bin/env bash
# Static checks of the Terraform module and its scripts, without AWS and without providers
# (`terraform init`/`validate` need a provider download):
#   1. terraform fmt -check -recursive terraform
#   2. checkov on terraform/ (module + examples): no failed check; skips only inline, with reasons
#   3. shellcheck on terraform/scripts/*.sh and tests/static/*.sh
#   4. tests/static/check-consistency.py (variables, references, README, settings reference, example, ASL placeholders)
#   5. tests/static/iam_actions.py parses iam.tf and lock.tf (one policy document per function,
#      required conditions such as stop-task's tag condition, DynamoDB grants on the lock table
#      only), and its --self-test proves those checks fail when a condition is removed or a
#      DynamoDB grant widened
#   6. when a local provider mirror exists (TF_PROVIDER_MIRROR, default /opt/tf-plugins, holding
#      registry.terraform.io/hashicorp/aws): terraform validate of the module and of
#      examples/complete, and terraform test (terraform/tests, mocked provider), in a scratch
#      copy with dummy zips. Providers cannot be downloaded here, so without a mirror these
#      three checks cannot run: they are counted as skipped, and the final line says so.
# Terraform itself is in no registry this machine reaches: without it, its four checks (fmt,
# validate x2, test) are skipped the same way. Each skip is a line "SKIPPED N: WHAT: WHY",
# which tests/run.sh counts and names in its closing line.
# checkov comes from PyPI into .tools/checkov (gitignored) the first time.
# Prints each step's result and a final "N passed, M failed" line; exits 1 if a step failed.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo" || exit 2

passed=0
failed=0
skipped=0
pass() { passed=$((passed + 1)); printf 'ok   %s\n' "$1"; }
fail() { failed=$((failed + 1)); printf 'FAIL %s\n' "$1"; }

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# Terraform warns when its CLI config file is missing: point it at an empty one.
if [[ -z "${TF_CLI_CONFIG_FILE:-}" || ! -f "${TF_CLI_CONFIG_FILE}" ]]; then
  : >"$scratch/empty.tfrc"
  export TF_CLI_CONFIG_FILE="$scratch/empty.tfrc"
fi

skip() {
  skipped=$((skipped + $1))
  reasons+=("$2")
  printf 'SKIPPED %d: %s\n' "$1" "$2"
}
reasons=()

# 1. terraform fmt
if ! command -v terraform >/dev/null 2>&1; then
  skip 1 "terraform fmt: terraform is not installed (https://developer.hashicorp.com/terraform/install)"
elif out=$(terraform fmt -check -recursive -diff terraform 2>&1); then
  pass "terraform fmt -check -recursive terraform"
else
  printf '%s\n' "$out"
  fail "terraform fmt: the files above are not formatted: run terraform fmt -recursive terraform"
fi

# 2. checkov
checkov_venv="$repo/.tools/checkov"
if [[ ! -x "$checkov_venv/bin/checkov" ]]; then
  echo "installing checkov into .tools/checkov ..."
  if ! { python3 -m venv "$checkov_venv" && "$checkov_venv/bin/pip" install --quiet 'checkov>=3.3,<4'; } >&2; then
    fail "checkov: could not install it into .tools/checkov (python3 -m venv + pip install 'checkov>=3.3,<4')"
  fi
fi
if [[ -x "$checkov_venv/bin/checkov" ]]; then
  out=$("$checkov_venv/bin/checkov" -d terraform --framework terraform --compact --quiet --skip-download 2>&1)
  status=$?
  summary=$(grep -E 'Passed checks: [0-9]+, Failed checks: [0-9]+, Skipped checks: [0-9]+' <<<"$out" | tail -n 1)
  failed_checks=$(sed -nE 's/.*Failed checks: ([0-9]+).*/\1/p' <<<"$summary")
  if [[ $status -eq 0 && -n "$summary" && "$failed_checks" == 0 ]]; then
    pass "checkov: $summary"
  else
    printf '%s\n' "$out"
    fail "checkov: ${summary:-no summary (exit status $status)}: fix the failed checks above, or skip one inline (#checkov:skip=CKV_...:reason)"
  fi
  # A skip must say why: "#checkov:skip=CKV_X:reason".
  bare_skips=$(grep -rnE '#checkov:skip=[A-Z0-9_]+[[:space:]]*(:[[:space:]]*)?$' terraform --include='*.tf' || true)
  if [[ -z "$bare_skips" ]]; then
    pass "checkov: every inline skip gives its reason"
  else
    printf '%s\n' "$bare_skips"
    fail "checkov: the skips above give no reason"
  fi
fi

# 3. shellcheck
scripts=()
for f in terraform/scripts/*.sh tests/static/*.sh; do
  [[ -f "$f" ]] && scripts+=("$f")
done
if ! command -v shellcheck >/dev/null 2>&1; then
  fail "shellcheck: not installed (apt-get install -y shellcheck)"
elif [[ ${#scripts[@]} -eq 0 ]]; then
  fail "shellcheck: no script found under terraform/scripts"
elif out=$(shellcheck --severity=style "${scripts[@]}" 2>&1); then
  pass "shellcheck ${scripts[*]}"
else
  printf '%s\n' "$out"
  fail "shellcheck: see the findings above"
fi

# 4. consistency
if out=$(python3 tests/static/check-consistency.py 2>&1); then
  pass "check-consistency.py: $(tail -n 1 <<<"$out" | sed 's/^check-consistency.py: //')"
else
  printf '%s\n' "$out"
  fail "check-consistency.py: see the failures above"
fi

# 5. IAM actions per function
if out=$(python3 tests/static/iam_actions.py 2>&1 >/dev/null); then
  pass "iam_actions.py: $(tail -n 1 <<<"$out" | sed 's/^iam_actions.py: //')"
else
  printf '%s\n' "$out"
  fail "iam_actions.py: see the failures above"
fi
# ... and its condition checks can fail: without each required condition, iam.tf is refused.
if out=$(python3 tests/static/iam_actions.py --self-test 2>&1 >/dev/null); then
  pass "iam_actions.py --self-test: $(tail -n 1 <<<"$out" | sed 's/^iam_actions.py --self-test: //')"
else
  printf '%s\n' "$out"
  fail "iam_actions.py --self-test: see the failures above"
fi

# 6. terraform validate + terraform test, with providers from a local mirror only
mirror=${TF_PROVIDER_MIRROR:-/opt/tf-plugins}
if ! command -v terraform >/dev/null 2>&1; then
  skip 3 "terraform validate x2 and terraform test: terraform is not installed"
elif [[ ! -d "$mirror/registry.terraform.io/hashicorp/aws" ]]; then
  skip 3 "terraform validate x2 and terraform test: no provider mirror at $mirror (set TF_PROVIDER_MIRROR)"
else
  work="$scratch/repo"
  mkdir -p "$work/statemachine" "$work/zips"
  cp -R terraform "$work/terraform"
  rm -rf "$work/terraform/.terraform" "$work/terraform/examples/complete/.terraform"
  cp statemachine/migration.asl.json "$work/statemachine/"
  mkdir -p "$work/zips"
  python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1], "w").writestr("bootstrap", "#!/bin/sh\n")' \
    "$work/zips/bootstrap.zip"
  printf 'provider_installation {\n  filesystem_mirror {\n    path = "%s"\n  }\n}\n' "$mirror" >"$scratch/mirror.tfrc"
  tf() { TF_CLI_CONFIG_FILE="$scratch/mirror.tfrc" TF_IN_AUTOMATION=1 terraform "$@"; }
  for dir in terraform terraform/examples/complete; do
    if ! out=$(tf -chdir="$work/$dir" init -backend=false -input=false -no-color 2>&1); then
      printf '%s\n' "$out"
      fail "terraform init ($dir) from the mirror at $mirror"
    elif out=$(tf -chdir="$work/$dir" validate -no-color 2>&1); then
      pass "terraform validate $dir"
    else
      printf '%s\n' "$out"
      fail "terraform validate $dir"
    fi
  done
  if out=$(tf -chdir="$work/terraform" test -no-color -var "lambda_zip=$work/zips/bootstrap.zip" 2>&1) \
    && ran=$(grep -oE '^Success! [0-9]+ passed' <<<"$out" | grep -oE '[0-9]+') && ((ran > 0)); then
    pass "terraform test: $(grep -E '^Success!' <<<"$out" | sed 's/^Success! //')"
  else
    printf '%s\n' "$out"
    fail "terraform test: see the failures above"
  fi
fi

if ((skipped > 0)); then
  echo "check-terraform.sh: $passed passed, $failed failed, $skipped skipped ($(printf '%s; ' "${reasons[@]}" | sed 's/; $//'))"
else
  echo "check-terraform.sh: $passed passed, $failed failed"
fi
[[ $failed -eq 0 ]]
