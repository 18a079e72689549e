"""Refuse a D1 migration that the previous release's code cannot run on (run by scripts/test).

During a gradual deploy two versions of a worker share one database, and after a
rollback the previous version runs on the newest schema: D1 migrations are not versioned
with the code. So every migration after a database's first must be an *expand* step the
running release survives. Destructive statements belong to a later *contract* release,
once no deployed version uses what they remove, and such a migration says so on a line
of its own:

    -- contract: <what no deployed version uses any more, since which release>

Refused unless so marked: DROP TABLE, DROP COLUMN, any RENAME (of a table or a column),
and ADD COLUMN ... NOT NULL without a DEFAULT (the running code's INSERTs leave it out).

    python scripts/check_migrations.py [MIGRATIONS_DIR ...]   (default: migrations, services/*/migrations)

Exits 1 with one line per refused statement, naming its file and line.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONTRACT_MARK = re.compile(r"^\s*--\s*contract:\s*\S", re.IGNORECASE | re.MULTILINE)
# Comments and quoted text, replaced by spaces (newlines kept) before statements are read.
_IGNORED = re.compile(r"--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"", re.DOTALL)
DESTRUCTIVE = (
    ("DROP TABLE", re.compile(r"^DROP\s+TABLE\b")),
    ("DROP COLUMN", re.compile(r"^ALTER\s+TABLE\s+\S+\s+DROP\s+(?:COLUMN\s+)?\S")),
    ("RENAME", re.compile(r"^ALTER\s+TABLE\s+\S+\s+RENAME\b")),
    (
        "NOT NULL column without a DEFAULT on an existing table",
        re.compile(r"^ALTER\s+TABLE\s+\S+\s+ADD\s+(?:COLUMN\s+)?(?!.*\bDEFAULT\b).*\bNOT\s+NULL\b"),
    ),
)


@dataclass(frozen=True)
class Refusal:
    path: Path
    line: int
    rule: str
    statement: str

    def __str__(self) -> str:
        where = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path
        return f"{where}:{self.line}: {self.rule} in an expand migration: {self.statement}"


def statements(sql: str) -> Iterator[tuple[int, str]]:
    """(first line, statement in upper case on one line) of each statement, comments left out."""
    blanked = _IGNORED.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), sql)
    offset = 0
    for chunk in blanked.split(";"):
        text = " ".join(chunk.split())
        if text:
            leading = len(chunk) - len(chunk.lstrip())
            yield blanked.count("\n", 0, offset + leading) + 1, text.upper()
        offset += len(chunk) + 1


def refusals(path: Path) -> list[Refusal]:
    sql = path.read_text(encoding="utf-8")
    if CONTRACT_MARK.search(sql):
        return []
    return [
        Refusal(path, line, rule, statement)
        for line, statement in statements(sql)
        for rule, pattern in DESTRUCTIVE
        if pattern.search(statement)
    ]


def check(directory: Path) -> list[Refusal]:
    """Every migration but the first (which creates the schema: nothing runs before it)."""
    migrations = sorted(directory.glob("*.sql"))
    return [refusal for path in migrations[1:] for refusal in refusals(path)]


def main(argv: list[str]) -> int:
    directories = [Path(arg) for arg in argv] or [ROOT / "migrations", *sorted(ROOT.glob("services/*/migrations"))]
    found = [refusal for directory in directories for refusal in check(directory)]
    for refusal in found:
        print(f"check-migrations: {refusal}", file=sys.stderr)
    if found:
        print(
            "check-migrations: the previous release still runs on this schema during a rollout and after a"
            " rollback; expand now and contract in a later release (README: Migrations), or mark a contract"
            " step with a line '-- contract: <why nothing deployed uses it>'",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
