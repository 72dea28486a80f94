"""SQLite-only behaviour: batched commits and batched claims during replay."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from signin_monitor.alerts import Alert, Severity
from signin_monitor.events import Activity
from signin_monitor.store import ClaimOutcome, ClaimStatus, HistoryQuery, schema
from signin_monitor.store.sqlite import SqliteStore, StagedRows
from tests.factories import one_off_alert, sign_in, windowed_alert

T = TypeVar("T")


def _rows(path: Path) -> int:
    with sqlite3.connect(path) as other:
        return int(other.execute("SELECT COUNT(*) FROM activity").fetchone()[0])


def test_batched_records_are_visible_to_this_store_before_they_are_committed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "a.db"
    store = SqliteStore(path, batch_size=100)
    events = [sign_in(result="Failure", minutes=i) for i in range(3)]
    for event in events:
        assert store.record(event, expires_at=None) is True
    assert store.record(events[0], expires_at=None) is False
    end = events[-1].event_time
    assert (
        store.count_failures(
            "111122223333", "alice", after=end - (end - events[0].event_time) * 2, until=end
        )
        == 3
    )
    assert len(list(store.history(HistoryQuery(principal="alice")))) == 3
    assert _rows(path) == 0  # another process sees nothing yet
    store.close()
    assert _rows(path) == 3


def test_a_batch_is_committed_every_batch_size_records(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    store = SqliteStore(path, batch_size=2)
    for minutes in range(5):
        store.record(sign_in(minutes=minutes), expires_at=None)
    assert _rows(path) == 4
    store.close()


def test_a_claim_commits_the_batch_first_so_events_are_durable_before_any_post(
    tmp_path: Path,
) -> None:
    path = tmp_path / "a.db"
    store = SqliteStore(path, batch_size=100)
    event = sign_in(identity_type="Root")
    store.record(event, expires_at=None)
    alert = Alert(
        rule_id="root-sign-in", severity=Severity.CRITICAL, title="t", event=event, scope="s"
    )
    store.claim_alert(alert)
    assert _rows(path) == 1
    store.close()


# --- claim_many: replay's batched claims -------------------------------------------------------


def _claims(path: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(path) as other:
        rows = other.execute("SELECT pk, event_id, status FROM alert_claims ORDER BY pk")
        return [tuple(row) for row in rows]


def test_claim_many_claims_a_batch_in_one_transaction_as_one_at_a_time_would(
    tmp_path: Path,
) -> None:
    # GIVEN one-off alerts of two events, and windowed alerts of a burst (the second within
    # the first one's window, the third past it)
    path = tmp_path / "a.db"
    store = SqliteStore(path, lease_seconds=0)
    first, second = sign_in(identity_type="Root"), sign_in(identity_type="Root", minutes=1)
    burst = [windowed_alert(sign_in(result="Failure", minutes=m)) for m in (0, 10, 61)]
    alerts = [one_off_alert(first), one_off_alert(second), *burst]
    # WHEN they are claimed together
    claimed = store.claim_many(alerts)
    # THEN each has the outcome one claim at a time gives, in one commit, all pending
    assert [outcome for _, outcome in claimed] == [
        ClaimOutcome.CLAIMED,
        ClaimOutcome.CLAIMED,
        ClaimOutcome.CLAIMED,
        ClaimOutcome.SUPPRESSED,  # another event's claim covers it, whatever its post does
        ClaimOutcome.CLAIMED,
    ]
    assert [alert for alert, _ in claimed] == alerts
    assert [status for _, _, status in _claims(path)] == ["pending"] * 4
    store.close()


def test_claim_many_stops_before_an_alert_whose_own_claim_it_took(tmp_path: Path) -> None:
    # GIVEN a batch holding the same alert twice (a record delivered twice), a windowed one too
    store = SqliteStore(tmp_path / "a.db", lease_seconds=0)
    root = one_off_alert(sign_in(identity_type="Root"))
    burst = windowed_alert(sign_in(result="Failure"))
    # WHEN it is claimed
    # THEN the claim stops before the repeat: its verdict depends on how the first post ends
    assert store.claim_many([root, burst, root, burst]) == [
        (root, ClaimOutcome.CLAIMED),
        (burst, ClaimOutcome.CLAIMED),
    ]
    # AND once the first post failed for now (released), the repeat is a retry, as ever
    store.mark_alert(root, ClaimStatus.PENDING)
    store.mark_alert(burst, ClaimStatus.SENT)
    assert store.claim_many([root, burst]) == [
        (root, ClaimOutcome.RETRY),
        (burst, ClaimOutcome.SUPPRESSED),
    ]
    store.close()


def test_claim_many_reads_each_window_slot_once_per_transaction(tmp_path: Path) -> None:
    # GIVEN a claim taken by an earlier run, then a burst of failures: the first within its
    # window (covered), the next ones past it (the first of those taken, the rest covered by
    # it), all in the slots the earlier one's neighbours share
    path = tmp_path / "a.db"
    store = SqliteStore(path, lease_seconds=0)
    earlier = windowed_alert(sign_in(result="Failure", minutes=0))
    assert store.claim_many([earlier]) == [(earlier, ClaimOutcome.CLAIMED)]
    store.mark_alert(earlier, ClaimStatus.SENT)
    burst = [windowed_alert(sign_in(result="Failure", minutes=m)) for m in (30, 70, 80, 90, 100)]
    reads: list[str] = []
    store._db.set_trace_callback(
        lambda sql: reads.append(sql) if sql.startswith("SELECT") else None
    )
    # WHEN the burst is claimed in one batch
    claimed = store.claim_many(burst)
    store._db.set_trace_callback(None)
    # THEN each has the outcome one claim at a time gives
    assert [outcome for _, outcome in claimed] == [
        ClaimOutcome.SUPPRESSED,  # within the earlier (sent) claim's window
        ClaimOutcome.CLAIMED,
        ClaimOutcome.SUPPRESSED,  # within the one just claimed: the memo saw that write
        ClaimOutcome.SUPPRESSED,
        ClaimOutcome.SUPPRESSED,
    ]
    assert [(event_id, status) for _, event_id, status in _claims(path)] == [
        (earlier.event.event_id, "sent"),
        (burst[1].event.event_id, "pending"),
    ]
    # AND the covered repeats cost no read: two reads in all (the earlier claim's slot and
    # its neighbours; then the slot after them, for the alerts of the next slot)
    assert len(reads) == 2
    store.close()


@pytest.mark.parametrize(
    "event_id",
    ["plain-id", "with#hash", "with%percent", "x" * 128, "x" * 129, "\u00e9" * 300, "#" * 300],
)
def test_an_event_ids_key_part_is_the_schemas_on_both_write_paths(
    tmp_path: Path, event_id: str
) -> None:
    # GIVEN events whose ids need escaping or cutting in a key (and ids right at the bound
    # where the row builder's shortcut stops; past 128 characters only a store's own reads
    # or another source could give one)
    failure = dataclasses.replace(sign_in(result="Failure"), event_id=event_id)
    success = dataclasses.replace(sign_in(result="Success", minutes=1), event_id=event_id)
    # WHEN they are written one at a time and in bulk
    one, bulk, _ = _one_at_a_time_and_in_bulk(
        tmp_path,
        [failure, success],
        lambda store: store.record_many([failure, success], expires_at=[None, None]),
        "SELECT sk FROM activity ORDER BY rowid",
    )
    # THEN both hold the sort keys the schema gives (DynamoDB's keys)
    expected = [
        (schema.activity_sk(schema.KIND_FAILURE, failure.time_text, event_id),),
        (schema.activity_sk(schema.KIND_SIGNIN, success.time_text, event_id),),
    ]
    assert one == expected
    assert bulk == expected


def _one_at_a_time_and_in_bulk(
    tmp_path: Path,
    events: list[Activity],
    write_in_bulk: Callable[[SqliteStore], T],
    query: str,
) -> tuple[list[Any], list[Any], T]:
    """What ``query`` reads from a store that recorded ``events`` one at a time and from one
    ``write_in_bulk`` wrote, with what it returned."""
    one = SqliteStore(tmp_path / "one.db")
    bulk = SqliteStore(tmp_path / "bulk.db")
    try:
        written = write_in_bulk(bulk)
        for event in events:
            one.record(event, expires_at=None)
        return one._db.execute(query).fetchall(), bulk._db.execute(query).fetchall(), written
    finally:
        one.close()
        bulk.close()


@pytest.mark.parametrize("as_rows", [False, True], ids=["image", "as rows"])
def test_a_staged_batch_binds_no_none_and_stores_the_rows_record_stores(
    tmp_path: Path, as_rows: bool
) -> None:
    # Python's sqlite3 looks a None up in its adapter registry before binding it (a tuple, a
    # dict and two attribute lookups): with six absent values a row, that was about 40% of
    # staging. stage_many binds NaN instead, which SQLite stores as NULL; staged as rows, the
    # store's own connection binds them.
    api = dataclasses.replace(
        sign_in(result=None, minutes=2),
        event_id="api-1",
        kind="api-call",
        event_source="iam.amazonaws.com",
        event_name="CreateUser",
        mfa_used=None,
        user_name=None,
        arn=None,
        read_only=None,
    )
    events = [sign_in(result="Failure"), sign_in(result="Success", minutes=1), api]
    expiry = [None, 1_700_000_000, None]
    bound: list[tuple[object, ...]] = []

    class Recording:
        """A connection, minus nothing: its executemany's rows are kept."""

        def __init__(self, db: sqlite3.Connection) -> None:
            self._db = db

        def __getattr__(self, name: str) -> object:
            return getattr(self._db, name)

        def executemany(self, sql: str, rows: list[tuple[object, ...]]) -> sqlite3.Cursor:
            bound.extend(rows)
            return self._db.executemany(sql, rows)

    one = SqliteStore(tmp_path / "one.db")
    bulk = SqliteStore(tmp_path / "bulk.db")
    try:
        if as_rows:
            bulk._db = Recording(bulk._db)  # type: ignore[assignment]
        else:
            bulk.stage_many([], expires_at=[])  # opens the staging database
            assert bulk._stage is not None
            bulk._stage = Recording(bulk._stage)  # type: ignore[assignment]
        # WHEN the events are written one at a time and staged in bulk
        for event, expires in zip(events, expiry, strict=True):
            one.record(event, expires_at=expires)
        staged = bulk.stage_many(events, expires_at=expiry, as_rows=as_rows)
        assert bulk.write_staged(staged) == [True] * 3
        typed = ", ".join(f"typeof({column})" for column in _columns(one))
        query = f"SELECT *, {typed} FROM activity ORDER BY rowid"  # noqa: S608 (column names)
        rows = [store._db.execute(query).fetchall() for store in (one, bulk)]
    finally:
        one.close()
        bulk.close()
    # THEN no None was bound (only str, int and float, which sqlite3 binds directly)
    assert len(bound) == 3
    assert all(type(value) in (str, int, float) for row in bound for value in row)
    # AND the stored rows are the ones record stores, absent values NULL, typed alike
    assert rows[0] == rows[1]
    assert None in rows[1][2]


def test_a_batch_marshal_refuses_is_staged_as_an_image_and_stored_alike(tmp_path: Path) -> None:
    class Text(str):
        """A str subclass: SQLite binds it as text; marshal refuses it."""

    # GIVEN a batch with a value marshal cannot take, staged as rows
    odd = dataclasses.replace(sign_in(result="Success"), user_agent=Text("agent/1.0"))
    plain = sign_in(result="Failure", minutes=1)
    staged: list[StagedRows] = []

    def stage_and_write(store: SqliteStore) -> list[bool]:
        staged.append(store.stage_many([odd, plain], expires_at=[None, None], as_rows=True))
        return store.write_staged(staged[0])

    # WHEN it is written, and the same events are recorded one at a time
    one, bulk, flags = _one_at_a_time_and_in_bulk(
        tmp_path, [odd, plain], stage_and_write, "SELECT * FROM activity ORDER BY rowid"
    )
    # THEN it went as an image, nothing lost: the rows record stores
    assert not staged[0].as_rows
    assert flags == [True, True]
    assert one == bulk
    assert len(one) == 2


def _columns(store: SqliteStore) -> list[str]:
    return [row[1] for row in store._db.execute("PRAGMA table_info(activity)")]


@pytest.mark.parametrize("as_rows", [False, True], ids=["image", "as rows"])
def test_staged_batches_flag_each_row_and_ask_the_store_only_when_a_key_was_there(
    tmp_path: Path, as_rows: bool
) -> None:
    def event(number: int) -> Activity:
        return sign_in(event_id=f"e{number}", minutes=number)

    store = SqliteStore(tmp_path / "s.db")
    asked: list[str] = []
    store._db.set_trace_callback(asked.append)

    def staged(numbers: list[int]) -> StagedRows:
        events = [event(number) for number in numbers]
        return store.stage_many(events, expires_at=[None] * len(events), as_rows=as_rows)

    def held_asked() -> int:
        count = sum("rowid <= " in statement for statement in asked)
        asked.clear()
        return count

    def lookups(keys: int) -> int:
        """The statements asking about a batch's ``keys`` first rows: one for an image, one
        per key for a batch staged as rows."""
        return keys if as_rows else 1

    try:
        # GIVEN a fresh store, WHEN a batch with a row twice is written
        # THEN each first row is stored, the second copy not, and no key was looked up
        assert store.write_staged(staged([1, 2, 2, 3])) == [True, True, False, True]
        assert held_asked() == 0
        # WHEN a batch holds a key the store has, THEN only that row is not stored (the
        # store asked about this batch only)
        assert store.write_staged(staged([4, 1, 5, 1])) == [True, False, True, False]
        assert held_asked() == lookups(3)
        # WHEN two batches share a transaction, THEN the second sees the first's rows as held
        flags = store.write_staged_many([staged([6, 7]), staged([7, 8])])
        assert flags == [[True, True], [False, True]]
        assert held_asked() == lookups(2)
        # AND the store holds each key once, as the rows first written
        rows = store._db.execute("SELECT event_id FROM activity ORDER BY rowid").fetchall()
        assert [row[0] for row in rows] == [f"e{number}" for number in range(1, 9)]
    finally:
        store.close()
