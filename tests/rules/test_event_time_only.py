"""Every rule, on both stores, judges by event time only: the wall clock changes no alert.

Each scenario is replayed three times on a fresh store: with the real clock, with the clock
frozen years away from the events, and with the clock moving during the window (freezegun's
``tick=True``, plus a manual jump of more than a window between deliveries). The alerts,
their anchors and counts must be the same every time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from freezegun import freeze_time

from signin_monitor.app import CollectingNotifier, build_pipeline
from signin_monitor.config import ALL_RULE_IDS, Settings
from signin_monitor.events import parse_record
from signin_monitor.store import ActivityStore
from signin_monitor.store.dynamodb import DynamoDbStore
from signin_monitor.store.dynamodb_admin import create_table
from signin_monitor.store.sqlite import SqliteStore
from tests.factories import api_call, console_login
from tests.store.conftest import TABLE_NAME, FakeClock

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

DAY = 24 * 60


def _fail(minutes: float, **kwargs: Any) -> dict[str, Any]:
    return console_login(result="Failure", minutes=minutes, **kwargs)


def _iam(event_name: str, **kwargs: Any) -> dict[str, Any]:
    return api_call(event_name, event_source="iam.amazonaws.com", read_only=False, **kwargs)


def _password_recovery() -> dict[str, Any]:
    record = console_login(identity_type="Root", minutes=5)
    record["eventName"] = "PasswordRecoveryRequested"
    record["responseElements"] = {"PasswordRecoveryRequested": "Success"}
    return record


#: rule id -> records (in delivery order) that make it fire, windows and history included.
SCENARIOS: dict[str, list[dict[str, Any]]] = {
    "root-sign-in": [
        console_login(identity_type="Root"),
        *[_fail(m, identity_type="Root") for m in (1, 2, 70)],
    ],
    "sign-in-without-mfa": [console_login(mfa="No")],
    "repeated-failed-sign-ins": [
        _fail(m, user="eve") for m in (0, 10, 20, 30, 40, 100, 101, 102, 103)
    ],
    "sign-in-after-failures": [
        *[_fail(m, user="bob") for m in (0, 1, 2)],
        console_login(user="bob", minutes=5),
        _fail(3, user="bob"),  # late: completes the success's window
    ],
    "password-spray": [_fail(m, user=f"s{m}", source_ip="192.0.2.50") for m in range(8)],
    "mfa-challenge-failed": [_fail(m, user="oscar", mfa="Yes") for m in (0, 30, 61)],
    "new-source-network": [
        console_login(user="peggy", source_ip="198.51.100.9", minutes=-30 * DAY),
        console_login(user="peggy", source_ip="198.51.100.10", minutes=-1 * DAY),
        console_login(user="peggy", source_ip="203.0.113.4"),
    ],
    # design §3.1: a root call per account per window, and the one-off credential changes
    "root-activity": [api_call(identity_type="Root", minutes=m) for m in (0, 10, 70, 65)],
    "root-access-key-created": [_iam("CreateAccessKey", identity_type="Root")],
    "mfa-device-removed": [
        _iam("DeactivateMFADevice", identity_type="IAMUser", request_parameters={"userName": "bob"})
    ],
    "login-profile-changed": [
        _iam("CreateLoginProfile", identity_type="IAMUser", request_parameters={"userName": "bob"})
    ],
    "trail-tampering": [
        api_call(
            "StopLogging",
            event_source="cloudtrail.amazonaws.com",
            identity_type="IAMUser",
            read_only=False,
        )
    ],
    "root-password-recovery": [_password_recovery()],
}


def test_every_rule_has_a_scenario() -> None:
    assert set(SCENARIOS) == set(ALL_RULE_IDS)


StoreMaker = Callable[[], ActivityStore]


@pytest.fixture(params=["sqlite", "dynamodb"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreMaker]:
    """A fresh store per call; the claim lease runs on a fake clock the tests never move."""
    clock = FakeClock(0.0)
    made: list[ActivityStore] = []
    if request.param == "sqlite":

        def sqlite() -> ActivityStore:
            made.append(SqliteStore(tmp_path / f"{len(made)}.db", clock=clock))
            return made[-1]

        yield sqlite
    else:
        client: DynamoDBClient = request.getfixturevalue("dynamodb_client")

        def dynamodb() -> ActivityStore:
            name = f"{TABLE_NAME}-{len(made)}"  # claims are keyed by principal: a table each
            create_table(client, name)
            made.append(DynamoDbStore(name, client=client, clock=clock))
            return made[-1]

        yield dynamodb
    for store in made:
        store.close()


def _replay(store: ActivityStore, records: list[dict[str, Any]], jump: Any = None) -> list[Any]:
    pipeline = build_pipeline(Settings(), store=store, notifier=CollectingNotifier())
    raised = []
    for record in records:
        outcome = pipeline.process(parse_record(record))
        raised += [
            (d.alert.rule_id, d.alert.event.event_id, d.alert.failure_count, d.status.value)
            for d in outcome.deliveries
        ]
        if jump is not None:
            jump()
    return raised


@pytest.mark.parametrize("rule_id", sorted(SCENARIOS))
def test_the_wall_clock_changes_no_alert(make_store: StoreMaker, rule_id: str) -> None:
    records = SCENARIOS[rule_id]
    # GIVEN the alerts the scenario raises with the real clock
    expected = _replay(make_store(), records)
    assert rule_id in {rule for rule, *_ in expected}
    # WHEN the clock is frozen seven years after the events
    with freeze_time("2033-06-01T12:00:00Z"):
        frozen = _replay(make_store(), records)
    # AND when it runs during the window and jumps three hours between deliveries
    with freeze_time("2019-01-01T00:00:00Z", tick=True) as moving:
        ticking = _replay(make_store(), records, jump=lambda: moving.tick(timedelta(hours=3)))
    # THEN the same alerts, anchors and counts every time
    assert frozen == expected
    assert ticking == expected
