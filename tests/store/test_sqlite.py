"""SQLite-only behaviour: batched commits during replay."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from signin_monitor.alerts import Alert, Severity
from signin_monitor.store import HistoryQuery
from signin_monitor.store.sqlite import SqliteStore
from tests.factories import sign_in


def _rows(path: Path) -> int:
    with sqlite3.connect(path) as other:
        return int(other.execute("SELECT COUNT(*) FROM activity").fetchone()[0])


def test_batched_records_are_visible_to_this_store_before_they_are_committed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "a.db"
    store = SqliteStore(path, batch_size=100)
    events = [sign_in(result="Failure", minutes=i) for i in range(3)]
    for event in events:
        assert store.record(event, expires_at=None) is True
    assert store.record(events[0], expires_at=None) is False
    end = events[-1].event_time
    assert (
        store.count_failures(
            "111122223333", "alice", after=end - (end - events[0].event_time) * 2, until=end
        )
        == 3
    )
    assert len(list(store.history(HistoryQuery(principal="alice")))) == 3
    assert _rows(path) == 0  # another process sees nothing yet
    store.close()
    assert _rows(path) == 3


def test_a_batch_is_committed_every_batch_size_records(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    store = SqliteStore(path, batch_size=2)
    for minutes in range(5):
        store.record(sign_in(minutes=minutes), expires_at=None)
    assert _rows(path) == 4
    store.close()


def test_a_claim_commits_the_batch_first_so_events_are_durable_before_any_post(
    tmp_path: Path,
) -> None:
    path = tmp_path / "a.db"
    store = SqliteStore(path, batch_size=100)
    event = sign_in(identity_type="Root")
    store.record(event, expires_at=None)
    alert = Alert(
        rule_id="root-sign-in", severity=Severity.CRITICAL, title="t", event=event, scope="s"
    )
    store.claim_alert(alert)
    assert _rows(path) == 1
    store.close()
