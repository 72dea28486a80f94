"""A report streams: its peak memory does not grow with the number of events.

tracemalloc measures the Python allocations of building the report of a 5,000-event and a
20,000-event store with the same principals, addresses and days. A report that held the events
(or their rows) would need four times as much for the larger one.
"""

from __future__ import annotations

import tracemalloc
from datetime import timedelta
from pathlib import Path

from signin_monitor.events import SignInEvent
from signin_monitor.store.sqlite import SqliteStore
from tests.factories import ACCOUNT, BASE_TIME
from tests.report.support import run_report

USERS = [f"user-{i:02d}" for i in range(40)]
ADDRESSES = [f"198.51.100.{i}" for i in range(30)]


def _store(path: Path, count: int) -> Path:
    """``count`` events over 10 days: 40 users, 30 addresses, a quarter failed, some without MFA."""
    store = SqliteStore(path, batch_size=5000)
    step = timedelta(days=10) / count
    for i in range(count):
        failed = i % 4 == 0
        store.record(
            SignInEvent(
                event_id=f"{i:08d}-0000-4000-8000-000000000000",
                event_time=BASE_TIME + step * i,
                event_name="ConsoleLogin",
                account_id=ACCOUNT,
                principal=USERS[i % len(USERS)],
                identity_type="IAMUser",
                user_name=USERS[i % len(USERS)],
                arn=None,
                result="Failure" if failed else "Success",
                mfa_used=None if failed else i % 3 != 0,
                source_ip=ADDRESSES[i % len(ADDRESSES)],
                user_agent="Mozilla/5.0",
                region="us-east-1",
            ),
            expires_at=None,
        )
    store.close()
    return path


def _peak(db: Path, out: Path) -> int:
    argv = ["--db", str(db), "--since", "2026-11-01", "--until", "2026-11-30", "--out", str(out)]
    tracemalloc.start()
    try:
        assert run_report([*argv, "--no-progress"]) == 0
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_peak_memory_is_the_same_for_four_times_the_events(tmp_path: Path) -> None:
    # GIVEN two stores, one four times the other
    small = _store(tmp_path / "small.db", 5_000)
    large = _store(tmp_path / "large.db", 20_000)
    # WHEN each report is built
    small_peak = _peak(small, tmp_path / "small")
    large_peak = _peak(large, tmp_path / "large")
    # THEN the larger one needs about as much memory (not four times), and little of it
    assert (tmp_path / "large" / "events.jsonl").read_text().count("\n") == 20_000
    assert large_peak < small_peak * 1.3 + 256 * 1024, (small_peak, large_peak)
    assert large_peak < 8 * 1024 * 1024, large_peak
