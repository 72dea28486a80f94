"""Replay's reading and judging: files to batches ready for the writer, and what reading saw
on the way; then the rules over the events kept. In a reader process of its own when it can,
so reading, writing and judging use both cores.

Reading, parsing, normalizing and building each batch's rows (``ReplayEngine.prepare``) is
most of a replay's Python work, and the rules need every record before they start; the main
process's writer thread spends its time in SQLite. In one process the GIL runs them one at a
time (``LocalReader``). In two (``ReaderProcess``, forked), the reader process reads, keeps
the events the rules need (``ReplayEngine.prepare_keeping``) and hands over per batch only
its rows, built and checked (one bytes message: ``StagedRows`` as rows, which the main
process's writer inserts), the positions of the kept events and what reading counted and
the problems to print (``ReadReport``). Once every batch is written, the main process
sends back which kept events were stored and the store's rows from before the run within the
rules' reach; the reader runs the rules (``judge_here``) and hands over the events with
alerts, which the main process claims, posts and marks while the reader judges on. The kept
events never cross (their pickling and unpickling cost more than judging them).

The reader never touches the store: the main process alone writes and reads it, claims and
prints. When the main process dies, the reader's next hand-over fails (the pipe has no reader
any more) and it exits; when the reader dies, the main process says so and stops, with every
batch written and every alert delivered so far kept (a replay is idempotent: run it again).

Usage::

    entries = list(find_files(paths))
    with open_reader(entries, engine, expired_before=None, process=True) as reader:
        for written in engine.store_prepared(b for _, b in reader.batches() if b): ...
        for outcome in reader.evaluated(): ...      # in time order, alerts delivered
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import Final, Protocol, cast

from ..cloudtrail_files import read_file
from ..errors import (
    MalformedRecordError,
    NotSignInEventError,
    SigninMonitorError,
    SkippedFileError,
)
from ..events import SignInEvent
from ..pipeline import EventOutcome
from .replay_engine import (
    Judged,
    PreparedBatch,
    ReplayEngine,
    SeedableStore,
    StagingStore,
    long_lived_frozen,
)

__all__ = [
    "PIPE_BYTES",
    "LocalReader",
    "ReadReport",
    "Reader",
    "ReaderFailedError",
    "ReaderProcess",
    "can_fork_reader",
    "open_reader",
    "read_batches",
    "widen_pipe",
]

_Item = tuple["ReadReport", PreparedBatch | None]
_DONE: Final = b"done"


@dataclass(slots=True)
class ReadReport:
    """What reading saw since the previous batch: counts for the summary line, and the
    problems to print (malformed records and skipped files), in reading order."""

    read: int = 0
    not_monitored: int = 0
    expired: int = 0
    truncated: int = 0
    problems: list[MalformedRecordError] = field(default_factory=list)
    #: Files read to the end so far, of ``files_total`` (the progress bar).
    files_done: int = 0
    files_total: int = 0


class ReaderFailedError(SigninMonitorError):
    """The reader process stopped without finishing (killed, or out of memory)."""


def read_batches(
    entries: list[Path | MalformedRecordError],
    prepare: Callable[[list[SignInEvent]], PreparedBatch],
    *,
    batch_size: int,
    expired_before: datetime | None,
) -> Iterator[_Item]:
    """Read the entries in order; every ``batch_size`` events, the batch ``prepare`` made of
    them with the report of what was read since the previous one. A report also comes alone
    (with None) once it holds ``batch_size`` problems, and last, when no event is left."""
    total = len(entries)
    report = ReadReport(files_total=total)
    batch: list[SignInEvent] = []
    for number, entry in enumerate(entries, start=1):
        if isinstance(entry, SkippedFileError):
            report.problems.append(entry)
            report.files_done = number
            continue
        # read_file: what sources.read_events gives for the file, the fast way when it can.
        items = [entry] if isinstance(entry, MalformedRecordError) else read_file(entry)
        for item in items:
            report.read += 1
            if isinstance(item, NotSignInEventError):
                report.not_monitored += 1
            elif isinstance(item, MalformedRecordError):
                report.problems.append(item)
                if len(report.problems) >= batch_size:  # told now: memory holds only so many
                    yield report, None
                    report = ReadReport(files_done=number - 1, files_total=total)
            else:
                if expired_before is not None and item.event_time <= expired_before:
                    report.expired += 1
                if item.truncated:
                    report.truncated += 1
                batch.append(item)
                if len(batch) >= batch_size:
                    yield report, prepare(batch)
                    batch = []
                    report = ReadReport(files_done=number - 1, files_total=total)
        report.files_done = number
    yield report, (prepare(batch) if batch else None)


def can_fork_reader(engine: ReplayEngine) -> bool:
    """True where a forked reader process is safe and pays: Linux (fork is the platform's
    way; macOS's system libraries are not fork-safe), one thread (a lock another thread holds
    at the fork would never be released in the child), a store that stages its rows (the
    reader hands over rows, not events) and tells its rows from before the run (the reader's
    rules start from them, read here)."""
    return (
        sys.platform == "linux"
        and threading.active_count() == 1
        and isinstance(engine.store, StagingStore)
        and isinstance(engine.store, SeedableStore)
    )


class Reader(Protocol):
    """A replay's reading and judging: the batches to write, then, once all are written, the
    outcomes of the rules over the events kept (``LocalReader``, ``ReaderProcess``)."""

    def __enter__(self) -> Reader: ...

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback_: TracebackType | None,
    ) -> None: ...

    def batches(self) -> Iterator[_Item]:
        """The batches with what reading saw, in file order (for ``store_prepared``)."""
        ...

    def evaluated(self) -> Iterator[EventOutcome]:
        """The outcomes of the events the rules went through, in time order, each once its
        alerts are delivered; call once every batch is written."""
        ...


def open_reader(
    entries: list[Path | MalformedRecordError],
    engine: ReplayEngine,
    *,
    expired_before: datetime | None,
    process: bool,
) -> Reader:
    """The replay's ``Reader``: a reader process if ``process`` (``can_fork_reader``), else
    reading and judging here (the same batches and outcomes)."""
    if process:
        return ReaderProcess(entries, engine, expired_before=expired_before)
    return LocalReader(entries, engine, expired_before=expired_before)


class LocalReader:
    """Reading in the main thread (``ReplayEngine.prepare``), the rules here too
    (``ReplayEngine.evaluate``)."""

    def __init__(
        self,
        entries: list[Path | MalformedRecordError],
        engine: ReplayEngine,
        *,
        expired_before: datetime | None,
    ) -> None:
        self._entries = entries
        self._engine = engine
        self._expired_before = expired_before

    def __enter__(self) -> LocalReader:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback_: TracebackType | None,
    ) -> None:
        return None

    def batches(self) -> Iterator[_Item]:
        """``read_batches`` of the entries, prepared here."""
        return self._read_batches(self._engine.prepare)

    def _read_batches(
        self, prepare: Callable[[list[SignInEvent]], PreparedBatch]
    ) -> Iterator[_Item]:
        return read_batches(
            self._entries,
            prepare,
            batch_size=self._engine.write_batch,
            expired_before=self._expired_before,
        )

    def evaluated(self) -> Iterator[EventOutcome]:
        """``ReplayEngine.evaluate``."""
        return self._engine.evaluate()


@dataclass(frozen=True, slots=True)
class _ReadDone:
    """The child's word that reading is over: the time range of what it kept."""

    kept_range: tuple[str, str] | None


class ReaderProcess(LocalReader):
    """A forked child reads and prepares the batches (``read_batches`` with
    ``ReplayEngine.prepare_keeping``), keeping the events the rules need; once the main
    process has written every batch it tells the child which kept events were stored and
    sends the rows the store held before the run within the rules' reach
    (``ReplayEngine.seed_rows``); the child runs the rules (``judge_here``) and hands over the
    events with alerts, which the main process claims, posts and marks (``deliver``) while
    the child judges the next ones.

    Start it before any other thread (``can_fork_reader``). Leaving the context stops the
    child if it still runs (it never writes: nothing to finish) and reaps it. When the system
    refuses the fork, it reads and judges here (``LocalReader``'s way).
    """

    def __init__(
        self,
        entries: list[Path | MalformedRecordError],
        engine: ReplayEngine,
        *,
        expired_before: datetime | None,
    ) -> None:
        super().__init__(entries, engine, expired_before=expired_before)
        self._receiver: Connection | None = None  # the child's items
        self._sender: Connection | None = None  # the stored flags and seed rows, to the child
        self._child: multiprocessing.process.BaseProcess | None = None
        self._read: _ReadDone | None = None

    def __enter__(self) -> ReaderProcess:
        context = multiprocessing.get_context("fork")
        receiver, child_sender = context.Pipe(duplex=False)
        child_receiver, sender = context.Pipe(duplex=False)
        widen_pipe(receiver)
        widen_pipe(sender)
        # What the parent has buffered would be written again by the child's copy at its exit.
        sys.stdout.flush()
        sys.stderr.flush()
        child = context.Process(
            target=_serve,
            args=(self._child_work, child_sender, child_receiver, (receiver, sender)),
            name="replay-reader",
            daemon=True,
        )
        # Ctrl-C held back across the fork: the child must not take it before it ignores it,
        # and this process must not leave here (KeyboardInterrupt) with a child it has not
        # noted, which ``__exit__`` would then never stop. It lands once both hold.
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            child.start()
        except OSError:  # no process to be had (fork refused: memory, process limits)
            receiver.close()
            sender.close()
        else:
            self._receiver, self._sender, self._child = receiver, sender, child
        finally:
            # The child's ends: at its exit, the pipes tell us (and it, of ours).
            child_sender.close()
            child_receiver.close()
            # Freed now, not as this frame ends: a Ctrl-C raised inside their finalizer would
            # be printed as ignored and lost (seen under load: the replay then ran to its end).
            del child_sender, child_receiver
            try:
                signal.pthread_sigmask(signal.SIG_SETMASK, held)
            except BaseException:
                self.__exit__(None, None, None)  # the Ctrl-C held back, landing here
                raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback_: TracebackType | None,
    ) -> None:
        for end in (self._receiver, self._sender):
            if end is not None:
                end.close()
        if self._child is not None:
            if self._child.is_alive():
                self._child.terminate()
            self._child.join()

    def batches(self) -> Iterator[_Item]:
        """The child's batches, in file order, until it has read every file."""
        if self._receiver is None:
            yield from super().batches()  # the same batches, read here: never refused
            return
        # The collector by hand here too (a pass walked every object of this process, the
        # writer's rows and the results included: at 200,000 records ~0.14 s of collections,
        # ~0.04 s by hand and with the deliveries frozen).
        with _collections_by_hand():
            received = _received(self._receiver, _STOPPED_READING)
            for number, item in enumerate(received, 1):
                if isinstance(item, _ReadDone):
                    self._read = item
                    return
                report, batch = cast(_Item, item)  # what the child sends before it is done
                if batch is not None and batch.staged is not None:
                    staged_bytes = _received_bytes(self._receiver, _STOPPED_READING)
                    batch.staged = dataclasses.replace(batch.staged, image=staged_bytes)
                yield report, batch
                _spare_the_collector(number)
        raise ReaderFailedError(_STOPPED_READING)  # pragma: no cover (it always says it is done)

    def evaluated(self) -> Iterator[EventOutcome]:
        """The child's judged events, claimed, posted and marked here, in time order."""
        if self._receiver is None or self._sender is None:
            yield from super().evaluated()
            return
        read = self._read
        if read is None:
            raise RuntimeError("the rules run once every batch is read and written")
        engine = self._engine
        sender = self._sender
        try:
            sender.send_bytes(engine.stored_flags)  # their count checked there (judge_here)
            if read.kept_range is not None:
                rows: list[tuple[SignInEvent, str | None]] = []
                for row in engine.seed_rows(*read.kept_range):
                    rows.append(row)
                    if len(rows) >= _SEED_CHUNK:
                        sender.send_bytes(pickle.dumps(rows, protocol=pickle.HIGHEST_PROTOCOL))
                        rows = []
                if rows:
                    sender.send_bytes(pickle.dumps(rows, protocol=pickle.HIGHEST_PROTOCOL))
                sender.send_bytes(_DONE)
        except BrokenPipeError:
            raise ReaderFailedError(_STOPPED_JUDGING) from None
        judged = _received(self._receiver, _STOPPED_JUDGING)
        with long_lived_frozen():  # what this process holds is never garbage while it delivers
            yield from engine.deliver(item for item in judged if isinstance(item, Judged))

    def _child_work(self, sender: Connection, receiver: Connection) -> None:
        """The child's part: read, hand over each batch, say so; then judge and hand over."""
        engine = self._engine
        with _collections_by_hand():
            batches = self._read_batches(engine.prepare_keeping)
            for number, (report, batch) in enumerate(batches, 1):
                lean = None if batch is None else batch.for_transfer()
                staged_bytes = None
                if lean is not None and lean.staged is not None:
                    # The staged bytes (the rows, or an image marshal could not take) go as
                    # they are, after the rest: inside the pickle they were copied once more
                    # on each side (280 MB at 200,000 records).
                    staged_bytes, lean.staged = (
                        lean.staged.image,
                        dataclasses.replace(lean.staged, image=b""),
                    )
                sender.send_bytes(pickle.dumps((report, lean), protocol=pickle.HIGHEST_PROTOCOL))
                if staged_bytes is not None:
                    sender.send_bytes(staged_bytes)
                _spare_the_collector(number)
        kept_range = engine.kept_range
        done = _ReadDone(kept_range)
        sender.send_bytes(pickle.dumps(done, protocol=pickle.HIGHEST_PROTOCOL))
        if kept_range is not None and engine.judges_ahead:
            flags = _judge_ahead(engine, sender, receiver)
            if flags is None:
                sender.send_bytes(_DONE)
                return
            seed: Iterator[tuple[SignInEvent, str | None]] = iter(())  # nothing before the run
        else:
            flags = receiver.recv_bytes()
            seed = _seed(receiver) if kept_range is not None else iter(())
        _send_judged(sender, engine.judge_here(flags, seed))
        sender.send_bytes(_DONE)


def _judge_ahead(engine: ReplayEngine, sender: Connection, receiver: Connection) -> bytes | None:
    """Judge while the main process writes its last batches, with the flags assumed
    (``ReplayEngine.judges_ahead``), holding what is judged until the writer's flags come:
    then, if they are the ones assumed, hand it all over and go on judging (None: all
    judged); else drop it and return the flags, to judge again with them.

    The main process delivers nothing before it has sent the flags (every record written
    first), so what is held was never delivered: judging again changes nothing it saw.
    """
    assumed = engine.assumed_flags
    held: list[bytes] | None = []  # None once the flags came and were the ones assumed
    judging = engine.judge_here(assumed, ())
    try:
        for judged in judging:
            message = pickle.dumps(judged, protocol=pickle.HIGHEST_PROTOCOL)
            if held is not None and receiver.poll():
                flags = _settled(receiver, sender, assumed, held)
                if flags is not None:
                    return flags
                held = None
            if held is None:
                sender.send_bytes(message)
            else:
                held.append(message)
    finally:
        judging.close()
    return None if held is None else _settled(receiver, sender, assumed, held)


def _settled(
    receiver: Connection, sender: Connection, assumed: bytes, held: list[bytes]
) -> bytes | None:
    """The writer's flags, taken now: the ones assumed, what was judged ahead is handed over,
    in order (None); else they are returned, the held messages left to be dropped."""
    flags = _flags_alone(receiver)
    if flags != assumed:
        return flags
    for message in held:
        sender.send_bytes(message)
    return None


def _flags_alone(receiver: Connection) -> bytes:
    """The stored flags, and the seed rows' end mark after them: a store that held no row
    before the run has none to send."""
    flags = receiver.recv_bytes()
    for _ in _seed(receiver):
        raise RuntimeError("seed rows came from a store that held no row before the run")
    return flags


def _send_judged(sender: Connection, judged: Iterator[Judged]) -> None:
    for batch in judged:
        sender.send_bytes(pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL))


#: Batches between the reader's full collections (``_spare_the_collector``).
_COLLECT_EVERY: Final = 100


@contextlib.contextmanager
def _collections_by_hand() -> Iterator[None]:
    """The collector off while batches are read (the reader process) or written (the main
    process): it collects only when ``_spare_the_collector`` says; what it froze is thawed at
    the end, and the collector is as it was."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.unfreeze()
        if was_enabled:
            gc.enable()


def _spare_the_collector(batches: int) -> None:
    """Every ``_COLLECT_EVERY`` batches read, what was made since the last time is collected
    once and what is left of it frozen (``gc.freeze``); between, the collector is off
    (``_collections_by_hand``), so each object is walked once.

    The kept events pile up until the rules run, and the collector walked them again and
    again: with its full passes, 1.4-2.4 s of the reader's ~8 s CPU (measured at 200,000
    records); frozen after each batch, its young passes still walked each batch's objects
    and every hundredth batch a full pass walked them all (~0.4 s in the passes, 0.5-0.9 s of
    ~5.3 s of reading, issue 13). Frozen objects are still freed by reference counting;
    garbage in a reference cycle waits at most ``_COLLECT_EVERY`` batches (a few dozen
    objects per hundred batches of the bench's corpus), or the end of the reading if it
    holds an object frozen before.
    """
    if batches % _COLLECT_EVERY == 0:
        gc.collect()
        gc.freeze()


#: What each of the reader's pipes holds, asked of the system (``widen_pipe``).
PIPE_BYTES: Final = 1 << 20


def widen_pipe(end: Connection) -> None:
    """Ask the system for a pipe holding ``PIPE_BYTES`` (its default holds 64 KiB).

    A batch's staged rows are about 1.5 MB: through 64 KiB the reader process waited for the
    main process to read every 64 KiB of it, and the reader is replay's critical path
    (measured at 200,000 records: 0.39-0.43 s of its wall time in sending, 0.08-0.09 s of it
    CPU; 0.19-0.23 s with 1 MiB). A system that refuses (more than an unprivileged process
    may ask for: ``/proc/sys/fs/pipe-max-size``) leaves the pipe as it was: only slower.
    """
    import fcntl  # POSIX (the reader process is Linux's: ``can_fork_reader``)

    resize: int | None = getattr(fcntl, "F_SETPIPE_SZ", None)  # Linux's only
    if resize is None:
        return
    with contextlib.suppress(OSError):
        fcntl.fcntl(end.fileno(), resize, PIPE_BYTES)


#: Seed rows per message to the child (a store's months of sign-ins need not be one message).
_SEED_CHUNK: Final = 10_000
_STOPPED_READING: Final = (
    "replay's reader process stopped before the end of the files (killed, or out of memory); "
    "the batches written so far are kept: replay again to finish"
)
_STOPPED_JUDGING: Final = (
    "replay's reader process stopped before the rules had gone through every event (killed, "
    "or out of memory); every record is stored and the alerts printed so far are marked: "
    "replay again to deliver the rest"
)


def _received(receiver: Connection, stopped: str) -> Iterator[object]:
    """The child's items until its end mark; an error it sent is raised here."""
    while True:
        try:
            message = receiver.recv_bytes()
        except EOFError:
            raise ReaderFailedError(stopped) from None
        if message == _DONE:
            return
        item = pickle.loads(message)  # noqa: S301 (our own child's bytes)
        if isinstance(item, BaseException):
            raise item
        yield item


def _received_bytes(receiver: Connection, stopped: str) -> bytes:
    """The next message as it is (a batch's staged rows)."""
    try:
        return receiver.recv_bytes()
    except EOFError:
        raise ReaderFailedError(stopped) from None


def _seed(receiver: Connection) -> Iterator[tuple[SignInEvent, str | None]]:
    """The child's: the seed rows the main process sends, until its end mark."""
    while (message := receiver.recv_bytes()) != _DONE:
        yield from pickle.loads(message)  # noqa: S301 (our own parent's bytes)


def _serve(
    work: Callable[[Connection, Connection], None],
    sender: Connection,
    receiver: Connection,
    parents: tuple[Connection, Connection],
) -> None:
    """The child: ``work``; or the error that stopped it, sent for the main process to raise."""
    # Its copies of the main process's ends: while open, a main process gone would leave the
    # pipes a reader and a writer, and the child would wait on them forever instead of exiting.
    for end in parents:
        end.close()
    # Ctrl-C reaches the whole process group: the main process alone decides what it means
    # (it stops this process when it leaves); a reader gone first would look like a crash.
    # (Held back since the fork: one pressed meanwhile is dropped as ignored.)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    try:
        work(sender, receiver)
    except (BrokenPipeError, EOFError):
        return  # the main process is gone: nothing to tell, no one to tell it
    except BaseException as error:  # told to the main process, raised there
        with contextlib.suppress(BrokenPipeError):
            sender.send_bytes(_pickled_error(error))
    finally:
        sender.close()
        receiver.close()
        # Never the parent's exit handlers (its store, its lock): the child only read.
        os._exit(0)


def _pickled_error(error: BaseException) -> bytes:
    """The error as the main process should raise it, with where the child raised it."""
    where = "".join(traceback.format_exception(error)).rstrip()
    try:
        error.add_note(f"(in replay's reader process)\n{where}")
        return pickle.dumps(error, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        described = ReaderFailedError(f"replay's reader process failed: {where}")
        return pickle.dumps(described, protocol=pickle.HIGHEST_PROTOCOL)
