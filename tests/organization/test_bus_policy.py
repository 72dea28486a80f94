"""The central bus policy of organization mode, for principals in and out of the organization.

The policy is read from terraform/events.tf (the ``aws_iam_policy_document`` that
``aws_cloudwatch_event_bus_policy`` uses), rendered the way the AWS provider renders a policy
document, and evaluated by a small IAM evaluator for what the document uses: Allow/Deny, actions,
resources, principals ``*`` and the String/Arn/Bool condition operators, with IAM's rules for a
missing condition key (a positive operator is false, a negated one is true) and explicit Deny over
Allow. moto has no resource-policy evaluation with conditions, hence the evaluator here.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2
import pytest

REPO = Path(__file__).resolve().parents[2]
EVENTS_TF = REPO / "terraform" / "events.tf"
ORG_ID = "o-a1b2c3d4e5"
BUS_ARN = "arn:aws:events:us-east-1:111122223333:event-bus/signin-monitor"

_OPTIONS = hcl2.SerializationOptions(
    strip_string_quotes=True, explicit_blocks=False, with_comments=False
)


def _blocks(kind: str, type_name: str, name: str) -> dict[str, Any]:
    with EVENTS_TF.open(encoding="utf-8") as handle:
        document = hcl2.load(handle, serialization_options=_OPTIONS)
    for block in document.get(kind, []):
        if name in block.get(type_name, {}):
            body: dict[str, Any] = block[type_name][name]
            return body
    raise AssertionError(f"{kind} {type_name}.{name} not in events.tf")


def _substitute(value: str) -> str:
    return value.replace("${var.organization_id}", ORG_ID).replace(
        "${aws_cloudwatch_event_bus.this.arn}", BUS_ARN
    )


def rendered_policy() -> dict[str, Any]:
    """The bus policy as the provider renders the document (interpolations filled in)."""
    document = _blocks("data", "aws_iam_policy_document", "bus_organization")
    statements = []
    for statement in document["statement"]:
        rendered: dict[str, Any] = {
            "Sid": statement["sid"],
            "Effect": statement["effect"],
            "Action": [_substitute(action) for action in statement["actions"]],
            "Resource": [_substitute(resource) for resource in statement["resources"]],
        }
        principals: dict[str, list[str]] = {}
        for principal in statement.get("principals", []):
            principals.setdefault(principal["type"], []).extend(principal["identifiers"])
        rendered["Principal"] = principals
        conditions: dict[str, dict[str, list[str]]] = {}
        for condition in statement.get("condition", []):
            conditions.setdefault(condition["test"], {})[condition["variable"]] = [
                _substitute(value) for value in condition["values"]
            ]
        rendered["Condition"] = conditions
        statements.append(rendered)
    return {"Version": "2012-10-17", "Statement": statements}


@dataclass(frozen=True)
class Request:
    """One API call against the bus: who, what, on what, with which global condition keys."""

    principal_arn: str
    action: str = "events:PutEvents"
    resource: str = BUS_ARN
    context: dict[str, str] = field(default_factory=dict)


def _condition_holds(operator: str, key: str, values: list[str], request: Request) -> bool:
    present = key in request.context
    actual = request.context.get(key, "")
    if operator == "StringEquals":
        return present and actual in values
    if operator == "StringNotEquals":
        return not present or actual not in values
    if operator == "StringLike":
        return present and any(fnmatch.fnmatchcase(actual, value) for value in values)
    if operator == "ArnEquals":
        return present and actual in values
    if operator == "Bool":
        return present and actual.lower() in [value.lower() for value in values]
    raise AssertionError(f"the evaluator does not know the operator {operator!r}")


def _matches(statement: dict[str, Any], request: Request) -> bool:
    if not any(fnmatch.fnmatchcase(request.action, action) for action in statement["Action"]):
        return False
    if not any(fnmatch.fnmatchcase(request.resource, res) for res in statement["Resource"]):
        return False
    identifiers = statement["Principal"].get("AWS", [])
    if "*" not in identifiers and request.principal_arn not in identifiers:
        return False
    return all(
        _condition_holds(operator, key, values, request)
        for operator, keys in statement["Condition"].items()
        for key, values in keys.items()
    )


def evaluate(policy: dict[str, Any], request: Request) -> str:
    """``"Allow"``, ``"ExplicitDeny"`` or ``"ImplicitDeny"`` (resource policy alone)."""
    matched = [s["Effect"] for s in policy["Statement"] if _matches(s, request)]
    if "Deny" in matched:
        return "ExplicitDeny"
    return "Allow" if "Allow" in matched else "ImplicitDeny"


MEMBER_ROLE = "arn:aws:iam::444455556666:role/signin-monitor-org-forward-eu-west-1"
OUTSIDER_ROLE = "arn:aws:iam::999988887777:role/attacker"


def test_a_member_accounts_forwarder_may_put_events() -> None:
    request = Request(MEMBER_ROLE, context={"aws:PrincipalOrgID": ORG_ID})
    assert evaluate(rendered_policy(), request) == "Allow"


@pytest.mark.parametrize(
    "context",
    [{"aws:PrincipalOrgID": "o-zzzzzzzzzz"}, {}],
    ids=["another-organization", "no-organization"],
)
def test_a_principal_outside_the_organization_is_denied(context: dict[str, str]) -> None:
    assert evaluate(rendered_policy(), Request(OUTSIDER_ROLE, context=context)) == "ExplicitDeny"


def test_the_organization_may_only_put_events() -> None:
    member = {"aws:PrincipalOrgID": ORG_ID}
    for action in ("events:PutRule", "events:PutTargets", "events:DeleteRule"):
        assert evaluate(rendered_policy(), Request(MEMBER_ROLE, action, context=member)) == (
            "ImplicitDeny"
        )


def test_the_policy_covers_only_the_central_bus() -> None:
    other = "arn:aws:events:us-east-1:111122223333:event-bus/default"
    request = Request(MEMBER_ROLE, resource=other, context={"aws:PrincipalOrgID": ORG_ID})
    assert evaluate(rendered_policy(), request) == "ImplicitDeny"


def test_the_policy_is_attached_to_the_central_bus_only_in_organization_mode() -> None:
    policy = _blocks("resource", "aws_cloudwatch_event_bus_policy", "organization")
    assert policy["count"] == "${var.organization_id == null ? 0 : 1}"
    assert policy["event_bus_name"] == "${aws_cloudwatch_event_bus.this.name}"
    assert "data.aws_iam_policy_document.bus_organization" in policy["policy"]
    document = _blocks("data", "aws_iam_policy_document", "bus_organization")
    assert document["count"] == policy["count"]


def test_the_evaluator_tells_allow_from_deny() -> None:
    """The evaluator itself: a policy without the condition would admit the outsider."""
    policy = rendered_policy()
    opened = {
        "Version": policy["Version"],
        "Statement": [
            {**s, "Condition": {}} for s in policy["Statement"] if s["Effect"] == "Allow"
        ],
    }
    assert evaluate(opened, Request(OUTSIDER_ROLE)) == "Allow"
