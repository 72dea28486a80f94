"""Figure 3: replay throughput and memory, ``signin-monitor replay`` vs reading the same files,
beside a peer: the same detections as a DuckDB query over the same files.

Why this baseline (the floor): every replay must at least read, gunzip and ``json.loads`` its
CloudTrail files (``bench.read_baseline``); the ratio says what parsing, sorting, storing and the
rules add. Why this peer: it is what a practitioner would write by hand instead of running the
tool (``bench.duckdb_peer``: all 13 rules as SQL, no audit store). Its alerts must be ours: the
figure compares the (rule, event id) sets at each size and fails loudly when they differ.

All three run as the same kind of process (fresh interpreter, output to a temporary file), one
after the other, in a different order each round (``_ORDERS``), so a burst of background load
spreads over all of them; medians over the rounds. Each replay writes a fresh SQLite file with
every rule on (``RULE_SETTINGS``, also passed to the peer).

Peak RSS comes from ``os.wait4`` per child (see ``measure``). "Flat" memory means the peak
barely moves when the corpus grows (60,000 to 200,000 records by default): nothing should hold
every record. The corpus is generated (untimed) and cached by ``corpus``.

Rounds are bounded by a time budget: the first round always runs, further rounds (up to
``rounds``) only while the budget lasts; the report says how many ran. The figure ends with the
store write rates (``bulk_writes``): DynamoDB under moto through ``record_many`` and ``record``,
beside SQLite's.
"""

from __future__ import annotations

import compileall
import json
import os
import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from .corpus import CACHE_DIR, CorpusSpec, ensure_corpus
from .measure import PROJECT_ROOT, ChildRun, median, run_child
from .report import Figure, Row, format_table

__all__ = ["RULE_SETTINGS", "compare_alerts", "replay_environment", "run"]

GOAL: Final = 4.0
#: Peak RSS at the large corpus over the small one.
FLAT_GOAL: Final = 1.5
#: ``sort_by_time`` keeps up to this many events in memory before spilling sorted runs to disk:
#: below it memory grows with the input by design, so flatness is judged only from here on.
SORT_CHUNK: Final = 50_000
_SUMMARY = re.compile(r"([\d,]+) records read: ([\d,]+) stored.*?; ([\d,]+) alerts")
#: Every rule on, at the defaults, said explicitly so a changed default shows here. Retention 0
#: (keep forever) so the corpus' dates never expire as the calendar moves on.
RULE_SETTINGS: Final = {
    "ALERT_RULES": "all",
    "FAILED_SIGNIN_THRESHOLD": "3",
    "FAILED_SIGNIN_WINDOW_MINUTES": "60",
    "ROOT_ACTIVITY_WINDOW_MINUTES": "60",
    "SPRAY_PRINCIPAL_THRESHOLD": "5",
    "NEW_NETWORK_LOOKBACK_DAYS": "90",
    "RETENTION_DAYS": "0",
}
_PEER_ARGS: Final = [
    "--threshold",
    RULE_SETTINGS["FAILED_SIGNIN_THRESHOLD"],
    "--window-minutes",
    RULE_SETTINGS["FAILED_SIGNIN_WINDOW_MINUTES"],
    "--root-window-minutes",
    RULE_SETTINGS["ROOT_ACTIVITY_WINDOW_MINUTES"],
    "--spray-principals",
    RULE_SETTINGS["SPRAY_PRINCIPAL_THRESHOLD"],
    "--lookback-days",
    RULE_SETTINGS["NEW_NETWORK_LOOKBACK_DAYS"],
]
#: Who goes first, second, third in round r: ``_ORDERS[r % 3]`` (each leads once in 3 rounds).
_ORDERS: Final = (("ours", "floor", "peer"), ("floor", "peer", "ours"), ("peer", "ours", "floor"))

Alerts = frozenset[tuple[str, str]]


def replay_environment() -> dict[str, str]:
    """Our environment minus anything that would post to Slack, plus ``RULE_SETTINGS``."""
    from signin_monitor.config import LAMBDA_VARIABLES, LOCAL_ONLY_VARIABLES

    dropped = set(LAMBDA_VARIABLES) | set(LOCAL_ONLY_VARIABLES)
    env = {key: value for key, value in os.environ.items() if key not in dropped}
    env.update(RULE_SETTINGS)
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    return env


def _replay_command() -> list[str]:
    script = Path(sys.executable).with_name("signin-monitor")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "signin_monitor"]


def _alert_set(stdout: str) -> Alerts:
    """(rule, event id) of every JSON line (ours' ``--json`` lines and the peer's alike)."""
    found = set()
    for line in stdout.splitlines():
        if line.strip():
            alert = json.loads(line)
            found.add((str(alert["rule"]), str(alert["event_id"])))
    return frozenset(found)


@dataclass(slots=True)
class _Size:
    """The runs at one corpus size."""

    records: int
    corpus: Path
    manifest: dict[str, Any]
    replays: list[ChildRun] = field(default_factory=list)
    baselines: list[ChildRun] = field(default_factory=list)
    peers: list[ChildRun] = field(default_factory=list)
    summary: str = ""
    ours: Alerts | None = None
    peer_alerts: Alerts | None = None

    def run(self, who: str, scratch: Path, env: dict[str, str]) -> None:
        {"ours": self.replay, "floor": self.baseline, "peer": self.peer}[who](scratch, env)

    def replay(self, scratch: Path, env: dict[str, str]) -> None:
        database = scratch / f"replay-{self.records}-{len(self.replays)}.db"
        argv = [*_replay_command(), "replay", "--json", "--db", str(database), str(self.corpus)]
        run = run_child(argv, env=env)
        for leftover in scratch.glob(f"{database.name}*"):
            leftover.unlink()
        if run.returncode != 0:
            raise RuntimeError(f"replay exited {run.returncode}: {run.stderr[-2000:]}")
        self.summary = run.stderr.strip().splitlines()[-1] if run.stderr.strip() else ""
        self.ours = self._same(self.ours, _alert_set(run.stdout), "replay")
        self.replays.append(run)

    def baseline(self, _scratch: Path, env: dict[str, str]) -> None:
        argv = [sys.executable, "-m", "bench.read_baseline", str(self.corpus)]
        run = run_child(argv, env=env, capture_stdout=False)
        if run.returncode != 0:
            raise RuntimeError(f"read baseline exited {run.returncode}: {run.stderr[-2000:]}")
        self.baselines.append(run)

    def peer(self, _scratch: Path, env: dict[str, str]) -> None:
        argv = [sys.executable, "-m", "bench.duckdb_peer", *_PEER_ARGS, str(self.corpus)]
        run = run_child(argv, env=env)
        if run.returncode != 0:
            raise RuntimeError(f"DuckDB peer exited {run.returncode}: {run.stderr[-2000:]}")
        self.peer_alerts = self._same(self.peer_alerts, _alert_set(run.stdout), "DuckDB peer")
        self.peers.append(run)

    def _same(self, before: Alerts | None, now: Alerts, who: str) -> Alerts:
        if before is not None and before != now:
            raise RuntimeError(f"{who} raised other alerts at {self.records:,} records this round")
        return now

    def wall(self, runs: list[ChildRun]) -> float:
        return median([run.wall_seconds for run in runs])

    def rss(self, runs: list[ChildRun]) -> float:
        return median([run.max_rss_mb for run in runs])


def compare_alerts(ours: Alerts, peer: Alerts) -> list[str]:
    """Empty when the sets agree; else lines saying, per rule, what only one side raised."""
    if ours == peer:
        return []
    lines = []
    only_ours, only_peer = Counter(r for r, _ in ours - peer), Counter(r for r, _ in peer - ours)
    for rule in sorted(set(only_ours) | set(only_peer)):
        examples = sorted(e for r, e in (ours ^ peer) if r == rule)[:3]
        lines.append(
            f"{rule}: {only_ours[rule]} only ours, {only_peer[rule]} only DuckDB "
            f"(e.g. {', '.join(examples)})"
        )
    return lines


def _check_peer() -> None:
    """Fail early, saying how to fix it, when the bench extra is not installed."""
    try:
        import duckdb  # noqa: F401
    except ImportError:
        raise RuntimeError(
            "the DuckDB peer needs duckdb: pip install -e '.[bench]' (make bench does)"
        ) from None


def run(
    *,
    records: int,
    small: int,
    rounds: int = 3,
    budget_s: float = 420.0,
    write_records: int = 1500,
    write_rounds: int = 3,
) -> Figure:
    """Replay, floor and peer at ``small`` and ``records``; then the store write rates."""
    _check_peer()
    generated: list[str] = []
    sizes = []
    for count in (small, records):
        spec = CorpusSpec(records=count)
        cached = (CACHE_DIR / spec.name / "manifest.json").is_file()
        started = time.perf_counter()
        folder, manifest = ensure_corpus(spec)
        took = time.perf_counter() - started
        generated.append(f"{count:,}: {'cached' if cached else 'generated'} in {took:.1f} s")
        sizes.append(_Size(count, folder / "AWSLogs", manifest))
    env = replay_environment()
    _compile_package()
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
                for who in _ORDERS[round_number % len(_ORDERS)]:
                    size.run(who, Path(scratch), env)
            done += 1
    from . import bulk_writes

    rates = bulk_writes.measure(records=write_records, rounds=write_rounds)
    figure = Figure(
        3, f"Replay throughput, every rule on, beside DuckDB ({done} interleaved round(s), medians)"
    )
    small_size, large = sizes
    for size in (large, small_size):
        figure.rows += _rows(size)
    figure.rows += [
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
        Row(
            metric="DynamoDB (moto) record_many vs record, per record",
            ours=1 / rates.rates[bulk_writes.PATHS[0]] * 1e6,
            baseline=1 / rates.rates[bulk_writes.PATHS[1]] * 1e6,
            unit="us",
            baseline_label="record one by one: a conditional PutItem per event (moto, in-process)",
        ),
    ]
    disagreements: list[str] = []
    for size in sizes:
        lines = compare_alerts(size.ours or frozenset(), size.peer_alerts or frozenset())
        figure.checks[f"DuckDB alerts == ours at {size.records:,}"] = not lines
        disagreements += [f"{size.records:,} records: {line}" for line in lines]
    figure.details = _details(sizes, generated, rates)
    if disagreements:
        figure.error = "the DuckDB peer's alerts differ from ours: " + "; ".join(disagreements)
    figure.data = {
        "rounds": done,
        "rule_settings": RULE_SETTINGS,
        "write_rates": {"records": rates.records, "rounds": rates.rounds, **rates.rates},
        "sizes": [_size_data(size) for size in sizes],
    }
    return figure


def _compile_package() -> None:
    """Write the package's bytecode once, as ``pip install`` does for an installed tool.

    An editable install compiles nothing, and with ``PYTHONDONTWRITEBYTECODE`` set (as on CI
    machines) every replay would compile its ~50 modules from source again: about 0.1 s a run,
    a cost of this checkout, not of the tool. The floor's script is one small module.
    """
    compileall.compile_dir(PROJECT_ROOT / "signin_monitor", quiet=1)


def _rows(size: _Size) -> list[Row]:
    floor = size.wall(size.baselines)
    ours, peer = size.wall(size.replays), size.wall(size.peers)
    label = "fresh process: read + gunzip + json.loads of the same files"
    return [
        Row(
            metric=f"replay {size.records:,} records, wall",
            ours=ours,
            baseline=floor,
            unit="s",
            goal=GOAL,
            baseline_label=label,
            note=f"{ours / size.records * 1e6:.0f} us per record; {size.summary}",
        ),
        Row(
            metric=f"DuckDB peer {size.records:,} records, wall",
            ours=peer,
            baseline=floor,
            unit="s",
            baseline_label=label,
            note=f"{len(size.peer_alerts or ()):,} alerts, the same (rule, event id) set as ours"
            if size.peer_alerts == size.ours
            else "alerts DIFFER from ours (see the error above)",
        ),
        Row(metric=f"replay / DuckDB {size.records:,} records", ours=ours, baseline=peer, unit="s"),
    ]


def _details(sizes: list[_Size], generated: list[str], rates: Any) -> list[str]:
    from . import bulk_writes

    table = [
        [
            f"{size.records:,}",
            f"{size.manifest['files']}",
            f"{size.wall(size.replays):.1f} s",
            f"{size.wall(size.peers):.1f} s",
            f"{size.wall(size.baselines):.1f} s",
            f"{size.rss(size.replays):.0f} MB",
            f"{size.rss(size.peers):.0f} MB",
            f"{size.rss(size.baselines):.0f} MB",
            f"{len(size.ours or ()):,}",
        ]
        for size in sizes
    ]
    by_rule = Counter(rule for rule, _ in sizes[-1].ours or ())
    settings = ", ".join(f"{name}={value}" for name, value in RULE_SETTINGS.items())
    return [
        "peak RSS per child (os.wait4 ru_maxrss):",
        *format_table(
            [
                "records",
                "files",
                "replay",
                "DuckDB",
                "read only",
                "replay RSS",
                "DuckDB RSS",
                "read-only RSS",
                "alerts",
            ],
            table,
        ),
        f"rules: {settings} (all 13 rules, in ours and in the DuckDB query alike)",
        f"alerts by rule at {sizes[-1].records:,}: "
        + ", ".join(f"{rule} {count}" for rule, count in sorted(by_rule.items())),
        "DuckDB peer: bench/duckdb_peer.py (read_json_objects + from_json of the fields the rules"
        " read, unnest(Records), the patterns and the 13 rules as SQL); alerts compared with ours"
        " as (rule, event id) sets at each size, every round",
        f"store write rates, {rates.records:,} sign-ins into an empty store, median of "
        f"{rates.rounds} interleaved run(s); DynamoDB is moto in-process, not real DynamoDB "
        "(it counts requests, not network latency or capacity):",
        *format_table(["path", "records/s", ""], bulk_writes.rate_lines(rates), align="lrl"),
        f"corpus: {'; '.join(generated)} (untimed), under build/bench-corpus/",
    ]


def _size_data(size: _Size) -> dict[str, Any]:
    return {
        "records": size.records,
        "corpus": str(size.corpus),
        "manifest": size.manifest,
        "replay_wall_s": [r.wall_seconds for r in size.replays],
        "baseline_wall_s": [r.wall_seconds for r in size.baselines],
        "peer_wall_s": [r.wall_seconds for r in size.peers],
        "replay_rss_mb": [r.max_rss_mb for r in size.replays],
        "baseline_rss_mb": [r.max_rss_mb for r in size.baselines],
        "peer_rss_mb": [r.max_rss_mb for r in size.peers],
        "summary": size.summary,
        "read_stored_alerts": summary_counts(size.summary),
        "alerts": len(size.ours or ()),
        "peer_alerts": len(size.peer_alerts or ()),
        "alerts_agree": size.ours == size.peer_alerts,
    }


def summary_counts(summary: str) -> tuple[int, int, int] | None:
    """(records read, stored, alerts) from the replay's stderr summary line."""
    match = _SUMMARY.search(summary)
    if match is None:
        return None
    read, stored, alerts = (int(group.replace(",", "")) for group in match.groups())
    return read, stored, alerts
