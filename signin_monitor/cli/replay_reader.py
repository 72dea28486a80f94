"""Replay's reading: files to batches ready for the writer, and what reading saw on the way;
in a reader process of its own when it can, so reading and writing use both cores.

Reading, parsing, normalizing and building each batch's rows (``ReplayEngine.prepare``) is
most of a replay's Python work; the main process's writer thread spends its time in SQLite,
and the rules need every record before they start. In one process the GIL runs them one at a
time; in two, the reader process (``ReaderProcess``, forked) does ``read_batches`` and hands
over, per batch, only what the main process needs: the staged rows (one bytes image), the
kept events (``Activity.__reduce__``: their fields, without the raw record a rule does not
read), what reading counted and the problems to print (``ReadReport``). Nothing else crosses.

The reader never touches the store: the main process alone writes it (its writer thread),
claims and prints. When the main process dies, the reader's next hand-over fails (the pipe
has no reader any more) and it exits; when the reader dies, the main process says so and
stops, with every batch written so far kept (a replay is idempotent: run it again).

Usage::

    entries = list(find_files(paths))
    with open_reader(entries, engine, expired_before=None, process=True) as batches:
        for report, batch in batches: ...      # in file order
"""

from __future__ import annotations

import contextlib
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
from typing import Final

from ..cloudtrail_files import read_file
from ..errors import (
    MalformedRecordError,
    NotSignInEventError,
    SigninMonitorError,
    SkippedFileError,
)
from ..events import SignInEvent
from .replay_engine import PreparedBatch, ReplayEngine, StagingStore

__all__ = [
    "ReadReport",
    "ReaderFailedError",
    "ReaderProcess",
    "can_fork_reader",
    "open_reader",
    "read_batches",
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
    reader hands over rows, not events)."""
    return (
        sys.platform == "linux"
        and threading.active_count() == 1
        and isinstance(engine.store, StagingStore)
    )


def open_reader(
    entries: list[Path | MalformedRecordError],
    engine: ReplayEngine,
    *,
    expired_before: datetime | None,
    process: bool,
) -> contextlib.AbstractContextManager[Iterator[_Item]]:
    """``read_batches`` with the engine's batches: in a reader process if ``process``, else
    here (the same batches, prepared in the main thread)."""

    def work() -> Iterator[_Item]:
        return read_batches(
            entries,
            engine.prepare,
            batch_size=engine.write_batch,
            expired_before=expired_before,
        )

    if process:
        return ReaderProcess(work)
    return contextlib.nullcontext(work())


class ReaderProcess:
    """``work()`` run in a forked child; the context's value yields its items, in order.

    Start it before any other thread (``can_fork_reader``). Leaving the context stops the
    child if it still runs (its work is only reading: nothing to finish) and reaps it.
    """

    def __init__(self, work: Callable[[], Iterator[_Item]]) -> None:
        self._work = work
        self._receiver: Connection | None = None
        self._child: multiprocessing.process.BaseProcess | None = None

    def __enter__(self) -> Iterator[_Item]:
        context = multiprocessing.get_context("fork")
        receiver, sender = context.Pipe(duplex=False)
        # What the parent has buffered would be written again by the child's copy at its exit.
        sys.stdout.flush()
        sys.stderr.flush()
        child = context.Process(
            target=_serve, args=(self._work, sender, receiver), name="replay-reader", daemon=True
        )
        # Ctrl-C held back across the fork: the child must not take it before it ignores it,
        # and this process must not leave here (KeyboardInterrupt) with a child it has not
        # noted, which ``__exit__`` would then never stop. It lands once both hold.
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            child.start()
        except OSError:  # no process to be had (fork refused: memory, process limits)
            receiver.close()
        else:
            self._receiver, self._child = receiver, child
        finally:
            sender.close()  # the child's end: at its exit, the pipe tells us
            # Freed now, not as this frame ends: a Ctrl-C raised inside its finalizer would be
            # printed as ignored and lost (seen under load: the replay then ran to its end).
            del sender
            try:
                signal.pthread_sigmask(signal.SIG_SETMASK, held)
            except BaseException:
                self.__exit__(None, None, None)  # the Ctrl-C held back, landing here
                raise
        if self._child is None:
            return self._work()  # the same batches, read here: slower, never refused
        return self._items(receiver)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback_: TracebackType | None,
    ) -> None:
        if self._receiver is not None:
            self._receiver.close()
        if self._child is not None:
            if self._child.is_alive():
                self._child.terminate()
            self._child.join()

    @staticmethod
    def _items(receiver: Connection) -> Iterator[_Item]:
        while True:
            try:
                message = receiver.recv_bytes()
            except EOFError:
                raise ReaderFailedError(
                    "replay's reader process stopped before the end of the files "
                    "(killed, or out of memory); the batches written so far are kept: "
                    "replay again to finish"
                ) from None
            if message == _DONE:
                return
            item = pickle.loads(message)  # noqa: S301 (our own child's bytes)
            if isinstance(item, BaseException):
                raise item
            yield item


def _serve(work: Callable[[], Iterator[_Item]], sender: Connection, receiver: Connection) -> None:
    """The child: send each item, then the end mark; or the error that stopped it."""
    # Its copy of the main process's end: while open, a main process gone would leave the
    # pipe a reader, and the child would wait on a full pipe forever instead of exiting.
    receiver.close()
    # Ctrl-C reaches the whole process group: the main process alone decides what it means
    # (it stops this process when it leaves); a reader gone first would look like a crash.
    # (Held back since the fork: one pressed meanwhile is dropped as ignored.)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    try:
        for report, batch in work():
            lean = None if batch is None else batch.for_transfer()
            sender.send_bytes(pickle.dumps((report, lean), protocol=pickle.HIGHEST_PROTOCOL))
        sender.send_bytes(_DONE)
    except BrokenPipeError:
        return  # the main process is gone: nothing to tell, no one to tell it
    except BaseException as error:  # told to the main process, raised there
        with contextlib.suppress(BrokenPipeError):
            sender.send_bytes(_pickled_error(error))
    finally:
        sender.close()
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
