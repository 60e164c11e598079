#!/usr/bin/env bash
# The seed's situation end to end: the fastapi-app example's Alembic migrations run by
# `ecs-migrate local` against a real PostgreSQL server on this machine.
#
#   bash tests/examples/fastapi-postgres.sh
#
# - installs the app's requirements (alembic, SQLAlchemy, psycopg, fastapi) into .tools/venv;
# - starts PostgreSQL on 127.0.0.1 on a free port in a temporary directory (installs Debian's
#   postgresql package first if no initdb is found), and stops it on exit;
# - runs `ecs-migrate local` with the example's task definition (DATABASE_URL filled in):
#   `alembic upgrade head` must succeed and create the tables; a second run has nothing to do;
#   with the broken revision added (ALEMBIC_CONFIG=broken/alembic.ini) it must fail with Migration.NonZeroExit, alembic's error in
#   the Cause, and the database left where alembic left it (0002 applied, 0003 not).
#
# ECS_MIGRATE names the binary to test; by default `cargo test --no-run` builds it (the
# integration tests need it) and it is taken from the cargo target directory.
# The last line is "N passed, M failed"; the exit status is 0 only when nothing failed.

set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
APP="$ROOT/examples/fastapi-app"
VENV="$ROOT/.tools/venv"
PASSED=0
FAILED=0

pass() { PASSED=$((PASSED + 1)); echo "ok: $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAILED: $*"; }
die() {
    echo "fastapi-postgres: $*" >&2
    echo "$PASSED passed, $((FAILED + 1)) failed"
    exit 1
}

# --- tools -------------------------------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV" || die "cannot create a venv at $VENV (python3 -m venv)"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$APP/requirements.txt" \
    || die "pip install -r $APP/requirements.txt failed"

find_initdb() {
    # Debian keeps the server binaries out of PATH; take the newest version installed.
    local found=()
    for candidate in /usr/lib/postgresql/*/bin/initdb; do
        [ -x "$candidate" ] && found+=("$candidate")
    done
    [ ${#found[@]} -gt 0 ] && printf '%s\n' "${found[@]}" | sort -V | tail -n 1
}
INITDB=$(find_initdb)
if [ -z "$INITDB" ]; then
    echo "fastapi-postgres: installing PostgreSQL (apt-get install postgresql)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } \
        >/dev/null || die "apt-get install postgresql failed"
    INITDB=$(find_initdb)
    [ -n "$INITDB" ] || die "no initdb under /usr/lib/postgresql/*/bin after installing postgresql"
fi
PGBIN=$(dirname "$INITDB")
PSQL="$PGBIN/psql"
[ -x "$PSQL" ] || PSQL=psql

if [ -n "${ECS_MIGRATE:-}" ]; then
    BIN="$ECS_MIGRATE"
else
    (cd "$ROOT" && cargo test --no-run --quiet >/dev/null 2>&1) || die "cargo test --no-run failed"
    BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/ecs-migrate"
fi
[ -x "$BIN" ] || die "no ecs-migrate binary at $BIN"

# --- PostgreSQL --------------------------------------------------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ecs-migrate-pg.XXXXXX")
if [ "$(id -u)" = 0 ]; then
    # The server refuses to run as root: run it as the postgres user.
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres "$TMP"
    AS_PG=(runuser -u postgres --)
else
    AS_PG=()
fi
PGDATA="$TMP/data"

cleanup() {
    if [ -f "$PGDATA/postmaster.pid" ]; then
        "${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate -w stop >/dev/null 2>&1
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${AS_PG[@]}" "$INITDB" -D "$PGDATA" -U postgres -A trust --no-sync >"$TMP/initdb.log" 2>&1 \
    || { cat "$TMP/initdb.log" >&2; die "initdb failed"; }
"${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$PGDATA" -l "$TMP/postgres.log" -w -t 60 \
    -o "-p $PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$TMP -c fsync=off" start \
    >/dev/null || { cat "$TMP/postgres.log" >&2; die "PostgreSQL did not start"; }

sql() { "$PSQL" -h 127.0.0.1 -p "$PORT" -U postgres -d app -tAq -v ON_ERROR_STOP=1 -c "$1"; }
"$PSQL" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -qc "CREATE DATABASE app" \
    || die "CREATE DATABASE failed"
export DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$PORT/app"
echo "fastapi-postgres: PostgreSQL on 127.0.0.1:$PORT"

# The example's task definition as a deployment would fill it in: the real DATABASE_URL, and
# the app's directory as the working directory (WORKDIR /app in the image).
TASKDEF="$TMP/taskdef.json"
python3 - "$APP/taskdef.json" "$TASKDEF" "$DATABASE_URL" "$APP" <<'PY' || die "cannot write $TASKDEF"
import json, sys
source, target, url, app = sys.argv[1:]
td = json.load(open(source))
container = td["containerDefinitions"][0]
for entry in container["environment"]:
    if entry["name"] == "DATABASE_URL":
        entry["value"] = url
container["workingDirectory"] = app
container["stopTimeout"] = 5
json.dump(td, open(target, "w"), indent=2)
PY

# The venv's alembic first on PATH: the task inherits the runner's environment.
export PATH="$VENV/bin:$PATH"

run() {
    # run NAME ARGS...: runs ecs-migrate, keeps its output in $TMP/NAME.out, sets $STATUS.
    local name=$1
    shift
    (cd "$ROOT" && timeout 300 "$BIN" local --task-definition "$TASKDEF" "$@") >"$TMP/$name.out" 2>&1
    STATUS=$?
    sed "s/^/  [$name] /" "$TMP/$name.out"
}

# --- 1. upgrade head ---------------------------------------------------------------------------
run upgrade
if [ "$STATUS" = 0 ]; then pass "ecs-migrate local exits 0 for alembic upgrade head"; else fail "upgrade exited $STATUS"; fi
tables=$(sql "SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.tables WHERE table_schema = 'public'")
if [ "$tables" = "alembic_version,authors,posts" ]; then pass "tables created: $tables"; else fail "tables are '$tables'"; fi
version=$(sql "SELECT version_num FROM alembic_version")
if [ "$version" = "0002" ]; then pass "alembic_version is 0002"; else fail "alembic_version is '$version'"; fi
if grep -q "Running upgrade 0001 -> 0002" "$TMP/upgrade.out"; then
    pass "alembic's own output streamed through ecs-migrate"
else
    fail "alembic's 'Running upgrade 0001 -> 0002' is not in the output"
fi
if sql "INSERT INTO authors (name, email) VALUES ('Ada', 'ada@example.com')" >/dev/null \
    && sql "INSERT INTO posts (author_id, title) SELECT id, 'Hello' FROM authors" >/dev/null; then
    pass "the app's tables take rows"
else
    fail "inserting into the new tables failed"
fi

# --- 2. nothing to do --------------------------------------------------------------------------
run again
if [ "$STATUS" = 0 ] && ! grep -q "Running upgrade" "$TMP/again.out"; then
    pass "a second run succeeds with nothing to apply"
else
    fail "second run: exit $STATUS"
fi

# --- 3. a broken revision ----------------------------------------------------------------------
# broken/alembic.ini adds broken/ (revision 0003) to the version locations; alembic reads
# ALEMBIC_CONFIG, and the task inherits it from the runner's environment.
export ALEMBIC_CONFIG="$APP/broken/alembic.ini"
run broken --json
if [ "$STATUS" = 1 ]; then pass "a failing migration exits 1"; else fail "broken run exited $STATUS"; fi
if python3 - "$TMP/broken.out" <<'PY'
import json, sys
lines = [l for l in open(sys.argv[1]) if l.startswith("{")]
result = json.loads(lines[-1])
assert result.get("error") == "Migration.NonZeroExit", result
assert 'relation "postz" does not exist' in result.get("cause", ""), result
PY
then
    pass "--json reports Migration.NonZeroExit with alembic's error in the Cause"
else
    fail "--json result is not Migration.NonZeroExit with alembic's error"
fi
version=$(sql "SELECT version_num FROM alembic_version")
if [ "$version" = "0002" ]; then pass "alembic_version stays at 0002 after the failure"; else fail "alembic_version is '$version'"; fi
comments=$(sql "SELECT count(*) FROM information_schema.tables WHERE table_name = 'comments'")
if [ "$comments" = "0" ]; then pass "the failed revision's table was rolled back"; else fail "comments table exists"; fi
posts=$(sql "SELECT count(*) FROM posts")
if [ "$posts" = "1" ]; then pass "the data written before is intact"; else fail "posts has '$posts' rows"; fi

# The text summary names the error and shows alembic's own error.
run broken-text
if [ "$STATUS" = 1 ] && grep -q "Migration.NonZeroExit" "$TMP/broken-text.out" \
    && grep -q 'relation "postz" does not exist' "$TMP/broken-text.out"; then
    pass "the text summary names Migration.NonZeroExit and shows alembic's error"
else
    fail "text run of the broken revision: exit $STATUS, or the error is not shown"
fi
unset ALEMBIC_CONFIG

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
