"""The replay figure's write rates: records/s into DynamoDB (moto) and SQLite, bulk and one by one.

Why: a backfill into DynamoDB (``replay --table``) should not be one round trip per event.
``record_many`` reads the keys 100 at a time (``BatchGetItem``) and writes the new items 25 at a
time (``BatchWriteItem``); ``record`` is one conditional ``PutItem`` per event. Both run here
in-process against moto's in-memory DynamoDB (``mock_aws``), so the rate is moto's request
handling, not real DynamoDB's latency or capacity: it says how many requests the path makes,
as a rate, beside SQLite's (the store a local replay writes) on the same events.

Each measurement writes the same freshly parsed sign-ins into an empty table or database; runs
alternate (``measure.interleave``) and the median is kept.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Final

from signin_monitor.events import SignInEvent, parse_record
from signin_monitor.store.sqlite import SqliteStore

from .corpus import ACCOUNTS, console_login
from .measure import interleave, median

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

__all__ = ["PATHS", "WriteRates", "has_sqlite_bulk", "measure", "rate_lines"]

#: SQLite as replay opens it (``cli/replay.py`` ``REPLAY_BATCH``): inserts committed in batches.
_SQLITE_BATCH: Final = 1000
_START: Final = datetime(2026, 10, 1, tzinfo=UTC)


def _events(count: int, *, seed: int) -> list[SignInEvent]:
    """Distinct sign-ins (a tenth of them failures) spread over accounts and users."""
    events = []
    for index in range(count):
        account = ACCOUNTS[index % len(ACCOUNTS)]
        record = console_login(
            event_id=str(uuid.UUID(int=seed * 10_000_000 + index, version=4)),
            at=_START + timedelta(seconds=17 * index),
            account=account,
            user=f"user{index % 60:03d}",
            result="Failure" if index % 10 == 0 else "Success",
            mfa="No" if index % 10 == 0 else "Yes",
        )
        events.append(parse_record(record))
    return events


@dataclass(frozen=True, slots=True)
class WriteRates:
    """Medians in records per second, by path name (see ``PATHS``)."""

    rates: dict[str, float]
    records: int
    rounds: int


PATHS: Final = (
    "DynamoDB (moto) record_many",
    "DynamoDB (moto) record, one by one",
    "SQLite record_many",
    "SQLite record, one by one",
)


@contextmanager
def _moto() -> Iterator[DynamoDBClient]:
    """A moto DynamoDB client with fake credentials: nothing can reach AWS."""
    saved = {name: os.environ.get(name) for name in _FAKE_ENV}
    os.environ.update(_FAKE_ENV)
    try:
        import boto3
        from moto import mock_aws

        with mock_aws():
            yield boto3.client("dynamodb", region_name="us-east-1")
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


_FAKE_ENV: Final = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def measure(*, records: int, rounds: int) -> WriteRates:
    """Write ``records`` sign-ins through each path ``rounds`` times (interleaved); medians."""
    from signin_monitor.store.dynamodb import DynamoDbStore
    from signin_monitor.store.dynamodb_admin import create_table

    events = _events(records, seed=13)
    expiries: list[int | None] = [None] * len(events)
    with _moto() as client, tempfile.TemporaryDirectory(prefix="bench-writes-") as scratch:
        counter = iter(range(1_000_000))

        def timed(write: Callable[[], object]) -> float:
            started = time.perf_counter()
            write()
            return len(events) / (time.perf_counter() - started)

        def dynamodb(bulk: bool) -> Callable[[], float]:
            def run() -> float:
                table = f"bench-writes-{next(counter)}"
                create_table(client, table)
                store = DynamoDbStore(table, client=client)
                if bulk:
                    return timed(lambda: store.record_many(events, expires_at=expiries))
                return timed(lambda: [store.record(e, expires_at=None) for e in events])

            return run

        def sqlite(bulk: bool) -> Callable[[], float]:
            def run() -> float:
                path = Path(scratch) / f"writes-{next(counter)}.db"
                store = SqliteStore(path, batch_size=_SQLITE_BATCH)
                bulk_write = getattr(store, "record_many", None) if bulk else None
                if bulk and bulk_write is None:
                    raise RuntimeError("SqliteStore has no record_many")

                def write() -> None:
                    if bulk_write is not None:
                        bulk_write(events, expires_at=expiries)
                    else:
                        for event in events:
                            store.record(event, expires_at=None)
                    _flush(store)

                try:
                    return timed(write)
                finally:
                    store.close()

            return run

        tasks = {
            PATHS[0]: dynamodb(True),
            PATHS[1]: dynamodb(False),
            PATHS[2]: sqlite(True),
            PATHS[3]: sqlite(False),
        }
        if not has_sqlite_bulk():
            del tasks[PATHS[2]]  # the same code as one by one: not worth measuring twice
        samples = interleave(tasks, rounds=rounds)
    rates = {name: median(values) for name, values in samples.items()}
    return WriteRates(rates=rates, records=records, rounds=rounds)


def _flush(store: SqliteStore) -> None:
    """Commit what the batch holds (replay's end does the same), so the time includes it."""
    commit: Callable[[], None] | None = getattr(store, "_commit_batch", None)
    if commit is not None:
        commit()


def has_sqlite_bulk() -> bool:
    """Whether this tree's SQLite store has ``record_many`` yet (h13's engine adds it)."""
    return hasattr(SqliteStore, "record_many")


def rate_lines(rates: WriteRates, paths: Sequence[str] = PATHS) -> list[list[str]]:
    """Table rows: path, records/s, and the speed-up of each bulk path over one by one."""
    rows = []
    for name in paths:
        rate = rates.rates.get(name)
        if rate is None:
            rows.append([name, "-", "not measured: this tree's SQLite store has no record_many"])
            continue
        note = ""
        if name.endswith("record_many"):
            single = rates.rates[name.replace("record_many", "record, one by one")]
            note = f"{rate / single:.1f}x one by one"
        rows.append([name, f"{rate:,.0f}", note])
    return rows
