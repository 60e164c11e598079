#!/usr/bin/env bash
# Installs the moto server the wire tests run (and the AWS CLI the script tests use) into a
# virtualenv at REPO/.tools/moto. Idempotent: a venv that already has the pinned versions is
# left as it is. Prints the venv's python.
#
#   tests/support/install-moto.sh            # then: cargo test --test wire
#
# Pinned versions: moto[server] 5.2.5 (see tests/support/moto_server.py for the moto bugs it
# still works around), awscli 1.x from PyPI.
set -euo pipefail

MOTO_VERSION="5.2.5"
AWSCLI_VERSION="1.45.11"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="$repo_root/.tools/moto"
python_bin="${PYTHON:-python3}"

if ! command -v "$python_bin" >/dev/null 2>&1; then
  echo "install-moto.sh: $python_bin not found; install Python 3.9+ (apt-get install python3 python3-venv) or set PYTHON=/path/to/python3" >&2
  exit 2
fi

if [ ! -x "$venv/bin/python" ]; then
  mkdir -p "$repo_root/.tools"
  "$python_bin" -m venv "$venv"
fi

installed() {
  "$venv/bin/python" - "$1" "$2" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
sys.exit(0 if version(sys.argv[1]) == sys.argv[2] else 1)
PY
}

if installed moto "$MOTO_VERSION" && installed awscli "$AWSCLI_VERSION" \
  && "$venv/bin/python" -c "import flask, flask_cors" 2>/dev/null; then
  echo "moto $MOTO_VERSION and awscli $AWSCLI_VERSION already in $venv"
else
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "moto[server]==$MOTO_VERSION" "awscli==$AWSCLI_VERSION"
  echo "installed moto $MOTO_VERSION and awscli $AWSCLI_VERSION into $venv"
fi
echo "python: $venv/bin/python"
echo "aws:    $venv/bin/aws"
