#!/usr/bin/env bash
# The install users get: builds the Python wheel (maturin, bin bindings), installs it into a
# fresh venv and runs the installed `ecs-migrate`: --version, then the SQLite example through
# `ecs-migrate local`, timing pip install to the finished run. The wheel must carry only the
# `ecs-migrate` command, not the Lambda binaries.
#
# The wheel is built with the dev profile so it reuses the test build's dependencies; the
# release workflow builds the same wheel with the release profile for manylinux.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
tools="$root/.tools"
if [ ! -x "$tools/maturin/bin/maturin" ]; then
  python3 -m venv "$tools/maturin"
  "$tools/maturin/bin/pip" install --quiet 'maturin>=1.9,<2.0'
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$tools/maturin/bin/maturin" build --quiet --profile dev --out "$work/wheels" >/dev/null
wheel=$(find "$work/wheels" -name 'ecs_migrate-*.whl' | head -n 1)
[ -n "$wheel" ] || { echo "no wheel built"; exit 1; }
python3 - "$wheel" <<'PY'
import sys, zipfile
names = [n for n in zipfile.ZipFile(sys.argv[1]).namelist() if ".data/scripts/" in n]
assert [n.rsplit("/", 1)[1] for n in names] == ["ecs-migrate"], f"the wheel's commands: {names}"
print(f"{sys.argv[1].rsplit('/', 1)[1]}: carries {names[0]}")
PY

# A copy of the SQLite example whose database lives in the scratch directory.
python3 - "$work/taskdef.json" "$work/app.db" <<'PY'
import json, sys
td = json.load(open("examples/local/taskdef.json"))
td["containerDefinitions"][0]["environment"] = [{"name": "DEMO_DATABASE", "value": sys.argv[2]}]
json.dump(td, open(sys.argv[1], "w"))
PY
start=$(date +%s.%N)
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet "$wheel"
version=$("$work/venv/bin/ecs-migrate" --version)
expected="ecs-migrate $(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)"
[ "$version" = "$expected" ] || { echo "--version printed '$version', expected '$expected'"; exit 1; }
"$work/venv/bin/ecs-migrate" local --task-definition "$work/taskdef.json" \
  -- python3 examples/local/migrate.py >"$work/run.txt"
end=$(date +%s.%N)
grep -q '^succeeded: exit code 0' "$work/run.txt" || { cat "$work/run.txt"; exit 1; }
printf '%s; fresh venv + pip install + ecs-migrate local run: %.1f s\n' "$version" "$(echo "$end - $start" | bc -l)"
