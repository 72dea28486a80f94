"""``root-password-recovery``: a root password reset was requested."""

from __future__ import annotations

from signin_monitor.events import parse_record
from signin_monitor.rules import RootPasswordRecovery
from signin_monitor.store.sqlite import SqliteStore
from tests.factories import console_login

RULE = RootPasswordRecovery()


def _recovery(**kwargs: object) -> dict[str, object]:
    return console_login(event_name="PasswordRecoveryRequested", **kwargs)  # type: ignore[arg-type]


def test_a_successful_root_password_recovery_request_alerts() -> None:
    alert = RULE.evaluate(parse_record(_recovery(identity_type="Root")), SqliteStore())
    assert alert is not None
    assert (alert.rule_id, alert.severity.value) == ("root-password-recovery", "high")


def test_a_failed_request_does_not_alert() -> None:
    record = _recovery(identity_type="Root", result="Failure")
    assert RULE.evaluate(parse_record(record), SqliteStore()) is None


def test_an_iam_user_request_does_not_alert() -> None:
    assert RULE.evaluate(parse_record(_recovery(identity_type="IAMUser")), SqliteStore()) is None
