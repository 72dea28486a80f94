"""sign-in-without-mfa: IAM users only; federated, SSO and root never fire it."""

from __future__ import annotations

import pytest

from signin_monitor.alerts import Severity
from signin_monitor.rules import SignInWithoutMfa
from signin_monitor.store.sqlite import SqliteStore
from tests.factories import sign_in

RULE = SignInWithoutMfa()


def test_iam_user_success_without_mfa_fires_high() -> None:
    event = sign_in(user="bob", mfa="No")
    alert = RULE.evaluate(event, SqliteStore())
    assert alert is not None
    assert alert.severity is Severity.HIGH
    assert alert.scope == event.event_id


def test_iam_user_with_mfa_does_not_fire() -> None:
    assert RULE.evaluate(sign_in(mfa="Yes"), SqliteStore()) is None


def test_missing_mfa_field_is_unknown_not_no() -> None:
    assert RULE.evaluate(sign_in(mfa=None), SqliteStore()) is None


def test_failed_sign_in_without_mfa_does_not_fire() -> None:
    assert RULE.evaluate(sign_in(mfa="No", result="Failure"), SqliteStore()) is None


@pytest.mark.parametrize(
    ("identity_type", "arn"),
    [
        ("AssumedRole", "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0123/erin"),
        ("AssumedRole", "arn:aws:sts::111122223333:assumed-role/okta-admins/erin@example.com"),
        ("FederatedUser", "arn:aws:sts::111122223333:federated-user/erin"),
        ("SAMLUser", None),
        ("IdentityCenterUser", None),
    ],
)
def test_federated_and_sso_sign_ins_never_fire(identity_type: str, arn: str | None) -> None:
    event = sign_in(user="erin", identity_type=identity_type, mfa="No", arn=arn)
    assert RULE.evaluate(event, SqliteStore()) is None


def test_root_without_mfa_is_left_to_the_root_rule() -> None:
    assert RULE.evaluate(sign_in(identity_type="Root", mfa="No"), SqliteStore()) is None
