"""mfa-challenge-failed: the password was right, the second factor was not."""

from __future__ import annotations

import pytest

from signin_monitor.alerts import Severity
from signin_monitor.config import Settings
from signin_monitor.events import parse_record
from signin_monitor.rules import MfaChallengeFailed
from signin_monitor.store.sqlite import SqliteStore
from tests.factories import console_login, sign_in
from tests.rules.conftest import Deliver, only

RULE = "mfa-challenge-failed"
WINDOW = Settings().failed_signin_window
HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"


def test_an_iam_user_failing_with_mfa_used_yes_is_high(deliver: Deliver) -> None:
    record = console_login(user="oscar", result="Failure", mfa="Yes")
    (alert,) = only(RULE, deliver([record]))
    assert alert.severity is Severity.HIGH
    assert alert.scope == "111122223333#oscar"


def test_root_failing_with_mfa_used_yes_fires(deliver: Deliver) -> None:
    record = console_login(identity_type="Root", result="Failure", mfa="Yes")
    assert len(only(RULE, deliver([record]))) == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"result": "Failure", "mfa": "No"},  # the password was wrong
        {"result": "Failure", "mfa": None},  # unknown is not yes
        {"result": "Failure", "mfa": "Yes", "user": HIDDEN},  # a hidden name
        {"result": "Failure", "mfa": "Yes", "identity_type": "AssumedRole"},
        {"result": "Success", "mfa": "Yes"},
        {"result": "Failure", "mfa": "Yes", "event_name": "CheckMfa"},
    ],
)
def test_other_records_do_not_fire(kwargs: dict[str, object]) -> None:
    event = parse_record(console_login(**kwargs))  # type: ignore[arg-type]
    assert MfaChallengeFailed(window=WINDOW).evaluate(event, SqliteStore()) is None


def test_repeated_challenges_in_the_window_in_any_order_are_one_message(deliver: Deliver) -> None:
    records = [console_login(result="Failure", mfa="Yes", minutes=m) for m in (30, 0, 59, 10)]
    records.append(records[0])  # a redelivery
    assert len(only(RULE, deliver(records))) == 1
    # AND a challenge failed a window after the first alert alerts again
    later = console_login(result="Failure", mfa="Yes", minutes=30 + 61)
    assert len(only(RULE, deliver([later]))) == 1


def test_the_rule_needs_no_history() -> None:
    class NoHistory:
        def __getattr__(self, name: str) -> object:
            raise AssertionError(f"mfa-challenge-failed asked the store {name}")

    event = sign_in(result="Failure", mfa="Yes")
    rule = MfaChallengeFailed(window=WINDOW)
    assert rule.evaluate(event, NoHistory()) is not None  # type: ignore[arg-type]
