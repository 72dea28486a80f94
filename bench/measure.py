"""Timing helpers: medians of interleaved runs, and child processes measured one by one.

Why interleave: on a shared 2-core machine a background burst slows whatever runs during it.
Running ours and the baseline alternately (ABBA order, so neither always goes first) spreads
such bursts over both, and the median drops the runs a burst hit hardest.

Why ``os.wait4``: ``resource.getrusage(RUSAGE_CHILDREN)`` is the maximum over *every* child
ever waited for, so the second child's peak RSS would hide behind the first's. ``wait4`` gives
the rusage of exactly the child it reaps.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

__all__ = [
    "PROJECT_ROOT",
    "ChildRun",
    "interleave",
    "median",
    "run_child",
]

PROJECT_ROOT: Final = Path(__file__).resolve().parent.parent


def median(samples: Sequence[float]) -> float:
    """The median (robust to the few runs a noisy neighbour slowed down)."""
    return float(statistics.median(samples))


def interleave(tasks: Mapping[str, Callable[[], float]], *, rounds: int) -> dict[str, list[float]]:
    """Run every task once per round, alternating the order each round; samples by name.

    Each task returns its own measurement (so a task can time only the part that matters).
    """
    names = list(tasks)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_number in range(rounds):
        order = names if round_number % 2 == 0 else list(reversed(names))
        for name in order:
            samples[name].append(tasks[name]())
    return samples


@dataclass(frozen=True, slots=True)
class ChildRun:
    """One finished child process: wall time, peak RSS and what it printed on stdout."""

    wall_seconds: float
    max_rss_mb: float
    returncode: int
    stdout: str
    stderr: str


def run_child(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path = PROJECT_ROOT,
    capture_stdout: bool = True,
) -> ChildRun:
    """Run one process to completion; wall time from spawn to reap, peak RSS via ``wait4``.

    Output goes to temporary files rather than pipes, so the child can never block on a full
    pipe while we wait for it. With ``capture_stdout=False`` stdout goes to ``/dev/null``.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        stdout_target: int | IO[bytes] = out if capture_stdout else subprocess.DEVNULL
        started = time.perf_counter()
        process = subprocess.Popen(
            list(argv),
            stdout=stdout_target,
            stderr=err,
            env=None if env is None else dict(env),
            cwd=cwd,
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        returncode = os.waitstatus_to_exitcode(status)
        process.returncode = returncode  # reaped here: stop Popen from waiting again
        out.seek(0)
        err.seek(0)
        return ChildRun(
            wall_seconds=wall,
            max_rss_mb=_rss_mb(usage.ru_maxrss),
            returncode=returncode,
            stdout=out.read().decode(errors="replace") if capture_stdout else "",
            stderr=err.read().decode(errors="replace"),
        )


def _rss_mb(max_rss: int) -> float:
    """``ru_maxrss`` is KiB on Linux and bytes on macOS."""
    return max_rss / (1024 * 1024) if sys.platform == "darwin" else max_rss / 1024
