"""``trail-tampering``: the trail stopped, deleted or narrowed."""

from __future__ import annotations

import pytest

from signin_monitor.events import parse_record
from signin_monitor.rules import TrailTampering
from signin_monitor.store.sqlite import SqliteStore
from tests.factories import api_call

RULE = TrailTampering()


@pytest.mark.parametrize("name", ["StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors"])
def test_changing_the_trail_alerts(name: str) -> None:
    record = api_call(
        name, event_source="cloudtrail.amazonaws.com", identity_type="AssumedRole", read_only=False
    )
    alert = RULE.evaluate(parse_record(record), SqliteStore())
    assert alert is not None
    assert (alert.rule_id, alert.severity.value) == ("trail-tampering", "critical")


def test_a_refused_change_does_not_alert() -> None:
    record = api_call(
        "StopLogging", event_source="cloudtrail.amazonaws.com", error_code="AccessDenied"
    )
    assert RULE.evaluate(parse_record(record), SqliteStore()) is None


def test_starting_logging_does_not_alert() -> None:
    record = api_call("StartLogging", event_source="cloudtrail.amazonaws.com", read_only=False)
    assert RULE.evaluate(parse_record(record), SqliteStore()) is None
