"""Timing helpers: medians of interleaved runs, and child processes measured one by one.

Why interleave: on a shared 2-core machine a background burst slows whatever runs during it.
Running ours and the baseline alternately (ABBA order, so neither always goes first) spreads
such bursts over both, and the median drops the runs a burst hit hardest.

Why ``os.wait4``: ``resource.getrusage(RUSAGE_CHILDREN)`` is the maximum over *every* child
ever waited for, so the second child's peak RSS would hide behind the first's. ``wait4`` gives
the rusage of exactly the child it reaps. That figure is the largest peak of one process of
the child's tree, though, and a replay runs two at once (itself and its reader process): so the
child's tree is also sampled from ``/proc`` every few milliseconds and its summed RSS kept, and
a run's peak is the larger of the two (``_TreeSampler``; the sum counts the pages a fork shares
twice: it can only overstate).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
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
        with _TreeSampler(process.pid) as tree:
            _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        returncode = os.waitstatus_to_exitcode(status)
        process.returncode = returncode  # reaped here: stop Popen from waiting again
        out.seek(0)
        err.seek(0)
        return ChildRun(
            wall_seconds=wall,
            max_rss_mb=max(_rss_mb(usage.ru_maxrss), tree.peak_kib / 1024),
            returncode=returncode,
            stdout=out.read().decode(errors="replace") if capture_stdout else "",
            stderr=err.read().decode(errors="replace"),
        )


def _rss_mb(max_rss: int) -> float:
    """``ru_maxrss`` is KiB on Linux and bytes on macOS."""
    return max_rss / (1024 * 1024) if sys.platform == "darwin" else max_rss / 1024


class _TreeSampler:
    """The peak, over time, of the summed RSS of a process and its descendants (Linux only:
    elsewhere ``peak_kib`` stays 0 and ``wait4``'s figure stands alone)."""

    #: Every 20 ms: a sample (reading /proc for each process of the tree) costs ~160 us of
    #: CPU, which at 5 ms took ~3% of a core from the processes measured, on a 2-core
    #: machine a share of what a two-process replay runs on, and nothing from a one-process
    #: baseline. A replay's memory rises and falls over seconds: 20 ms still sees its peak.
    _EVERY: Final = 0.02

    def __init__(self, pid: int) -> None:
        self._pid = pid
        self.peak_kib = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def __enter__(self) -> _TreeSampler:
        if sys.platform == "linux":
            self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        if self._thread.ident is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._done.wait(self._EVERY):
            self.peak_kib = max(self.peak_kib, sum(_rss_kib(pid) for pid in _tree(self._pid)))


def _tree(pid: int) -> list[int]:
    """The process and its descendants, as /proc lists them now (gone ones: left out)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        queue.extend(int(child) for child in children)
    return found


def _rss_kib(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0  # a zombie: no memory left
