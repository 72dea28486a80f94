"""Suppressions in the SQLite store: one ``suppressions`` table beside the activity.

The table is created on first use (``CREATE TABLE IF NOT EXISTS``), so files made by older
releases gain it without a migration step. The command line adds and removes; the pipeline
reads them all (a handful of rows) once per run.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Final

from ..errors import InvalidSuppressionError, StoreError
from ..events import format_time, parse_time
from ..suppressions import Suppression

__all__ = ["SqliteSuppressions"]

logger = logging.getLogger(__name__)

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS suppressions (
    id TEXT PRIMARY KEY,
    rule TEXT NOT NULL,
    principal TEXT,
    source_cidr TEXT,
    account_id TEXT,
    reason TEXT NOT NULL,
    author TEXT NOT NULL,
    created TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    until TEXT NOT NULL,
    expires_at INTEGER
) WITHOUT ROWID
"""
_COLUMNS: Final = (
    "id, rule, principal, source_cidr, account_id, reason, author, created, valid_from, until"
)


class SqliteSuppressions:
    """Add, list and remove suppressions on an open SQLite connection (the store's own)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def add_suppression(self, suppression: Suppression, *, expires_at: int | None = None) -> bool:
        """Store it; False (nothing written) if a suppression with its id is already stored."""
        row = (
            suppression.id,
            suppression.rule,
            suppression.principal,
            suppression.source_cidr,
            suppression.account_id,
            suppression.reason,
            suppression.author,
            format_time(suppression.created),
            format_time(suppression.valid_from),
            format_time(suppression.until),
            expires_at,
        )
        try:
            self._db.execute(_SCHEMA)
            cursor = self._db.execute(
                f"INSERT OR IGNORE INTO suppressions ({_COLUMNS}, expires_at)"  # noqa: S608 (constants)
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
        except sqlite3.Error as error:
            raise StoreError(f"cannot add suppression: {error}") from None
        return cursor.rowcount == 1

    def suppressions(self) -> list[Suppression]:
        """Every stored suppression by id, expired too; an unreadable row is logged and skipped."""
        try:
            self._db.execute(_SCHEMA)
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM suppressions ORDER BY id"  # noqa: S608 (constants)
            ).fetchall()
        except sqlite3.Error as error:
            raise StoreError(f"cannot read suppressions: {error}") from None
        found = []
        for row in rows:
            try:
                found.append(_from_row(row))
            except (InvalidSuppressionError, ValueError, TypeError) as error:
                logger.error("stored suppression ignored: unreadable", extra={"reason": str(error)})
        return found

    def remove_suppression(self, suppression_id: str) -> bool:
        """Delete it; False if no suppression has that id."""
        try:
            self._db.execute(_SCHEMA)
            cursor = self._db.execute("DELETE FROM suppressions WHERE id = ?", (suppression_id,))
        except sqlite3.Error as error:
            raise StoreError(f"cannot remove suppression: {error}") from None
        return cursor.rowcount == 1


def _from_row(row: tuple[str | None, ...]) -> Suppression:
    sid, rule, principal, cidr, account, reason, author, created, start, until = row
    return Suppression(
        id=str(sid),
        rule=str(rule),
        principal=principal,
        source_cidr=cidr,
        account_id=account,
        reason=str(reason),
        author=str(author),
        created=parse_time(str(created)),
        valid_from=parse_time(str(start)),
        until=parse_time(str(until)),
    )
