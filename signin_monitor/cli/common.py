"""What every command shares: exit codes, the parser class, store options, stdout, progress.

stdout carries only results (with ``--json``, one JSON object per line); summaries, progress
and errors go to stderr. Exit status: 0 ok, 1 a record was malformed or an alert could not be
delivered, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Iterator
from enum import IntEnum
from typing import IO, NoReturn

from ..config import Settings
from ..errors import OutputClosedError
from ..store import ActivityStore
from ..terminal import safe

__all__ = [
    "DEFAULT_DB",
    "ExitStatus",
    "Parser",
    "Progress",
    "delivery_lock",
    "open_store",
    "silence_stdout",
    "store_options",
    "write_line",
]

DEFAULT_DB = "signin-monitor.db"


class ExitStatus(IntEnum):
    """What the exit code means."""

    OK = 0
    ERROR = 1
    USAGE = 2


class Parser(argparse.ArgumentParser):
    """argparse, but usage errors name the command and exit with ``ExitStatus.USAGE``."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(ExitStatus.USAGE, f"{self.prog}: error: {message}\n")


def store_options(parser: argparse.ArgumentParser) -> None:
    """``--db PATH | --table NAME``: the store a command reads or writes."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--db",
        metavar="PATH",
        help=f"SQLite file to use (default: {DEFAULT_DB}; created if missing)",
    )
    where.add_argument(
        "--table",
        metavar="NAME",
        help="DynamoDB table instead of SQLite (endpoint from AWS_ENDPOINT_URL if set)",
    )


def open_store(
    args: argparse.Namespace, settings: Settings, *, batch_size: int = 1, locked: bool = False
) -> ActivityStore:
    """The store the options name. ``locked``: this run holds the SQLite file's lock, so a
    pending claim cannot be another live run's (lease 0: it is retried at once)."""
    if args.table:
        from ..store.dynamodb import DynamoDbStore

        return DynamoDbStore(args.table, lease_seconds=settings.claim_lease_seconds)
    from ..store.sqlite import SqliteStore

    if locked:
        return SqliteStore(args.db or DEFAULT_DB, batch_size=batch_size, lease_seconds=0)
    return SqliteStore(args.db or DEFAULT_DB, batch_size=batch_size)


@contextlib.contextmanager
def delivery_lock(args: argparse.Namespace) -> Iterator[None]:
    """Hold ``<db>.lock`` exclusively (SQLite only): one delivering run per file at a time.

    The kernel drops the lock when the process dies, even by SIGKILL, so a dead run's pending
    claims are the next run's to retry.
    """
    if args.table:
        yield
        return
    import fcntl

    path = f"{args.db or DEFAULT_DB}.lock"
    with open(path, "a", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(
                f"signin-monitor: waiting for another run on {safe(path)} to finish",
                file=sys.stderr,
            )
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def write_line(line: str) -> None:
    """Write and flush one stdout line; a closed pipe or a full disk is OutputClosedError."""
    try:
        # One write of the whole line: a crash never leaves half a line followed by the next.
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    except OSError as error:  # BrokenPipeError (EPIPE), ENOSPC, EIO...
        reason = os.strerror(error.errno) if error.errno else type(error).__name__
        raise OutputClosedError(f"cannot write to standard output ({reason})") from None


def silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush at exit cannot fail again."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


class Progress:
    """A one-line progress bar on stderr, redrawn at most ten times a second."""

    def __init__(self, *, enabled: bool, stream: IO[str] = sys.stderr) -> None:
        self.enabled = enabled
        self.stream = stream
        self._last = 0.0
        self._shown = False

    def bar(self, done: int, total: int, label: str, *, width: int = 30) -> None:
        """Draw ``[#####.....]  45%  done/total label``."""
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.1 and done < total:
            return
        self._last = now
        filled = width * done // total if total else width
        percent = 100 * done // total if total else 100
        line = f"[{'#' * filled}{'.' * (width - filled)}] {percent:3d}%  {done:,}/{total:,} {label}"
        self.stream.write(f"\r\x1b[K{line}")
        self.stream.flush()
        self._shown = True

    def clear(self) -> None:
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False
