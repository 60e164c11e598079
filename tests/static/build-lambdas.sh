#!/usr/bin/env bash
# Builds the five Lambda zips the Terraform module deploys (cargo lambda, arm64, al2023) and
# checks each holds an executable bootstrap. Falls back to x86-64 if the arm64 target cannot be
# installed (the zips then need architectures = ["x86_64"] in Terraform).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export PATH="$root/.tools/cargo-lambda/bin:$PATH"
functions=(validate-event run-task poll-status check-exit-code stop-task)
bins=()
for f in "${functions[@]}"; do bins+=(--bin "$f"); done
if ! cargo lambda build --profile lambda-release --arm64 --output-format zip --lambda-dir target/lambda "${bins[@]}"; then
  echo "arm64 build failed; trying x86-64"
  cargo lambda build --profile lambda-release --x86-64 --output-format zip --lambda-dir target/lambda-x86_64 "${bins[@]}"
  dir=target/lambda-x86_64
else
  dir=target/lambda
fi
for f in "${functions[@]}"; do
  zip="$dir/$f/bootstrap.zip"
  [ -f "$zip" ] || { echo "missing $zip"; exit 1; }
  python3 - "$zip" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    info = z.getinfo("bootstrap")
    mode = info.external_attr >> 16
    assert mode & 0o111, f"{sys.argv[1]}: bootstrap is not executable ({oct(mode)})"
    print(f"{sys.argv[1]}: bootstrap {info.file_size} bytes, zip {sum(i.compress_size for i in z.infolist())} bytes")
PY
done
