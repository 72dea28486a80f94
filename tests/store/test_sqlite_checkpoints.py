"""Replay's WAL checkpoints on their own thread (issue 13, ``store/sqlite_checkpoints.py``).

What must hold: while a run of ``write_staged`` writes, the checkpoints are the checkpoint
thread's (the writer's autocheckpoint off); any other use of the store hands them back; the
WAL stays bounded; a reader holding an old snapshot (another command reading meanwhile) never
stalls the writer; a checkpointer that fails hands the checkpoints back; and the file ends
whole, WAL, with every row.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from signin_monitor.events import SignInEvent
from signin_monitor.store import sqlite as sqlite_store
from signin_monitor.store.sqlite import SqliteStore
from signin_monitor.store.sqlite_checkpoints import Checkpointer
from tests.factories import sign_in

THREAD = "sqlite-checkpoints"
FRAME = 16384 + 24  # a WAL frame: one page and its header
BOUNDED = 800  # frames: what the checkpointed WAL stays under in these writes
GROWN = 1500  # frames: what the same writes grow it past without checkpoints


def _events(count: int, *, start: int = 0) -> list[SignInEvent]:
    return [
        sign_in(user=f"user-{i % 7}", minutes=i, event_id=f"event-{i:06d}")
        for i in range(start, start + count)
    ]


def _write(store: SqliteStore, batches: int, *, size: int = 50, start: int = 0) -> None:
    for number in range(batches):
        events = _events(size, start=start + number * size)
        staged = store.stage_many(events, expires_at=[None] * size)
        assert store.write_staged(staged) == [True] * size


def _autocheckpoint(store: SqliteStore) -> int:
    return int(store._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0])


def _threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == THREAD]


@pytest.fixture(autouse=True)
def _no_thread_left() -> Iterator[None]:
    yield
    assert _threads() == [], "a checkpoint thread was left behind"


def test_staged_writes_checkpoint_on_their_own_thread_until_the_store_is_used_otherwise(
    tmp_path: Path,
) -> None:
    store = SqliteStore(tmp_path / "s.db")
    assert _autocheckpoint(store) == 1000
    _write(store, 5)
    assert _autocheckpoint(store) == 0  # the writer only appends to the WAL
    assert len(_threads()) == 1
    checkpoints = store._checkpoints
    assert checkpoints is not None
    assert store.row_mark() == 250  # any other use hands the checkpoints back
    assert checkpoints.passes >= 1
    assert _threads() == []
    assert _autocheckpoint(store) == 1000
    store.close()


def test_a_store_of_memory_keeps_its_own_way(tmp_path: Path) -> None:
    store = SqliteStore(":memory:")
    _write(store, 3)
    assert _threads() == []
    assert store.row_mark() == 150
    store.close()


def test_the_wal_stays_bounded_and_the_file_ends_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.db"
    limit = 40
    monkeypatch.setattr(sqlite_store, "Checkpointer", lambda path: Checkpointer(path, limit=limit))
    store = SqliteStore(path)
    biggest = 0
    for round_ in range(40):
        _write(store, 1, size=100, start=round_ * 100)
        biggest = max(biggest, (path.parent / "s.db-wal").stat().st_size)
    checkpoints = store._checkpoints
    assert checkpoints is not None
    assert checkpoints.waits >= 1
    store.close()
    # The WAL restarts once a checkpoint finds it past the limit: about the limit plus what
    # was written while a checkpoint ran (~215 pages here), far from the ~2,000 pages of
    # every batch that it grows to without (the next test).
    assert biggest <= BOUNDED * FRAME
    assert not (path.parent / "s.db-wal").exists()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("SELECT COUNT(*) FROM activity").fetchone()[0] == 4000
    db.close()


def test_without_its_checkpoints_the_wal_would_grow(tmp_path: Path) -> None:
    """The bound above is the checkpointer's doing: the same writes, no checkpoints, grow it."""
    path = tmp_path / "s.db"
    store = SqliteStore(path)
    store._db.execute("PRAGMA wal_autocheckpoint=0")
    store._checkpoints_failed = True  # no checkpoint thread either
    for round_ in range(40):
        _write(store, 1, size=100, start=round_ * 100)
    grown = (path.parent / "s.db-wal").stat().st_size
    store.close()
    assert grown > GROWN * FRAME


def test_a_reader_holding_an_old_snapshot_never_stalls_the_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.db"
    monkeypatch.setattr(sqlite_store, "Checkpointer", lambda path: Checkpointer(path, limit=4))
    store = SqliteStore(path)
    _write(store, 1)
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    assert reader.execute("SELECT COUNT(*) FROM activity").fetchone()[0] == 50
    done = threading.Event()

    def write() -> None:
        _write(store, 20, start=50)
        done.set()

    writer = threading.Thread(target=write)
    writer.start()
    writer.join(timeout=120)  # a guard against a hang, not a timing
    assert done.is_set(), "the writer waited for a checkpoint the reader prevents"
    assert reader.execute("SELECT COUNT(*) FROM activity").fetchone()[0] == 50  # its snapshot
    reader.execute("COMMIT")
    reader.close()
    store.close()
    db = sqlite3.connect(path)
    assert db.execute("SELECT COUNT(*) FROM activity").fetchone()[0] == 1050
    db.close()


class _Failing(Checkpointer):
    def _checkpoint(self) -> tuple[int, int]:
        raise sqlite3.OperationalError("disk I/O error")


def test_a_checkpointer_that_fails_hands_the_checkpoints_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.db"
    made: list[Checkpointer] = []

    def failing(path: str) -> Checkpointer:
        made.append(_Failing(path, limit=1))
        return made[-1]

    monkeypatch.setattr(sqlite_store, "Checkpointer", failing)
    store = SqliteStore(path)
    _write(store, 1)
    made[0]._thread.join()  # it failed on its first pass
    assert made[0].failed
    _write(store, 3, start=50)  # the writer does not wait for it, and checkpoints itself
    assert len(made) == 1  # never started again on this connection
    assert store._checkpoints is None
    assert _autocheckpoint(store) == 1000
    store.close()
    db = sqlite3.connect(path)
    assert db.execute("SELECT COUNT(*) FROM activity").fetchone()[0] == 200
    db.close()


def test_close_runs_the_last_checkpoint_and_stops_the_thread(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = SqliteStore(path)
    _write(store, 4)
    assert len(_threads()) == 1
    store.close()
    assert _threads() == []
    assert not (path.parent / "s.db-wal").exists()
