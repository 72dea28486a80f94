"""sign-in-after-failures: a password guess that worked, on both stores, in any arrival order."""

from __future__ import annotations

import itertools
from typing import Any

from signin_monitor.alerts import Severity
from signin_monitor.app import CollectingNotifier, build_pipeline
from signin_monitor.config import Settings
from signin_monitor.events import parse_record
from signin_monitor.slack import render
from signin_monitor.store import ActivityStore
from tests.factories import OTHER_ACCOUNT, console_login
from tests.rules.conftest import Deliver, only

RULE = "sign-in-after-failures"
HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"


def _failures(minutes: list[float], **kwargs: Any) -> list[dict[str, Any]]:
    return [console_login(result="Failure", minutes=m, **kwargs) for m in minutes]


def test_exactly_threshold_failures_then_a_success_raise_nothing(deliver: Deliver) -> None:
    # GIVEN three failures of alice (threshold 3) WHEN she signs in THEN no alert of this rule
    assert only(RULE, deliver([*_failures([0, 1, 2]), console_login(minutes=3)])) == []


def test_one_more_failure_than_the_threshold_then_a_success_is_critical(deliver: Deliver) -> None:
    # GIVEN four failures of alice, from two addresses, then her success
    failures = _failures([0, 1], source_ip="192.0.2.1") + _failures([2, 3])
    success = console_login(minutes=4)
    (alert,) = only(RULE, deliver([*failures, success]))
    # THEN one critical alert on the success, with the four failures as its evidence
    assert alert.severity is Severity.CRITICAL
    assert alert.event.event_id == success["eventID"]
    assert alert.failure_count == 4
    assert [f.event_id for f in alert.evidence] == [f["eventID"] for f in failures]
    # AND Slack says how many, from where, and links the success and the first failure
    payload = render(alert)
    section = next(b for b in payload["blocks"] if b["type"] == "section" and "text" in b)
    assert "*4 failed sign-ins*" in section["text"]["text"]
    assert "`192.0.2.1`" in section["text"]["text"]
    assert "`198.51.100.7`" in section["text"]["text"]
    buttons = payload["blocks"][-1]["elements"]
    assert [b["url"].rsplit("/", 1)[1] for b in buttons] == [
        success["eventID"],
        failures[0]["eventID"],
    ]


def test_a_failure_just_outside_the_window_does_not_count(deliver: Deliver) -> None:
    # GIVEN a failure 60 minutes before the success (outside (t - 60 min, t]) and three inside
    records = [*_failures([0, 30, 31, 32]), console_login(minutes=60)]
    assert only(RULE, deliver(records)) == []


def test_hidden_name_failures_from_the_success_address_count_on_their_own(
    deliver: Deliver,
) -> None:
    # GIVEN four hidden-name failures from 192.0.2.9, then bob signs in from there
    hidden = _failures([0, 1, 2, 3], user=HIDDEN, source_ip="192.0.2.9")
    alerts = deliver([*hidden, console_login(user="bob", source_ip="192.0.2.9", minutes=5)])
    (alert,) = only(RULE, alerts)
    assert alert.event.principal == "bob"
    assert alert.failure_count == 4
    # AND a success from another address is not their doing
    other = console_login(user="carol", source_ip="192.0.2.10", minutes=6)
    assert only(RULE, deliver([other])) == []


def test_the_two_counts_are_never_summed(deliver: Deliver) -> None:
    # GIVEN two failures of alice and two hidden-name failures from her address
    records = [
        *_failures([0, 1]),
        *_failures([2, 3], user=HIDDEN),
        console_login(minutes=4),
    ]
    assert only(RULE, deliver(records)) == []


def test_other_accounts_and_assumed_roles_do_not_fire(deliver: Deliver) -> None:
    records = [
        *_failures([0, 1, 2, 3]),
        console_login(account=OTHER_ACCOUNT, minutes=4),  # alice of another account
        *_failures([0, 1, 2, 3], user="sso", identity_type="AssumedRole"),
        console_login(user="sso", identity_type="AssumedRole", minutes=5),
    ]
    assert only(RULE, deliver(records)) == []


def test_root_after_failures_fires(deliver: Deliver) -> None:
    records = [
        *_failures([0, 1, 2, 3], identity_type="Root"),
        console_login(identity_type="Root", minutes=4),
    ]
    (alert,) = only(RULE, deliver(records))
    assert alert.event.principal == "root"


def test_a_duplicate_and_a_second_success_in_the_window_give_one_message(
    deliver: Deliver,
) -> None:
    success = console_login(minutes=4)
    records = [*_failures([0, 1, 2, 3]), success, success, console_login(minutes=10)]
    assert len(only(RULE, deliver(records))) == 1


def test_a_failure_delivered_after_the_success_completes_its_window(deliver: Deliver) -> None:
    # GIVEN three failures and the success delivered, the fourth failure still on its way
    failures = _failures([0, 1, 2, 3])
    success = console_login(minutes=4)
    assert only(RULE, deliver([*failures[:3], success])) == []
    # WHEN the late failure arrives
    (alert,) = only(RULE, deliver([failures[3]]))
    # THEN the alert is raised for the success it completes
    assert alert.event.event_id == success["eventID"]
    assert alert.failure_count == 4


def test_every_arrival_order_gives_one_alert_on_the_success(store: ActivityStore) -> None:
    for case, order in enumerate(itertools.permutations(range(5))):
        if case % 12:  # 10 of the 120 orders: enough to mix the success's place
            continue
        user = f"order-{case}"
        records = [*_failures([0, 1, 2, 3], user=user), console_login(user=user, minutes=4)]
        notifier = CollectingNotifier()
        pipeline = build_pipeline(Settings(), store=store, notifier=notifier)
        raised = []
        for index in order:
            outcome = pipeline.process(parse_record(records[index]))
            raised += [d.alert for d in outcome.deliveries if d.alert.rule_id == RULE]
        assert [a.event.event_id for a in raised] == [records[4]["eventID"]], order
