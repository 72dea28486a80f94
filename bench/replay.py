"""Figure 3: replay throughput and memory, ``signin-monitor replay`` vs reading the same files.

Why this baseline: every replay must at least read, gunzip and ``json.loads`` its CloudTrail
files (``bench.read_baseline``); the ratio says what parsing, sorting, storing and the rules add.
Both run as the same kind of process (fresh interpreter, stdout to ``/dev/null``), one after
the other, alternating which goes first; each replay writes a fresh SQLite file.

Peak RSS comes from ``os.wait4`` per child (see ``measure``). "Flat" memory means the peak
barely moves when the corpus grows four-fold: ``sort_by_time`` spills sorted runs to disk, so
nothing should hold every record. The corpus is generated (untimed) and cached by ``corpus``.

Replays of 200,000 records can take minutes on a small machine, so rounds are bounded by a time
budget: the first round always runs, further rounds (up to ``rounds``) only while the budget
lasts; the report says how many ran.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from .corpus import CorpusSpec, ensure_corpus
from .measure import PROJECT_ROOT, ChildRun, median, run_child
from .report import Figure, Row, format_table

__all__ = ["replay_environment", "run"]

GOAL: Final = 4.0
#: Peak RSS at the large corpus over the small one; records grow 4x (2.5x with --quick).
FLAT_GOAL: Final = 1.5
#: ``sort_by_time`` keeps up to this many events in memory before spilling sorted runs to disk:
#: below it memory grows with the input by design, so flatness is judged only from here on.
SORT_CHUNK: Final = 50_000
_SUMMARY = re.compile(r"([\d,]+) records read: ([\d,]+) stored.*?; ([\d,]+) alerts")


def replay_environment() -> dict[str, str]:
    """Our environment minus anything that would post to Slack or change the rules' settings."""
    from signin_monitor.config import LAMBDA_VARIABLES, LOCAL_ONLY_VARIABLES

    dropped = set(LAMBDA_VARIABLES) | set(LOCAL_ONLY_VARIABLES)
    env = {key: value for key, value in os.environ.items() if key not in dropped}
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    return env


def _replay_command() -> list[str]:
    script = Path(sys.executable).with_name("signin-monitor")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "signin_monitor"]


@dataclass(slots=True)
class _Size:
    """The runs at one corpus size."""

    records: int
    corpus: Path
    manifest: dict[str, Any]
    replays: list[ChildRun] = field(default_factory=list)
    baselines: list[ChildRun] = field(default_factory=list)
    summary: str = ""

    def replay(self, scratch: Path, env: dict[str, str]) -> None:
        database = scratch / f"replay-{self.records}-{len(self.replays)}.db"
        argv = [*_replay_command(), "replay", "--json", "--db", str(database), str(self.corpus)]
        run = run_child(argv, env=env, capture_stdout=False)
        for leftover in scratch.glob(f"{database.name}*"):
            leftover.unlink()
        if run.returncode != 0:
            raise RuntimeError(f"replay exited {run.returncode}: {run.stderr[-2000:]}")
        self.summary = run.stderr.strip().splitlines()[-1] if run.stderr.strip() else ""
        self.replays.append(run)

    def baseline(self, env: dict[str, str]) -> None:
        argv = [sys.executable, "-m", "bench.read_baseline", str(self.corpus)]
        run = run_child(argv, env=env, capture_stdout=False)
        if run.returncode != 0:
            raise RuntimeError(f"read baseline exited {run.returncode}: {run.stderr[-2000:]}")
        self.baselines.append(run)

    def wall(self, runs: list[ChildRun]) -> float:
        return median([run.wall_seconds for run in runs])

    def rss(self, runs: list[ChildRun]) -> float:
        return median([run.max_rss_mb for run in runs])


def run(*, records: int, small: int, rounds: int = 3, budget_s: float = 150.0) -> Figure:
    """Replay at ``small`` and ``records``; up to ``rounds`` interleaved rounds within budget."""
    generated: list[str] = []
    sizes = []
    for count in (small, records):
        started = time.perf_counter()
        folder, manifest = ensure_corpus(CorpusSpec(records=count))
        took = time.perf_counter() - started
        generated.append(f"{count:,}: {'generated' if took > 1 else 'cached'} in {took:.1f} s")
        sizes.append(_Size(count, folder / "AWSLogs", manifest))
    env = replay_environment()
    PROJECT_ROOT.joinpath("build").mkdir(exist_ok=True)
    started = time.perf_counter()
    done = 0
    with tempfile.TemporaryDirectory(dir=PROJECT_ROOT / "build", prefix="bench-") as scratch:
        for round_number in range(rounds):
            if round_number and time.perf_counter() - started > budget_s * round_number / (
                round_number + 1
            ):
                break  # another round would likely overrun the budget
            for size in sizes:
                if round_number % 2 == 0:
                    size.replay(Path(scratch), env)
                    size.baseline(env)
                else:
                    size.baseline(env)
                    size.replay(Path(scratch), env)
            done += 1
    small_size, large = sizes
    figure = Figure(3, f"Replay throughput ({done} interleaved round(s), medians)")
    per_record = large.wall(large.replays) / large.records * 1e6
    figure.rows = [
        Row(
            metric=f"replay {large.records:,} records, wall",
            ours=large.wall(large.replays),
            baseline=large.wall(large.baselines),
            unit="s",
            goal=GOAL,
            baseline_label="fresh process: read + gunzip + json.loads of the same files",
            note=f"{per_record:.0f} us per record; {large.summary}",
        ),
        Row(
            metric=f"replay {small_size.records:,} records, wall",
            ours=small_size.wall(small_size.replays),
            baseline=small_size.wall(small_size.baselines),
            unit="s",
        ),
        Row(
            metric=f"peak RSS growth {small_size.records // 1000}k -> {large.records // 1000}k",
            ours=large.rss(large.replays),
            baseline=small_size.rss(small_size.replays),
            unit="MB",
            goal=FLAT_GOAL if small_size.records >= SORT_CHUNK else None,
            note=f"records grow {large.records / small_size.records:.1f}x; flat = "
            f"<= {FLAT_GOAL:g}x (baseline column: replay at {small_size.records:,})"
            + (
                ""
                if small_size.records >= SORT_CHUNK
                else f"; not judged: below the {SORT_CHUNK:,}-event in-memory sort run"
            ),
        ),
    ]
    table = [
        [
            f"{size.records:,}",
            f"{size.manifest['files']}",
            f"{size.wall(size.replays):.1f} s",
            f"{size.wall(size.baselines):.1f} s",
            f"{size.rss(size.replays):.0f} MB",
            f"{size.rss(size.baselines):.0f} MB",
        ]
        for size in sizes
    ]
    figure.details = [
        "peak RSS per child (os.wait4 ru_maxrss):",
        *format_table(
            ["records", "files", "replay", "read only", "replay RSS", "read-only RSS"], table
        ),
        f"corpus: {'; '.join(generated)} (untimed), under build/bench-corpus/",
    ]
    figure.data = {
        "rounds": done,
        "sizes": [
            {
                "records": size.records,
                "corpus": str(size.corpus),
                "manifest": size.manifest,
                "replay_wall_s": [r.wall_seconds for r in size.replays],
                "baseline_wall_s": [r.wall_seconds for r in size.baselines],
                "replay_rss_mb": [r.max_rss_mb for r in size.replays],
                "baseline_rss_mb": [r.max_rss_mb for r in size.baselines],
                "summary": size.summary,
                "read_stored_alerts": summary_counts(size.summary),
            }
            for size in sizes
        ],
    }
    return figure


def summary_counts(summary: str) -> tuple[int, int, int] | None:
    """(records read, stored, alerts) from the replay's stderr summary line."""
    match = _SUMMARY.search(summary)
    if match is None:
        return None
    read, stored, alerts = (int(group.replace(",", "")) for group in match.groups())
    return read, stored, alerts
