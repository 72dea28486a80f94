"""``BatchWriter``: replay's one writer thread, so the store's inserts overlap the reading.

SQLite does an insert's work (every index) with the GIL released, and the machine has more
than one core: while the writer thread writes batch *n*, the main thread reads and parses the
records of batch *n + 1*. The thread is the only user of what ``write`` touches (the store's
connection) from ``__enter__`` to ``__exit__``; the main thread must not use it meanwhile.

Usage::

    with BatchWriter(write, depth=2) as writer:
        for job in jobs:
            writer.submit(job)              # waits while ``depth`` jobs are queued
            for result in writer.ready():   # the results done so far, in order
                ...
        for result in writer.finish():      # the rest, in order
            ...

Results come back in the order the jobs were submitted. An exception ``write`` raises is
raised in the main thread (by ``submit``, ``ready`` or ``finish``), after the results of the
jobs before it; the writer writes nothing more. When the ``with`` block is left early (an
exception in the reader, KeyboardInterrupt, a consumer that stops), the writer still writes the
jobs already handed to it (at most ``depth`` + 1), and the thread is joined: none is left
behind. With ``idle``, a write that holds something open between jobs (replay's open
transaction of batches) is told when no job has come for ``idle_seconds``, so it can let go.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Final, Generic, TypeVar

__all__ = ["BatchWriter"]

Job = TypeVar("Job")
Result = TypeVar("Result")

#: Jobs queued for the writer: memory holds at most this many batches besides the one written.
DEPTH: Final = 2
_STOP: Final = object()
_IDLE: Final = object()  # no job came for a while (``BatchWriter``'s ``idle``)


class BatchWriter(Generic[Job, Result]):
    """Run ``write(job)`` for each submitted job on one thread; hand the results back in order."""

    def __init__(
        self,
        write: Callable[[Job], Result],
        *,
        depth: int = DEPTH,
        idle: Callable[[], None] | None = None,
        idle_seconds: float = 1.0,
    ) -> None:
        self._write = write
        # Called on the writer thread once no job has come for ``idle_seconds`` since the
        # last one was written (a write that holds something open, which it lets go of).
        self._idle = idle
        self._idle_seconds = idle_seconds
        self._jobs: queue.Queue[object] = queue.Queue(maxsize=max(1, depth))
        self._results: queue.Queue[tuple[bool, object]] = queue.Queue()
        self._pending = 0  # submitted, result not yet handed back
        self._failed = False
        self._thread = threading.Thread(target=self._run, name="replay-writer", daemon=True)

    def __enter__(self) -> BatchWriter[Job, Result]:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._close()

    @property
    def failed(self) -> bool:
        """True once a write failed (the writer takes no more jobs)."""
        return self._failed

    def submit(self, job: Job) -> None:
        """Queue a job, waiting while ``depth`` are queued (never forever: after a failure the
        writer drops what it is given; the failure comes out of ``ready`` or ``finish``)."""
        if self._failed:
            raise RuntimeError("the replay writer failed: it takes no more batches")
        self._jobs.put(job)
        self._pending += 1

    def ready(self) -> Iterator[Result]:
        """The results finished so far, in order, without waiting for more."""
        while self._pending:
            try:
                done = self._results.get_nowait()
            except queue.Empty:
                return
            yield self._hand_back(done)

    def finish(self) -> Iterator[Result]:
        """Every result still to come, in order: waits for the writer to write them all."""
        while self._pending:
            yield self._hand_back(self._results.get())

    def _hand_back(self, done: tuple[bool, object]) -> Result:
        self._pending -= 1
        ok, value = done
        if not ok:
            self._failed = True
            self._pending = 0  # the jobs after a failure are dropped, never answered
            assert isinstance(value, BaseException)
            raise value
        return value  # type: ignore[return-value]

    def _run(self) -> None:
        """The thread: write each job until the stop mark; after a failure, drop the rest.
        With ``idle``: called once each time no job comes for ``idle_seconds`` after one was
        written (an error it raises is handed back as a write's would be)."""
        failed = False
        rested = True  # ``idle`` called since the last job written (or none written yet)
        while True:
            job = self._jobs.get() if failed or rested or self._idle is None else self._next_job()
            if job is _STOP:
                return
            if failed:
                continue  # a main thread waiting to submit is never stuck
            try:
                if job is _IDLE:
                    rested = True
                    assert self._idle is not None  # only then does ``_next_job`` give it
                    self._idle()
                    continue
                rested = False
                result = self._write(job)  # type: ignore[arg-type]
            except BaseException as error:  # handed to the main thread, raised there
                self._results.put((False, error))
                failed = True
                continue
            self._results.put((True, result))

    def _next_job(self) -> object:
        """The next job, or ``_IDLE`` if none comes within ``idle_seconds``."""
        try:
            return self._jobs.get(timeout=self._idle_seconds)
        except queue.Empty:
            return _IDLE

    def _close(self) -> None:
        """No more jobs: the writer writes the queued ones, then stops; join it."""
        if self._thread.ident is None:
            return  # never started
        self._jobs.put(_STOP)
        self._thread.join()
