#!/usr/bin/env bash
# Renders statemachine/migration.asl.json with placeholder ARNs, as Terraform's templatefile()
# would, and checks it with asl-validator (npm).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
validator="$root/.tools/node/node_modules/.bin/asl-validator"
[ -x "$validator" ] || { echo "asl-validator missing: run bash tests/run.sh (it installs it)"; exit 1; }
rendered=$(mktemp --suffix=.json)
trap 'rm -f "$rendered"' EXIT
sed -E 's/\$\{([a-z_]+)_arn\}/arn:aws:lambda:eu-west-1:123456789012:function:ecs-migrate-\1/g' \
  "$root/statemachine/migration.asl.json" >"$rendered"
placeholder='$''{'
if grep -qF "$placeholder" "$rendered"; then
  echo "unrendered placeholder left in the definition:"; grep -nF "$placeholder" "$rendered"; exit 1
fi
"$validator" --json-definition "$(cat "$rendered")"
