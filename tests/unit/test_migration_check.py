"""scripts/check_migrations.py refuses what the previous release cannot run on, unless marked.

Run as scripts/test runs it, on migration folders written here: the first migration of a
database may create anything; every later one must be an expand step or say it contracts.
The README's two-release rename is checked here too, and run on SQLite.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECK = ROOT / "scripts" / "check_migrations.py"
ORDERS_SCHEMA = ROOT / "services" / "orders" / "migrations" / "0001_orders.sql"
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


def readme_migrations() -> dict[str, str]:
    """The README's two-release rename: file name -> SQL, from its ```sql blocks."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Migrations: expand now, contract later") :]
    blocks = re.findall(r"```sql\n(.*?)```", section, re.DOTALL)
    assert len(blocks) == 2, "the README shows the expand and the contract migration"
    return {block.splitlines()[0].removeprefix("-- ").split("/")[-1]: block for block in blocks}


def test_the_readmes_rename_passes_the_check_only_with_its_contract_line(tmp_path: Path) -> None:
    expand, contract = readme_migrations().items()
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "0001_orders.sql").write_text(ORDERS_SCHEMA.read_text(encoding="utf-8"), encoding="utf-8")
    (migrations / expand[0]).write_text(expand[1], encoding="utf-8")
    (migrations / contract[0]).write_text(contract[1], encoding="utf-8")
    run = [sys.executable, str(CHECK), str(migrations)]
    assert subprocess.run(run, capture_output=True, text=True, check=False).returncode == 0
    unmarked = "\n".join(line for line in contract[1].splitlines() if not line.startswith("-- contract:"))
    (migrations / contract[0]).write_text(unmarked, encoding="utf-8")
    refused = subprocess.run(run, capture_output=True, text=True, check=False)
    assert refused.returncode == 1 and f"{contract[0]}:" in refused.stderr and "DROP COLUMN" in refused.stderr


def test_the_readmes_rename_keeps_both_releases_working_on_sqlite() -> None:
    (_, expand), (_, contract) = readme_migrations().items()
    db = sqlite3.connect(":memory:")
    db.executescript(ORDERS_SCHEMA.read_text(encoding="utf-8"))
    for order_id in ("o1", "o2", "o3"):
        db.execute(
            "INSERT INTO orders (id, user_id, status, items, total_cents, currency, event_id, created_at, updated_at)"
            " VALUES (?, 'u', 'pending', '[]', 0, 'USD', ?, 't', 't')",
            (order_id, f"e-{order_id}"),
        )
    db.execute("UPDATE orders SET notified_at = 'before' WHERE id = 'o1'")
    db.executescript(expand)
    db.execute("UPDATE orders SET notified_at = 'release-0' WHERE id = 'o2'")  # the previous release's write
    db.execute("UPDATE orders SET webhook_delivered_at = 'release-1' WHERE id = 'o3'")  # the new release's write
    rows = db.execute("SELECT id, notified_at, webhook_delivered_at FROM orders ORDER BY id").fetchall()
    assert rows == [("o1", "before", "before"), ("o2", "release-0", "release-0"), ("o3", "release-1", "release-1")]
    db.executescript(contract)
    db.execute("UPDATE orders SET webhook_delivered_at = 'release-2' WHERE id = 'o1'")
    assert [c[1] for c in db.execute("PRAGMA table_info(orders)")].count("notified_at") == 0
