"""The correlation questions (design §3.2) on both stores: exact ranges, sparse, indexed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from signin_monitor.store import ActivityStore
from signin_monitor.store.sqlite import SqliteStore
from tests.factories import BASE_TIME, OTHER_ACCOUNT, sign_in

ACCOUNT = "111122223333"
MINUTE = timedelta(minutes=1)


def test_failures_from_a_source_are_the_account_and_address_ones_in_the_open_range(
    store: ActivityStore,
) -> None:
    kept = [sign_in(result="Failure", user=f"u{m}", minutes=m) for m in (1, 2, 3)]
    others = [
        sign_in(result="Failure", user="x", minutes=2, source_ip="192.0.2.1"),
        sign_in(result="Failure", user="y", minutes=2, account=OTHER_ACCOUNT),
        sign_in(result="Success", user="z", minutes=2),
        sign_in(result="Failure", user="edge", minutes=0),  # at `after`: excluded
        sign_in(result="Failure", user="edge", minutes=4),  # at `before`: excluded
    ]
    for event in kept + others:
        store.record(event, expires_at=None)
    found = store.failures_from_source(
        ACCOUNT, "198.51.100.7", after=BASE_TIME, before=BASE_TIME + 4 * MINUTE
    )
    assert [e.event_id for e in found] == [e.event_id for e in kept]
    assert [e.principal for e in found] == ["u1", "u2", "u3"]


def test_successes_from_ip_addresses_only_and_the_latest_and_the_network(
    store: ActivityStore,
) -> None:
    ip = sign_in(minutes=1, source_ip="198.51.100.7")
    later = sign_in(minutes=2, source_ip="203.0.113.8")
    for event in (
        ip,
        later,
        sign_in(minutes=3, source_ip="AWS Internal"),  # no network: not a known success
        sign_in(minutes=3, result="Failure", source_ip="192.0.2.1"),
        sign_in(minutes=3, event_name="CheckMfa", source_ip="192.0.2.2"),
    ):
        store.record(event, expires_at=None)
    after, before = BASE_TIME, BASE_TIME + 10 * MINUTE
    found = store.successes_between(ACCOUNT, "alice", after=after, before=before)
    assert [e.event_id for e in found] == [ip.event_id, later.event_id]
    last = store.last_success(ACCOUNT, "alice", after=after, before=before)
    assert last is not None
    assert last.event_id == later.event_id
    earlier = store.last_success(ACCOUNT, "alice", after=after, before=later.event_time)
    # (read through an index: the fields it projects, compared as such)
    assert earlier is not None
    assert (earlier.event_id, earlier.source_ip, earlier.event_time) == (
        ip.event_id,
        ip.source_ip,
        ip.event_time,
    )
    assert store.last_success(ACCOUNT, "bob", after=after, before=before) is None
    net = "198.51.100.0/24"
    assert store.has_success_from_network(ACCOUNT, "alice", net, after=after, before=before)
    assert not store.has_success_from_network(
        ACCOUNT, "alice", net, after=ip.event_time, before=before
    )
    assert not store.has_success_from_network(
        ACCOUNT, "alice", "192.0.2.0/24", after=after, before=before
    )


def test_every_sqlite_correlation_query_is_one_index_range_search() -> None:
    store = SqliteStore()
    plans: list[str] = []
    original = store._db

    class Recording:
        def execute(self, sql: str, params: Any = ()) -> Any:
            if "INDEXED BY" in sql:
                rows = original.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
                plans.extend(row[3] for row in rows)
            return original.execute(sql, params)

        def __getattr__(self, name: str) -> object:
            return getattr(original, name)

    store._db = Recording()  # type: ignore[assignment]
    after, before = BASE_TIME, BASE_TIME + MINUTE
    store.failures_from_source(ACCOUNT, "198.51.100.7", after=after, before=before)
    store.successes_between(ACCOUNT, "alice", after=after, before=before)
    store.last_success(ACCOUNT, "alice", after=after, before=before)
    store.has_success_from_network(ACCOUNT, "alice", "x/24", after=after, before=before)
    assert len(plans) == 4
    assert all(plan.startswith("SEARCH activity USING") for plan in plans), plans
    assert all("event_time>? AND event_time<?" in plan for plan in plans), plans
