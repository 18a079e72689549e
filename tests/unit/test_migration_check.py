"""scripts/check_migrations.py refuses what the previous release cannot run on, unless marked.

Run as scripts/test runs it, on migration folders written here: the first migration of a
database may create anything; every later one must be an expand step or say it contracts.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECK = ROOT / "scripts" / "check_migrations.py"
FIRST = "CREATE TABLE users (id TEXT PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL);\n"


def check(tmp_path: Path, *later: str) -> subprocess.CompletedProcess[str]:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "0001_schema.sql").write_text(FIRST + "DROP TABLE IF EXISTS legacy;\n", encoding="utf-8")
    for number, sql in enumerate(later, 2):
        (migrations / f"{number:04d}_change.sql").write_text(sql, encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(CHECK), str(migrations)], capture_output=True, text=True, timeout=30, check=False
    )


@pytest.mark.parametrize(
    ("sql", "line", "rule"),
    [
        ("DROP TABLE users;", 1, "DROP TABLE"),
        ("-- tidy up\ndrop table if exists users;", 2, "DROP TABLE"),
        ("ALTER TABLE users DROP COLUMN name;", 1, "DROP COLUMN"),
        ("ALTER TABLE users DROP name;", 1, "DROP COLUMN"),
        ("ALTER TABLE users RENAME COLUMN name TO full_name;", 1, "RENAME"),
        ("ALTER TABLE users RENAME TO accounts;", 1, "RENAME"),
        ("ALTER TABLE users ADD COLUMN plan TEXT NOT NULL;", 1, "NOT NULL column without a DEFAULT"),
        ("alter table users add plan text\n  not null check (plan <> '');", 1, "NOT NULL column without a DEFAULT"),
    ],
)
def test_a_destructive_expand_migration_is_refused(tmp_path: Path, sql: str, line: int, rule: str) -> None:
    done = check(tmp_path, "CREATE INDEX users_email ON users (email);\n", sql + "\n")
    assert done.returncode == 1, done.stderr
    assert f"0003_change.sql:{line}: {rule}" in done.stderr, done.stderr
    assert "0001_schema.sql" not in done.stderr  # the first migration creates the schema


@pytest.mark.parametrize(
    "sql",
    [
        "ALTER TABLE users ADD COLUMN plan TEXT NOT NULL DEFAULT 'free';",
        "ALTER TABLE users ADD COLUMN display_name TEXT;",
        "CREATE TABLE sessions (id TEXT PRIMARY KEY, user_id TEXT NOT NULL);",
        "CREATE INDEX users_name ON users (name);",
        "-- DROP TABLE users; (a comment, not a statement)\nUPDATE users SET name = 'DROP TABLE users';",
    ],
)
def test_an_additive_migration_passes(tmp_path: Path, sql: str) -> None:
    done = check(tmp_path, sql + "\n")
    assert done.returncode == 0, done.stderr


def test_a_migration_marked_as_a_contract_step_may_remove(tmp_path: Path) -> None:
    contract = "-- contract: release 7 stopped reading users.name\nALTER TABLE users DROP COLUMN name;\n"
    assert check(tmp_path, contract).returncode == 0


def test_the_projects_migrations_pass() -> None:
    done = subprocess.run([sys.executable, str(CHECK)], capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
