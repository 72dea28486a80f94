"""password-spray: one address, many principals, once each; on both stores, in any order."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from signin_monitor.alerts import Severity
from signin_monitor.app import CollectingNotifier, build_pipeline
from signin_monitor.config import Settings
from signin_monitor.events import parse_record
from signin_monitor.rules import PasswordSpray
from signin_monitor.slack import SPRAY_LIST_LIMIT, render
from signin_monitor.store import ActivityStore
from signin_monitor.store.sqlite import SqliteStore
from tests.factories import OTHER_ACCOUNT, console_login
from tests.rules.conftest import Deliver, only

RULE = "password-spray"
HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"
SPRAYER = "192.0.2.50"


def _tries(users: list[str], *, start: float = 0, **kwargs: Any) -> list[dict[str, Any]]:
    kwargs.setdefault("source_ip", SPRAYER)
    return [
        console_login(user=user, result="Failure", minutes=start + index, **kwargs)
        for index, user in enumerate(users)
    ]


USERS = ["u1", "u2", "u3", "u4", "u5", "u6"]


def test_five_principals_are_not_a_spray_and_the_sixth_is(deliver: Deliver) -> None:
    records = _tries(USERS)
    assert only(RULE, deliver(records[:5])) == []
    (alert,) = only(RULE, deliver(records[5:]))
    assert alert.severity is Severity.HIGH
    assert alert.event.event_id == records[5]["eventID"]
    assert {f.principal for f in alert.evidence} == set(USERS)


def test_hidden_name_failures_from_the_address_are_one_principal(deliver: Deliver) -> None:
    # GIVEN four named users and six hidden-name failures: five principals
    records = _tries(["u1", "u2", "u3", "u4", HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN])
    assert only(RULE, deliver(records)) == []
    # WHEN a fifth named user is tried THEN six principals: a spray
    assert len(only(RULE, deliver(_tries(["u5"], start=10)))) == 1


def test_tries_from_other_addresses_or_accounts_or_outside_the_window_do_not_add_up(
    deliver: Deliver,
) -> None:
    records = [
        *_tries(USERS[:3]),
        *_tries(USERS[3:], source_ip="192.0.2.51"),
        *_tries(USERS[3:], account=OTHER_ACCOUNT),
        *_tries(USERS[3:], start=70),  # the first three left the window by then
    ]
    assert only(RULE, deliver(records)) == []


def test_a_long_spray_is_one_alert_per_window(deliver: Deliver) -> None:
    users = [f"user{n}" for n in range(40)]
    assert len(only(RULE, deliver(_tries(users)))) == 1  # 40 tries over 40 minutes


def test_any_arrival_order_gives_one_alert_and_duplicates_change_nothing(
    store: ActivityStore,
) -> None:
    rng = random.Random(12)
    for case in range(6):
        records = _tries([f"c{case}-{n}" for n in range(8)], source_ip=f"192.0.2.{100 + case}")
        records += records[:3]  # redeliveries
        rng.shuffle(records)
        pipeline = build_pipeline(Settings(), store=store, notifier=CollectingNotifier())
        raised = []
        for record in records:
            outcome = pipeline.process(parse_record(record))
            raised += [d.alert for d in outcome.deliveries if d.alert.rule_id == RULE]
        assert len(raised) == 1, case


def test_slack_lists_the_principals_tried_escaped_and_capped() -> None:
    # GIVEN fifteen principals tried, one of them named to mention the channel
    store = SqliteStore()
    events = [parse_record(r) for r in _tries(["<!channel>", *[f"user{n}" for n in range(14)]])]
    for event in events:
        store.record(event, expires_at=None)
    # WHEN the last try is judged (its window holds all fifteen)
    alert = PasswordSpray(principals=5, window=timedelta(minutes=60)).evaluate(events[-1], store)
    assert alert is not None
    text = next(b for b in render(alert)["blocks"] if b["type"] == "section" and "text" in b)
    shown = text["text"]["text"]
    # THEN the names are inert, and the list stops at the cap saying how many more
    assert "<!channel>" not in shown
    assert "&lt;!channel&gt;" in shown
    assert "*15 principals tried*" in shown
    assert f"and {15 - SPRAY_LIST_LIMIT} more" in shown
