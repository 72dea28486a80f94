"""The StackSet template cloudformation/member-forwarding.yaml, tied to the code.

Contract: one forwarding rule on the default bus per pattern file of terraform/patterns/ (the same
files the monitor's own rules load), its EventPattern equal to the file; the target is the central
bus, a template parameter; the role may only put events on that bus; failures go to a dead-letter
queue that only those rules may write to. cfn-lint must report no error, and the template must
deploy (moto's CloudFormation) into the rule, target and role the contract describes.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML comes with moto; no stubs in .[dev]
from moto import mock_aws

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "cloudformation" / "member-forwarding.yaml"
PATTERNS = sorted((REPO / "terraform" / "patterns").glob("*.json"))
BUS_ARN = "arn:aws:events:us-east-1:111122223333:event-bus/signin-monitor"

#: Read-only API calls (a root user's Get*/List*/Describe*) reach EventBridge only with this state.
READ_ONLY_STATE = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
API_CALL = "AWS API Call via CloudTrail"


@cache
def template() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))
    return document


def resources(kind: str) -> dict[str, dict[str, Any]]:
    return {
        name: body["Properties"]
        for name, body in template()["Resources"].items()
        if body["Type"] == kind
    }


def rule_id(pattern_file: Path) -> str:
    """``signin_events.json`` -> ``SigninEventsRule``: the logical id of its forwarding rule."""
    return "".join(part.capitalize() for part in re.split(r"[_-]", pattern_file.stem)) + "Rule"


def test_template_uses_only_long_form_intrinsics() -> None:
    """yaml.safe_load refuses !Ref/!Sub tags: the template stays readable by any YAML parser."""
    assert template()["AWSTemplateFormatVersion"] == "2010-09-09"


def test_there_is_one_forwarding_rule_per_pattern_file() -> None:
    assert PATTERNS, "no pattern files"
    assert set(resources("AWS::Events::Rule")) == {rule_id(path) for path in PATTERNS}


@pytest.mark.parametrize("pattern_file", PATTERNS, ids=lambda p: p.name)
def test_each_rule_forwards_exactly_its_pattern_file(pattern_file: Path) -> None:
    rule = resources("AWS::Events::Rule")[rule_id(pattern_file)]
    assert rule["EventPattern"] == json.loads(pattern_file.read_text(encoding="utf-8"))
    assert rule["EventBusName"] == "default"


@pytest.mark.parametrize("pattern_file", PATTERNS, ids=lambda p: p.name)
def test_rule_state_lets_read_only_root_calls_through_when_a_pattern_needs_them(
    pattern_file: Path,
) -> None:
    # A pattern of API calls not limited to named (write) calls takes read-only calls too, and
    # EventBridge delivers no read-only management event to a rule in the plain ENABLED state.
    pattern = json.loads(pattern_file.read_text(encoding="utf-8"))
    takes_read_only_calls = API_CALL in pattern.get(
        "detail-type", []
    ) and "eventName" not in pattern.get("detail", {})
    state = resources("AWS::Events::Rule")[rule_id(pattern_file)]["State"]
    assert state == (READ_ONLY_STATE if takes_read_only_calls else "ENABLED")


@pytest.mark.parametrize("pattern_file", PATTERNS, ids=lambda p: p.name)
def test_each_rule_targets_the_central_bus_parameter_with_the_role_and_the_queue(
    pattern_file: Path,
) -> None:
    (target,) = resources("AWS::Events::Rule")[rule_id(pattern_file)]["Targets"]
    assert target["Arn"] == {"Ref": "CentralEventBusArn"}
    assert target["RoleArn"] == {"Fn::GetAtt": ["ForwarderRole", "Arn"]}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}}


def test_the_central_bus_is_a_parameter_checked_as_a_bus_arn() -> None:
    parameter = template()["Parameters"]["CentralEventBusArn"]
    assert parameter["Type"] == "String"
    assert re.match(parameter["AllowedPattern"], BUS_ARN)
    assert not re.match(parameter["AllowedPattern"], "arn:aws:sqs:us-east-1:111122223333:queue")
    assert "Default" not in parameter


def test_the_role_may_only_put_events_on_the_central_bus() -> None:
    role = resources("AWS::IAM::Role")["ForwarderRole"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    statements = [
        statement
        for policy in role["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
    ]
    assert statements == [
        {"Effect": "Allow", "Action": "events:PutEvents", "Resource": {"Ref": "CentralEventBusArn"}}
    ]
    assert "ManagedPolicyArns" not in role
    # IAM is global and a StackSet deploys one stack per region: the name carries the region.
    assert "${AWS::Region}" in role["RoleName"]["Fn::Sub"]


def test_the_dead_letter_queue_takes_messages_only_from_these_rules() -> None:
    queue = resources("AWS::SQS::Queue")["DeadLetterQueue"]
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["MessageRetentionPeriod"] == 1209600
    policy = resources("AWS::SQS::QueuePolicy")["DeadLetterQueuePolicy"]
    allow = next(s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Allow")
    assert allow["Principal"] == {"Service": "events.amazonaws.com"}
    assert allow["Action"] == "sqs:SendMessage"
    sources = allow["Condition"]["ArnEquals"]["aws:SourceArn"]
    assert sorted(source["Fn::GetAtt"][0] for source in sources) == sorted(
        rule_id(path) for path in PATTERNS
    )
    assert all(source["Fn::GetAtt"][1] == "Arn" for source in sources)


def _cfn_lint() -> list[str] | None:
    found = shutil.which("cfn-lint", path=str(Path(sys.executable).parent))
    return [found] if found else None


@pytest.mark.skipif(_cfn_lint() is None, reason="cfn-lint is not installed beside this Python")
def test_cfn_lint_reports_no_error() -> None:
    command = _cfn_lint()
    assert command is not None
    result = subprocess.run(
        [*command, "--format", "parseable", str(TEMPLATE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.filterwarnings("ignore:Tried to parse AWS")
def test_the_template_deploys_into_the_forwarding_path() -> None:
    """moto's CloudFormation (no QueuePolicy support) builds the rules, targets and role."""
    with mock_aws():
        region = "eu-west-1"
        cloudformation = boto3.client("cloudformation", region_name=region)
        cloudformation.create_stack(
            StackName="signin-monitor-forwarding",
            TemplateBody=TEMPLATE.read_text(encoding="utf-8"),
            Capabilities=["CAPABILITY_NAMED_IAM"],
            Parameters=[{"ParameterKey": "CentralEventBusArn", "ParameterValue": BUS_ARN}],
        )
        (stack,) = cloudformation.describe_stacks(StackName="signin-monitor-forwarding")["Stacks"]
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        events = boto3.client("events", region_name=region)
        rules = events.list_rules(EventBusName="default")["Rules"]
        assert sorted(
            json.dumps(json.loads(rule["EventPattern"]), sort_keys=True) for rule in rules
        ) == sorted(
            json.dumps(json.loads(path.read_text(encoding="utf-8")), sort_keys=True)
            for path in PATTERNS
        )
        for rule in rules:
            (target,) = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
            assert target["Arn"] == BUS_ARN
            assert target["RoleArn"].endswith(f":role/signin-monitor-org-forward-{region}")
            assert target["DeadLetterConfig"]["Arn"].endswith(":signin-monitor-org-forward-dlq")
