"""``python -m bench``: run every figure against its baseline and print the report.

Usage::

    python -m bench                 # all seven figures (about 10 minutes on 2 cores)
    python -m bench --quick         # smaller variants (about 1 minute)
    python -m bench --figures 2,4   # a subset
    python -m bench --json          # also write build/bench-results.json (or --json PATH)

Figures print as they finish (a long replay should not hide the others); a figure that fails
prints why and the others still run. Progress goes to stderr, the report to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from .measure import PROJECT_ROOT
from .report import Figure, format_figure

DEFAULT_JSON = PROJECT_ROOT / "build" / "bench-results.json"
TITLES = {
    1: "cold import",
    2: "per-event cost",
    3: "replay throughput beside DuckDB",
    4: "DynamoDB round trips",
    5: "Lambda package",
    6: "cost per million",
    7: "reading memory",
}


@dataclass(frozen=True, slots=True)
class Plan:
    """The sizes of one run: the default, or ``--quick``."""

    import_runs: int
    import_extra_runs: int
    events: int
    event_rounds: int
    records: int
    small_records: int
    replay_rounds: int
    replay_budget_s: float
    rebuild_zip: bool
    write_records: int = 1500
    write_rounds: int = 3


def _plan(args: argparse.Namespace) -> Plan:
    if args.quick:
        plan = Plan(7, 3, 1000, 3, 50_000, 20_000, 1, 20.0, False, 300, 1)
    else:
        plan = Plan(15, 7, 2000, 7, 200_000, 60_000, 3, 420.0, True)
    if args.replay_rounds:
        plan = replace(plan, replay_rounds=args.replay_rounds, replay_budget_s=float("inf"))
    records = args.records or plan.records
    small = min(plan.small_records, max(records // 4, 1000)) if args.records else plan.small_records
    return Plan(
        plan.import_runs,
        plan.import_extra_runs,
        plan.events,
        plan.event_rounds,
        records,
        small,
        plan.replay_rounds,
        plan.replay_budget_s,
        plan.rebuild_zip and not args.no_build,
        plan.write_records,
        plan.write_rounds,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Measure every signin-monitor figure beside its baseline, in the same run.",
    )
    parser.add_argument("--quick", action="store_true", help="smaller variants (~1 minute)")
    parser.add_argument(
        "--records",
        type=int,
        metavar="N",
        help="replay corpus size (default 200,000; the small one is 60,000)",
    )
    parser.add_argument(
        "--figures",
        default="1,2,3,4,5,6,7",
        metavar="LIST",
        help="comma-separated figure numbers to run (default: all)",
    )
    parser.add_argument(
        "--json",
        nargs="?",
        const=str(DEFAULT_JSON),
        metavar="PATH",
        help="also write the results as JSON (default: build/bench-results.json)",
    )
    parser.add_argument(
        "--no-build", action="store_true", help="reuse dist/lambda.zip if it exists"
    )
    parser.add_argument(
        "--replay-rounds",
        type=int,
        metavar="N",
        help="run exactly N interleaved replay rounds (default: up to 3 within a time budget)",
    )
    return parser


def _header(plan: Plan) -> list[str]:
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    return [
        "signin-monitor bench: every figure beside its baseline, measured in this run",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs, load average {load}",
        f"plan: {plan}",
        "ratios are ours / baseline; goals are ratios, never absolute times",
    ]


def _figure_runners(
    plan: Plan, *, quick: bool = False
) -> dict[int, Callable[[list[Figure]], Figure]]:
    """Each figure imported only when it runs (moto and friends are slow to import)."""

    def cold(_: list[Figure]) -> Figure:
        from . import cold_import

        return cold_import.run(runs=plan.import_runs, extra_runs=plan.import_extra_runs)

    def per_event(_: list[Figure]) -> Figure:
        from . import per_event as module

        return module.run(events=plan.events, rounds=plan.event_rounds)

    def replay(_: list[Figure]) -> Figure:
        from . import replay as module

        return module.run(
            records=plan.records,
            small=plan.small_records,
            rounds=plan.replay_rounds,
            budget_s=plan.replay_budget_s,
            write_records=plan.write_records,
            write_rounds=plan.write_rounds,
        )

    def round_trips(_: list[Figure]) -> Figure:
        from . import round_trips as module

        return module.run()

    def package(_: list[Figure]) -> Figure:
        from . import package as module

        return module.run(rebuild=plan.rebuild_zip)

    def cost(done: list[Figure]) -> Figure:
        from . import cost as module

        return module.run(module.CostInputs.from_figures(done))

    def read_memory(_: list[Figure]) -> Figure:
        from . import read_memory as module

        return module.run(sizes_mb=(10, 50) if quick else (50, 200, 500))

    return {
        1: cold,
        2: per_event,
        3: replay,
        4: round_trips,
        5: package,
        6: cost,
        7: read_memory,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen figures in order, print each as it finishes; exit 1 if one failed."""
    args = _parser().parse_args(argv)
    try:
        chosen = sorted({int(part) for part in args.figures.split(",") if part.strip()})
    except ValueError:
        print(f"--figures: expected numbers like 1,3, got {args.figures!r}", file=sys.stderr)
        return 2
    if not chosen or not set(chosen) <= set(TITLES):
        print(f"--figures: choose from {sorted(TITLES)}", file=sys.stderr)
        return 2
    plan = _plan(args)
    runners = _figure_runners(plan, quick=args.quick)
    print("\n".join(_header(plan)), flush=True)
    done: list[Figure] = []
    started = time.perf_counter()
    for number in chosen:
        print(f"[bench] figure {number}: {TITLES[number]}...", file=sys.stderr, flush=True)
        figure_started = time.perf_counter()
        try:
            figure = runners[number](done)
        except Exception as error:  # one broken figure must not hide the others
            figure = Figure(number, TITLES[number], error=f"{type(error).__name__}: {error}")
        took = time.perf_counter() - figure_started
        print(f"[bench] figure {number} done in {took:.0f} s", file=sys.stderr, flush=True)
        done.append(figure)
        print("\n" + "\n".join(format_figure(figure)), flush=True)
    total = time.perf_counter() - started
    summary = ", ".join(f"{figure.number} {figure.verdict}" for figure in done)
    print(f"\nsummary ({total:.0f} s): {summary}")
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "header": _header(plan),
            "seconds": total,
            "figures": [figure.as_dict() for figure in done],
        }
        path.write_text(json.dumps(document, indent=2, default=str) + "\n")
        print(f"[bench] results written to {path}", file=sys.stderr)
    return 1 if any(figure.error is not None for figure in done) else 0


if __name__ == "__main__":
    sys.exit(main())
