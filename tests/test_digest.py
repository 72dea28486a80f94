"""The daily digest (issue 14): a mixed day gathered from both stores, with exact counts.

The day is built the way the Lambda builds its store: every record goes through the real
pipeline (all rules on), so the alert claims are the ones rules raise. One root sign-in alert is
then marked suppressed the way h14-suppress records it (status ``suppressed``, reason = the
suppression's id), and the digest looks the id up in a fake suppressions store.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from bench.round_trips import count_calls
from signin_monitor.app import CollectingNotifier, build_pipeline
from signin_monitor.config import Settings
from signin_monitor.digest.gather import gather_digest
from signin_monitor.digest.model import Suppression
from signin_monitor.digest.sources import DayReader, DynamoDbDayReader, SqliteDayReader
from signin_monitor.events import parse_record
from signin_monitor.store import ActivityStore
from signin_monitor.store.dynamodb import DynamoDbStore
from signin_monitor.store.dynamodb_admin import create_table
from signin_monitor.store.sqlite import SqliteStore
from tests.factories import ACCOUNT, OTHER_ACCOUNT, api_call, console_login

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

TABLE = "signin-digest"
DAY = date(2026, 11, 2)
MORNING = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
SUPPRESSION_ID = "sup-7f3a"


@dataclass(frozen=True)
class FakeSuppression:
    author: str
    reason: str


class FakeSuppressions:
    """The ``get_suppression`` protocol h14-suppress's stores implement."""

    def __init__(self, known: dict[str, FakeSuppression]) -> None:
        self.known = known
        self.asked: list[str] = []

    def get_suppression(self, suppression_id: str) -> Suppression | None:
        self.asked.append(suppression_id)
        return self.known.get(suppression_id)


SUPPRESSIONS = FakeSuppressions(
    {SUPPRESSION_ID: FakeSuppression(author="ops-oncall", reason="planned break-glass drill")}
)


def mixed_day() -> list[dict[str, Any]]:
    """A day of mixed traffic in two accounts, plus one record on each side of the day."""
    at = MORNING
    records = [
        # out of the day: the second before it and the first second after it
        console_login(user="alice", at=datetime(2026, 11, 1, 23, 59, 59, tzinfo=UTC)),
        console_login(user="alice", at=datetime(2026, 11, 3, 0, 0, 0, tzinfo=UTC), minutes=0),
        # account A: sign-ins with MFA, without MFA (IAM user twice, SSO once: not counted)
        console_login(user="alice", at=at, minutes=1),
        console_login(user="alice", at=at, minutes=90),
        console_login(user="bob", mfa="No", at=at, minutes=5, source_ip="198.51.100.8"),
        console_login(user="bob", mfa="No", at=at, minutes=200, source_ip="198.51.100.8"),
        console_login(user="carol", identity_type="AssumedRole", mfa="No", at=at, minutes=7),
        # a burst of 5 failures from one address: one repeated-failed-sign-ins alert
        *[
            console_login(
                user="mallory", result="Failure", at=at, minutes=20 + m, source_ip="203.0.113.9"
            )
            for m in range(5)
        ],
        # root signs in (the suppressed alert) and makes one API call (covered by the sign-in)
        console_login(identity_type="Root", at=at, minutes=60, source_ip="198.51.100.50"),
        api_call("ListBuckets", at=at, minutes=70),
        # dave from his usual network, then from a new one: the medium alert
        console_login(user="dave", at=at, minutes=100, source_ip="198.51.100.20"),
        console_login(user="dave", at=at, minutes=300, source_ip="192.0.2.50"),
        # account B: two failures (no alert) and a sign-in without MFA
        *[
            console_login(
                user="erin",
                result="Failure",
                account=OTHER_ACCOUNT,
                at=at,
                minutes=400 + m,
                source_ip="192.0.2.200",
            )
            for m in range(2)
        ],
        console_login(user="frank", mfa="No", account=OTHER_ACCOUNT, at=at, minutes=500),
    ]
    return records


def load(store: ActivityStore, records: list[dict[str, Any]]) -> CollectingNotifier:
    """Run every record through the real pipeline, in time order."""
    notifier = CollectingNotifier()
    pipeline = build_pipeline(Settings(), store=store, notifier=notifier)
    for event in sorted((parse_record(r) for r in records), key=lambda e: e.event_time):
        pipeline.process(event)
    return notifier


def suppress_sqlite(path: Path, rule_id: str, suppression_id: str) -> None:
    """Record the rule's claims as suppressed, as h14-suppress's ``mark_alert`` does."""
    with sqlite3.connect(path) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(alert_claims)")}
        if "reason" not in columns:
            db.execute("ALTER TABLE alert_claims ADD COLUMN reason TEXT")
        db.execute(
            "UPDATE alert_claims SET status = 'suppressed', reason = ? WHERE rule_id = ?",
            (suppression_id, rule_id),
        )
    db.close()


def suppress_dynamodb(client: DynamoDBClient, rule_id: str, suppression_id: str) -> None:
    """The same on the table: the claim item's status and reason."""
    for item in client.scan(TableName=TABLE)["Items"]:
        if item["pk"]["S"].startswith(f"ALERT#{rule_id}#"):
            client.update_item(
                TableName=TABLE,
                Key={"pk": item["pk"], "sk": item["sk"]},
                UpdateExpression="SET #s = :s, reason = :r",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":s": {"S": "suppressed"}, ":r": {"S": suppression_id}},
            )


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[DynamoDBClient]:
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
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, TABLE)
        yield client


@pytest.fixture(params=["sqlite", "dynamodb"])
def loaded_day(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DayReader]:
    """The mixed day stored in either store, root-sign-in suppressed; the day's reader."""
    records = mixed_day()
    if request.param == "sqlite":
        path = tmp_path / "digest.db"
        store = SqliteStore(path)
        load(store, records)
        store.close()
        suppress_sqlite(path, "root-sign-in", SUPPRESSION_ID)
        reader = SqliteDayReader(path)
        yield reader
        reader.close()
        return
    client = request.getfixturevalue("dynamodb")
    load(DynamoDbStore(TABLE, client=client), records)
    suppress_dynamodb(client, "root-sign-in", SUPPRESSION_ID)
    yield DynamoDbDayReader(TABLE, client=client)


def test_mixed_day_digest_has_exact_counts(loaded_day: DayReader) -> None:
    # GIVEN the mixed day in a store  WHEN its digest is gathered for both accounts
    digest = gather_digest(
        loaded_day, DAY, known_accounts=[ACCOUNT, OTHER_ACCOUNT], suppressions=SUPPRESSIONS
    )
    # THEN every number is the day's, nothing of the day before or after
    assert digest.day == "2026-11-02"
    assert digest.accounts == (ACCOUNT, OTHER_ACCOUNT)
    # A: alice 2, bob 2, carol 1, mallory 5, root 1, dave 2; B: erin 2, frank 1; 1 API call
    assert (digest.events, digest.sign_ins, digest.failed_sign_ins, digest.api_calls) == (
        17,
        16,
        7,
        1,
    )
    assert digest.alerts == 6
    assert digest.alert_counts == [
        (ACCOUNT, "sign-in-without-mfa", 2),
        (ACCOUNT, "new-source-network", 1),
        (ACCOUNT, "repeated-failed-sign-ins", 1),
        (ACCOUNT, "root-sign-in", 1),
        (OTHER_ACCOUNT, "sign-in-without-mfa", 1),
    ]
    # the suppressed alert, with whose suppression and why
    [suppressed] = digest.suppressed
    assert suppressed.alert.rule_id == "root-sign-in"
    assert suppressed.alert.principal == "root"
    assert suppressed.alert.account_id == ACCOUNT
    assert suppressed.alert.source_ip == "198.51.100.50"
    assert (suppressed.suppression_id, suppressed.author, suppressed.reason) == (
        SUPPRESSION_ID,
        "ops-oncall",
        "planned break-glass drill",
    )
    # every medium alert
    [medium] = digest.medium
    assert (medium.rule_id, medium.principal, medium.source_ip) == (
        "new-source-network",
        "dave",
        "192.0.2.50",
    )
    assert medium.severity == "medium"
    # sign-ins without MFA per user (IAM users only), failing principals and addresses
    assert digest.without_mfa == [(ACCOUNT, "bob", 2), (OTHER_ACCOUNT, "frank", 1)]
    assert digest.failing_principals == [(ACCOUNT, "mallory", 5), (OTHER_ACCOUNT, "erin", 2)]
    assert digest.failing_principals_total == 2
    assert digest.failing_ips == [("203.0.113.9", 5), ("192.0.2.200", 2)]
    assert digest.failing_ips_total == 2


def test_digest_of_one_account_leaves_the_others_out(loaded_day: DayReader) -> None:
    # WHEN the digest is asked for account B only
    digest = gather_digest(loaded_day, DAY, accounts=[OTHER_ACCOUNT])
    # THEN only B's events and alerts are in it
    assert digest.accounts == (OTHER_ACCOUNT,)
    assert (digest.events, digest.alerts) == (3, 1)
    assert digest.alert_counts == [(OTHER_ACCOUNT, "sign-in-without-mfa", 1)]
    assert digest.suppressed == []
    assert digest.failing_principals == [(OTHER_ACCOUNT, "erin", 2)]


def test_an_unknown_suppression_shows_its_id_only(loaded_day: DayReader) -> None:
    # GIVEN no suppressions store (or one that no longer has the id)
    for lookup in (None, FakeSuppressions({})):
        digest = gather_digest(
            loaded_day, DAY, known_accounts=[ACCOUNT, OTHER_ACCOUNT], suppressions=lookup
        )
        # THEN the suppressed alert is still listed, with its id and no details
        [suppressed] = digest.suppressed
        assert (suppressed.suppression_id, suppressed.author, suppressed.reason) == (
            SUPPRESSION_ID,
            None,
            None,
        )


def test_dynamodb_digest_without_accounts_reads_the_known_and_the_alerted_ones(
    dynamodb: DynamoDBClient,
) -> None:
    # GIVEN the mixed day on DynamoDB, and only account A known to the function
    load(DynamoDbStore(TABLE, client=dynamodb), mixed_day())
    reader = DynamoDbDayReader(TABLE, client=dynamodb)
    # WHEN the digest is gathered without an account list
    digest = gather_digest(reader, DAY, known_accounts=[ACCOUNT])
    # THEN A is read (B has no windowed alert naming it, and listing accounts would be a Scan),
    # and B's one-off alert is still counted, under "account not read": never hidden
    assert digest.accounts == (ACCOUNT,)
    assert digest.alerts == 6
    assert (None, "sign-in-without-mfa", 1) in digest.alert_counts
    assert digest.account_label(None) == "account not read"


def test_windowed_alerts_name_their_account_for_the_digest(dynamodb: DynamoDBClient) -> None:
    # GIVEN a failure burst in account B only (a windowed alert scoped by B's account)
    burst = [
        console_login(user="zed", result="Failure", account=OTHER_ACCOUNT, at=MORNING, minutes=m)
        for m in range(4)
    ]
    load(DynamoDbStore(TABLE, client=dynamodb), burst)
    # WHEN the digest is gathered with no account known
    digest = gather_digest(DynamoDbDayReader(TABLE, client=dynamodb), DAY)
    # THEN B is found from the alert's scope and read: no Scan needed
    assert digest.accounts == (OTHER_ACCOUNT,)
    assert digest.alert_counts == [(OTHER_ACCOUNT, "repeated-failed-sign-ins", 1)]
    assert digest.failing_principals == [(OTHER_ACCOUNT, "zed", 4)]


def test_digest_round_trips_are_one_query_per_account_and_day(dynamodb: DynamoDBClient) -> None:
    # GIVEN the mixed day on DynamoDB with one suppressed alert
    load(DynamoDbStore(TABLE, client=dynamodb), mixed_day())
    reader = DynamoDbDayReader(TABLE, client=dynamodb)
    # WHEN the digest of both accounts is gathered, without and then with a suppressed alert
    with count_calls(dynamodb) as calls:
        gather_digest(reader, DAY, accounts=[ACCOUNT, OTHER_ACCOUNT])
        plain = list(calls.operations)
        calls.reset()
        suppress_dynamodb(dynamodb, "root-sign-in", SUPPRESSION_ID)
        calls.reset()
        gather_digest(reader, DAY, accounts=[ACCOUNT, OTHER_ACCOUNT])
        suppressed = list(calls.operations)
    # THEN one Query of the day's alerts, one Query per account and day; the suppression ids
    # (not in the index) cost one BatchGetItem, only on a day that has suppressed alerts
    assert plain == ["Query", "Query", "Query"]
    assert suppressed == ["Query", "BatchGetItem", "Query", "Query"]


def test_claims_reader_leaves_the_digest_claim_out(loaded_day: DayReader) -> None:
    # GIVEN the day's digest claim stored beside the alerts (as the scheduled digest does)
    before = gather_digest(loaded_day, DAY, known_accounts=[ACCOUNT, OTHER_ACCOUNT])
    _claim_digest(loaded_day)
    # WHEN the day is read again
    after = gather_digest(loaded_day, DAY, known_accounts=[ACCOUNT, OTHER_ACCOUNT])
    # THEN the digest claim is not an alert: counts unchanged
    assert [r.rule_id for r in loaded_day.alerts(DAY)].count("digest") == 0
    assert after.alert_counts == before.alert_counts
    assert after.alerts == before.alerts == 6


def _claim_digest(reader: DayReader) -> None:
    from signin_monitor.digest.deliver import post_digest

    store: ActivityStore
    if isinstance(reader, SqliteDayReader):
        store = SqliteStore(reader.path)
    else:
        assert isinstance(reader, DynamoDbDayReader)
        store = DynamoDbStore(reader.table_name, client=reader._client)
    post_digest(store, CollectingNotifier(), {"text": "digest"}, DAY)
    store.close()


def test_day_boundaries_are_utc_seconds() -> None:
    from signin_monitor.digest.sources import day_bounds

    assert day_bounds(DAY) == ("2026-11-02T00:00:00Z", "2026-11-02T23:59:59Z")
    assert day_bounds(DAY + timedelta(days=1))[0] == "2026-11-03T00:00:00Z"


class ListingStore:
    """A store that lists its suppressions (h14-suppress's ``suppressions()``), no lookup."""

    def __init__(self) -> None:
        self.listed = 0

    def suppressions(self) -> list[Any]:
        self.listed += 1

        @dataclass(frozen=True)
        class Listed:
            id: str
            author: str
            reason: str

        return [Listed(id=SUPPRESSION_ID, author="ops-oncall", reason="planned break-glass drill")]


def test_a_store_that_lists_suppressions_is_read_once_and_only_when_needed(
    loaded_day: DayReader,
) -> None:
    from signin_monitor.digest.lookup import suppression_lookup

    # GIVEN a store that can list its suppressions but not look one up
    store = ListingStore()
    lookup = suppression_lookup(store)
    assert lookup is not None
    # WHEN the day (one suppressed alert) and an account without one are digested
    digest = gather_digest(
        loaded_day, DAY, known_accounts=[ACCOUNT, OTHER_ACCOUNT], suppressions=lookup
    )
    gather_digest(loaded_day, DAY, accounts=[OTHER_ACCOUNT], suppressions=suppression_lookup(store))
    # THEN whose and why come from the listing, read once, and not at all without a need
    [suppressed] = digest.suppressed
    assert (suppressed.author, suppressed.reason) == ("ops-oncall", "planned break-glass drill")
    assert store.listed == 1
    assert suppression_lookup(object()) is None
    assert suppression_lookup(SUPPRESSIONS) is SUPPRESSIONS


def test_the_audit_report_does_not_list_the_digest_claim(loaded_day: DayReader) -> None:
    from signin_monitor.report.sources import DynamoDbSource, Period, SqliteSource

    # GIVEN the day's digest claimed beside the day's alerts
    _claim_digest(loaded_day)
    period = Period(
        since=datetime(2026, 11, 2, tzinfo=UTC),
        until=datetime(2026, 11, 2, 23, 59, 59, tzinfo=UTC),
        accounts=(ACCOUNT, OTHER_ACCOUNT),
    )
    # WHEN the report reads the period's alerts
    if isinstance(loaded_day, SqliteDayReader):
        source: Any = SqliteSource(loaded_day.path, period)
    else:
        assert isinstance(loaded_day, DynamoDbDayReader)
        source = DynamoDbSource(loaded_day.table_name, period, client=loaded_day._client)
    rules = [alert.rule_id for alert in source.alerts()]
    source.close()
    # THEN the six alerts, not the digest
    assert len(rules) == 6
    assert "digest" not in rules


def test_a_routed_alerts_destination_claims_are_not_counted_again(
    loaded_day: DayReader,
) -> None:
    import dataclasses

    from signin_monitor.alerts import Alert, Severity

    # GIVEN the root sign-in alert also claimed for two destinations, as routing does
    # (scope "<the alert's claim scope>#to#<destination>", same rule and event)
    before = gather_digest(loaded_day, DAY, known_accounts=[ACCOUNT, OTHER_ACCOUNT])
    [root] = [r for r in loaded_day.alerts(DAY) if r.rule_id == "root-sign-in"]
    event = parse_record(console_login(identity_type="Root", at=MORNING, minutes=60))
    event = dataclasses.replace(event, event_id=root.event_id)
    store = _store_of(loaded_day)
    for destination in ("security", "paging"):
        claim = Alert(
            rule_id="root-sign-in",
            severity=Severity.CRITICAL,
            title="Root sign-in",
            event=event,
            scope=f"{root.scope}#to#{destination}",
        )
        assert store.claim_alert(claim).should_send
    store.close()
    # WHEN the day is read again  THEN the alert is counted once, by its own claim
    after = gather_digest(loaded_day, DAY, known_accounts=[ACCOUNT, OTHER_ACCOUNT])
    assert after.alert_counts == before.alert_counts
    assert after.alerts == 6


def _store_of(reader: DayReader) -> ActivityStore:
    if isinstance(reader, SqliteDayReader):
        return SqliteStore(reader.path)
    assert isinstance(reader, DynamoDbDayReader)
    return DynamoDbStore(reader.table_name, client=reader._client)
