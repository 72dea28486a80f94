"""DynamoDB round trips per delivery: the budget of design section 5, counted, never timed.

With every rule on (design §3 and §3.2), each delivery also makes the correlation reads: a
success 3 ``Query`` (sign-in-after-failures: the principal's and ``unknown-user:<ip>``'s
failures; new-source-network: the latest success in the lookback, and a 4th, whether this
network is among them, only when the latest came from another network), a failure 2 more
(sign-in-after-failures: the successes a late failure could complete; password-spray: the
failures from its address). ``test_*_with_the_section_3_rules_only`` keep today's figures.

Each call the real ``Pipeline`` makes through ``DynamoDbStore`` is counted with botocore's
``before-call`` hook (``bench.round_trips.count_calls``) on a moto table. The counts are what a
Lambda invocation waits on and pays for: 1 for a success without alert, 2 for a failure (put +
one query of the failures around it), +2 per alert (claim + mark; a windowed claim is one
``TransactWriteItems``), and a duplicate delivery of an alerted event repeats the put (and the
query) and one refused claim, never the mark. Arrival order changes none of these counts: a
late failure that completes a window costs what the failure completing it in order costs.

A claimed alert costs one more read (issue 14): the ``Query`` of the ``SUPPRESSIONS`` partition,
made between the claim and the mark, at most once per invocation (``deliver`` refreshes the
suppressions as the handler does at the start of each) and never for an event without an alert
or an alert whose claim is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from bench.round_trips import CallCounter, count_calls
from signin_monitor.app import CollectingNotifier, build_pipeline
from signin_monitor.config import Settings
from signin_monitor.errors import SlackRetryableError
from signin_monitor.events import parse_record
from signin_monitor.pipeline import Pipeline
from signin_monitor.store.dynamodb import DynamoDbStore
from signin_monitor.store.dynamodb_admin import create_table
from tests.factories import console_login

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

TABLE_NAME = "signin-monitor-round-trips"
#: The reads a success adds with all rules: two failure counts, the latest success.
SUCCESS_READS = ["Query", "Query", "Query"]
#: The reads a failure adds after repeated-failed-sign-ins' own: later successes, the spray.
FAILURE_READS = ["Query", "Query"]
SECTION_3_RULES = ("root-sign-in", "sign-in-without-mfa", "repeated-failed-sign-ins")
#: The read of the suppressions after a claim succeeds (once per invocation).
SUPPRESSIONS_READ = "Query"


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[DynamoDBClient]:
    """A moto DynamoDB client whose account holds the activity table; fake credentials only."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        create_table(dynamodb, TABLE_NAME)
        yield dynamodb


@pytest.fixture
def notifier() -> CollectingNotifier:
    """Keeps the posted payloads, so a test can also see that an alert went out."""
    return CollectingNotifier()


@pytest.fixture
def pipeline(client: DynamoDBClient, notifier: CollectingNotifier) -> Pipeline:
    """The real pipeline (default rules: threshold 3 in 60 minutes) on ``DynamoDbStore``."""
    store = DynamoDbStore(TABLE_NAME, client=client)
    return build_pipeline(Settings(), store=store, notifier=notifier)


@pytest.fixture
def counter(client: DynamoDBClient) -> Iterator[CallCounter]:
    """Counts every DynamoDB API call the client makes inside the test."""
    with count_calls(client) as calls:
        yield calls


def deliver(pipeline: Pipeline, counter: CallCounter, record: dict[str, Any]) -> list[str]:
    """Process one delivery of ``record`` and return the DynamoDB operations it called."""
    counter.reset()
    if pipeline.suppressions is not None:
        pipeline.suppressions.refresh()  # as handler.handler does: one invocation per delivery
    pipeline.process(parse_record(record))
    return list(counter.operations)


def failure(minutes: float) -> dict[str, Any]:
    """A failed ConsoleLogin of IAM user bob, ``minutes`` after the factories' base time."""
    return console_login(user="bob", result="Failure", mfa="No", minutes=minutes)


def test_iam_success_with_mfa_costs_one_put(pipeline: Pipeline, counter: CallCounter) -> None:
    # GIVEN an IAM user's successful sign-in with MFA (no rule fires)
    # WHEN it is delivered
    operations = deliver(pipeline, counter, console_login(mfa="Yes"))
    # THEN the conditional put of the event, and the correlation reads of a success
    assert operations == ["PutItem", *SUCCESS_READS]


def test_failure_below_threshold_costs_put_and_count(
    pipeline: Pipeline, counter: CallCounter, notifier: CollectingNotifier
) -> None:
    # GIVEN a principal with no earlier failures
    # WHEN one failure is delivered
    operations = deliver(pipeline, counter, failure(0))
    # THEN the event is put, the window read once, the correlation reads; nothing is claimed
    assert operations == ["PutItem", "Query", *FAILURE_READS]
    assert notifier.sent == []


def test_root_success_costs_put_claim_and_mark(
    pipeline: Pipeline, counter: CallCounter, notifier: CollectingNotifier
) -> None:
    # GIVEN a successful root sign-in (root-sign-in fires)
    # WHEN it is delivered
    operations = deliver(pipeline, counter, console_login(identity_type="Root"))
    # THEN 1 put + 2 for the alert (claim, then mark sent) + the correlation reads
    assert operations == ["PutItem", "PutItem", SUPPRESSIONS_READ, "UpdateItem", *SUCCESS_READS]
    assert len(notifier.sent) == 1


def test_failure_crossing_threshold_costs_two_plus_two(
    pipeline: Pipeline, counter: CallCounter, notifier: CollectingNotifier
) -> None:
    # GIVEN three failures of bob within the window (threshold 3: no alert yet)
    for minute in range(3):
        assert len(deliver(pipeline, counter, failure(minute))) == 2 + len(FAILURE_READS)
    # WHEN the fourth failure arrives
    operations = deliver(pipeline, counter, failure(3))
    # THEN put + query, then claim (one transaction over three time slots) + mark, then reads
    assert operations == [
        "PutItem",
        "Query",
        "TransactWriteItems",
        SUPPRESSIONS_READ,
        "UpdateItem",
        *FAILURE_READS,
    ]
    assert len(notifier.sent) == 1


def test_duplicate_of_sent_root_alert_costs_put_and_suppressed_claim(
    pipeline: Pipeline, counter: CallCounter, notifier: CollectingNotifier
) -> None:
    # GIVEN a root sign-in whose alert was sent
    record = console_login(identity_type="Root")
    deliver(pipeline, counter, record)
    # WHEN EventBridge delivers the same event again
    operations = deliver(pipeline, counter, record)
    # THEN the put finds it stored, the claim is suppressed, and nothing is marked or posted
    assert operations == ["PutItem", "PutItem", *SUCCESS_READS]
    assert len(notifier.sent) == 1


def test_duplicate_of_sent_failure_alert_costs_put_count_and_suppressed_claim(
    pipeline: Pipeline, counter: CallCounter, notifier: CollectingNotifier
) -> None:
    # GIVEN four failures whose fourth raised a sent alert
    records = [failure(minute) for minute in range(4)]
    for record in records:
        deliver(pipeline, counter, record)
    # WHEN the fourth is delivered again
    operations = deliver(pipeline, counter, records[3])
    # THEN put (already stored) + query + one refused claim; no mark, no second message
    assert operations == ["PutItem", "Query", "TransactWriteItems", *FAILURE_READS]
    assert len(notifier.sent) == 1


def test_late_failure_completing_a_window_costs_what_the_fourth_in_order_costs(
    pipeline: Pipeline, counter: CallCounter, notifier: CollectingNotifier
) -> None:
    # GIVEN failures at minutes 0, 3 and 9 (the one at 6 is still on its way)
    late = failure(6)
    for minute in (0, 3, 9):
        assert deliver(pipeline, counter, failure(minute)) == ["PutItem", "Query", *FAILURE_READS]
    # WHEN the failure at 6 arrives last, completing the window that ends at 9
    operations = deliver(pipeline, counter, late)
    # THEN put + query + one claim + mark, for an alert anchored at minute 9
    assert operations == [
        "PutItem",
        "Query",
        "TransactWriteItems",
        SUPPRESSIONS_READ,
        "UpdateItem",
        *FAILURE_READS,
    ]
    assert len(notifier.sent) == 1


def test_failure_after_the_alert_costs_one_refused_claim(
    pipeline: Pipeline, counter: CallCounter, notifier: CollectingNotifier
) -> None:
    # GIVEN four failures and their alert
    for minute in range(4):
        deliver(pipeline, counter, failure(minute))
    # WHEN a fifth failure arrives, in order, and then a late one from before the alert
    in_order = deliver(pipeline, counter, failure(4))
    late = deliver(pipeline, counter, failure(0.5))
    # THEN each costs put + query + one refused claim: the cancelled transaction returns the
    # alert's claim, which covers every later anchor too, so none costs another call
    assert in_order == ["PutItem", "Query", "TransactWriteItems", *FAILURE_READS]
    assert late == ["PutItem", "Query", "TransactWriteItems", *FAILURE_READS]
    assert len(notifier.sent) == 1


def test_retry_after_a_failed_post_costs_two_transactions(
    client: DynamoDBClient, counter: CallCounter
) -> None:
    # GIVEN a fourth failure whose post failed transiently (the claim is released, pending)
    notifier = _FailingOnce()
    pipeline = build_pipeline(
        Settings(), store=DynamoDbStore(TABLE_NAME, client=client), notifier=notifier
    )
    records = [failure(minute) for minute in range(4)]
    for record in records:
        deliver(pipeline, counter, record)
    assert counter.operations[-1 - len(FAILURE_READS)] == "UpdateItem"  # released
    # WHEN Lambda retries the event
    operations = deliver(pipeline, counter, records[3])
    # THEN the first transaction finds the pending claim, the second retakes it, then the mark
    assert operations == [
        "PutItem",
        "Query",
        "TransactWriteItems",
        "TransactWriteItems",
        SUPPRESSIONS_READ,
        "UpdateItem",
        *FAILURE_READS,
    ]
    assert len(notifier.sent) == 1


def test_root_failure_costs_put_query_claim_and_mark(
    pipeline: Pipeline, counter: CallCounter, notifier: CollectingNotifier
) -> None:
    # GIVEN a first failed root sign-in (root-sign-in fires; repeated-failed-sign-ins reads)
    record = console_login(identity_type="Root", result="Failure", mfa="No")
    # WHEN it is delivered
    operations = deliver(pipeline, counter, record)
    # THEN put, the failure query, then the root-failure window's claim and mark
    assert operations == [
        "PutItem",
        "TransactWriteItems",
        SUPPRESSIONS_READ,
        "UpdateItem",
        "Query",
        *FAILURE_READS,
    ]
    assert len(notifier.sent) == 1


class _FailingOnce:
    """Slack answering 503 to the first post, then accepting."""

    def __init__(self) -> None:
        self.failed = False
        self.sent: list[dict[str, Any]] = []

    def send(self, payload: dict[str, Any], **_: Any) -> None:
        if not self.failed:
            self.failed = True
            raise SlackRetryableError("Slack answered 503", status_code=503)
        self.sent.append(payload)


# --- section 3 rules alone (today's figures) and the correlation rules' alerts ---------------


def test_success_and_failure_cost_one_and_two_with_the_section_3_rules_only(
    client: DynamoDBClient, counter: CallCounter
) -> None:
    # GIVEN the pipeline running only the rules of design §3
    settings = Settings(alert_rules=SECTION_3_RULES)
    pipeline = build_pipeline(
        settings, store=DynamoDbStore(TABLE_NAME, client=client), notifier=CollectingNotifier()
    )
    # WHEN a success and a failure are delivered THEN they cost what design §5 budgets
    assert deliver(pipeline, counter, console_login(mfa="Yes")) == ["PutItem"]
    assert deliver(pipeline, counter, failure(0)) == ["PutItem", "Query"]


def test_a_success_from_a_new_network_costs_four_reads_and_its_alert(
    pipeline: Pipeline, counter: CallCounter, notifier: CollectingNotifier
) -> None:
    # GIVEN alice signed in from 198.51.100.0/24 a week ago
    deliver(pipeline, counter, console_login(source_ip="198.51.100.7", minutes=-7 * 1440))
    # WHEN she signs in from the same /24, then from another network
    known = deliver(pipeline, counter, console_login(source_ip="198.51.100.99"))
    new = deliver(pipeline, counter, console_login(source_ip="203.0.113.5", minutes=1))
    # THEN the known one costs the three reads of a success (the latest is from this network)
    assert known == ["PutItem", *SUCCESS_READS]
    # AND the new one a fourth read (is this network among them?) and a one-off claim + mark
    assert new == ["PutItem", *SUCCESS_READS, "Query", "PutItem", SUPPRESSIONS_READ, "UpdateItem"]
    assert len(notifier.sent) == 1


def test_a_success_after_four_failures_costs_one_count_and_its_windowed_claim(
    pipeline: Pipeline, counter: CallCounter, notifier: CollectingNotifier
) -> None:
    # GIVEN four failures of bob (repeated-failed-sign-ins alerts on the fourth)
    for minute in range(4):
        deliver(pipeline, counter, failure(minute))
    # WHEN bob signs in
    operations = deliver(pipeline, counter, console_login(user="bob", minutes=5))
    # THEN his failures are read once (over the threshold: no hidden-name read), the windowed
    # claim and mark, then new-source-network's read (his first success: nothing to compare)
    assert operations == [
        "PutItem",
        "Query",
        "TransactWriteItems",
        SUPPRESSIONS_READ,
        "UpdateItem",
        "Query",
    ]
    assert len(notifier.sent) == 2


def test_the_sixth_principal_of_a_spray_costs_the_failure_reads_and_one_claim(
    pipeline: Pipeline, counter: CallCounter, notifier: CollectingNotifier
) -> None:
    # GIVEN five users failing once each from one address
    users = ["u1", "u2", "u3", "u4", "u5", "u6"]
    for minute, user in enumerate(users[:5]):
        deliver(pipeline, counter, console_login(user=user, result="Failure", minutes=minute))
    # WHEN a sixth user fails from it
    sixth = console_login(user=users[5], result="Failure", minutes=5)
    operations = deliver(pipeline, counter, sixth)
    # THEN the failure reads, then password-spray's windowed claim and mark
    assert operations == [
        "PutItem",
        "Query",
        *FAILURE_READS,
        "TransactWriteItems",
        SUPPRESSIONS_READ,
        "UpdateItem",
    ]
    assert len(notifier.sent) == 1


def test_a_suppressed_root_success_costs_what_a_posted_one_costs_and_posts_nothing(
    client: DynamoDBClient, pipeline: Pipeline, counter: CallCounter, notifier: CollectingNotifier
) -> None:
    # GIVEN a suppression of root's sign-ins around the factories' base time
    from signin_monitor.suppressions import new_suppression

    store = DynamoDbStore(TABLE_NAME, client=client)
    start = parse_record(console_login(identity_type="Root")).event_time
    store.add_suppression(
        new_suppression(
            rule="root-sign-in",
            principal="root",
            reason="drill",
            author="alice",
            valid_from=start - timedelta(hours=1),
            until=start + timedelta(hours=1),
        )
    )
    # WHEN a root sign-in inside it is delivered
    operations = deliver(pipeline, counter, console_login(identity_type="Root"))
    # THEN put, claim, the suppressions' read, the mark (suppressed), the reads; no post
    assert operations == ["PutItem", "PutItem", SUPPRESSIONS_READ, "UpdateItem", *SUCCESS_READS]
    assert notifier.sent == []
