#!/usr/bin/env bash
# Benchmark (not a test): how the engine's costly corners scale with their input, on the
# release binary (issue 19, item 8):
#   - an inline Map whose iterations reach the 25,000-event history quota: the execution fails
#     with States.Runtime; aborting the iterations still running was O(n^2) in the items;
#   - States.ArrayUnique over n items: was O(n^2) comparisons.
# Prints one line per case with the mean of 3 runs (hyperfine); linear means doubling n about
# doubles the time.
#
#   bash benches/quota-abort.sh
# Needs hyperfine (Debian); builds the release binary.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine >/dev/null; }
cargo build --release --quiet --bin ecs-migrate
bin="${CARGO_TARGET_DIR:-$root/target}/release/ecs-migrate"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat >"$work/map.json" <<'JSON'
{"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items", "End": true,
  "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "P",
                    "States": {"P": {"Type": "Pass", "End": true}}}}}}
JSON
cat >"$work/unique.json" <<'JSON'
{"StartAt": "U", "States": {"U": {"Type": "Pass", "End": true,
  "Parameters": {"n.$": "States.ArrayLength(States.ArrayUnique($.items))"}}}}
JSON

case_line() { # label, definition, input file
  local label=$1 definition=$2 input=$3
  # The Map case fails (States.Runtime at the quota) by design: its exit status is 1.
  hyperfine --style none --runs 3 --warmup 1 --ignore-failure --export-json "$work/out.json" \
    "$bin asl run --definition $definition --input @$input" >/dev/null 2>&1
  python3 - "$work/out.json" "$label" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(f"{sys.argv[2]}: {r['mean']:.3f} s (min {r['min']:.3f} s)")
PY
}

# Items small enough that every input stays under the 256 KiB execution-input quota.
for n in 17500 35000 70000; do
  python3 -c "import json; json.dump({'items': [0] * $n}, open('$work/map-$n.json', 'w'))"
  case_line "Map of $n items past the history quota" "$work/map.json" "$work/map-$n.json"
done
for n in 10000 20000 40000; do
  python3 -c "import json; json.dump({'items': [i % 1000 for i in range($n)]}, open('$work/unique-$n.json', 'w'))"
  case_line "States.ArrayUnique over $n items" "$work/unique.json" "$work/unique-$n.json"
done
