#!/usr/bin/env python3
"""A small real migration for `ecs-migrate local`: applies numbered SQL files to a SQLite
database with nothing but the Python standard library.

Each file in migrations/ named NNN_description.sql is one version. Applied versions are
recorded in the schema_versions table; each file runs in its own transaction together with its
record, so a failing file leaves the database at the last good version. Exit status 0 when the
schema is up to date, 1 when a migration failed.

The database is DEMO_DATABASE (default examples/local/app.db, relative to the current directory:
run from the repository root, as examples/local/taskdef.json does).
"""

import os
import pathlib
import re
import sqlite3
import sys

MIGRATIONS = pathlib.Path(__file__).resolve().parent / "migrations"
NAME = re.compile(r"^(\d+)_([A-Za-z0-9_]+)\.sql$")


def available():
    found = []
    for path in sorted(MIGRATIONS.iterdir()):
        match = NAME.match(path.name)
        if match:
            found.append((int(match.group(1)), match.group(2), path))
    return found


def main():
    database = os.environ.get("DEMO_DATABASE", "examples/local/app.db")
    print(f"migrate: database {database}", flush=True)
    conn = sqlite3.connect(database, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_versions ("
        " version INTEGER PRIMARY KEY,"
        " name TEXT NOT NULL,"
        " applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"
    )
    applied = {row[0] for row in conn.execute("SELECT version FROM schema_versions")}
    pending = [m for m in available() if m[0] not in applied]
    if not pending:
        current = max(applied) if applied else 0
        print(f"migrate: schema is already up to date (version {current})", flush=True)
        return 0
    for version, name, path in pending:
        print(f"migrate: applying {version:03d} {name}", flush=True)
        try:
            conn.execute("BEGIN")
            # executescript would commit first; run each statement in this transaction.
            for statement in split_statements(path.read_text()):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_versions (version, name) VALUES (?, ?)", (version, name)
            )
            conn.execute("COMMIT")
        except sqlite3.Error as err:
            conn.execute("ROLLBACK")
            print(f"migrate: {path.name} failed: {err}", file=sys.stderr, flush=True)
            return 1
    print(f"migrate: applied {len(pending)} migration(s); schema is at version {pending[-1][0]}", flush=True)
    return 0


def split_statements(sql):
    """Splits a file into complete statements (sqlite3.complete_statement knows quoting)."""
    statements, current = [], ""
    for line in sql.splitlines(keepends=True):
        if not current and line.strip().startswith("--"):
            continue
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip():
        statements.append(current.strip())
    return statements


if __name__ == "__main__":
    sys.exit(main())
