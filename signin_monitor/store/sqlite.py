"""``SqliteStore``: the embedded activity store for local replay and tests (stdlib ``sqlite3``).

It mirrors the DynamoDB single-table keys (``schema.py``), so the same contract suite holds for
both. WAL mode lets ``history`` read while a replay writes.
"""

from __future__ import annotations

import contextlib
import functools
import json
import marshal
import math
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from ..alerts import Alert
from ..errors import StoreError, UnstorableRecordError
from ..events import API_CALL, CONSOLE_LOGIN, SignInEvent, format_time, parse_time
from ..networks import network_of
from ..suppressions import Suppression
from . import schema
from .base import (
    DEFAULT_CLAIM_LEASE_SECONDS,
    ClaimOutcome,
    ClaimStatus,
    HistoryQuery,
    UndeliveredAlert,
)
from .sqlite_checkpoints import Checkpointer
from .suppressions_sqlite import SqliteSuppressions
from .windows import StoredClaim, Verdict, judge, neighbour_buckets

__all__ = ["SqliteStore", "StagedRows", "events_in_period"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS activity (
    pk TEXT NOT NULL,
    sk TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_time TEXT NOT NULL,
    event_name TEXT NOT NULL,
    account_id TEXT NOT NULL,
    principal TEXT NOT NULL,
    identity_type TEXT NOT NULL,
    user_name TEXT,
    arn TEXT,
    result TEXT,
    mfa_used INTEGER,
    source_ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    region TEXT NOT NULL,
    error_message TEXT,
    expires_at INTEGER,
    raw TEXT NOT NULL,
    UNIQUE (pk, sk)
);
CREATE INDEX IF NOT EXISTS activity_by_account_time ON activity (account_id, event_time);
CREATE INDEX IF NOT EXISTS activity_by_source_ip ON activity (source_ip, event_time);
CREATE INDEX IF NOT EXISTS activity_by_principal ON activity (principal, event_time);
CREATE TABLE IF NOT EXISTS alert_claims (
    pk TEXT PRIMARY KEY,
    rule_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_time TEXT NOT NULL,
    status TEXT NOT NULL,
    claimed_at REAL NOT NULL
) WITHOUT ROWID;
"""

# Added after the first release: created (or added to an older file) by ``_upgrade``.
_UNDELIVERED_SCHEMA = """
CREATE TABLE IF NOT EXISTS undelivered (
    sk TEXT PRIMARY KEY,
    claim_pk TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_time TEXT NOT NULL,
    payload TEXT NOT NULL,
    reason TEXT,
    failed_at REAL NOT NULL
) WITHOUT ROWID;
"""
_ADDED_CLAIM_COLUMNS = {"token": "TEXT", "reason": "TEXT"}
# Added with API calls (design §3.1); rows of an older file are sign-in events.
_ADDED_ACTIVITY_COLUMNS = {
    "kind": "TEXT NOT NULL DEFAULT 'sign-in'",
    "event_source": "TEXT NOT NULL DEFAULT 'signin.amazonaws.com'",
    "error_code": "TEXT",
    "read_only": "INTEGER",
    "invoked_by": "TEXT",
    "assumed_root": "INTEGER NOT NULL DEFAULT 0",
    "request_user_name": "TEXT",
}
_ACTIVITY_FIELDS = ", ".join(_ADDED_ACTIVITY_COLUMNS)

# The correlation rules' questions (design §3.2), each one range of a partial index: only the
# rows asked about are in it. ``network`` is set on successful ConsoleLogins from an IP address
# (``networks.network_of``); rows of older files have none, so they teach nothing.
_CORRELATION_COLUMNS = {"network": "TEXT"}
_CORRELATION_SCHEMA = """
CREATE INDEX IF NOT EXISTS activity_failures_by_source
    ON activity (account_id, source_ip, event_time, event_id)
    WHERE event_name = 'ConsoleLogin' AND result = 'Failure';
CREATE INDEX IF NOT EXISTS activity_successes
    ON activity (account_id, principal, event_time, event_id) WHERE network IS NOT NULL;
CREATE INDEX IF NOT EXISTS activity_networks
    ON activity (account_id, principal, network, event_time) WHERE network IS NOT NULL;
"""
#: Page size of new files, and the page cache (KiB) of every connection (measured, issue 13).
_PAGE_SIZE = 16384
_CACHE_KIB = 65536
#: SQLite's default autocheckpoint (pages), restored after a run of ``write_staged``.
_AUTOCHECKPOINT_PAGES = 1000
_FAILURE_ROWS = "event_name = 'ConsoleLogin' AND result = 'Failure'"

_COLUMNS = (
    "pk, sk, event_id, event_time, event_name, account_id, principal, identity_type, user_name, "
    "arn, result, mfa_used, source_ip, user_agent, region, error_message, expires_at, raw, "
    + _ACTIVITY_FIELDS
)
_AUDIT_COLUMNS = (
    "event_id, event_time, event_name, account_id, principal, identity_type, user_name, arn, "
    "result, mfa_used, source_ip, user_agent, region, error_message, " + _ACTIVITY_FIELDS
)
# ``network`` rides along in the insert (a successful ConsoleLogin from an IP address has one).
_INSERT = f"INSERT OR IGNORE INTO activity ({_COLUMNS}, network) VALUES ({', '.join('?' * 26)})"  # noqa: S608 (constants only)
_SELECT = f"SELECT {_AUDIT_COLUMNS}, raw FROM activity"  # noqa: S608 (constants only)
# The audit fields without the raw record (a rule's read), ``raw`` read back as ``{}``.
_SELECT_AUDIT = _SELECT.replace(", raw FROM", ", '{}' FROM")

# Replay's bulk write (``stage_many`` / ``write_staged``): a batch's rows are first inserted into
# an unindexed table of a private in-memory database, whose image the store's connection then
# copies in with one statement (or, staged as rows, inserts itself). The untyped columns keep
# each value as it was bound, so the rows stored are the ones ``_INSERT`` would store.
_STAGE_COLUMNS = f"{_COLUMNS}, network"
_STAGE_SCHEMA = f"CREATE TABLE rows ({_STAGE_COLUMNS})"
_STAGE_INSERT = f"INSERT INTO rows VALUES ({', '.join('?' * 26)})"  # noqa: S608 (constants only)
#: Staged batches ``write_staged_many`` takes into one transaction: each commit writes every
#: index page its rows touched to the WAL again (seven indexes, their pages all over), so
#: fewer, larger commits cost far less (measured at 200,000 records: the writer's CPU 6.1 s at
#: one batch a commit, 3.9 s at four, 3.1 s at eight). Each is an attached database; SQLite
#: allows ten.
STAGED_PER_COMMIT: Final = 8
#: The attached databases the staged images are loaded into (``sqlite3_deserialize``, before
#: the transaction begins: reopening a database inside one is not something SQLite promises).
_STAGES: Final = tuple(f"stage{number}" for number in range(STAGED_PER_COMMIT))


@dataclass(frozen=True, slots=True)
class _StageStatements:
    """The statements that copy one attached staging database's rows in."""

    attach: str
    #: One row: how many rows the image holds, its last rowid, and the store's last rowid
    #: (every row written later has a higher one); one statement, so the writer thread asks
    #: for the GIL once.
    shape: str
    copy: str
    #: The rowids (as text) of the image's rows whose keys the store held up to a rowid:
    #: asked only when the copy stored fewer rows than the image has keys.
    held: str
    copy_one: str


def _stage_statements(stage: str) -> _StageStatements:
    return _StageStatements(
        attach=f"ATTACH DATABASE ':memory:' AS {stage}",
        shape=(
            "SELECT count(*), coalesce(max(rowid), 0),"  # noqa: S608 (constants only)
            f" (SELECT coalesce(max(rowid), 0) FROM main.activity) FROM {stage}.rows"
        ),
        copy=(
            f"INSERT OR IGNORE INTO main.activity ({_STAGE_COLUMNS})"  # noqa: S608 (constants only)
            f" SELECT {_STAGE_COLUMNS} FROM {stage}.rows ORDER BY rowid"
        ),
        held=(
            f"SELECT group_concat(s.rowid) FROM {stage}.rows s"  # noqa: S608 (constants only)
            " WHERE EXISTS (SELECT 1 FROM main.activity a"
            " WHERE a.pk = s.pk AND a.sk = s.sk AND a.rowid <= ?)"
        ),
        copy_one=(
            f"INSERT OR IGNORE INTO main.activity ({_STAGE_COLUMNS})"  # noqa: S608 (constants only)
            f" SELECT {_STAGE_COLUMNS} FROM {stage}.rows WHERE rowid = ?"
        ),
    )


_STAGE_STATEMENTS: Final = tuple(_stage_statements(stage) for stage in _STAGES)
#: The store's last rowid (``row_mark``; for a batch staged as rows, ``_insert_rows``, taken
#: before its insert), and whether the store held a row's keys up to a rowid.
_NEWEST_ROWID: Final = "SELECT coalesce(max(rowid), 0) FROM main.activity"
_HELD_KEY: Final = "SELECT 1 FROM main.activity WHERE pk = ? AND sk = ? AND rowid <= ?"


#: The marshal format of rows staged as rows: version 2, without the references to repeated
#: objects later versions track (a lookup per value), dumped in two thirds of the time
#: (1.8 against 2.8 us a row, for 8% more bytes; measured on the bench's corpus).
_ROWS_MARSHAL: Final = 2


def _staged_rows(staged: StagedRows) -> list[tuple[Any, ...]]:
    """The rows of a batch staged as rows, checked to be as many as its first flags."""
    rows: list[tuple[Any, ...]] = marshal.loads(staged.image)  # noqa: S302 (stage_many's bytes)
    if len(rows) != len(staged.first):
        raise StoreError(f"staged batch holds {len(rows)} rows, expected {len(staged.first)}")
    return rows


def _flags_told(first: Sequence[bool], made: int, held: set[int]) -> list[bool] | None:
    """Each row stored unless an earlier row of its batch (``first``) or the store before it
    (``held``: numbers from 1) had its keys; None unless the insert made as many rows."""
    stored = [new and number not in held for number, new in enumerate(first, start=1)]
    return stored if made == sum(stored) else None


@functools.cache
def _stage_null() -> object:
    """What ``stage_many`` binds for an absent value: NaN, which SQLite stores as NULL.

    Python's sqlite3 binds a str, int or float directly, but looks every other value (None
    too) up in its adapter registry first: a tuple built, a dict and two attribute lookups,
    for the six or so absent values of each row that was about 40% of the staging insert.
    A float NaN is bound as a double, which SQLite turns into NULL: the same stored value.
    Checked once on this SQLite (None where it would not hold).
    """
    with contextlib.closing(sqlite3.connect(":memory:")) as db:
        (stored_null,) = db.execute("SELECT ? IS NULL", (math.nan,)).fetchone()
    return math.nan if stored_null else None


@dataclass(frozen=True, slots=True, eq=False)
class StagedRows:
    """A batch ``stage_many`` built and checked, ready for ``write_staged``.

    ``image`` is the serialized staging database (row ``i`` of the batch has rowid ``i + 1``),
    or, ``as_rows``, the rows themselves (``marshal``: only str, int and float); ``first[i]``
    is False when an earlier row of the batch has row ``i``'s keys (its insert will do
    nothing). The rows themselves are only in ``image``: a batch in flight holds one copy of
    its raw records, not two.
    """

    image: bytes
    first: tuple[bool, ...]
    #: ``image`` holds the marshalled rows, which ``write_staged`` inserts itself (replay's
    #: reader process stages so: ``stage_many``).
    as_rows: bool = False


class SqliteStore:
    """An ``ActivityStore`` in one SQLite file (or ``:memory:``).

    Usage::

        store = SqliteStore("signin-monitor.db")
        store.record(event, expires_at=None)

    ``clock`` (epoch seconds) and ``lease_seconds`` work as in ``DynamoDbStore``: a pending claim
    younger than the lease belongs to the delivery posting it, so a same-event claim is
    suppressed; an older one is a retry.
    """

    def __init__(
        self,
        path: str | Path = ":memory:",
        *,
        clock: Callable[[], float] = time.time,
        lease_seconds: float = DEFAULT_CLAIM_LEASE_SECONDS,
        batch_size: int = 1,
    ) -> None:
        self.path = str(path)
        self.lease_seconds = lease_seconds
        self.batch_size = max(1, batch_size)
        self._clock = clock
        self._batched = 0
        # Replay's staging database (``stage_many``) and whether ``_db`` has it attached.
        self._stage: sqlite3.Connection | None = None
        self._stages_attached = 0  # of ``_STAGES``, attached to ``_db`` in order
        # The batches inserted into the open transaction (``begin_staged``), with their flags.
        self._streamed: list[tuple[StagedRows, list[bool] | None]] | None = None
        # ``write_staged``'s WAL checkpoints, on their own thread while it writes; None before
        # (SQLite's autocheckpoint on this connection) and after (turned back on).
        self._checkpoints: Checkpointer | None = None
        self._checkpoints_failed = False  # once failed, the connection checkpoints on its own
        self._wal = False
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            # A new file gets 16 KiB pages (an existing one keeps its own): a replay writes
            # each row into seven indexes, and larger pages and cache nearly halved that time.
            self._db.execute(f"PRAGMA page_size={_PAGE_SIZE}")
            self._db.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
            if self.path != ":memory:":
                mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()
                self._wal = str(mode[0]).lower() == "wal"
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=10000")
            self._db.executescript(_SCHEMA)
            _upgrade(self._db)
        except sqlite3.Error as error:
            raise StoreError(f"cannot open SQLite store {self.path}: {error}") from None

    def record(self, event: SignInEvent, *, expires_at: int | None) -> bool:
        """Insert the event unless its keys are already there.

        With ``batch_size`` > 1 (replay), inserts are committed in batches: one commit per
        insert costs more than everything else a replay does. Reads on this connection see the
        open batch; a claim commits it first, so stored events are durable before any post.
        """
        row = _storable_row(event, expires_at)
        if self.batch_size > 1 and not self._db.in_transaction:
            self._db.execute("BEGIN")
        try:
            cursor = self._db.execute(_INSERT, row)
        except UnicodeError as error:  # a lone surrogate: SQLite takes only valid UTF-8
            raise _unstorable(event, "text that is not valid Unicode") from error
        if self._db.in_transaction:
            self._batched += 1
            if self._batched >= self.batch_size:
                self._commit_batch()
        return cursor.rowcount == 1

    def record_many(
        self, events: Sequence[SignInEvent], *, expires_at: Sequence[int | None]
    ) -> list[bool]:
        """``record`` for each event, in order, in one transaction (replay's bulk write).

        Every event is checked before anything is written: an unstorable one raises
        ``UnstorableRecordError`` with none of the batch stored, so the caller can record the
        batch one by one and lose only that event. (``stage_many`` then ``write_staged``.)
        """
        return self.write_staged(self.stage_many(events, expires_at=expires_at))

    def stage_many(
        self,
        events: Sequence[SignInEvent],
        *,
        expires_at: Sequence[int | None],
        as_rows: bool = False,
    ) -> StagedRows:
        """Build and check the batch's rows into a private in-memory database: no use of the
        store's connection, so one thread can stage the next batch while another writes one.

        ``as_rows``: the rows are built and checked, but handed over as they are (marshalled),
        for ``write_staged`` to insert: replay's reader process stages so. The image cost that
        process 6.5 us a row, marshalling the rows 1.8 (measured on the bench's corpus), while
        the store's process, which only copied images in, sat idle about half the reading
        (issue 13).

        Raises ``UnstorableRecordError`` (naming the event) if one of them cannot be stored.
        Call it from one thread at a time (the staging database is the store's own).
        """
        if len(events) != len(expires_at):
            raise ValueError("record_many needs one expires_at per event")
        null = _stage_null()
        rows = [
            _storable_row(event, expires, absent=null)
            for event, expires in zip(events, expires_at, strict=True)
        ]
        keys = [row[:2] for row in rows]  # (pk, sk)
        if len(set(keys)) == len(keys):
            first = (True,) * len(keys)
        else:
            seen: set[tuple[str, str]] = set()
            marks: list[bool] = []
            for key in keys:
                marks.append(key not in seen)
                seen.add(key)
            first = tuple(marks)
        if as_rows:
            try:
                return StagedRows(marshal.dumps(rows, _ROWS_MARSHAL), first, as_rows=True)
            except ValueError:
                pass  # a value marshal refuses (a str subclass, say): staged as an image
        stage = self._stage
        if stage is None:
            stage = self._stage = sqlite3.connect(
                ":memory:", isolation_level=None, check_same_thread=False
            )
            stage.execute(f"PRAGMA page_size={_PAGE_SIZE}")
            # Private, in memory, emptied for every batch: nothing to roll back to or recover
            # (an error before its image is taken loses only that image), so no journal.
            stage.execute("PRAGMA journal_mode=OFF")
            stage.execute(_STAGE_SCHEMA)
        try:
            with _transaction(stage):
                stage.execute("DELETE FROM rows")  # empty again: the batch's rowids start at 1
                stage.executemany(_STAGE_INSERT, rows)
        except BaseException:
            # Without a journal its rollback undoes nothing for sure: the next batch gets a
            # new staging database.
            self._stage = None
            stage.close()
            raise
        return StagedRows(image=stage.serialize(), first=first)

    def write_staged(self, staged: StagedRows) -> list[bool]:
        """Write a staged batch in one transaction; True for each row it stored, in order."""
        return self.write_staged_many([staged])[0]

    def write_staged_many(self, batches: Sequence[StagedRows]) -> list[list[bool]]:
        """Write up to ``STAGED_PER_COMMIT`` staged batches, in order, in one transaction;
        for each, True for each row it stored.

        Each image is loaded into an attached database first; then one ``INSERT ... SELECT``
        per batch copies its rows, so SQLite does the work (every index) with the GIL
        released, in few steps. A batch staged as rows is inserted with one ``executemany``
        (``_insert_rows``). The flags are exact: a row is stored unless the store held its
        keys (the batches before it in the transaction included: told by the count of rows
        its insert made, and asked only when that is short, ``_copy_staged``) or an earlier
        row of its batch has them; if the count of rows an insert made disagrees, the
        transaction is rolled back and every batch written again a row at a time.
        """
        if len(batches) > STAGED_PER_COMMIT:
            raise ValueError(f"at most {STAGED_PER_COMMIT} staged batches per transaction")
        if self._streamed is not None:
            raise RuntimeError("a transaction of staged batches is open (commit_staged first)")
        if not any(staged.first for staged in batches):
            return [[] for _ in batches]
        self._commit_open()
        self._checkpoint_aside()
        db = self._db
        images = [staged for staged in batches if not staged.as_rows]
        while self._stages_attached < len(images):
            db.execute(_STAGE_STATEMENTS[self._stages_attached].attach)
            self._stages_attached += 1
        for stage, staged in zip(_STAGES, images, strict=False):
            db.deserialize(staged.image, name=stage)
        # Each batch with the statements of the database its image is in (None: as rows).
        stages = iter(_STAGE_STATEMENTS)
        plan = [(None if staged.as_rows else next(stages), staged) for staged in batches]
        db.execute("BEGIN IMMEDIATE")
        try:
            written = [
                self._insert_rows(staged)
                if statements is None
                else self._copy_staged(statements, staged)
                for statements, staged in plan
            ]
        except BaseException:
            self._roll_back()
            raise
        return self._settle(plan, written)

    def begin_staged(self) -> None:
        """Open the transaction batches staged as rows go into as they come
        (``insert_staged``), until ``commit_staged``: replay's writer inserts each batch
        while the next is read, where ``write_staged_many`` waits for all of them, and so
        left up to a transaction's rows (8,000) to write once the reading was over (0.10-0.19 s
        at 60,000 records, measured, issue 13)."""
        if self._streamed is not None:
            raise RuntimeError("a transaction of staged batches is open already")
        self._commit_open()
        self._checkpoint_aside()
        self._db.execute("BEGIN IMMEDIATE")
        self._streamed = []

    def insert_staged(self, staged: StagedRows) -> None:
        """Insert a batch staged as rows into the open transaction (``begin_staged``); its
        flags are told by ``commit_staged``. At most ``STAGED_PER_COMMIT`` per transaction.
        An error undoes the whole transaction (the batches before it too) and is raised."""
        streamed = self._streamed
        if streamed is None:
            raise RuntimeError("no transaction of staged batches is open (begin_staged)")
        try:
            if not staged.as_rows:
                raise ValueError("only a batch staged as rows goes into an open transaction")
            if len(streamed) >= STAGED_PER_COMMIT:
                raise ValueError(f"at most {STAGED_PER_COMMIT} staged batches per transaction")
            streamed.append((staged, self._insert_rows(staged)))
        except BaseException:
            self._roll_back()
            raise

    def commit_staged(self) -> list[list[bool]]:
        """Commit the open transaction of staged batches; for each, in order, True for each
        row it stored (exact, as ``write_staged_many`` tells them)."""
        streamed = self._streamed
        if streamed is None:
            raise RuntimeError("no transaction of staged batches is open (begin_staged)")
        self._streamed = None
        plan: list[tuple[_StageStatements | None, StagedRows]] = [
            (None, staged) for staged, _ in streamed
        ]
        return self._settle(plan, [flags for _, flags in streamed])

    def _settle(
        self,
        plan: list[tuple[_StageStatements | None, StagedRows]],
        written: list[list[bool] | None],
    ) -> list[list[bool]]:
        """Commit the open transaction of the batches written (each with its statements,
        None: as rows): unless an insert did not do what its keys said (None), then it is
        written again a row at a time, each row telling."""
        db = self._db
        try:
            if any(flags is None for flags in written):
                # An insert did not do what the keys said (a constraint OR IGNORE skips
                # besides the keys, say): undone, and written a row at a time, each telling.
                # (Rolled back whole, not to a savepoint: a savepoint journals every page the
                # insert touches, in memory, for a case that does not happen.)
                db.execute("ROLLBACK")
                db.execute("BEGIN IMMEDIATE")
                written = [
                    self._write_row_by_row(statements, staged) for statements, staged in plan
                ]
            db.execute("COMMIT")
        except BaseException:
            self._roll_back()
            raise
        if self._checkpoints is not None:
            self._checkpoints.committed()
        return [flags if flags is not None else [] for flags in written]

    def _roll_back(self) -> None:
        """Undo the open transaction of staged batches, if any is open."""
        self._streamed = None
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")

    def _copy_staged(self, statements: _StageStatements, staged: StagedRows) -> list[bool] | None:
        """Copy one loaded batch in (the transaction open); its flags, or None if the insert
        did not store exactly the rows its keys said.

        ``OR IGNORE`` stores a row unless its keys are there already: the store's from
        before, or an earlier row's of the batch (``first``). So when the copy stored as many
        rows as the batch has first rows, the store held none of their keys, and the flags
        are ``first``, without asking the store about each key (about 1.5 us a row, a tenth
        of the writer's work, measured at 200,000 records). Only when it stored fewer is the
        store asked which keys it held before the copy: those of its rows up to the last
        rowid it had then (a row written later has a higher one: ``row_mark``). Every column
        staged NOT NULL is bound a value (``_storable_row``), so no other constraint skips a
        row; one that did would show in the count, as before.
        """
        first = staged.first
        count = len(first)
        if count == 0:
            return []
        db = self._db
        rows, last, newest = db.execute(statements.shape).fetchone()
        if rows != count or last != count:
            raise StoreError(f"staged batch holds {rows} rows, expected {count}")
        before = db.total_changes
        db.execute(statements.copy)
        made = db.total_changes - before
        if made == sum(first):
            return list(first)
        (present,) = db.execute(statements.held, (newest,)).fetchone()
        held = {int(rowid) for rowid in present.split(",")} if present else set()
        return _flags_told(first, made, held)

    def _insert_rows(self, staged: StagedRows) -> list[bool] | None:
        """Insert one batch staged as rows (the transaction open); its flags, or None if the
        insert did not store exactly the rows its keys said: as ``_copy_staged`` tells them,
        the store asked about each key only when the insert stored fewer rows than the batch
        has first rows."""
        first = staged.first
        rows = _staged_rows(staged)
        if not rows:
            return []
        db = self._db
        (newest,) = db.execute(_NEWEST_ROWID).fetchone()
        before = db.total_changes
        db.executemany(_INSERT, rows)
        made = db.total_changes - before
        if made == sum(first):
            return list(first)
        held = {
            number
            for number, (new, row) in enumerate(zip(first, rows, strict=True), start=1)
            if new and db.execute(_HELD_KEY, (row[0], row[1], newest)).fetchone() is not None
        }
        return _flags_told(first, made, held)

    def _write_row_by_row(
        self, statements: _StageStatements | None, staged: StagedRows
    ) -> list[bool]:
        """Write one batch a row at a time (the transaction open): each insert tells."""
        db = self._db
        if statements is None:
            return [db.execute(_INSERT, row).rowcount == 1 for row in _staged_rows(staged)]
        return [
            db.execute(statements.copy_one, (number,)).rowcount == 1
            for number in range(1, len(staged.first) + 1)
        ]

    def _checkpoint_aside(self) -> None:
        """From the first of a run of ``write_staged`` (a replay's store phase) on, the WAL
        checkpoints run on ``Checkpointer``'s thread, this connection's autocheckpoint off;
        any other use of the store (``_commit_batch``) hands them back (``_checkpoint_here``).
        A file that is not WAL (``:memory:``) keeps its own way."""
        checkpoints = self._checkpoints
        if checkpoints is not None and checkpoints.failed:
            self._checkpoint_here()
            checkpoints = None
        if checkpoints is None and self._wal and not self._checkpoints_failed:
            try:
                self._checkpoints = Checkpointer(self.path)
            except sqlite3.Error:
                self._checkpoints_failed = True  # no second connection: checkpoint here
                return
            self._db.execute("PRAGMA wal_autocheckpoint=0")

    def _checkpoint_here(self) -> None:
        """Stop the checkpoint thread (its last pass done) and turn autocheckpoint back on."""
        checkpoints = self._checkpoints
        if checkpoints is None:
            return
        self._checkpoints = None
        checkpoints.close()
        self._checkpoints_failed = self._checkpoints_failed or checkpoints.failed
        self._db.execute(f"PRAGMA wal_autocheckpoint={_AUTOCHECKPOINT_PAGES}")

    def row_mark(self) -> int:
        """The highest activity row id so far: rows written later have higher ones.

        (SQLite gives a new row ``max(rowid) + 1`` and nothing deletes activity rows, so a
        replay can tell what the store held before it from what it wrote itself.)
        """
        self._commit_batch()
        (newest,) = self._db.execute(_NEWEST_ROWID).fetchone()
        return int(newest)

    def console_logins_up_to(
        self, mark: int, *, after: datetime, before: datetime
    ) -> Iterator[tuple[SignInEvent, str | None]]:
        """The ConsoleLogin rows with row id <= ``mark`` and ``after < eventTime < before``,
        each with its stored ``network`` (``raw`` as ``{}``): what replay's in-memory
        history starts from."""
        self._commit_batch()
        rows = self._db.execute(
            f"SELECT {_AUDIT_COLUMNS}, '{{}}', network FROM activity"  # noqa: S608 (constants only)
            " WHERE rowid <= ? AND event_name = 'ConsoleLogin'"
            " AND event_time > ? AND event_time < ?",
            (mark, format_time(after), format_time(before)),
        )
        for row in rows:
            yield _event_from_row(row[:-1]), row[-1]

    def _commit_batch(self) -> None:
        """Commit what ``record`` batched; every use but ``write_staged`` starts here, so the
        checkpoints come back to this connection when a run of ``write_staged`` ends."""
        self._commit_open()
        self._checkpoint_here()

    def _commit_open(self) -> None:
        if self._db.in_transaction:
            self._db.execute("COMMIT")
        self._batched = 0
        self._streamed = None  # committed as they are (the store closed after a stop)

    def count_failures(
        self, account_id: str, principal: str, *, after: datetime, until: datetime
    ) -> int:
        """One range count on the principal's FAILURE keys, as DynamoDB's Query does."""
        low, high = schema.kind_range(schema.KIND_FAILURE, format_time(after), format_time(until))
        row = self._db.execute(
            "SELECT COUNT(*) FROM activity WHERE pk = ? AND sk BETWEEN ? AND ?",
            (schema.activity_pk(account_id, principal), low, high),
        ).fetchone()
        return int(row[0])

    def failures_between(
        self, account_id: str, principal: str, *, after: datetime, before: datetime
    ) -> list[SignInEvent]:
        """One range read on the principal's FAILURE keys, in key (time, id) order."""
        low, high = schema.kind_between(
            schema.KIND_FAILURE, format_time(after), format_time(before)
        )
        rows = self._db.execute(
            f"{_SELECT_AUDIT} WHERE pk = ? AND sk BETWEEN ? AND ? ORDER BY sk",
            (schema.activity_pk(account_id, principal), low, high),
        )
        return [_event_from_row(row) for row in rows]

    def claim_alert(self, alert: Alert) -> ClaimOutcome:
        """Check and write the claim in one immediate transaction (one writer at a time).

        A retry rewrites the claim too, renewing its lease.
        """
        if alert.window is not None:
            return self._claim_window((alert,))[1]
        now = self._clock()
        self._commit_batch()
        with _immediate(self._db):
            return self._claim_one(alert, now=now, lease_end=now - self.lease_seconds)

    def claim_window(self, alert: Alert) -> tuple[Alert, ClaimOutcome]:
        """The first claimable of ``alert.candidates``, all judged in one immediate transaction."""
        return self._claim_window(alert.candidates)

    def claim_many(self, alerts: Sequence[Alert]) -> list[tuple[Alert, ClaimOutcome]]:
        """Claim the alerts in order in one immediate transaction (replay's batched claims):
        each as ``claim_alert`` or ``claim_window`` would, with the alert claimed (a windowed
        one's chosen anchor).

        It stops before the first alert whose claim would read a claim of the same event
        written by this call: that verdict depends on how the earlier alert's post ends (sent:
        covered; released: a retry), so the caller posts and marks what was claimed, then calls
        again with the rest. So the outcomes are those of claiming, posting and marking one
        alert at a time. Never empty for a non-empty ``alerts``.
        """
        now = self._clock()
        lease_end = now - self.lease_seconds
        written: set[tuple[str, str]] = set()  # (rule, event id) of the claims written here
        claimed: list[tuple[Alert, ClaimOutcome]] = []
        # The window slots read or written in this transaction: the alerts of a burst (a
        # covered repeat for each failure past the threshold) read the same three slots.
        slots: _Slots = {}
        self._commit_batch()
        with _immediate(self._db):
            for alert in alerts:
                if claimed and _reads_own_claim(alert, written):
                    break
                if alert.window is None:
                    chosen, outcome = alert, self._claim_one(alert, now=now, lease_end=lease_end)
                else:
                    chosen, outcome = self._claim_candidates(
                        alert.candidates, now=now, lease_end=lease_end, slots=slots
                    )
                if outcome.should_send:
                    written.add((chosen.rule_id, chosen.event.event_id))
                claimed.append((chosen, outcome))
        return claimed

    def _claim_one(self, alert: Alert, *, now: float, lease_end: float) -> ClaimOutcome:
        """A one-off alert's claim, inside the caller's immediate transaction."""
        key = schema.alert_pk(*alert.claim_key)
        existing = self._db.execute(
            "SELECT event_id, event_time, status, claimed_at FROM alert_claims WHERE pk = ?",
            (key,),
        ).fetchone()
        outcome = _decide(existing, alert, lease_end=lease_end)
        if outcome.should_send:
            _write_claim(self._db, key, alert, now)
        return outcome

    def _claim_window(self, candidates: Sequence[Alert]) -> tuple[Alert, ClaimOutcome]:
        """``_claim_candidates`` in its own immediate transaction.

        ``BEGIN IMMEDIATE`` makes the reads and the write one step: no other writer can claim a
        neighbour slot in between.
        """
        now = self._clock()
        self._commit_batch()
        with _immediate(self._db):
            return self._claim_candidates(candidates, now=now, lease_end=now - self.lease_seconds)

    def _claim_candidates(
        self,
        candidates: Sequence[Alert],
        *,
        now: float,
        lease_end: float,
        slots: _Slots | None = None,
    ) -> tuple[Alert, ClaimOutcome]:
        """Judge each anchor on the claims of its neighbour slots; write the first one taken.

        ``slots``: what this transaction read or wrote of the slots so far (kept up to date
        here); a slot in it is not read again. Inside one immediate transaction no other
        writer changes a slot, so the memo answers as the read would.
        """
        if slots is None:
            slots = {}
        for candidate in candidates:
            keys = _neighbour_keys(candidate)
            verdict = judge(candidate, self._window_claims(keys, slots), lease_end=lease_end)
            if verdict is Verdict.COVERED:
                continue
            if verdict is Verdict.BUSY:
                return candidate, ClaimOutcome.BUSY
            own = keys[1]  # its own slot's key
            _write_claim(self._db, own, candidate, now)
            event = candidate.event
            slots[own] = StoredClaim(event.event_id, event.time_text, ClaimStatus.PENDING, now)
            return candidate, (
                ClaimOutcome.RETRY if verdict is Verdict.RETAKE else ClaimOutcome.CLAIMED
            )
        return candidates[0], ClaimOutcome.SUPPRESSED

    def _window_claims(self, keys: list[str], slots: _Slots) -> list[StoredClaim]:
        """The stored claims under ``keys`` (an anchor's slot and the slots on either side),
        those not in ``slots`` read in one query and remembered there (None: no claim)."""
        missing = [key for key in keys if key not in slots]
        if missing:
            for key in missing:
                slots[key] = None
            rows = self._db.execute(_SLOT_READS[len(missing)], missing)
            for key, *fields in rows:
                slots[key] = StoredClaim(*fields)
        return [claim for key in keys if (claim := slots[key]) is not None]

    def mark_alert(
        self,
        alert: Alert,
        status: ClaimStatus,
        *,
        payload: dict[str, Any] | None = None,
        reason: str | None = None,
    ) -> None:
        """Set the claim's status if it is still this event's claim; ``PENDING`` releases it.

        ``FAILED`` with a ``payload`` also keeps the alert as undelivered, in the same
        transaction.
        """
        released = status is ClaimStatus.PENDING
        # A suppressed claim keeps the suppression's id as its reason (report, digest).
        why = reason if status is ClaimStatus.SUPPRESSED else None
        update = (
            "UPDATE alert_claims SET status = ?, reason = ?,"
            " claimed_at = CASE WHEN ? THEN 0 ELSE claimed_at END"
            " WHERE pk = ? AND event_id = ?",
            (status.value, why, released, schema.alert_pk(*alert.claim_key), alert.event.event_id),
        )
        self._commit_batch()
        if status is ClaimStatus.FAILED and payload is not None:
            with _immediate(self._db):
                _put_undelivered(self._db, alert, payload, reason, self._clock())
                self._db.execute(*update)
        else:
            # One statement is its own transaction (autocommit): as atomic and as durable as
            # BEGIN ... COMMIT around it, two round trips fewer (a mark follows every post).
            self._db.execute(*update)

    def undelivered_alerts(self) -> Iterator[UndeliveredAlert]:
        """The undelivered alerts, oldest event first."""
        self._commit_batch()
        rows = self._db.execute(
            "SELECT rule_id, scope, event_id, event_time, payload, reason FROM undelivered"
            " ORDER BY sk"
        ).fetchall()
        for rule_id, scope, event_id, event_time, payload, reason in rows:
            yield UndeliveredAlert(
                rule_id=rule_id,
                scope=scope,
                event_id=event_id,
                event_time=parse_time(event_time),
                payload=json.loads(payload),
                reason=reason,
            )

    def claim_resend(self, alert: UndeliveredAlert) -> bool:
        """Failed (or pending past its lease) -> pending, in one immediate transaction.

        A marker whose claim is gone, another event's or sent is stale: removed, False.
        """
        key = schema.alert_pk(alert.rule_id, alert.scope)
        now = self._clock()
        self._commit_batch()
        with _immediate(self._db):
            row = self._db.execute(
                "SELECT event_id, status, claimed_at FROM alert_claims WHERE pk = ?", (key,)
            ).fetchone()
            if row is None or row[0] != alert.event_id or row[1] == ClaimStatus.SENT:
                _delete_undelivered(self._db, alert)
                return False
            _event_id, status, claimed_at = row
            lapsed = status == ClaimStatus.PENDING and claimed_at <= now - self.lease_seconds
            if status != ClaimStatus.FAILED and not lapsed:
                return False
            self._db.execute(
                "UPDATE alert_claims SET status = ?, claimed_at = ? WHERE pk = ?",
                (ClaimStatus.PENDING.value, now, key),
            )
            _set_token(self._db, key)
        return True

    def finish_resend(
        self, alert: UndeliveredAlert, status: ClaimStatus, *, reason: str | None = None
    ) -> None:
        """SENT: claim sent, marker removed. FAILED: claim failed again, marker kept."""
        key = schema.alert_pk(alert.rule_id, alert.scope)
        self._commit_batch()
        with _immediate(self._db):
            self._db.execute(
                "UPDATE alert_claims SET status = ? WHERE pk = ? AND event_id = ?",
                (status.value, key, alert.event_id),
            )
            if status is ClaimStatus.SENT:
                _delete_undelivered(self._db, alert)
            elif reason is not None:
                self._db.execute(
                    "UPDATE undelivered SET reason = ? WHERE sk = ?", (reason, _marker_sk(alert))
                )

    def history(self, query: HistoryQuery) -> Iterator[SignInEvent]:
        """Matching events, oldest first, expired ones left out."""
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (
            ("principal", query.principal),
            ("account_id", query.account_id),
            ("source_ip", query.source_ip),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if not clauses:
            raise ValueError("a history query needs a principal, an account or a source IP")
        if query.principal is None and query.source_ip is None and query.since is None:
            # DynamoDB reads an account one day at a time; both stores ask for the same bound.
            raise ValueError(
                "a history query by account alone needs a start time (--since): "
                "it reads the account's events one day at a time"
            )
        if query.kind is not None:
            clauses.append("kind = ?")
            params.append(query.kind)
        if query.since is not None:
            clauses.append("event_time >= ?")
            params.append(format_time(query.since))
        if query.until is not None:
            clauses.append("event_time <= ?")
            params.append(format_time(query.until))
        if query.now_epoch is not None:
            clauses.append("(expires_at IS NULL OR expires_at > ?)")
            params.append(query.now_epoch)
        sql = f"{_SELECT} WHERE {' AND '.join(clauses)} ORDER BY event_time, event_id"
        for row in self._db.execute(sql, params):
            yield _event_from_row(row)

    def close(self) -> None:
        """Commit what is batched and close the connection."""
        self._commit_batch()
        self._db.close()
        if self._stage is not None:
            self._stage.close()

    # Suppressions (issue 14) live in their own module, on this connection.
    def add_suppression(self, suppression: Suppression, *, expires_at: int | None = None) -> bool:
        """Store a suppression; False if one with its id exists (``SqliteSuppressions``)."""
        self._commit_batch()
        return SqliteSuppressions(self._db).add_suppression(suppression, expires_at=expires_at)

    def suppressions(self) -> list[Suppression]:
        """Every stored suppression, expired ones too, by id."""
        return SqliteSuppressions(self._db).suppressions()

    def remove_suppression(self, suppression_id: str) -> bool:
        """Delete a suppression; False if none has that id."""
        self._commit_batch()
        return SqliteSuppressions(self._db).remove_suppression(suppression_id)

    def has_console_sign_in(
        self, account_id: str, principal: str, *, after: datetime, until: datetime
    ) -> bool:
        """One range read on the principal's SIGNIN keys, as DynamoDB's Query does."""
        low, high = schema.kind_range(schema.KIND_SIGNIN, format_time(after), format_time(until))
        row = self._db.execute(
            "SELECT 1 FROM activity WHERE pk = ? AND sk BETWEEN ? AND ?"
            " AND event_name = 'ConsoleLogin' AND result = 'Success' LIMIT 1",
            (schema.activity_pk(account_id, principal), low, high),
        ).fetchone()
        return row is not None

    def failures_from_source(
        self, account_id: str, source_ip: str, *, after: datetime, before: datetime
    ) -> list[SignInEvent]:
        """One range of ``activity_failures_by_source``, in (time, id) order."""
        rows = self._db.execute(
            f"{_SELECT_AUDIT} INDEXED BY activity_failures_by_source"
            f" WHERE account_id = ? AND source_ip = ? AND {_FAILURE_ROWS}"
            " AND event_time > ? AND event_time < ? ORDER BY event_time, event_id",
            (account_id, source_ip, format_time(after), format_time(before)),
        )
        return [_event_from_row(row) for row in rows]

    def successes_between(
        self, account_id: str, principal: str, *, after: datetime, before: datetime
    ) -> list[SignInEvent]:
        """One range of ``activity_successes``, in (time, id) order."""
        rows = self._db.execute(
            f"{_SELECT_AUDIT} INDEXED BY activity_successes"
            " WHERE account_id = ? AND principal = ? AND network IS NOT NULL"
            " AND event_time > ? AND event_time < ? ORDER BY event_time, event_id",
            (account_id, principal, format_time(after), format_time(before)),
        )
        return [_event_from_row(row) for row in rows]

    def last_success(
        self, account_id: str, principal: str, *, after: datetime, before: datetime
    ) -> SignInEvent | None:
        """The last row of that range (the index read backwards, one row)."""
        row = self._db.execute(
            f"{_SELECT_AUDIT} INDEXED BY activity_successes"
            " WHERE account_id = ? AND principal = ? AND network IS NOT NULL"
            " AND event_time > ? AND event_time < ?"
            " ORDER BY event_time DESC, event_id DESC LIMIT 1",
            (account_id, principal, format_time(after), format_time(before)),
        ).fetchone()
        return None if row is None else _event_from_row(row)

    def has_success_from_network(
        self, account_id: str, principal: str, network: str, *, after: datetime, before: datetime
    ) -> bool:
        """One probe of ``activity_networks``."""
        row = self._db.execute(
            "SELECT 1 FROM activity INDEXED BY activity_networks"
            " WHERE account_id = ? AND principal = ? AND network = ?"
            " AND event_time > ? AND event_time < ? LIMIT 1",
            (account_id, principal, network, format_time(after), format_time(before)),
        ).fetchone()
        return row is not None


def _upgrade(db: sqlite3.Connection) -> None:
    """Bring a file made by an older release up to this schema (new table, new columns)."""
    db.executescript(_UNDELIVERED_SCHEMA)
    present = {row[1] for row in db.execute("PRAGMA table_info(alert_claims)")}
    for column, kind in _ADDED_CLAIM_COLUMNS.items():
        if column not in present:
            db.execute(f"ALTER TABLE alert_claims ADD COLUMN {column} {kind}")
    present = {row[1] for row in db.execute("PRAGMA table_info(activity)")}
    for column, kind in {**_ADDED_ACTIVITY_COLUMNS, **_CORRELATION_COLUMNS}.items():
        if column not in present:
            db.execute(f"ALTER TABLE activity ADD COLUMN {column} {kind}")
    db.executescript(_CORRELATION_SCHEMA)


#: The same few accounts and principals recur through a replay: each partition key built once.
_activity_pk: Final = functools.lru_cache(maxsize=8192)(schema.activity_pk)
#: The same few addresses recur too (``ipaddress`` parsing is most of a row's cost otherwise).
_network_of: Final = functools.lru_cache(maxsize=8192)(network_of)


#: An event id longer than this may need cutting in its key (``schema.key_part``'s own test).
_PLAIN_ID_CHARS: Final = schema.MAX_EVENT_ID_BYTES // 4


#: A transaction's memo of window slots: each key read or written, with its claim (None: none).
_Slots = dict[str, StoredClaim | None]
#: The read of 1, 2 or 3 window slots (by how many are not in the memo yet).
_SLOT_READS: Final = {
    count: "SELECT pk, event_id, event_time, status, claimed_at FROM alert_claims"  # noqa: S608
    f" WHERE pk IN ({', '.join('?' * count)})"
    for count in (1, 2, 3)
}


@contextmanager
def _immediate(db: sqlite3.Connection, begin: str = "BEGIN IMMEDIATE") -> Iterator[None]:
    """One ``BEGIN IMMEDIATE`` transaction: committed on success, rolled back on any error."""
    db.execute(begin)
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _transaction(db: sqlite3.Connection) -> contextlib.AbstractContextManager[None]:
    """A deferred transaction (the staging database has no other writer)."""
    return _immediate(db, "BEGIN")


def _write_claim(db: sqlite3.Connection, key: str, alert: Alert, now: float) -> None:
    """Write the alert's pending claim under ``key``, with a fresh token, as ``DynamoDbStore``
    does (kept for parity: SQLite never loses a response, so nothing here reads it back)."""
    event = alert.event
    db.execute(
        "INSERT OR REPLACE INTO alert_claims"
        " (pk, rule_id, event_id, event_time, status, claimed_at, token)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            key,
            alert.rule_id,
            event.event_id,
            event.time_text,
            ClaimStatus.PENDING,
            now,
            uuid.uuid4().hex,
        ),
    )


def _set_token(db: sqlite3.Connection, key: str) -> None:
    """Give the claim a fresh token, as ``_write_claim`` does (``claim_resend``)."""
    db.execute("UPDATE alert_claims SET token = ? WHERE pk = ?", (uuid.uuid4().hex, key))


def _neighbour_keys(alert: Alert) -> list[str]:
    """The claim keys of a windowed alert's slots b - 1, b (its own) and b + 1."""
    return [schema.alert_pk(*alert.claim_key_in(b)) for b in neighbour_buckets(alert)]


def _reads_own_claim(alert: Alert, written: set[tuple[str, str]]) -> bool:
    """Whether claiming ``alert`` may read a claim of its own event among ``written``.

    A claim is keyed on its rule (and scope), and holds the id of the event it was written
    for; so a claim of the same rule written for the same event is the only one that can be
    it. (Checked on (rule, event) alone, without building keys: a stop too many only costs a
    transaction.)
    """
    return any((c.rule_id, c.event.event_id) in written for c in alert.candidates)


def _marker_sk(alert: UndeliveredAlert) -> str:
    claim_pk = schema.alert_pk(alert.rule_id, alert.scope)
    return schema.undelivered_sk(format_time(alert.event_time), claim_pk)


def _put_undelivered(
    db: sqlite3.Connection,
    alert: Alert,
    payload: dict[str, Any],
    reason: str | None,
    now: float,
) -> None:
    claim_pk = schema.alert_pk(*alert.claim_key)
    db.execute(
        "INSERT OR REPLACE INTO undelivered"
        " (sk, claim_pk, rule_id, scope, event_id, event_time, payload, reason, failed_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            schema.undelivered_sk(alert.event.time_text, claim_pk),
            claim_pk,
            alert.rule_id,
            alert.claim_key[1],  # the claim's whole scope (a windowed one names its slot)
            alert.event.event_id,
            alert.event.time_text,
            json.dumps(payload, ensure_ascii=False),
            reason,
            now,
        ),
    )


def _delete_undelivered(db: sqlite3.Connection, alert: UndeliveredAlert) -> None:
    db.execute("DELETE FROM undelivered WHERE sk = ?", (_marker_sk(alert),))


_ROW_NAMES = tuple(name.strip() for name in _COLUMNS.split(","))
_ITEM_VALUES: Final = len(_ROW_NAMES)
#: What an item adds to its values' text: names and index keys (``schema.surely_fits``'s
#: allowance) and its few numbers (at most 20 characters each).
_ITEM_ALLOWANCE: Final = 20 * 1024 + 20 * 8


def _storable_row(
    event: SignInEvent, expires_at: int | None, *, absent: object = None
) -> tuple[Any, ...]:
    """The values ``_INSERT`` writes for the event (``network`` last), checked as
    ``_check_storable`` checks them, in one pass over the row's text. ``absent`` stands for
    every value that is None (``stage_many`` binds NaN: see ``_stage_null``).

    The kind and network follow ``schema.activity_sort_kind`` and ``schema.correlation_keys``
    (a successful ConsoleLogin from an IP address has a network), and the id's key part
    ``schema.key_part``, written out: this runs for every record a replay stores, and a call
    per piece cost as much as the rest of the row.

    The values' text is joined once (the raw record apart): ASCII text (nearly every record)
    is its own UTF-8 size, so the exact count is needed only for a row near the item limit;
    text that is not valid Unicode (a lone surrogate, which SQLite would refuse in the
    insert) is refused here too.
    """
    # Read one by one: plain slot reads, which Python specializes (an attrgetter of them all
    # goes the generic way for each).
    name = event.event_name
    result = event.result
    kind = event.kind
    time_text = event.time_text
    event_id = event.event_id
    account_id = event.account_id
    principal = event.principal
    identity_type = event.identity_type
    user_name = event.user_name
    arn = event.arn
    mfa_used = event.mfa_used
    source_ip = event.source_ip
    user_agent = event.user_agent
    region = event.region
    error_message = event.error_message
    event_source = event.event_source
    error_code = event.error_code
    read_only = event.read_only
    invoked_by = event.invoked_by
    assumed_root = event.assumed_root
    request_user_name = event.request_user_name
    network = None
    if kind == API_CALL:
        sort_kind = schema.KIND_API
    elif name == CONSOLE_LOGIN and result == "Failure":
        sort_kind = schema.KIND_FAILURE
    else:
        sort_kind = schema.KIND_SIGNIN
        if name == CONSOLE_LOGIN and result == "Success":
            network = _network_of(source_ip)
    if len(event_id) > _PLAIN_ID_CHARS or "%" in event_id or "#" in event_id:
        id_key = schema.key_part(event_id, schema.MAX_EVENT_ID_BYTES)
    else:
        id_key = event_id  # what key_part gives such an id
    pk = _activity_pk(account_id, principal)
    sk = f"{sort_kind}#{time_text}#{id_key}"
    raw = event.raw_json()
    row = (
        pk,
        sk,
        event_id,
        time_text,
        name,
        account_id,
        principal,
        identity_type,
        absent if user_name is None else user_name,
        absent if arn is None else arn,
        absent if result is None else result,
        absent if mfa_used is None else int(mfa_used),
        source_ip,
        user_agent,
        region,
        absent if error_message is None else error_message,
        absent if expires_at is None else expires_at,
        raw,
        kind,
        event_source,
        absent if error_code is None else error_code,
        absent if read_only is None else int(read_only),
        absent if invoked_by is None else invoked_by,
        int(assumed_root),
        absent if request_user_name is None else request_user_name,
        absent if network is None else network,
    )
    # Every text value of the row but ``network`` and ``raw`` (an absent one adds nothing):
    # ``raw``, most of the row, is counted apart, so the joined text stays small (a copy of
    # the record's text was most of the join's cost). Sizes and validity add up.
    text = "".join(
        (
            pk,
            sk,
            event_id,
            time_text,
            name,
            account_id,
            principal,
            identity_type,
            user_name or "",
            arn or "",
            result or "",
            source_ip,
            user_agent,
            region,
            error_message or "",
            kind,
            event_source,
            error_code or "",
            invoked_by or "",
            request_user_name or "",
        )
    )
    valid = True
    if text.isascii() and raw.isascii():  # isascii reads a flag of the string: no scan
        size = len(text) + len(raw)
    else:
        text += raw
        size = len(text.encode("utf-8", "surrogatepass"))
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            valid = False
    if size + _ITEM_ALLOWANCE > schema.MAX_ITEM_BYTES:
        _check_storable(event, row if absent is None else _storable_row(event, expires_at))
    if not valid:
        raise _unstorable(event, "text that is not valid Unicode")
    return row


def _check_storable(event: SignInEvent, row: tuple[Any, ...]) -> None:
    """Refuse what DynamoDB would refuse (over 400 KB with its index keys), so a replay on
    SQLite drops the same records the Lambda drops. (``row`` is ``_storable_row``'s: ``network``
    last, not part of the item's size, as ``correlation_keys`` adds its keys below.)"""
    row = row[:_ITEM_VALUES]
    if schema.surely_fits(row):
        return
    attributes: dict[str, object] = dict(zip(_ROW_NAMES, row, strict=True))
    time_text = event.time_text
    attributes.update(
        account_day=schema.account_day_key(event.account_id, time_text),
        source_ip_key=schema.source_ip_key(event.source_ip),
        principal_key=schema.principal_key(event.principal),
        time_sk=schema.time_sort_key(time_text, event.event_id),
    )
    attributes.update(schema.correlation_keys(event))
    size = schema.item_size(attributes)
    if size > schema.MAX_ITEM_BYTES:
        raise _unstorable(event, f"item of {size} bytes exceeds {schema.MAX_ITEM_BYTES}")


def _unstorable(event: SignInEvent, reason: str) -> UnstorableRecordError:
    return UnstorableRecordError(
        f"event {schema.key_part(event.event_id, 128)} cannot be stored: {reason}"
    )


def _decide(
    existing: tuple[str, str, str, float] | None, alert: Alert, *, lease_end: float
) -> ClaimOutcome:
    """The claim rule of ``ActivityStore.claim_alert``, on the stored claim's fields.

    A pending claim of the same event taken after ``lease_end`` is another delivery's, still
    posting: busy. Taken at or before it, the earlier post failed: a retry. (Windowed alerts
    are judged by ``windows.judge`` instead.)
    """
    if existing is None:
        return ClaimOutcome.CLAIMED
    event_id, _event_time, status, claimed_at = existing
    if event_id == alert.event.event_id and status == ClaimStatus.PENDING:
        return ClaimOutcome.RETRY if claimed_at <= lease_end else ClaimOutcome.BUSY
    return ClaimOutcome.SUPPRESSED


def _event_from_row(row: tuple[Any, ...]) -> SignInEvent:
    (
        event_id,
        event_time,
        event_name,
        account_id,
        principal,
        identity_type,
        user_name,
        arn,
        result,
        mfa_used,
        source_ip,
        user_agent,
        region,
        error_message,
        kind,
        event_source,
        error_code,
        read_only,
        invoked_by,
        assumed_root,
        request_user_name,
        raw,
    ) = row
    return SignInEvent(
        event_id=event_id,
        event_time=parse_time(event_time),
        event_name=event_name,
        account_id=account_id,
        principal=principal,
        identity_type=identity_type,
        user_name=user_name,
        arn=arn,
        result=result,
        mfa_used=None if mfa_used is None else bool(mfa_used),
        source_ip=source_ip,
        user_agent=user_agent,
        region=region,
        error_message=error_message,
        raw=json.loads(raw),
        kind=kind,
        event_source=event_source,
        error_code=error_code,
        read_only=None if read_only is None else bool(read_only),
        invoked_by=invoked_by,
        assumed_root=bool(assumed_root),
        request_user_name=request_user_name,
    )


def events_in_period(
    db: sqlite3.Connection, *, since: str, until: str, now_epoch: float
) -> Iterator[SignInEvent]:
    """Every account's unexpired events with ``since <= eventTime <= until``, oldest first.

    The audit report's read of a whole store (it opens the file read-only itself): the audit
    fields, ``raw`` as ``{}``, the same rows ``history`` gives account by account.
    """
    sql = (
        f"{_SELECT_AUDIT} WHERE event_time >= ? AND event_time <= ?"
        " AND (expires_at IS NULL OR expires_at > ?) ORDER BY event_time, event_id"
    )
    for row in db.execute(sql, (since, until, now_epoch)):
        yield _event_from_row(row)
