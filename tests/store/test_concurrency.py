"""Concurrent deliveries of one event give one stored record and one alert (design §5).

Eight threads, each with its own store and client (as eight Lambda instances would have), start
together on a barrier. DynamoDB runs in a moto server over HTTP, so the requests really overlap.
The ``moto_server`` fixture (``tests/concurrency.py``) makes moto's conditional writes atomic as
DynamoDB's are, leaving the store's own logic under test: a store that read the claim and then
wrote it would still race here. A short thread switch
interval makes those interleavings likely. The same scenarios run on SQLite, one connection
per thread on one file.
"""

from __future__ import annotations

import functools
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pytest

from signin_monitor.alerts import Alert
from signin_monitor.store import ActivityStore, ClaimOutcome
from signin_monitor.store.dynamodb import DynamoDbStore
from signin_monitor.store.sqlite import SqliteStore
from tests.concurrency import TABLE, dynamodb_client_for, run_together
from tests.factories import sign_in, windowed_alert
from tests.store.conftest import LEASE_SECONDS, FakeClock

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

THREADS = 8
ROUNDS = 3
WINDOW = timedelta(minutes=60)
T = TypeVar("T")
StoreMaker = Callable[[FakeClock], list[ActivityStore]]


@pytest.fixture(scope="module")
def dynamodb_clients(moto_server: str) -> list[DynamoDBClient]:
    """One client per thread, made once: creating boto3 clients is the slow part."""
    return [dynamodb_client_for(moto_server) for _ in range(THREADS)]


@pytest.fixture(params=["dynamodb", "sqlite"])
def make_stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreMaker]:
    """Builds one store per thread, all on the same table or file and the same clock."""
    made: list[ActivityStore] = []

    def make(clock: FakeClock) -> list[ActivityStore]:
        stores: list[ActivityStore]
        if request.param == "dynamodb":
            clients = request.getfixturevalue("dynamodb_clients")
            stores = [
                DynamoDbStore(TABLE, client=client, clock=clock, lease_seconds=LEASE_SECONDS)
                for client in clients
            ]
        else:
            path = tmp_path / "activity.db"
            stores = [
                SqliteStore(path, clock=clock, lease_seconds=LEASE_SECONDS) for _ in range(THREADS)
            ]
        made.extend(stores)
        return stores

    yield make
    for store in made:
        store.close()


@pytest.fixture(autouse=True)
def _frequent_thread_switches() -> Iterator[None]:
    """Switch threads every 50 µs instead of 5 ms, so check-then-write races show up."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(5e-5)
    yield
    sys.setswitchinterval(before)


def _windowed(*, user: str | None = None, minutes: float = 0) -> Alert:
    """A windowed alert; each call gets a principal of its own unless ``user`` is given."""
    event = sign_in(result="Failure", user=user or f"user-{uuid.uuid4()}", minutes=minutes)
    return windowed_alert(event, window=WINDOW)


def _one_winner(outcomes: list[ClaimOutcome], winner: ClaimOutcome, losers: ClaimOutcome) -> bool:
    return sorted(outcomes) == sorted([winner] + [losers] * (len(outcomes) - 1))


def test_concurrent_deliveries_of_one_event_store_it_once(make_stores: StoreMaker) -> None:
    stores = make_stores(FakeClock(0))
    for _ in range(ROUNDS):
        event = sign_in(result="Failure")
        results = run_together(
            [functools.partial(store.record, event, expires_at=None) for store in stores]
        )
        assert sorted(results) == [False] * (THREADS - 1) + [True]


def test_concurrent_alerts_of_one_window_claim_once(make_stores: StoreMaker) -> None:
    # GIVEN eight failures of one principal that each crossed the threshold at the same time
    stores = make_stores(FakeClock(0))
    for _ in range(ROUNDS):
        user = f"burst-{uuid.uuid4()}"
        alerts = [_windowed(user=user, minutes=index / 60) for index in range(THREADS)]
        # WHEN each delivery claims its own alert at once THEN exactly one may post
        claims = zip(stores, alerts, strict=True)
        outcomes = run_together(
            [functools.partial(store.claim_alert, alert) for store, alert in claims]
        )
        assert _one_winner(outcomes, ClaimOutcome.CLAIMED, ClaimOutcome.SUPPRESSED), outcomes


def test_concurrent_alerts_across_a_time_slot_boundary_claim_once(make_stores: StoreMaker) -> None:
    # GIVEN eight anchors of one burst on both sides of 08:00, where one-window time slots
    # meet: each slot alone would take one claim, the two-sided check must allow one in all
    stores = make_stores(FakeClock(0))
    for _ in range(ROUNDS):
        user = f"boundary-{uuid.uuid4()}"
        alerts = [_windowed(user=user, minutes=index - 4) for index in range(THREADS)]
        assert len({alert.bucket for alert in alerts}) == 2
        # WHEN each delivery claims its own anchor at once THEN exactly one may post
        claims = zip(stores, alerts, strict=True)
        outcomes = run_together(
            [functools.partial(store.claim_alert, alert) for store, alert in claims]
        )
        assert _one_winner(outcomes, ClaimOutcome.CLAIMED, ClaimOutcome.SUPPRESSED), outcomes


def test_concurrent_deliveries_proposing_several_anchors_claim_one(
    make_stores: StoreMaker,
) -> None:
    # GIVEN deliveries that each propose the anchors of a burst, starting at different ones
    stores = make_stores(FakeClock(0))
    for _ in range(ROUNDS):
        user = f"anchors-{uuid.uuid4()}"
        alerts = [_windowed(user=user, minutes=index * 7 - 20) for index in range(THREADS)]
        proposals = [
            replace(alerts[index], later_anchors=tuple(alerts[index + 1 :]))
            for index in range(THREADS)
        ]
        # WHEN they claim at once THEN one anchor is claimed, and only one; a delivery that
        # reaches the claimed anchor itself finds it BUSY (being posted), the rest SUPPRESSED
        results = run_together(
            [
                functools.partial(store.claim_window, proposal)
                for store, proposal in zip(stores, proposals, strict=True)
            ]
        )
        outcomes = [outcome for _, outcome in results]
        assert outcomes.count(ClaimOutcome.CLAIMED) == 1, outcomes
        assert not any(
            outcome.should_send for outcome in outcomes if outcome is not ClaimOutcome.CLAIMED
        )
        (winner,) = [alert for alert, outcome in results if outcome is ClaimOutcome.CLAIMED]
        busy = [alert for alert, outcome in results if outcome is ClaimOutcome.BUSY]
        assert all(alert.event.event_id == winner.event.event_id for alert in busy), outcomes


def test_concurrent_duplicates_of_one_alert_claim_once(make_stores: StoreMaker) -> None:
    # A duplicate delivered while the first is still posting must not post again (the lease).
    stores = make_stores(FakeClock(0))
    for _ in range(ROUNDS):
        alert = _windowed()
        outcomes = run_together([functools.partial(store.claim_alert, alert) for store in stores])
        assert _one_winner(outcomes, ClaimOutcome.CLAIMED, ClaimOutcome.BUSY), outcomes


def test_concurrent_retries_of_a_failed_post_retry_once(make_stores: StoreMaker) -> None:
    # GIVEN a claim whose post failed, and Lambda retrying it from several deliveries at once
    clock = FakeClock(0)
    stores = make_stores(clock)
    for _ in range(ROUNDS):
        alert = _windowed()
        assert stores[0].claim_alert(alert) is ClaimOutcome.CLAIMED
        clock.advance(LEASE_SECONDS)
        # WHEN the lease has passed THEN exactly one retry takes it over
        outcomes = run_together([functools.partial(store.claim_alert, alert) for store in stores])
        assert _one_winner(outcomes, ClaimOutcome.RETRY, ClaimOutcome.BUSY), outcomes
