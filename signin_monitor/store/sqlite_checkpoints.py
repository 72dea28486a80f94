"""``Checkpointer``: a replay's WAL checkpoints, on a thread of their own (issue 13).

A bulk write (replay's ``write_staged``) appends every batch to the WAL; SQLite's own
autocheckpoint then copies the WAL into the database file and fsyncs both, in the writer's
thread, every 1,000 pages: the writer waits for the disk. Here a second connection does those
copies and fsyncs (``PRAGMA wal_checkpoint(PASSIVE)``, the GIL released) while the writer goes
on appending, so the disk's time overlaps the writer's.

Nothing is less durable: the checkpoints are SQLite's own, with the same ``synchronous`` and
the same order (WAL synced before the database is written, the database synced before the WAL
is reused); only the thread differs. A process killed at any moment leaves a WAL that the next
open recovers, as before.

The WAL stays bounded: once a checkpoint reports ``limit`` pages in it, the writer waits (after
its commit, before its next transaction) for a checkpoint of everything committed so far, so
that its next transaction starts the WAL again from the beginning. If that checkpoint cannot
finish (a reader of another process holds an old snapshot), the writer waits no more than that
one pass: the WAL then grows as it would without this thread.

Usage::

    checkpoints = Checkpointer(path, limit=8192)   # the writer's autocheckpoint turned off
    ...                                            # after each commit of the writer:
    checkpoints.committed()
    checkpoints.close()                            # the last pass done, thread joined
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Final

__all__ = ["LIMIT_PAGES", "Checkpointer"]

#: WAL pages (16 KiB each: 128 MiB) past which the writer waits for a complete checkpoint.
LIMIT_PAGES: Final = 8192


class Checkpointer:
    """Checkpoint the WAL of ``path`` after each commit the writer reports, on one thread.

    ``committed`` is called by the writer (one thread); ``close`` by whoever ends the writes.
    A checkpoint that fails (the file gone, I/O error) stops the thread; ``failed`` is then
    True and the writer must checkpoint on its own again (its autocheckpoint turned back on).
    """

    def __init__(self, path: str, *, limit: int = LIMIT_PAGES) -> None:
        self.limit = max(1, limit)
        self.failed = False
        self.passes = 0  # checkpoints run (for the tests and the bench)
        self.complete = True  # whether the last pass copied the whole WAL
        self.waits = 0  # times the writer waited for the WAL to be emptied
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA busy_timeout=10000")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._changed = threading.Condition()
        self._commits = 0  # commits reported by the writer
        self._started = 0  # commits the last pass began after
        self._finished = 0  # commits the last finished pass covered (completely or not)
        self._pages = 0  # pages in the WAL, as the last pass found them
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoints", daemon=True)
        self._thread.start()

    def committed(self) -> None:
        """The writer committed a transaction: checkpoint it; past ``limit``, wait for it."""
        with self._changed:
            self._commits += 1
            self._changed.notify_all()
            if self._pages < self.limit:
                return
            self.waits += 1
            upto = self._commits
            # Until a pass begun after this commit has ended: complete, the writer's next
            # transaction starts the WAL again; not complete, waiting longer would not help.
            while self._finished < upto and not self.failed:
                self._changed.wait()
            self._pages = 0

    def close(self) -> None:
        """Checkpoint what the writer reported, then stop the thread and close its connection."""
        with self._changed:
            self._stop = True
            self._changed.notify_all()
        self._thread.join()
        self._db.close()

    def _run(self) -> None:
        """The thread: one PASSIVE checkpoint each time the writer has committed since the last."""
        while True:
            with self._changed:
                while self._commits == self._started and not self._stop:
                    self._changed.wait()
                if self._commits == self._started:
                    return  # stopped, nothing new to checkpoint
                upto = self._started = self._commits
            try:
                pages, copied = self._checkpoint()
            except sqlite3.Error:
                with self._changed:
                    self.failed = True
                    self._changed.notify_all()
                return
            with self._changed:
                self.passes += 1
                self._pages = max(0, pages)
                self._finished = upto
                self.complete = pages == copied
                self._changed.notify_all()

    def _checkpoint(self) -> tuple[int, int]:
        """One PASSIVE checkpoint: the WAL's pages, and how many of them are now copied."""
        _busy, pages, copied = self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(pages), int(copied)
