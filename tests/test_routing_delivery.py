"""Fan-out with exactly-once per destination (design §5), on both stores.

The pipeline claims the alert as always, then each destination on its own: a retry re-posts
only where the post failed, a refusal is kept as undelivered for that destination only (and
``resend`` posts it there), a digest-only alert is claimed and not posted, and two deliveries
of one event at once post once per destination. Slack is ``httpx.MockTransport``, one fake
hook per destination URL.
"""

from __future__ import annotations

import functools
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from moto import mock_aws

from bench.round_trips import count_calls
from signin_monitor.app import CollectingNotifier, build_pipeline, routed_notifier
from signin_monitor.config import Settings
from signin_monitor.events import parse_record
from signin_monitor.pipeline import DeliveryStatus, Pipeline
from signin_monitor.report.sources import DynamoDbSource, Period, SqliteSource
from signin_monitor.resend import ResendStatus, resend_undelivered
from signin_monitor.routing import RoutedNotifier, destination_of, parse_routing
from signin_monitor.slack import SlackWebhookNotifier
from signin_monitor.store import ActivityStore
from signin_monitor.store.dynamodb import DynamoDbStore
from signin_monitor.store.dynamodb_admin import create_table
from signin_monitor.store.sqlite import SqliteStore
from tests.concurrency import TABLE as SERVER_TABLE
from tests.concurrency import dynamodb_client_for, moto_server, run_together
from tests.factories import BASE_TIME, console_login

__all__ = ["moto_server"]  # the fixture, used by the concurrency test

HOOK = "https://hooks.example.invalid/services/T0/{}/routing-secret"
URLS = {name: HOOK.format(name) for name in ("security", "paging", "team-a")}
DOCUMENT = {
    "destinations": {name: {"webhook_url": url} for name, url in URLS.items()},
    "routes": [
        {"severity": ["critical"], "to": ["security", "paging"]},
        {"severity": ["medium"], "to": ["digest"]},
        {"account": ["444455556666"], "to": ["team-a"]},
    ],
    "default": ["security"],
    "digest": "security",
}
TABLE = "routing-delivery"


class FakeHooks:
    """One fake Slack webhook per URL: each answers from its own script (then 200)."""

    def __init__(self) -> None:
        self.scripts: dict[str, list[int]] = {}
        self.accepted: dict[str, list[dict[str, Any]]] = {url: [] for url in URLS.values()}
        self.lock = threading.Lock()

    def fail(self, destination: str, *statuses: int) -> None:
        self.scripts[URLS[destination]] = list(statuses)

    def count(self, destination: str) -> int:
        return len(self.accepted[URLS[destination]])

    def counts(self) -> dict[str, int]:
        return {name: self.count(name) for name in URLS}

    def handle(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        with self.lock:
            script = self.scripts.get(url, [])
            status = script.pop(0) if script else 200
            if status == 200:
                self.accepted[url].append(json.loads(request.content))
        text = "ok" if status == 200 else "channel_is_archived"
        return httpx.Response(status, text=text)


def router_for(hooks: FakeHooks) -> RoutedNotifier:
    """The routed notifier app.py builds from the document, its senders on the fake hooks."""
    routing = parse_routing(
        json.dumps(DOCUMENT), variable="ROUTING_FILE", local=True, webhook_configured=False
    )
    router = routed_notifier(Settings(), routing)
    for notifier in router.notifiers.values():
        assert isinstance(notifier, SlackWebhookNotifier)
        notifier.transport = httpx.MockTransport(hooks.handle)
        notifier.sleep = lambda _seconds: None
        notifier.min_interval = 0.0
    return router


@pytest.fixture
def hooks() -> FakeHooks:
    return FakeHooks()


@pytest.fixture(params=["sqlite", "dynamodb"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ActivityStore]:
    """Each store, empty: a SQLite file, or a moto table (lease 0: a released claim retries)."""
    if request.param == "sqlite":
        sqlite = SqliteStore(tmp_path / "routing.db", lease_seconds=0)
        yield sqlite
        sqlite.close()
        return
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, TABLE)
        yield DynamoDbStore(TABLE, client=client, lease_seconds=5)


def _pipeline(store: ActivityStore, hooks: FakeHooks) -> Pipeline:
    return build_pipeline(Settings(), store=store, notifier=router_for(hooks))


def _root_sign_in() -> Any:
    return parse_record(console_login(identity_type="Root", event_id="root-1"))


def _release_leases(store: ActivityStore) -> None:
    """Let a DynamoDB store's leases run out (its clock moves on); SQLite's lease is 0."""
    if isinstance(store, DynamoDbStore):
        now = store._clock()
        store._clock = lambda: now + 60


def test_one_destination_failing_transiently_gets_exactly_one_message_after_the_retry(
    store: ActivityStore, hooks: FakeHooks
) -> None:
    # GIVEN a critical alert (security and paging) and a paging hook answering 500, three times
    pipeline = _pipeline(store, hooks)
    hooks.fail("paging", 500, 500, 500)
    # WHEN the event is delivered
    first = pipeline.process(_root_sign_in())
    # THEN security has its message, paging none, and the event must be retried
    (delivery,) = first.deliveries
    assert delivery.status is DeliveryStatus.RETRY_LATER
    assert delivery.destinations == (
        ("security", DeliveryStatus.SENT),
        ("paging", DeliveryStatus.RETRY_LATER),
    )
    assert first.retryable_error is not None
    assert hooks.counts() == {"security": 1, "paging": 0, "team-a": 0}
    # WHEN Lambda retries the event THEN only paging is posted: one message in each
    second = pipeline.process(_root_sign_in())
    (retried,) = second.deliveries
    assert retried.status is DeliveryStatus.SENT
    assert dict(retried.destinations) == {
        "security": DeliveryStatus.SENT,
        "paging": DeliveryStatus.SENT,
    }
    assert hooks.counts() == {"security": 1, "paging": 1, "team-a": 0}
    # AND a third delivery posts nothing anywhere
    assert pipeline.process(_root_sign_in()).deliveries == []
    assert hooks.counts() == {"security": 1, "paging": 1, "team-a": 0}


def test_a_destination_refusing_for_good_is_kept_for_that_destination_and_resent_only_there(
    store: ActivityStore, hooks: FakeHooks
) -> None:
    # GIVEN paging's hook is revoked (403) when a critical alert fans out
    pipeline = _pipeline(store, hooks)
    hooks.fail("paging", 403)
    (delivery,) = pipeline.process(_root_sign_in()).deliveries
    # THEN security has it, paging refused it for good: the alert failed, not retried
    assert delivery.status is DeliveryStatus.FAILED
    assert dict(delivery.destinations)["paging"] is DeliveryStatus.FAILED
    assert hooks.counts() == {"security": 1, "paging": 0, "team-a": 0}
    assert pipeline.process(_root_sign_in()).deliveries == []
    # AND it is undelivered for paging only
    (kept,) = list(store.undelivered_alerts())
    assert destination_of(kept.scope) == "paging"
    assert kept.payload == delivery.payload
    # WHEN the hook is fixed and resend runs THEN it posts to paging, and only there
    results = list(resend_undelivered(store, router_for(hooks)))
    assert [(r.status, r.destination) for r in results] == [(ResendStatus.SENT, "paging")]
    assert hooks.counts() == {"security": 1, "paging": 1, "team-a": 0}
    assert list(store.undelivered_alerts()) == []
    assert list(resend_undelivered(store, router_for(hooks))) == []


def test_a_single_destination_uses_the_alerts_own_claim_and_keeps_a_refusal_for_it(
    store: ActivityStore, hooks: FakeHooks
) -> None:
    # GIVEN a high alert (no MFA), which only the default route (security) takes, refused
    pipeline = _pipeline(store, hooks)
    hooks.fail("security", 410)
    event = parse_record(console_login(mfa="No", event_id="no-mfa-1"))
    (delivery,) = pipeline.process(event).deliveries
    assert delivery.status is DeliveryStatus.FAILED
    assert delivery.destinations == (("security", DeliveryStatus.FAILED),)
    # THEN it is undelivered under security's claim, and resend posts it to security
    (kept,) = list(store.undelivered_alerts())
    assert destination_of(kept.scope) == "security"
    results = list(resend_undelivered(store, router_for(hooks)))
    assert [(r.status, r.destination) for r in results] == [(ResendStatus.SENT, "security")]
    assert hooks.counts() == {"security": 1, "paging": 0, "team-a": 0}


def test_a_medium_alert_routed_to_the_digest_is_claimed_and_not_posted(
    store: ActivityStore, hooks: FakeHooks
) -> None:
    # GIVEN alice known from one network, then signing in from another (new-source-network)
    pipeline = _pipeline(store, hooks)
    pipeline.process(parse_record(console_login(event_id="known-1")))
    later = console_login(event_id="new-1", minutes=30, source_ip="203.0.113.9")
    (delivery,) = pipeline.process(parse_record(later)).deliveries
    # THEN it is digest-only: claimed, nothing posted, never retried
    assert delivery.alert.rule_id == "new-source-network"
    assert delivery.status is DeliveryStatus.DIGEST_ONLY
    assert delivery.destinations == (("digest", DeliveryStatus.DIGEST_ONLY),)
    assert hooks.counts() == {"security": 0, "paging": 0, "team-a": 0}
    assert pipeline.process(parse_record(later)).deliveries == []
    # AND a report (and so the digest) lists it once, as digest-only
    statuses = [(a.rule_id, a.status) for a in _report_alerts(store)]
    assert statuses == [("new-source-network", "digest-only")]


def test_destination_claims_are_not_listed_as_alerts(
    store: ActivityStore, hooks: FakeHooks
) -> None:
    # GIVEN a critical alert posted to two destinations (two destination claims)
    _pipeline(store, hooks).process(_root_sign_in())
    # THEN the store's alert listing (report, digest) holds the alert once, sent
    alerts = _report_alerts(store)
    assert [(a.rule_id, a.event_id, a.status) for a in alerts] == [
        ("root-sign-in", "root-1", "sent")
    ]


def _report_alerts(store: ActivityStore) -> list[Any]:
    period = Period(
        since=BASE_TIME - timedelta(days=1),
        until=BASE_TIME + timedelta(days=1),
        accounts=("111122223333",),
    )
    if isinstance(store, SqliteStore):
        store._commit_batch()
        source: Any = SqliteSource(store.path, period)
    else:
        assert isinstance(store, DynamoDbStore)
        source = DynamoDbSource(store.table_name, period, client=store._client)
    try:
        return list(source.alerts())
    finally:
        source.close()


def test_an_interrupted_fan_out_releases_the_alert_and_the_destination(
    store: ActivityStore, hooks: FakeHooks
) -> None:
    # GIVEN a send to paging that is interrupted (not a Slack error)
    pipeline = _pipeline(store, hooks)
    router = pipeline.notifier
    assert isinstance(router, RoutedNotifier)
    paging = router.notifiers["paging"]
    assert isinstance(paging, SlackWebhookNotifier)
    original = paging.transport
    paging.transport = httpx.MockTransport(_interrupt)
    with pytest.raises(_InterruptedError):
        pipeline.process(_root_sign_in())
    # WHEN the event is delivered again, paging fixed THEN paging gets it once, security not again
    paging.close()
    paging.transport = original
    _release_leases(store)
    (delivery,) = pipeline.process(_root_sign_in()).deliveries
    assert delivery.status is DeliveryStatus.SENT
    assert hooks.counts() == {"security": 1, "paging": 1, "team-a": 0}


class _InterruptedError(Exception):
    """Anything but a Slack error ending a send (an interrupt, a closed stdout)."""


def _interrupt(request: httpx.Request) -> httpx.Response:
    raise _InterruptedError


StoreFactory = Callable[[], ActivityStore]


@pytest.fixture(params=["sqlite", "dynamodb"])
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    """Independent connections to one store, as two Lambda containers (or runs) have."""
    if request.param == "sqlite":
        return functools.partial(SqliteStore, tmp_path / "concurrent.db")
    url = request.getfixturevalue("moto_server")
    return lambda: DynamoDbStore(SERVER_TABLE, client=dynamodb_client_for(url))


def test_two_deliveries_of_one_event_at_once_post_once_per_destination(
    store_factory: StoreFactory, hooks: FakeHooks
) -> None:
    # GIVEN two containers receiving the same critical sign-in at the same moment
    event_id = f"root-concurrent-{datetime.now(UTC).timestamp()}"
    record = console_login(identity_type="Root", event_id=event_id)
    pipelines = [_pipeline(store_factory(), hooks) for _ in range(2)]
    # WHEN both process it at once
    outcomes = run_together([functools.partial(p.process, parse_record(record)) for p in pipelines])
    # THEN each destination has exactly one message; one delivery posted, the other stood aside
    assert hooks.counts() == {"security": 1, "paging": 1, "team-a": 0}
    statuses = sorted(d.status.value for o in outcomes for d in o.deliveries)
    assert statuses in (["busy", "sent"], ["sent"])


def test_round_trips_two_per_destination_beyond_one_and_none_for_one_destination(
    store: ActivityStore, hooks: FakeHooks
) -> None:
    # GIVEN the DynamoDB store (its calls are what a Lambda invocation waits on)
    if not isinstance(store, DynamoDbStore):
        pytest.skip("round trips are counted on DynamoDB")
    plain = build_pipeline(Settings(), store=store, notifier=CollectingNotifier())
    routed = _pipeline(store, hooks)

    def operations(pipeline: Pipeline, record: dict[str, Any]) -> list[str]:
        with count_calls(store._client) as calls:
            pipeline.process(parse_record(record))
        return list(calls.operations)

    def root(account: str) -> dict[str, Any]:
        return console_login(identity_type="Root", account=account)

    def no_mfa(account: str) -> dict[str, Any]:
        return console_login(mfa="No", account=account)

    # WHEN a critical alert (two destinations) is delivered, and one without routing
    baseline = operations(plain, root("111111111111"))
    fanned = operations(routed, root("222222222222"))
    # THEN routing adds a claim and a mark per destination, nothing else
    assert Counter(fanned) - Counter(baseline) == Counter({"PutItem": 2, "UpdateItem": 2})
    assert len(fanned) == len(baseline) + 4
    # AND an alert with one destination costs what it costs today
    assert operations(routed, no_mfa("333333333333")) == operations(plain, no_mfa("555555555555"))
