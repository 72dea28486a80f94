"""root-sign-in: cases named as the rule reads."""

from __future__ import annotations

from datetime import timedelta

from signin_monitor.alerts import Severity
from signin_monitor.rules import RootSignIn
from signin_monitor.store.sqlite import SqliteStore
from tests.factories import OTHER_ACCOUNT, sign_in

RULE = RootSignIn(window=timedelta(minutes=60))


def test_root_success_alerts_critical_per_event() -> None:
    store = SqliteStore()
    event = sign_in(identity_type="Root", mfa="Yes")
    alert = RULE.evaluate(event, store)
    assert alert is not None
    assert alert.severity is Severity.CRITICAL
    assert alert.scope == event.event_id
    assert alert.window is None


def test_root_success_without_mfa_alerts_once_under_this_rule_only() -> None:
    event = sign_in(identity_type="Root", mfa="No")
    alert = RULE.evaluate(event, SqliteStore())
    assert alert is not None
    assert alert.title == "Root sign-in"


def test_root_failure_alerts_per_account_window() -> None:
    event = sign_in(identity_type="Root", result="Failure", mfa="No")
    alert = RULE.evaluate(event, SqliteStore())
    assert alert is not None
    assert alert.title == "Failed root sign-in"
    assert alert.scope == f"{event.account_id}#root-failure"
    assert alert.window == timedelta(minutes=60)


def test_root_failures_of_two_accounts_have_separate_scopes() -> None:
    first = RULE.evaluate(sign_in(identity_type="Root", result="Failure"), SqliteStore())
    second = RULE.evaluate(
        sign_in(identity_type="Root", result="Failure", account=OTHER_ACCOUNT), SqliteStore()
    )
    assert first is not None
    assert second is not None
    assert first.scope != second.scope


def test_iam_user_sign_in_does_not_fire() -> None:
    assert RULE.evaluate(sign_in(user="root"), SqliteStore()) is None


def test_root_non_console_login_event_does_not_fire() -> None:
    event = sign_in(identity_type="Root", event_name="CheckMfa")
    assert RULE.evaluate(event, SqliteStore()) is None
