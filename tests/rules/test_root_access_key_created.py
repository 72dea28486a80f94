"""``root-access-key-created``: root made an access key for itself."""

from __future__ import annotations

from signin_monitor.events import parse_record
from signin_monitor.rules import RootAccessKeyCreated
from signin_monitor.store.sqlite import SqliteStore
from tests.factories import api_call

RULE = RootAccessKeyCreated()
IAM = "iam.amazonaws.com"


def _evaluate(**kwargs: object) -> bool:
    event = parse_record(api_call("CreateAccessKey", event_source=IAM, read_only=False, **kwargs))  # type: ignore[arg-type]
    return RULE.evaluate(event, SqliteStore()) is not None


def test_root_creating_its_own_access_key_alerts() -> None:
    assert _evaluate() is True


def test_root_creating_a_key_for_an_iam_user_does_not() -> None:
    assert _evaluate(request_parameters={"userName": "alice"}) is False


def test_a_failed_create_access_key_does_not() -> None:
    assert _evaluate(error_code="LimitExceeded") is False


def test_an_iam_user_creating_their_own_key_does_not() -> None:
    assert _evaluate(identity_type="IAMUser") is False


def test_other_calls_by_root_do_not() -> None:
    event = parse_record(api_call("ListAccessKeys", event_source=IAM))
    assert RULE.evaluate(event, SqliteStore()) is None
