"""``mfa-device-removed``: an MFA device deactivated or deleted, by anyone."""

from __future__ import annotations

import pytest

from signin_monitor.events import parse_record
from signin_monitor.rules import MfaDeviceRemoved
from signin_monitor.store.sqlite import SqliteStore
from tests.factories import api_call

RULE = MfaDeviceRemoved()


@pytest.mark.parametrize("name", ["DeactivateMFADevice", "DeleteVirtualMFADevice"])
@pytest.mark.parametrize("identity", ["IAMUser", "Root", "AssumedRole"])
def test_removing_an_mfa_device_alerts_whoever_does_it(name: str, identity: str) -> None:
    record = api_call(
        name,
        event_source="iam.amazonaws.com",
        identity_type=identity,
        read_only=False,
        request_parameters={"userName": "bob"},
    )
    alert = RULE.evaluate(parse_record(record), SqliteStore())
    assert alert is not None
    assert (alert.rule_id, alert.severity.value) == ("mfa-device-removed", "high")


def test_a_refused_removal_does_not_alert() -> None:
    record = api_call(
        "DeactivateMFADevice", event_source="iam.amazonaws.com", error_code="AccessDenied"
    )
    assert RULE.evaluate(parse_record(record), SqliteStore()) is None


def test_adding_an_mfa_device_does_not_alert() -> None:
    record = api_call("EnableMFADevice", event_source="iam.amazonaws.com", read_only=False)
    assert RULE.evaluate(parse_record(record), SqliteStore()) is None
