"""Replay's bulk write path (issue 13): the writer thread and the staged SQLite write.

The main thread reads and stages each batch (``SqliteStore.stage_many``); one writer thread
(``BatchWriter``) writes it (``write_staged``). These tests hold what that must keep: results in
file order, exact per-row ``stored`` flags (duplicates inside a batch, rows already stored), an
unstorable record costing only itself, a writer error raised in the main thread, no thread left
behind however the run ends, the store's connection never used by two threads at once, and a
replay killed mid-write leaving a store that a re-run completes into what one clean run gives.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import os
import queue
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from itertools import chain
from pathlib import Path
from typing import Any

import pytest

from signin_monitor.app import build_pipeline
from signin_monitor.cli import replay_engine
from signin_monitor.cli.replay_engine import PreparedBatch, ReplayEngine, Written
from signin_monitor.cli.replay_writer import BatchWriter
from signin_monitor.config import Settings
from signin_monitor.errors import StoreError, UnstorableRecordError
from signin_monitor.events import SignInEvent
from signin_monitor.store.sqlite import SqliteStore, StagedRows
from tests.factories import console_login, sign_in
from tests.replay_process import replay_command
from tests.test_replay_engine import RecordingNotifier

WRITER = "replay-writer"


def _events(count: int, *, start: int = 0) -> list[SignInEvent]:
    users = ("alice", "bob", "carol")
    return [
        sign_in(
            user=users[i % 3],
            result="Failure" if i % 4 == 0 else "Success",
            minutes=i,
            event_id=f"event-{i:05d}",
        )
        for i in range(start, start + count)
    ]


def _engine(store: SqliteStore, *, batch: int, form: str = "images") -> ReplayEngine:
    """An engine writing batches of ``batch``; ``form`` "rows": staged as rows (as a reader
    process stages them), which the writer inserts as they come; else as images."""
    pipeline = build_pipeline(Settings.from_env({}), store=store, notifier=RecordingNotifier())
    engine = ReplayEngine(pipeline, write_batch=batch)
    if form == "rows":
        engine.prepare = functools.partial(ReplayEngine.prepare, engine, as_rows=True)  # type: ignore[method-assign]
    elif form == "mixed":  # two as rows, one as an image, and again
        turns = itertools.cycle([True, True, False])

        def prepare(events: list[SignInEvent], *, as_rows: bool = False) -> PreparedBatch:
            return ReplayEngine.prepare(engine, events, as_rows=next(turns))

        engine.prepare = prepare  # type: ignore[method-assign]
    return engine


#: How the engine stages its batches (``_engine``).
_ENGINE_FORMS = ["images", "rows"]


def _rows(path: Path) -> list[tuple[Any, ...]]:
    """Every activity row, every column, the row id too, in key order."""
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT rowid, * FROM activity ORDER BY pk, sk").fetchall()
    finally:
        db.close()


def _writer_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == WRITER]


@pytest.fixture(autouse=True)
def _no_writer_left() -> Iterator[None]:
    """Every test here ends with no writer thread alive, whatever it did."""
    yield
    assert _writer_threads() == [], "a replay writer thread was left behind"


# --- exact per-row flags -----------------------------------------------------------------------


def _one_at_a_time(
    path: Path, prefill: Sequence[SignInEvent], batch: Sequence[SignInEvent]
) -> list[bool]:
    store = SqliteStore(path)
    try:
        for event in prefill:
            store.record(event, expires_at=None)
        return [store.record(event, expires_at=None) for event in batch]
    finally:
        store.close()


def test_bulk_flags_are_exact_with_duplicates_in_the_batch_and_rows_already_stored(
    tmp_path: Path,
) -> None:
    # GIVEN a store holding some events, and a batch repeating some of them, and some of its
    # own (the same object twice, and an equal copy read again)
    events = _events(12)
    prefill = events[:4]
    copy = sign_in(user="carol", minutes=5, event_id="event-00005")  # keys of events[5]
    batch = [*events[2:], events[7], copy, events[0], events[11]]
    expected = _one_at_a_time(tmp_path / "reference.db", prefill, batch)
    assert expected.count(False) == 6  # 2 already stored, 4 repeated within the batch
    store = SqliteStore(tmp_path / "bulk.db")
    try:
        for event in prefill:
            store.record(event, expires_at=None)
        # WHEN the batch is written in bulk
        stored = store.record_many(batch, expires_at=[None] * len(batch))
    finally:
        store.close()
    # THEN each flag is what inserting one at a time says, and the rows are the same
    assert stored == expected
    assert _rows(tmp_path / "bulk.db") == _rows(tmp_path / "reference.db")


def test_a_batch_whose_insert_skips_a_row_its_keys_do_not_explain_is_rewritten_row_by_row(
    tmp_path: Path,
) -> None:
    # GIVEN a store that silently skips one row (a trigger: what no key check can foresee)
    store = SqliteStore(tmp_path / "trigger.db")
    store._db.execute(
        "CREATE TRIGGER skip_one BEFORE INSERT ON activity WHEN NEW.event_id = 'event-00003'"
        " BEGIN SELECT RAISE(IGNORE); END"
    )
    events = _events(6)
    try:
        # WHEN the batch is written in bulk
        stored = store.record_many(events, expires_at=[None] * 6)
    finally:
        store.close()
    # THEN the skipped row is reported as not stored, the others as stored
    assert stored == [True, True, True, False, True, True]
    assert sorted(row[3] for row in _rows(tmp_path / "trigger.db")) == [
        e.event_id for e in events if e.event_id != "event-00003"
    ]


#: How the batches of a transaction are staged: as images, as rows, or alternately; or as
#: rows inserted into an open transaction one at a time (``begin_staged``).
_FORMS = ["images", "rows", "mixed", "streamed"]


def _as_rows(form: str, index: int) -> bool:
    return form in ("rows", "streamed") or (form == "mixed" and index % 2 == 1)


def _written_together(store: SqliteStore, staged: list[StagedRows], form: str) -> list[list[bool]]:
    """The staged batches written in one transaction, the way ``form`` says."""
    if form != "streamed":
        return store.write_staged_many(staged)
    store.begin_staged()
    for batch in staged:
        store.insert_staged(batch)
    return store.commit_staged()


@pytest.mark.parametrize("form", _FORMS)
def test_batches_written_in_one_transaction_flag_each_others_rows_as_one_at_a_time_does(
    tmp_path: Path, form: str
) -> None:
    # GIVEN a store holding some events, and three batches for one transaction that repeat
    # each other's events and the stored ones (and an empty batch among them)
    events = _events(12)
    prefill = events[:2]
    batches = [[*events[1:5]], [], [events[4], *events[5:8], events[0]], [events[2], *events[8:]]]
    expected = _one_at_a_time(tmp_path / "reference.db", prefill, list(chain(*batches)))
    assert expected.count(False) == 4  # 2 already stored, 2 in an earlier batch
    store = SqliteStore(tmp_path / "bulk.db")
    try:
        for event in prefill:
            store.record(event, expires_at=None)
        staged = [
            store.stage_many(b, expires_at=[None] * len(b), as_rows=_as_rows(form, index))
            for index, b in enumerate(batches)
        ]
        # WHEN they are written in one transaction
        stored = _written_together(store, staged, form)
    finally:
        store.close()
    # THEN each batch's flags are what inserting one at a time says, and the rows the same
    assert [len(flags) for flags in stored] == [len(b) for b in batches]
    assert list(chain(*stored)) == expected
    assert _rows(tmp_path / "bulk.db") == _rows(tmp_path / "reference.db")


@pytest.mark.parametrize("form", _FORMS)
def test_a_transaction_of_batches_one_of_which_skips_a_row_is_rewritten_row_by_row(
    tmp_path: Path, form: str
) -> None:
    # GIVEN a store that silently skips one row of the second of three batches
    store = SqliteStore(tmp_path / "trigger.db")
    store._db.execute(
        "CREATE TRIGGER skip_one BEFORE INSERT ON activity WHEN NEW.event_id = 'event-00004'"
        " BEGIN SELECT RAISE(IGNORE); END"
    )
    events = _events(9)
    try:
        staged = [
            store.stage_many(events[at : at + 3], expires_at=[None] * 3, as_rows=_as_rows(form, i))
            for i, at in enumerate(range(0, 9, 3))
        ]
        # WHEN they are written in one transaction
        stored = _written_together(store, staged, form)
        with pytest.raises(ValueError, match="at most 8 staged batches"):
            _written_together(store, staged * 3, form)
        assert not store._db.in_transaction  # refused whole: nothing of it left open
    finally:
        store.close()
    # THEN the skipped row is reported as not stored, every other row of every batch as stored
    assert stored == [[True] * 3, [True, False, True], [True] * 3]
    assert sorted(row[3] for row in _rows(tmp_path / "trigger.db")) == [
        e.event_id for e in events if e.event_id != "event-00004"
    ]


@pytest.mark.parametrize("as_rows", [False, True], ids=["image", "as rows"])
def test_a_staged_batch_that_is_not_the_batch_is_refused(tmp_path: Path, as_rows: bool) -> None:
    store = SqliteStore(tmp_path / "shape.db")
    try:
        staged = store.stage_many(_events(3), expires_at=[None] * 3, as_rows=as_rows)
        wrong = dataclasses.replace(staged, first=(True,) * 6)
        with pytest.raises(StoreError, match="staged batch holds 3 rows, expected 6"):
            store.write_staged(wrong)
        assert store.write_staged(staged) == [True, True, True]
    finally:
        store.close()


def test_an_error_in_an_open_transaction_undoes_every_batch_in_it(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "open.db")
    events = _events(6)
    try:
        first = store.stage_many(events[:3], expires_at=[None] * 3, as_rows=True)
        second = store.stage_many(events[3:], expires_at=[None] * 3, as_rows=True)
        # GIVEN an open transaction holding one batch
        store.begin_staged()
        store.insert_staged(first)
        with pytest.raises(RuntimeError, match="open already"):
            store.begin_staged()
        with pytest.raises(RuntimeError, match="commit_staged first"):
            store.write_staged_many([second])
        # WHEN a batch that is not the batch it says is inserted
        with pytest.raises(StoreError, match="staged batch holds 3 rows, expected 6"):
            store.insert_staged(dataclasses.replace(second, first=(True,) * 6))
        # THEN the transaction is undone whole: the batch before it too, nothing left open
        assert not store._db.in_transaction
        with pytest.raises(RuntimeError, match="no transaction"):
            store.insert_staged(second)
        with pytest.raises(RuntimeError, match="no transaction"):
            store.commit_staged()
        # AND so is one refused as an image; the store writes the batches again afterwards
        store.begin_staged()
        store.insert_staged(first)
        image = store.stage_many(events[3:], expires_at=[None] * 3)
        with pytest.raises(ValueError, match="only a batch staged as rows"):
            store.insert_staged(image)
        assert not store._db.in_transaction
        store.begin_staged()
        store.insert_staged(first)
        store.insert_staged(second)
        assert store.commit_staged() == [[True] * 3, [True] * 3]
    finally:
        store.close()
    assert len(_rows(tmp_path / "open.db")) == 6


# --- the engine's writer thread ----------------------------------------------------------------


@pytest.mark.parametrize("form", [*_ENGINE_FORMS, "mixed"])
def test_results_come_back_in_file_order_across_many_batches(tmp_path: Path, form: str) -> None:
    # GIVEN events out of time order, over many small batches, some already stored
    events = _events(200)
    events.reverse()
    store = SqliteStore(tmp_path / "order.db")
    for event in events[50:60]:
        store.record(event, expires_at=None)
    try:
        # WHEN the engine writes them
        results = list(_engine(store, batch=7, form=form).store_events(events))
    finally:
        store.close()
    # THEN one result per event, in the order given, each flag exact
    assert [r.event for r in results if isinstance(r, Written)] == events
    assert [r.stored for r in results if isinstance(r, Written)] == [
        not 50 <= i < 60 for i in range(200)
    ]
    # AND the rows were inserted in file order (row ids follow it)
    by_rowid = sorted(_rows(tmp_path / "order.db"), key=lambda row: row[0])
    first_run = [e.event_id for e in events[50:60]]
    assert [row[3] for row in by_rowid] == first_run + [
        e.event_id for e in events if e.event_id not in first_run
    ]


class _NotingStore(SqliteStore):
    """Notes each step of its transactions of staged batches; each insert is also told to
    ``inserted`` as it happens."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.steps: list[str] = []
        self.inserted: queue.Queue[int] = queue.Queue()

    def begin_staged(self) -> None:
        super().begin_staged()
        self.steps.append("begin")

    def insert_staged(self, staged: StagedRows) -> None:
        super().insert_staged(staged)
        self.steps.append("insert")
        self.inserted.put(len(staged.first))

    def commit_staged(self) -> list[list[bool]]:
        flags = super().commit_staged()
        self.steps.append("commit")
        return flags


def test_batches_staged_as_rows_are_written_as_they_come_eight_to_a_transaction(
    tmp_path: Path,
) -> None:
    store = _NotingStore(tmp_path / "streamed.db")

    def reader() -> Iterator[SignInEvent]:
        """20 batches of 5; each after the writer has inserted the one before it."""
        for number in range(20):
            if number:
                # (a writer waiting for a whole transaction's batches would never insert it)
                assert store.inserted.get(timeout=10) == 5, "the batch before was not written"
            yield from _events(5, start=5 * number)

    try:
        # WHEN the engine writes batches staged as rows
        results = list(_engine(store, batch=5, form="rows").store_events(reader()))
    finally:
        store.close()
    # THEN each was inserted as it came, eight to a transaction, the last four at the end
    group = ["begin", *["insert"] * 8, "commit"]
    assert store.steps == [*group, *group, "begin", *["insert"] * 4, "commit"]
    assert [r.stored for r in results if isinstance(r, Written)] == [True] * 100
    assert len(_rows(tmp_path / "streamed.db")) == 100


def test_a_writer_waiting_for_its_next_batch_lets_another_writer_of_the_file_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(replay_engine, "IDLE_COMMIT_SECONDS", 0.05)
    path = tmp_path / "slow.db"
    store = _NotingStore(path)
    others: list[str] = []

    def reader() -> Iterator[SignInEvent]:
        """Two batches of 5; then a slow read, while another process writes to the file."""
        yield from _events(10)
        for _ in range(2):  # both in the writer's transaction
            store.inserted.get(timeout=10)
        other = sqlite3.connect(path, timeout=3, isolation_level=None)
        try:
            # (its write lock held by the writer's open transaction, it would wait, then fail)
            other.execute("BEGIN IMMEDIATE")
            other.execute("CREATE TABLE other_writer (note TEXT)")
            other.execute("COMMIT")
            others.append("wrote")
        finally:
            other.close()
        yield from _events(10, start=10)

    try:
        # WHEN the engine writes batches staged as rows, waiting between them
        results = list(_engine(store, batch=5, form="rows").store_events(reader()))
    finally:
        store.close()
    # THEN the other writer got in meanwhile, and every event was written, flagged exactly
    assert others == ["wrote"]
    assert store.steps[:4] == ["begin", "insert", "insert", "commit"]
    assert [r.stored for r in results if isinstance(r, Written)] == [True] * 20
    assert len(_rows(path)) == 20


@pytest.mark.parametrize("form", _ENGINE_FORMS)
@pytest.mark.parametrize("bad", ["too large", "lone surrogate"])
def test_an_unstorable_event_in_a_batch_costs_only_itself(
    tmp_path: Path, bad: str, form: str
) -> None:
    # GIVEN a batch holding one event no store can hold (set on the event: parsing would
    # have cut or cleaned such a field)
    events = _events(30)
    value = "x" * 420_000 if bad == "too large" else "Mozilla \ud800"
    unstorable = dataclasses.replace(
        sign_in(user="mallory", minutes=15, event_id="the-bad-one"), user_agent=value
    )
    events.insert(15, unstorable)
    store = SqliteStore(tmp_path / "bad.db")
    try:
        results = list(_engine(store, batch=10, form=form).store_events(events))
    finally:
        store.close()
    # THEN that event is reported at its place; every other one is stored
    assert isinstance(results[15], UnstorableRecordError)
    assert "the-bad-one" in str(results[15])
    others = [r for i, r in enumerate(results) if i != 15]
    assert all(isinstance(r, Written) and r.stored for r in others)
    assert len(_rows(tmp_path / "bad.db")) == 30


class _FailingStore(SqliteStore):
    """Fails the third bulk write (a disk that fills up, say): the third transaction of
    staged batches, as it commits (batches as rows: inserted before, as they came)."""

    writes = 0

    def write_staged_many(self, batches: Sequence[StagedRows]) -> list[list[bool]]:
        self._fail_the_third()
        return super().write_staged_many(batches)

    def commit_staged(self) -> list[list[bool]]:
        try:
            self._fail_the_third()
        except StoreError:
            self._roll_back()  # as a failed COMMIT leaves it
            raise
        return super().commit_staged()

    def _fail_the_third(self) -> None:
        type(self).writes += 1
        if type(self).writes == 3:
            raise StoreError("disk I/O error")


@pytest.mark.parametrize("form", _ENGINE_FORMS)
def test_an_error_of_the_writer_is_raised_in_the_main_thread_after_the_results_before_it(
    tmp_path: Path, form: str
) -> None:
    _FailingStore.writes = 0
    store = _FailingStore(tmp_path / "fails.db")
    seen: list[Written | UnstorableRecordError] = []
    results = _engine(store, batch=5, form=form).store_events(_events(100))
    try:
        with pytest.raises(StoreError, match="disk I/O error"):
            seen.extend(results)
    finally:
        store.close()
    # THEN the two writes that went through (eight batches of five each) were reported,
    # nothing after them, no thread left
    assert len(seen) == 80
    assert len(_rows(tmp_path / "fails.db")) == 80


@pytest.mark.parametrize("form", _ENGINE_FORMS)
@pytest.mark.parametrize("stop", [RuntimeError("the reader broke"), KeyboardInterrupt()])
def test_a_reader_that_stops_leaves_every_batch_handed_over_stored_and_no_thread(
    tmp_path: Path, stop: BaseException, form: str
) -> None:
    # GIVEN a reader that raises after 55 events (5 whole batches of 10, 5 events not written)
    def reader() -> Iterator[SignInEvent]:
        yield from _events(55)
        raise stop

    store = SqliteStore(tmp_path / "stopped.db")
    results = _engine(store, batch=10, form=form).store_events(reader())
    try:
        with pytest.raises(type(stop)):
            list(results)
    finally:
        store.close()
    # THEN the batches handed to the writer are committed, whole; the partial one is not
    assert len(_rows(tmp_path / "stopped.db")) == 50


@pytest.mark.parametrize("form", _ENGINE_FORMS)
def test_a_consumer_that_stops_early_leaves_no_thread(tmp_path: Path, form: str) -> None:
    store = SqliteStore(tmp_path / "early.db")
    try:
        results = _engine(store, batch=10, form=form).store_events(_events(100))
        assert isinstance(next(results), Written)
        results.close()  # the caller leaves (an exception in its loop, say)
        # THEN the writer finished what it had and stopped: the connection is free again
        assert store.row_mark() >= 10
    finally:
        store.close()


class _Guarded:
    """A connection that notes which thread uses it, and fails if two ever use it at once."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._busy = threading.Lock()
        self.users: list[int] = []

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._db, name)
        self.users.append(threading.get_ident())
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            if not self._busy.acquire(blocking=False):
                raise AssertionError(f"two threads use one connection at once ({name})")
            try:
                self.users.append(threading.get_ident())
                return value(*args, **kwargs)
            finally:
                self._busy.release()

        return call


@pytest.mark.parametrize("form", _ENGINE_FORMS)
def test_the_store_connection_is_only_the_writer_threads_while_it_writes(
    tmp_path: Path, form: str
) -> None:
    # GIVEN a store whose connection and staging database note who uses them
    store = SqliteStore(tmp_path / "guarded.db")
    store.stage_many([], expires_at=[])  # opens the staging database
    connection = _Guarded(store._db)
    staging = _Guarded(store._stage)  # type: ignore[arg-type]
    store._db = connection  # type: ignore[assignment]
    store._stage = staging  # type: ignore[assignment]
    main = threading.get_ident()
    try:
        # WHEN a replay writes many batches, then evaluates
        engine = _engine(store, batch=25, form=form)
        results = list(engine.store_events(_events(400)))
        list(engine.evaluate())
    finally:
        store.close()
    assert len(results) == 400
    # THEN the writes ran on another thread, and between its first and last use of the
    # connection nobody else used it; the staging database was only the main thread's
    writers = set(connection.users) - {main}
    assert len(writers) == 1
    (writer,) = writers
    first = connection.users.index(writer)
    last = len(connection.users) - 1 - connection.users[::-1].index(writer)
    assert set(connection.users[first : last + 1]) == {writer}
    assert set(staging.users) <= {main}  # (rows are built without it)


# --- the whole command: a closed stdout, a SIGKILL mid-write ------------------------------------


def _corpus(folder: Path, count: int, *, root_every: int = 500) -> Path:
    """``count`` sign-ins over four CloudTrail files; every ``root_every``-th a root sign-in
    (an alert each)."""
    folder.mkdir()
    for part in range(4):
        records = [
            console_login(
                identity_type="Root" if i % root_every == 0 else "IAMUser",
                user=f"user{i % 40}",
                minutes=i / 4,
                event_id=f"event-{part}-{i:06d}",
            )
            for i in range(part, count, 4)
        ]
        (folder / f"part-{part}.json").write_text(json.dumps({"Records": records}))
    return folder


def _env() -> dict[str, str]:
    prefixes = ("SLACK_", "FAILED_", "CLAIM_", "ALERT_RULES", "RETENTION_")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


def _count(db: Path) -> int:
    try:
        reader = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    except sqlite3.OperationalError:
        return 0
    try:
        return int(reader.execute("SELECT count(*) FROM activity").fetchone()[0])
    except sqlite3.OperationalError:
        return 0  # not created yet
    finally:
        reader.close()


def _claims(db: Path) -> list[tuple[Any, ...]]:
    reader = sqlite3.connect(db)
    try:
        return reader.execute(
            "SELECT pk, rule_id, event_id, event_time, status FROM alert_claims ORDER BY pk"
        ).fetchall()
    finally:
        reader.close()


def test_a_replay_killed_mid_write_then_run_again_gives_the_database_of_one_clean_run(
    tmp_path: Path,
) -> None:
    total = 20_000  # three transactions (eight batches of 1,000 each)
    corpus = _corpus(tmp_path / "corpus", total)
    clean = tmp_path / "clean.db"
    reference = subprocess.run(
        replay_command(clean, corpus), capture_output=True, text=True, env=_env(), timeout=300
    )
    assert reference.returncode == 0, reference.stderr
    # GIVEN a replay killed with SIGKILL once some batches are committed, before the end
    killed = tmp_path / "killed.db"
    child = subprocess.Popen(
        replay_command(killed, corpus),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_env(),
    )
    try:
        while child.poll() is None and _count(killed) == 0:
            time.sleep(0.005)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=60)
    at_kill = _count(killed)
    assert 0 < at_kill < total, "the kill came after the writes: make the corpus larger"
    # WHEN it is run again, to the end
    rerun = subprocess.run(
        replay_command(killed, corpus), capture_output=True, text=True, env=_env(), timeout=300
    )
    # THEN the store, the claims and the alerts are those of one clean run
    assert rerun.returncode == 0, rerun.stderr
    assert _rows(killed) == _rows(clean)
    assert _claims(killed) == _claims(clean)
    assert rerun.stdout == reference.stdout
    assert reference.stdout.count("\n") == total // 500


def test_a_closed_stdout_stops_the_run_with_every_record_stored(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus", 3000, root_every=10)  # more lines than a pipe holds
    db = tmp_path / "head.db"
    # GIVEN `replay --json ... | head -1`
    child = subprocess.Popen(
        replay_command(db, corpus), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env()
    )
    assert child.stdout is not None
    assert child.stderr is not None
    first = child.stdout.readline()
    child.stdout.close()
    err = child.stderr.read().decode()
    # THEN the run ends (exit 1, a message), every record stored before the first alert
    assert child.wait(timeout=120) == 1, err
    assert json.loads(first)["rule"] == "root-sign-in"
    assert "Traceback" not in err
    assert "3,000 stored" in err
    assert _count(db) == 3000


# --- BatchWriter itself ------------------------------------------------------------------------


def test_the_writer_holds_a_bounded_number_of_jobs() -> None:
    release = threading.Event()
    started = threading.Event()

    def write(job: int) -> int:
        started.set()
        release.wait()
        return job

    with BatchWriter(write, depth=2) as writer:
        writer.submit(0)
        started.wait()
        writer.submit(1)
        writer.submit(2)
        # THEN with one job being written and two queued, the queue takes no more
        assert writer._jobs.full()
        assert list(writer.ready()) == []
        release.set()
        assert list(writer.finish()) == [0, 1, 2]


def test_leaving_the_writer_early_writes_what_it_was_given_then_joins() -> None:
    written: list[int] = []

    def leave_early() -> None:
        with BatchWriter(written.append, depth=4) as writer:
            for job in range(5):
                writer.submit(job)
            raise RuntimeError("the reader broke")

    with pytest.raises(RuntimeError, match="reader"):
        leave_early()
    assert written == [0, 1, 2, 3, 4]


def _until(condition: Callable[[], bool]) -> None:
    """Wait (10 s at most) for ``condition`` to hold."""
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "waited 10 s in vain"
        time.sleep(0.005)


def test_the_writer_calls_idle_once_no_job_has_come_for_a_while_after_one_was_written() -> None:
    steps: list[object] = []

    def write(job: int) -> int:
        steps.append(job)
        return job

    with BatchWriter(
        write, depth=2, idle=lambda: steps.append("idle"), idle_seconds=0.02
    ) as writer:
        time.sleep(0.1)
        assert steps == []  # nothing written yet: nothing to let go of
        writer.submit(1)
        _until(lambda: steps == [1, "idle"])
        time.sleep(0.1)
        assert steps == [1, "idle"]  # once a quiet spell
        writer.submit(2)
        writer.submit(3)
        assert list(writer.finish()) == [1, 2, 3]
        _until(lambda: steps[-1] == "idle")
    assert steps.count("idle") == 2


def test_an_error_of_idle_is_raised_in_the_main_thread_and_nothing_more_is_written() -> None:
    written: list[int] = []

    def idle() -> None:
        raise StoreError("disk I/O error")

    with BatchWriter(written.append, depth=2, idle=idle, idle_seconds=0.01) as writer:
        writer.submit(1)
        assert list(writer.finish()) == [None]
        time.sleep(0.1)  # idle fails meanwhile
        writer.submit(2)
        with pytest.raises(StoreError, match="disk I/O error"):
            list(writer.finish())
        assert writer.failed
    assert written == [1]


def test_a_batch_whose_staging_fails_midway_leaves_the_next_batch_staged_whole(
    tmp_path: Path,
) -> None:
    # GIVEN a store whose staging of a batch fails after some of its rows went in (the staging
    # database keeps no journal: its rollback cannot be trusted to undo them)
    store = SqliteStore(tmp_path / "stage.db")
    events = _events(6)
    try:
        bad_expiry: list[Any] = [None, None, object()]
        with pytest.raises(sqlite3.ProgrammingError):
            store.stage_many(events[:3], expires_at=bad_expiry)
        # WHEN the next batch is staged and written
        stored = store.write_staged(store.stage_many(events[3:], expires_at=[None] * 3))
    finally:
        store.close()
    # THEN exactly that batch is stored: nothing of the failed one, no row twice
    assert stored == [True, True, True]
    assert sorted(row[3] for row in _rows(tmp_path / "stage.db")) == [
        e.event_id for e in events[3:]
    ]
