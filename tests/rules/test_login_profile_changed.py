"""``login-profile-changed``: someone set a user's console password."""

from __future__ import annotations

import pytest

from signin_monitor.events import parse_record
from signin_monitor.rules import LoginProfileChanged
from signin_monitor.store.sqlite import SqliteStore
from tests.factories import api_call

RULE = LoginProfileChanged()


@pytest.mark.parametrize("name", ["CreateLoginProfile", "UpdateLoginProfile"])
def test_setting_a_console_password_alerts(name: str) -> None:
    record = api_call(
        name,
        event_source="iam.amazonaws.com",
        identity_type="IAMUser",
        user="admin",
        read_only=False,
        request_parameters={"userName": "bob", "passwordResetRequired": False},
    )
    event = parse_record(record)
    alert = RULE.evaluate(event, SqliteStore())
    assert alert is not None
    assert (alert.rule_id, alert.severity.value) == ("login-profile-changed", "high")
    assert (event.principal, event.request_user_name) == ("admin", "bob")


def test_a_failed_change_does_not_alert() -> None:
    record = api_call(
        "UpdateLoginProfile", event_source="iam.amazonaws.com", error_code="NoSuchEntity"
    )
    assert RULE.evaluate(parse_record(record), SqliteStore()) is None


def test_deleting_a_login_profile_does_not_alert() -> None:
    record = api_call("DeleteLoginProfile", event_source="iam.amazonaws.com", read_only=False)
    assert RULE.evaluate(parse_record(record), SqliteStore()) is None
