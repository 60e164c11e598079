#!/usr/bin/env bash
# Builds the one Lambda zip the Terraform module deploys for all its functions (cargo lambda,
# arm64, al2023: one fat-LTO link instead of five) and checks it holds an executable bootstrap.
# Falls back to x86-64 if the arm64 target cannot be installed (then set
# lambda_architecture = "x86_64" in Terraform), saying so on a "FALLBACK:" line. Measured on
# the 2-core machine beside other builds: 19 min cold, 3 min 16 s after a crate-only change.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export PATH="$root/.tools/cargo-lambda/bin:$PATH"
bins=(--bin bootstrap)
if ! cargo lambda build --profile lambda-release --arm64 --output-format zip --lambda-dir target/lambda "${bins[@]}"; then
  # tests/run.sh names this in its closing line (and fails under CI=true).
  echo "FALLBACK: the Lambda zip was built for x86-64, not arm64 (the arm64 build failed, see above; deploy it with lambda_architecture = \"x86_64\")"
  cargo lambda build --profile lambda-release --x86-64 --output-format zip --lambda-dir target/lambda-x86_64 "${bins[@]}"
  dir=target/lambda-x86_64
else
  dir=target/lambda
fi
zip="$dir/bootstrap/bootstrap.zip"
[ -f "$zip" ] || { echo "missing $zip"; exit 1; }
python3 - "$zip" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    info = z.getinfo("bootstrap")
    mode = info.external_attr >> 16
    assert mode & 0o111, f"{sys.argv[1]}: bootstrap is not executable ({oct(mode)})"
    print(f"{sys.argv[1]}: bootstrap {info.file_size} bytes, zip {sum(i.compress_size for i in z.infolist())} bytes")
PY
