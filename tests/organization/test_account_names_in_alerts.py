"""An alert for a member account shows its name, escaped (the name is text someone chose).

Runs once slack.render takes ``account_name`` (the integration the lead merges from the h15
report: render(alert, *, account_name=None), the pipeline passing AccountNames.name(...)); until
then it is skipped with that reason.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

import pytest

from signin_monitor import slack
from signin_monitor.accounts import StaticAccountNames
from signin_monitor.alerts import Alert, Severity
from tests.factories import sign_in

pytestmark = pytest.mark.skipif(
    "account_name" not in inspect.signature(slack.render).parameters,
    reason="slack.render(alert, account_name=...) lands with the lead's integration of issue 15",
)

ACCOUNT = "444455556666"


def _alert() -> Alert:
    return Alert(
        rule_id="root-sign-in",
        severity=Severity.CRITICAL,
        title="Root user sign-in",
        event=sign_in(account=ACCOUNT, user=None, identity_type="Root"),
        scope=ACCOUNT,
    )


def _render(name: str | None, alert: Alert | None = None) -> dict[str, Any]:
    render: Any = slack.render
    payload: dict[str, Any] = render(alert or _alert(), account_name=name)
    return payload


def test_the_alert_shows_the_member_accounts_name_beside_its_id() -> None:
    names = StaticAccountNames({ACCOUNT: "prod-payments"})
    payload = _render(names.name(ACCOUNT))
    header = payload["blocks"][0]["text"]["text"]
    assert "prod-payments" in header
    assert ACCOUNT in header
    assert "prod-payments" in payload["text"]
    fields = payload["blocks"][2]["fields"]
    (account,) = [f["text"] for f in fields if f["text"].startswith("*Account*")]
    assert "prod-payments" in account
    assert ACCOUNT in account


def test_a_hostile_account_name_stays_inert() -> None:
    payload = json.dumps(_render("<!channel> *pay* <https://evil.invalid|here> `x`"))
    assert "<!channel>" not in payload
    assert "<https://evil.invalid" not in payload
    assert "&lt;!channel&gt;" in payload


def test_without_a_name_the_alert_is_unchanged() -> None:
    alert = _alert()
    assert _render(None, alert) == slack.render(alert)
