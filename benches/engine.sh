#!/usr/bin/env bash
# Engine throughput, side by side: state transitions per second and peak memory of
#   - this crate's ASL engine (benches/engine.rs, built with the bench profile),
#   - moto's Step Functions interpreter (PyPI moto, execute_state_machine),
#   - the npm package aws-local-stepfunctions,
# all running the same loop (Pass with States.MathAdd -> Choice, N times); the engine also
# runs that loop written in JSONata (Output and Condition expressions), beside its JSONPath figure,
# and jsonata-js (2.0.6, the version AWS names) evaluates that loop's two expressions alone
# (benches/engine_jsonata_js.mjs), the floor of any engine built on it.
#
# Usage: benches/engine.sh [N]          (default N=5000, i.e. 10001 transitions)
# The peers are installed under .tools/bench/ (gitignored). The Rust build uses
# $BENCH_TARGET_DIR, else $CARGO_TARGET_DIR, else ./target.
set -euo pipefail

N="${1:-5000}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOOLS="$ROOT/.tools/bench"
TARGET="${BENCH_TARGET_DIR:-${CARGO_TARGET_DIR:-$ROOT/target}}"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

say() { printf '%s\n' "$*" >&2; }

say "building the engine bench (bench profile) in $TARGET"
ENGINE_BIN="$(cd "$ROOT" && CARGO_TARGET_DIR="$TARGET" cargo bench --bench engine --no-run --message-format=json 2>"$OUT/build.log" \
  | python3 -c 'import json,sys
for line in sys.stdin:
    try: m = json.loads(line)
    except ValueError: continue
    if m.get("reason") == "compiler-artifact" and m.get("target", {}).get("name") == "engine" and m.get("executable"):
        print(m["executable"])')" || { cat "$OUT/build.log" >&2; exit 2; }
[ -x "$ENGINE_BIN" ] || { cat "$OUT/build.log" >&2; say "engine bench binary not found"; exit 2; }

if [ ! -x "$TOOLS/venv/bin/python" ] || ! "$TOOLS/venv/bin/python" -c 'import moto, boto3' 2>/dev/null; then
  say "installing moto into $TOOLS/venv"
  python3 -m venv "$TOOLS/venv"
  "$TOOLS/venv/bin/pip" install --quiet --disable-pip-version-check 'moto[stepfunctions]>=5.0' boto3
fi
if [ ! -d "$TOOLS/node/node_modules/aws-local-stepfunctions" ]; then
  say "installing aws-local-stepfunctions into $TOOLS/node"
  mkdir -p "$TOOLS/node"
  npm install --prefix "$TOOLS/node" --no-audit --no-fund --silent aws-local-stepfunctions >/dev/null
fi
if [ ! -d "$TOOLS/node/node_modules/jsonata" ]; then
  say "installing jsonata@2.0.6 into $TOOLS/node"
  npm install --prefix "$TOOLS/node" --no-audit --no-fund --silent jsonata@2.0.6 >/dev/null
fi
cp "$ROOT/benches/engine_als.mjs" "$TOOLS/node/engine_als.mjs"
cp "$ROOT/benches/engine_jsonata_js.mjs" "$TOOLS/node/engine_jsonata_js.mjs"

# Runs one engine under GNU time; leaves its JSON line and peak RSS (KiB) in $OUT/NAME.*
measure() {
  local name="$1"; shift
  say "running $name (N=$N)"
  /usr/bin/time -v -o "$OUT/$name.time" "$@" >"$OUT/$name.json" 2>"$OUT/$name.err" \
    || { cat "$OUT/$name.err" >&2; say "$name failed"; return 1; }
  grep 'Maximum resident set size' "$OUT/$name.time" | awk '{print $NF}' >"$OUT/$name.rss"
}

measure ecs-migrate "$ENGINE_BIN" "$N"
measure ecs-migrate-no-history "$ENGINE_BIN" "$N" --without-history
measure ecs-migrate-jsonata "$ENGINE_BIN" "$N" --jsonata
measure ecs-migrate-jsonata-no-history "$ENGINE_BIN" "$N" --jsonata --without-history
measure moto "$TOOLS/venv/bin/python" "$ROOT/benches/engine_moto.py" "$N"
measure aws-local-stepfunctions node "$TOOLS/node/engine_als.mjs" "$N"
measure jsonata-js node "$TOOLS/node/engine_jsonata_js.mjs" "$N"

python3 - "$OUT" <<'EOF'
import json, os, sys
out = sys.argv[1]
rows = []
for name in ["ecs-migrate", "ecs-migrate-no-history", "ecs-migrate-jsonata", "ecs-migrate-jsonata-no-history", "moto", "aws-local-stepfunctions", "jsonata-js"]:
    r = json.load(open(os.path.join(out, name + ".json")))
    r["rss_mib"] = int(open(os.path.join(out, name + ".rss")).read().strip()) / 1024
    rows.append(r)
print(f"{'engine':<26}{'status':>10}{'transitions':>13}{'seconds':>10}{'transitions/s':>15}{'peak RSS MiB':>14}{'speed ratio':>13}{'memory ratio':>14}")
for ours in rows[:2]:
  print(f"ratios against {ours['engine']}:")
  for r in rows:
    speed = ours["transitions_per_second"] / r["transitions_per_second"]
    mem = r["rss_mib"] / ours["rss_mib"]
    print(f"  {r['engine']:<24}{r['status']:>10}{r['transitions']:>13}{r['seconds']:>10.3f}{r['transitions_per_second']:>15.0f}{r['rss_mib']:>14.1f}{speed:>12.1f}x{mem:>13.1f}x")
print("speed ratio: ecs-migrate transitions/s divided by the engine's; memory ratio: the engine's peak RSS divided by ecs-migrate's")
outputs = {r["engine"]: r["output"] for r in rows}
if len({json.dumps(o, sort_keys=True) for o in outputs.values()}) != 1:
    print("WARNING: the engines disagree on the output:", outputs)
EOF
