"""Contract tests that tie the Terraform module under terraform/ to the code (no terraform binary).

Every .tf file is parsed with python-hcl2; the tests compare what Terraform provisions with what
the code expects: environment variable names, the handler path, the table schema, the IAM actions
against the boto3 calls the Lambda's code makes, validation bounds, and the EventBridge pattern.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import hcl2
import pytest
from moto.events.models import EventPattern

from signin_monitor import config, event_patterns
from signin_monitor.config import Settings
from signin_monitor.store import schema
from signin_monitor.store.schema import TABLE_SCHEMA

REPO = Path(__file__).resolve().parents[2]
MODULE = REPO / "terraform"
EXAMPLES = sorted(path for path in (MODULE / "examples").iterdir() if path.is_dir())
PATTERN_FILE = MODULE / "patterns" / "signin_events.json"
PATTERN_NAMES = event_patterns.PATTERN_NAMES
ALL_TF_FILES = sorted(MODULE.rglob("*.tf"))
SUBMODULES = sorted(path for path in (MODULE / "modules").iterdir() if path.is_dir())
SUBMODULE_SOURCES = tuple(f"../../modules/{path.name}" for path in SUBMODULES)

_OPTIONS = hcl2.SerializationOptions(
    strip_string_quotes=True, explicit_blocks=False, with_comments=False
)

Body = dict[str, Any]


@cache
def _parse(path: Path) -> Body:
    with path.open(encoding="utf-8") as handle:
        document: Body = hcl2.load(handle, serialization_options=_OPTIONS)
    return document


def _module_files(directory: Path = MODULE) -> list[Path]:
    return sorted(directory.glob("*.tf"))


def _labelled(directory: Path, kind: str) -> dict[str, Body]:
    """Blocks with one label (variable, output, module, provider) of a directory, by label."""
    found: dict[str, Body] = {}
    for path in _module_files(directory):
        for block in _parse(path).get(kind, []):
            for label, body in block.items():
                assert label not in found, f"{kind} {label!r} defined twice"
                found[label] = body
    return found


def _typed(directory: Path, kind: str) -> dict[str, dict[str, Body]]:
    """Blocks with a type and a name (resource, data), as {type: {name: body}}."""
    found: dict[str, dict[str, Body]] = {}
    for path in _module_files(directory):
        for block in _parse(path).get(kind, []):
            for type_name, named in block.items():
                for name, body in named.items():
                    found.setdefault(type_name, {})[name] = body
    return found


def _resource(type_name: str, name: str) -> Body:
    return _typed(MODULE, "resource")[type_name][name]


def _data(type_name: str, name: str) -> Body:
    return _typed(MODULE, "data")[type_name][name]


def _locals(directory: Path = MODULE) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for path in _module_files(directory):
        for block in _parse(path).get("locals", []):
            found.update(block)
    return found


def _variables(directory: Path = MODULE) -> dict[str, Body]:
    return _labelled(directory, "variable")


def _one(body: Body, block: str) -> Body:
    """The single nested block ``block`` of ``body`` (hcl2 gives nested blocks as lists)."""
    blocks = body[block]
    assert isinstance(blocks, list)
    assert len(blocks) == 1, f"expected one {block} block, found {len(blocks)}"
    nested: Body = blocks[0]
    return nested


def _statements(document: Body) -> list[Body]:
    statements: list[Body] = document.get("statement", [])
    return statements


def _statement(document: Body, sid: str) -> Body:
    matches = [s for s in _statements(document) if s.get("sid") == sid]
    assert len(matches) == 1, f"expected one statement {sid!r}"
    return matches[0]


def _condition_values(statement: Body, variable: str) -> list[str]:
    for condition in statement.get("condition", []):
        if condition["variable"] == variable:
            values: list[str] = condition["values"]
            return values
    raise AssertionError(f"statement {statement.get('sid')!r} has no condition on {variable}")


def _policy_documents() -> Iterator[tuple[str, Body]]:
    for directory in [MODULE, *EXAMPLES]:
        for name, body in _typed(directory, "data").get("aws_iam_policy_document", {}).items():
            yield f"{directory.relative_to(REPO)}:{name}", body


# --- files and versions -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ALL_TF_FILES, ids=lambda p: str(p.relative_to(MODULE)))
def test_every_tf_file_parses(path: Path) -> None:
    assert isinstance(_parse(path), dict)


def test_module_has_the_standard_layout() -> None:
    expected = {
        "versions.tf",
        "variables.tf",
        "outputs.tf",
        "main.tf",
        "cloudtrail.tf",
        "events.tf",
        "dynamodb.tf",
        "lambda.tf",
        "iam.tf",
        "kms.tf",
        "ssm.tf",
        "alarms.tf",
    }
    assert expected <= {path.name for path in _module_files()}
    assert (MODULE / "README.md").is_file()
    assert {path.name for path in EXAMPLES} >= {"minimal", "full"}
    for example in EXAMPLES:
        assert (example / "main.tf").is_file()
        assert (example / "README.md").is_file()


def test_versions_require_terraform_1_11_and_aws_provider_6() -> None:
    (terraform,) = _parse(MODULE / "versions.tf")["terraform"]
    assert terraform["required_version"] == ">= 1.11"
    (providers,) = terraform["required_providers"]
    assert providers["aws"]["source"] == "hashicorp/aws"
    match = re.fullmatch(r">=\s*(\d+)(\.\d+)*", providers["aws"]["version"])
    assert match is not None
    assert int(match.group(1)) >= 6


def test_module_configures_no_provider() -> None:
    assert _labelled(MODULE, "provider") == {}


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_examples_use_the_module_from_the_repository(example: Path) -> None:
    modules = _labelled(example, "module")
    assert modules, f"{example.name} calls no module"
    monitors = [body for body in modules.values() if body["source"] == "../.."]
    assert len(monitors) == 1, f"{example.name} must deploy the monitor module once"
    for body in monitors:
        assert body["slack_webhook_url"] == "${var.slack_webhook_url}"
    # Anything else is a submodule of this repository.
    for body in modules.values():
        assert body["source"] in ("../..", *SUBMODULE_SOURCES), body["source"]
    slack = _variables(example)["slack_webhook_url"]
    assert slack.get("sensitive") is True
    assert slack.get("ephemeral") is True


# --- variables ----------------------------------------------------------------------------------


@pytest.mark.parametrize("directory", [MODULE, *EXAMPLES], ids=lambda p: p.name)
def test_every_variable_has_a_description_and_a_type(directory: Path) -> None:
    for name, body in _variables(directory).items():
        assert str(body.get("description", "")).strip(), f"variable {name} has no description"
        assert "type" in body, f"variable {name} has no type"


def test_every_output_has_a_description() -> None:
    for name, body in _labelled(MODULE, "output").items():
        assert str(body.get("description", "")).strip(), f"output {name} has no description"


def test_readme_documents_every_input_and_output() -> None:
    readme = (MODULE / "README.md").read_text(encoding="utf-8")
    for section in ("## Usage", "## Inputs", "## Outputs"):
        assert section in readme
    inputs = readme.split("## Inputs", 1)[1].split("## Outputs", 1)[0]
    outputs = readme.split("## Outputs", 1)[1]
    for name in _variables():
        assert f"`{name}`" in inputs, f"README Inputs lacks {name}"
    for name in _labelled(MODULE, "output"):
        assert f"`{name}`" in outputs, f"README Outputs lacks {name}"


def _conditions(variable: str) -> str:
    validations = _variables()[variable].get("validation", [])
    assert validations, f"variable {variable} has no validation block"
    for validation in validations:
        assert variable in validation["error_message"], "error_message must name the variable"
    return " && ".join(str(validation["condition"]) for validation in validations)


@pytest.mark.parametrize(
    ("variable", "bounds"),
    [
        ("failed_signin_threshold", config.THRESHOLD_RANGE),
        ("failed_signin_window_minutes", config.WINDOW_MINUTES_RANGE),
        ("retention_days", config.RETENTION_DAYS_RANGE),
        ("root_activity_window_minutes", config.WINDOW_MINUTES_RANGE),
    ],
)
def test_numeric_validation_uses_the_bounds_of_config(
    variable: str, bounds: tuple[int, int]
) -> None:
    condition = _conditions(variable)
    low = re.findall(rf"var\.{variable}\s*>=\s*(\d+)", condition)
    high = re.findall(rf"var\.{variable}\s*<=\s*(\d+)", condition)
    assert (low, high) == ([str(bounds[0])], [str(bounds[1])])
    assert f"floor(var.{variable}) == var.{variable}" in condition, "must require a whole number"


def _contains_list(condition: str) -> list[str]:
    match = re.search(r"contains\(\[([^\]]*)\]", condition)
    assert match is not None, f"no contains([...]) in {condition!r}"
    return re.findall(r'"([^"]*)"', match.group(1))


def test_log_level_validation_accepts_exactly_the_levels_of_config() -> None:
    assert _contains_list(_conditions("log_level")) == list(config.LOG_LEVELS)


def test_alert_rules_validation_and_default_are_the_rule_ids_of_config() -> None:
    assert _contains_list(_conditions("alert_rules")) == list(config.ALL_RULE_IDS)
    assert _variables()["alert_rules"]["default"] == list(config.ALL_RULE_IDS)


def test_defaults_equal_the_settings_defaults() -> None:
    defaults = Settings()
    variables = _variables()
    assert variables["failed_signin_threshold"]["default"] == defaults.failed_signin_threshold
    assert variables["failed_signin_window_minutes"]["default"] == (
        defaults.failed_signin_window_minutes
    )
    assert variables["retention_days"]["default"] == defaults.retention_days
    assert variables["log_level"]["default"] == defaults.log_level
    assert variables["root_activity_window_minutes"]["default"] == (
        defaults.root_activity_window_minutes
    )


def test_default_regions_are_every_region_enabled_in_the_account() -> None:
    """No blind region: a regional sign-in endpoint records the event in a region its user picks."""
    assert _variables()["regions"]["default"] is None
    enabled = _data("aws_regions", "enabled")
    assert enabled.get("all_regions", False) is False
    (status,) = enabled["filter"]
    assert status == {"name": "opt-in-status", "values": ["opt-in-not-required", "opted-in"]}
    found = _locals()
    assert found["enabled_regions"] == "${toset(data.aws_regions.enabled.names)}"
    # null means every enabled region; an explicit list stays possible; the home region is added.
    assert found["source_regions"] == (
        "${toset(concat(var.regions == null ? tolist(local.enabled_regions) : var.regions,"
        " [local.home_region]))}"
    )


def test_regions_left_out_are_reported_and_disabled_ones_refused() -> None:
    assert _locals()["blind_regions"] == (
        "${setsubtract(local.enabled_regions, local.source_regions)}"
    )
    checks: dict[str, Body] = {}
    for block in _parse(MODULE / "main.tf").get("check", []):
        checks.update(block)
    (assertion,) = checks["every_enabled_region_forwards"]["assert"]
    assert assertion["condition"] == "${length(local.blind_regions) == 0}"
    assert "never alert" in assertion["error_message"]
    (lifecycle,) = _resource("aws_cloudwatch_event_rule", "forward")["lifecycle"]
    (precondition,) = lifecycle["precondition"]
    assert precondition["condition"] == "${contains(local.enabled_regions, each.key)}"
    assert "regions:" in precondition["error_message"]


def test_regions_validation_accepts_null() -> None:
    (validation,) = _variables()["regions"]["validation"]
    # A for expression over null fails; try() turns that into "null is fine".
    assert validation["condition"].endswith(", var.regions == null)}")
    assert validation["condition"].startswith("${try(alltrue([for region in var.regions :")


def test_module_readme_says_a_region_left_out_is_a_blind_spot() -> None:
    readme = " ".join((MODULE / "README.md").read_text(encoding="utf-8").split())
    assert "a region left out is a blind spot" in readme.lower()


def test_resource_names_satisfy_config() -> None:
    """ACTIVITY_TABLE and SLACK_WEBHOOK_PARAMETER, as Terraform names them, pass config.py."""
    table = str(_locals()["table_name"]).replace("${var.name_prefix}", "signin-monitor")
    parameter = str(_resource("aws_ssm_parameter", "slack_webhook_url")["name"]).replace(
        "${var.name_prefix}", "signin-monitor"
    )
    settings = Settings.from_env({"ACTIVITY_TABLE": table, "SLACK_WEBHOOK_PARAMETER": parameter})
    assert (settings.activity_table, settings.slack_webhook_parameter) == (table, parameter)


def test_lambda_package_defaults_to_the_build_output() -> None:
    assert _locals()["lambda_zip_path"] == (
        '${var.lambda_zip_path != null ? var.lambda_zip_path : "${path.module}/../dist/lambda.zip"}'
    )


# --- Slack webhook secret -----------------------------------------------------------------------


def test_slack_webhook_url_is_sensitive_and_ephemeral() -> None:
    variable = _variables()["slack_webhook_url"]
    assert variable["sensitive"] is True
    assert variable["ephemeral"] is True
    assert "default" not in variable
    assert _variables()["slack_webhook_url_version"]["type"] == "number"


def test_slack_webhook_url_is_written_only_as_a_write_only_value() -> None:
    parameter = _resource("aws_ssm_parameter", "slack_webhook_url")
    assert parameter["type"] == "SecureString"
    assert parameter["value_wo"] == "${var.slack_webhook_url}"
    assert parameter["value_wo_version"] == "${var.slack_webhook_url_version}"
    assert "value" not in parameter
    assert parameter["key_id"] == "${local.kms_key_arn}"
    # Outside its own declaration (and validation) in variables.tf, only ssm.tf may read the URL.
    uses = [
        path.name
        for path in _module_files()
        if path.name != "variables.tf"
        and re.search(r"var\.slack_webhook_url\b(?!_version)", path.read_text(encoding="utf-8"))
    ]
    assert uses == ["ssm.tf"], "the URL must flow only into the parameter's value_wo"


# --- CloudTrail ---------------------------------------------------------------------------------


def test_trail_is_multi_region_with_global_events_log_validation_and_kms() -> None:
    trail = _resource("aws_cloudtrail", "this")
    assert trail["is_multi_region_trail"] is True
    assert trail["include_global_service_events"] is True
    assert trail["enable_log_file_validation"] is True
    assert trail["kms_key_id"] == "${local.kms_key_arn}"
    assert trail["count"] == "${var.create_trail ? 1 : 0}"


def test_trail_bucket_is_private_versioned_encrypted_and_expiring() -> None:
    block = _resource("aws_s3_bucket_public_access_block", "trail")
    for flag in ("block_public_acls", "block_public_policy", "ignore_public_acls"):
        assert block[flag] is True
    assert block["restrict_public_buckets"] is True
    versioning = _one(_resource("aws_s3_bucket_versioning", "trail"), "versioning_configuration")
    assert versioning["status"] == "Enabled"
    rule = _one(_resource("aws_s3_bucket_server_side_encryption_configuration", "trail"), "rule")
    sse = _one(rule, "apply_server_side_encryption_by_default")
    assert (sse["sse_algorithm"], sse["kms_master_key_id"]) == ("aws:kms", "${local.kms_key_arn}")
    ownership = _one(_resource("aws_s3_bucket_ownership_controls", "trail"), "rule")
    assert ownership["object_ownership"] == "BucketOwnerEnforced"
    lifecycle = _one(_resource("aws_s3_bucket_lifecycle_configuration", "trail"), "rule")
    assert lifecycle["status"] == "Enabled"


def test_trail_bucket_policy_is_the_documented_one_pinned_to_the_trail() -> None:
    policy = _data("aws_iam_policy_document", "trail_bucket")
    trail_arn = _locals()["trail_arn"]
    assert "aws_cloudtrail" not in trail_arn, "computed as a string: no cycle through the trail"
    assert re.fullmatch(
        r"arn:\$\{local\.partition\}:cloudtrail:.*:trail/\$\{local\.trail_name\}", trail_arn
    )
    assert _resource("aws_cloudtrail", "this")["name"] == "${local.trail_name}"

    acl = _statement(policy, "AWSCloudTrailAclCheck")
    assert acl["actions"] == ["s3:GetBucketAcl"]
    assert _condition_values(acl, "aws:SourceArn") == ["${local.trail_arn}"]

    write = _statement(policy, "AWSCloudTrailWrite")
    assert write["actions"] == ["s3:PutObject"]
    assert _condition_values(write, "s3:x-amz-acl") == ["bucket-owner-full-control"]
    assert _condition_values(write, "aws:SourceArn") == ["${local.trail_arn}"]
    for statement in (acl, write):
        (principal,) = statement["principals"]
        assert principal == {"type": "Service", "identifiers": ["cloudtrail.amazonaws.com"]}

    tls = _statement(policy, "DenyInsecureTransport")
    assert tls["effect"] == "Deny"
    assert _condition_values(tls, "aws:SecureTransport") == ["false"]


# --- EventBridge pattern ------------------------------------------------------------------------

_ACCOUNT = "111122223333"


def _event(detail_type: str, detail: Body, *, source: str = "aws.signin") -> Body:
    return {
        "version": "0",
        "id": "6f5a1f0e-0000-4000-8000-000000000001",
        "detail-type": detail_type,
        "source": source,
        "account": _ACCOUNT,
        "time": "2024-05-01T12:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


def _signin_detail(event_name: str, identity: Body, **extra: Any) -> Body:
    return {
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": "2024-05-01T12:00:00Z",
        "eventSource": "signin.amazonaws.com",
        "eventName": event_name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.10",
        "userAgent": "Mozilla/5.0",
        "eventID": "0e5c0b7a-0000-4000-8000-000000000002",
        "eventType": "AwsConsoleSignIn",
        "recipientAccountId": _ACCOUNT,
        **extra,
    }


_IAM_USER = {
    "type": "IAMUser",
    "principalId": "AIDAEXAMPLE",
    "arn": f"arn:aws:iam::{_ACCOUNT}:user/alice",
    "accountId": _ACCOUNT,
    "userName": "alice",
}
_ROOT = {"type": "Root", "principalId": _ACCOUNT, "arn": f"arn:aws:iam::{_ACCOUNT}:root"}
_CONSOLE = "AWS Console Sign In via CloudTrail"

MATCHING_EVENTS = {
    "IAM user ConsoleLogin success without MFA": _event(
        _CONSOLE,
        _signin_detail(
            "ConsoleLogin",
            _IAM_USER,
            responseElements={"ConsoleLogin": "Success"},
            additionalEventData={"MFAUsed": "No", "LoginTo": "https://console.aws.amazon.com/"},
        ),
    ),
    "root ConsoleLogin failure": _event(
        _CONSOLE,
        _signin_detail(
            "ConsoleLogin",
            _ROOT,
            responseElements={"ConsoleLogin": "Failure"},
            errorMessage="Failed authentication",
            additionalEventData={"MFAUsed": "No"},
        ),
    ),
    "root ConsoleLogin success": _event(
        _CONSOLE,
        _signin_detail(
            "ConsoleLogin",
            _ROOT,
            responseElements={"ConsoleLogin": "Success"},
            additionalEventData={"MFAUsed": "Yes"},
        ),
    ),
    "CheckMfa of an IAM user": _event(
        _CONSOLE,
        _signin_detail("CheckMfa", _IAM_USER, responseElements={"CheckMfa": "Success"}),
    ),
    "Identity Center CredentialVerification": _event(
        "AWS Service Event via CloudTrail",
        _signin_detail("CredentialVerification", {"type": "Unknown"}),
    ),
}

OTHER_EVENTS = {
    "S3 API call": _event(
        "AWS API Call via CloudTrail",
        {"eventSource": "s3.amazonaws.com", "eventName": "PutObject"},
        source="aws.s3",
    ),
    "sign-in source with another detail-type": _event(
        "AWS API Call via CloudTrail",
        _signin_detail("ConsoleLogin", _IAM_USER, responseElements={"ConsoleLogin": "Success"}),
    ),
    "console detail-type from another event source": _event(
        _CONSOLE,
        {**_signin_detail("ConsoleLogin", _IAM_USER), "eventSource": "iam.amazonaws.com"},
    ),
    "sign-in event from a source other than aws.signin": _event(
        _CONSOLE,
        _signin_detail("ConsoleLogin", _IAM_USER, responseElements={"ConsoleLogin": "Success"}),
        source="aws.iam",
    ),
}


@cache
def _pattern() -> Any:
    return EventPattern.load(PATTERN_FILE.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", MATCHING_EVENTS)
def test_pattern_matches_sign_in_events(name: str) -> None:
    assert _pattern().matches_event(MATCHING_EVENTS[name]) is True


@pytest.mark.parametrize("name", OTHER_EVENTS)
def test_pattern_rejects_other_events(name: str) -> None:
    assert _pattern().matches_event(OTHER_EVENTS[name]) is False


def test_pattern_file_is_loaded_with_file_in_events_tf_by_every_rule() -> None:
    events_locals: dict[str, Any] = {}
    for block in _parse(MODULE / "events.tf").get("locals", []):
        events_locals.update(block)
    rules = _typed(MODULE, "resource")["aws_cloudwatch_event_rule"]
    assert set(rules) == {"forward", "lambda"}
    for name, rule in rules.items():
        reference = re.fullmatch(r"\$\{local\.(\w+)\}", rule["event_pattern"])
        assert reference is not None, f"rule {name} must use the pattern local"
        assert reference.group(1) == "monitored_event_pattern"
        expression = str(events_locals["monitored_event_pattern"])
        # Every pattern file, loaded with file() from the one patterns folder (design §3.1).
        assert "${path.module}/patterns/${name}" in expression
        assert "$or" in expression
        assert rule["state"] == "${local.monitored_rule_state}", (
            f"rule {name} must carry root calls"
        )
    assert events_locals["monitored_rule_state"] == "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
    assert events_locals["pattern_files"] == [f"{name}.json" for name in PATTERN_NAMES]
    assert json.loads(PATTERN_FILE.read_text(encoding="utf-8"))["source"] == ["aws.signin"]


# --- EventBridge routing ------------------------------------------------------------------------


def test_every_source_region_forwards_to_the_central_bus() -> None:
    rule = _resource("aws_cloudwatch_event_rule", "forward")
    target = _resource("aws_cloudwatch_event_target", "forward")
    for body in (rule, target):
        assert body["for_each"] == "${local.source_regions}"
        assert body["region"] == "${each.key}"
    assert "event_bus_name" not in rule, "forwarding rules sit on each region's default bus"
    assert target["arn"] == "${aws_cloudwatch_event_bus.this.arn}"
    assert target["role_arn"] == "${aws_iam_role.forwarder.arn}"


def test_every_forwarding_rule_has_a_dead_letter_queue_in_its_own_region() -> None:
    target = _resource("aws_cloudwatch_event_target", "forward")
    assert _one(target, "dead_letter_config")["arn"] == (
        "${aws_sqs_queue.forward_dlq[each.key].arn}"
    )
    assert target["depends_on"] == ["${aws_sqs_queue_policy.forward_dlq}"]
    queue = _resource("aws_sqs_queue", "forward_dlq")
    queue_policy = _resource("aws_sqs_queue_policy", "forward_dlq")
    document = _data("aws_iam_policy_document", "forward_dlq")
    for body in (queue, queue_policy, document):
        assert body["for_each"] == "${local.source_regions}"
    for body in (queue, queue_policy):
        assert body["region"] == "${each.key}"
    # The module's KMS key is in the home region: a regional queue cannot use it.
    assert queue["sqs_managed_sse_enabled"] is True
    assert "kms_master_key_id" not in queue
    assert queue["message_retention_seconds"] == 1209600
    assert queue_policy["queue_url"] == "${aws_sqs_queue.forward_dlq[each.key].id}"
    assert queue_policy["policy"] == "${data.aws_iam_policy_document.forward_dlq[each.key].json}"
    allows = [s for s in _statements(document) if s["effect"] == "Allow"]
    assert len(allows) == 1
    (allow,) = allows
    assert allow["actions"] == ["sqs:SendMessage"]
    assert allow["resources"] == ["${aws_sqs_queue.forward_dlq[each.key].arn}"]
    assert allow["principals"] == [{"type": "Service", "identifiers": ["events.amazonaws.com"]}]
    assert _condition_values(allow, "aws:SourceArn") == [
        "${aws_cloudwatch_event_rule.forward[each.key].arn}"
    ]
    tls = _statement(document, "DenyInsecureTransport")
    assert _condition_values(tls, "aws:SecureTransport") == ["false"]


def test_forwarder_role_may_only_put_events_on_the_central_bus() -> None:
    (statement,) = _statements(_data("aws_iam_policy_document", "forwarder"))
    assert statement["actions"] == ["events:PutEvents"]
    assert statement["resources"] == ["${aws_cloudwatch_event_bus.this.arn}"]
    trust = _statement(
        _data("aws_iam_policy_document", "forwarder_assume"), "EventBridgeForwardingRules"
    )
    assert _condition_values(trust, "aws:SourceAccount") == ["${local.account_id}"]
    # One pattern, not one ARN per region: the trust policy's size must not grow with the number of
    # enabled regions (IAM caps it at 2,048 characters); it still names only the forwarding rules.
    source = [c for c in trust["condition"] if c["variable"] == "aws:SourceArn"]
    assert source == [
        {
            "test": "ArnLike",
            "variable": "aws:SourceArn",
            "values": [
                "arn:${local.partition}:events:*:${local.account_id}:rule/${var.name_prefix}-forward"
            ],
        }
    ]
    assert _resource("aws_cloudwatch_event_rule", "forward")["name"] == (
        "${var.name_prefix}-forward"
    )


def test_central_rule_invokes_the_lambda_with_retries_and_a_dead_letter_queue() -> None:
    rule = _resource("aws_cloudwatch_event_rule", "lambda")
    assert rule["event_bus_name"] == "${aws_cloudwatch_event_bus.this.name}"
    target = _resource("aws_cloudwatch_event_target", "lambda")
    assert target["arn"] == "${aws_lambda_function.this.arn}"
    assert target["event_bus_name"] == "${aws_cloudwatch_event_bus.this.name}"
    retry = _one(target, "retry_policy")
    assert {"maximum_event_age_in_seconds", "maximum_retry_attempts"} <= set(retry)
    assert _one(target, "dead_letter_config")["arn"] == "${aws_sqs_queue.dlq.arn}"
    permission = _resource("aws_lambda_permission", "events")
    assert permission["principal"] == "events.amazonaws.com"
    assert permission["source_arn"] == "${aws_cloudwatch_event_rule.lambda.arn}"


def test_dead_letter_queue_is_encrypted_and_accepts_only_the_central_rule() -> None:
    queue = _resource("aws_sqs_queue", "dlq")
    assert queue["kms_master_key_id"] == "${local.kms_key_arn}"
    policy = _data("aws_iam_policy_document", "dlq")
    allows = [s for s in _statements(policy) if s["effect"] == "Allow"]
    assert len(allows) == 1
    assert allows[0]["actions"] == ["sqs:SendMessage"]
    assert _condition_values(allows[0], "aws:SourceArn") == [
        "${aws_cloudwatch_event_rule.lambda.arn}"
    ]


# --- Lambda -------------------------------------------------------------------------------------


def test_lambda_runtime_architecture_and_package() -> None:
    function = _resource("aws_lambda_function", "this")
    assert function["runtime"] == "python3.13"
    assert function["architectures"] == ["arm64"]
    assert function["filename"] == "${local.lambda_zip_path}"
    assert function["source_code_hash"] == "${filebase64sha256(local.lambda_zip_path)}"
    assert _one(function, "tracing_config")["mode"] == "Active"
    assert _one(function, "dead_letter_config")["target_arn"] == "${aws_sqs_queue.dlq.arn}"
    assert function["reserved_concurrent_executions"] == "${var.reserved_concurrency}"
    assert _variables()["reserved_concurrency"]["default"] is None
    assert _one(function, "logging_config")["log_group"] == (
        "${aws_cloudwatch_log_group.lambda.name}"
    )
    invoke = _resource("aws_lambda_function_event_invoke_config", "this")
    assert {"maximum_retry_attempts", "maximum_event_age_in_seconds"} <= set(invoke)


# The claim lease setting: Terraform sets it to the function timeout.
CLAIM_LEASE_SECONDS = "CLAIM_LEASE_SECONDS"


def test_claim_lease_is_the_function_timeout() -> None:
    variables = _one(_resource("aws_lambda_function", "this"), "environment")["variables"]
    assert variables[CLAIM_LEASE_SECONDS] == "${tostring(var.lambda_timeout)}"
    assert _resource("aws_lambda_function", "this")["timeout"] == "${var.lambda_timeout}"


def test_function_timeout_keeps_the_lease_below_the_first_retry() -> None:
    """Lambda's first asynchronous retry comes about a minute after a failure: 10-55 s."""
    condition = _conditions("lambda_timeout")
    assert re.findall(r"var\.lambda_timeout\s*>=\s*(\d+)", condition) == ["10"]
    assert re.findall(r"var\.lambda_timeout\s*<=\s*(\d+)", condition) == ["55"]
    assert "floor(var.lambda_timeout) == var.lambda_timeout" in condition
    variable = _variables()["lambda_timeout"]
    assert 10 <= variable["default"] <= 55
    assert "retry" in variable["description"]
    assert CLAIM_LEASE_SECONDS in variable["description"]


def test_claim_lease_is_a_lambda_variable_of_config() -> None:
    assert CLAIM_LEASE_SECONDS in config.LAMBDA_VARIABLES
    for seconds in ("10", "55"):  # every lambda_timeout Terraform accepts, config accepts
        Settings.from_env({CLAIM_LEASE_SECONDS: seconds})


def test_lambda_environment_is_exactly_the_lambda_variables_of_config() -> None:
    variables = _one(_resource("aws_lambda_function", "this"), "environment")["variables"]
    assert set(variables) == set(config.LAMBDA_VARIABLES)
    assert not set(variables) & set(config.LOCAL_ONLY_VARIABLES)
    # Each setting comes from the Terraform variable of the same name (design: one-to-one).
    for name in (
        "FAILED_SIGNIN_THRESHOLD",
        "FAILED_SIGNIN_WINDOW_MINUTES",
        "RETENTION_DAYS",
        "LOG_LEVEL",
        "ALERT_RULES",
        "ROOT_ACTIVITY_WINDOW_MINUTES",
    ):
        assert f"var.{name.lower()}" in variables[name]
    assert variables["SLACK_WEBHOOK_PARAMETER"] == "${aws_ssm_parameter.slack_webhook_url.name}"
    assert variables["ACTIVITY_TABLE"] == "${aws_dynamodb_table.this.name}"


def test_handler_path_points_at_a_handler_function() -> None:
    function = _resource("aws_lambda_function", "this")
    module_name, _, function_name = function["handler"].rpartition(".")
    assert (module_name, function_name) == ("handler", "handler")
    path = REPO / f"{module_name.replace('.', '/')}.py"
    if not path.exists():
        pytest.skip(f"{path.relative_to(REPO)} does not exist yet (another issue writes it)")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {
        node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    assigned = {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    assert function_name in names | assigned


def test_log_group_is_the_lambdas_with_retention_and_kms() -> None:
    group = _resource("aws_cloudwatch_log_group", "lambda")
    assert group["name"] == "${local.log_group_name}"
    assert _locals()["log_group_name"] == "/aws/lambda/${local.function_name}"
    assert _resource("aws_lambda_function", "this")["function_name"] == "${local.function_name}"
    assert group["retention_in_days"] == "${var.log_retention_days}"
    assert group["kms_key_id"] == "${local.kms_key_arn}"


def test_alarms_watch_lambda_errors_and_the_dead_letter_queue() -> None:
    alarms = _typed(MODULE, "resource")["aws_cloudwatch_metric_alarm"]
    metrics = {(alarm["namespace"], alarm["metric_name"]) for alarm in alarms.values()}
    assert {("AWS/Lambda", "Errors"), ("AWS/SQS", "ApproximateNumberOfMessagesVisible")} <= metrics
    for name, alarm in alarms.items():
        if "region" in alarm:
            continue  # a source region's alarm: its own region's topic (next test)
        assert alarm["alarm_actions"] == "${local.alarm_actions}", name
        assert alarm["ok_actions"] == "${local.alarm_actions}", name


def test_every_forwarding_dead_letter_queue_has_an_alarm_in_its_region() -> None:
    alarm = _resource("aws_cloudwatch_metric_alarm", "forward_dlq_messages")
    assert alarm["for_each"] == "${local.source_regions}"
    assert alarm["region"] == "${each.key}", "an alarm must live in its metric's region"
    assert (alarm["namespace"], alarm["metric_name"]) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
    )
    assert alarm["dimensions"] == {"QueueName": "${aws_sqs_queue.forward_dlq[each.key].name}"}
    assert (alarm["comparison_operator"], alarm["threshold"]) == ("GreaterThanThreshold", 0)
    assert alarm["treat_missing_data"] == "notBreaching"
    # CloudWatch notifies only an SNS topic of the alarm's own region.
    for key in ("alarm_actions", "ok_actions"):
        assert alarm[key] == "${local.forwarding_alarm_actions[each.key]}"
    assert _locals()["forwarding_alarm_actions"] == (
        "${{for region in local.source_regions : region => (region == local.home_region"
        " ? local.alarm_actions"
        ' : compact([lookup(var.forwarding_alarm_sns_topic_arns, region, "")]))}}'
    )
    (validation,) = _variables()["forwarding_alarm_sns_topic_arns"]["validation"]
    assert ":sns:${region}:" in validation["condition"], "each topic must be in its key's region"


# The EMF metrics the Lambda publishes (COMMON interface: namespace SigninMonitor, dimension
# FunctionName) that must never be non-zero.
_ALARMED_FUNCTION_METRICS = {"AlertsNotDelivered", "EventsDropped", "StoreErrors"}


def test_alarms_on_the_functions_own_metrics_of_loss() -> None:
    alarm = _resource("aws_cloudwatch_metric_alarm", "function_metric")
    assert alarm["for_each"] == "${local.function_metric_alarms}"
    assert set(_locals()["function_metric_alarms"]) == _ALARMED_FUNCTION_METRICS
    assert _locals()["function_metric_namespace"] == "SigninMonitor"
    assert alarm["namespace"] == "${local.function_metric_namespace}"
    assert alarm["metric_name"] == "${each.key}"
    assert alarm["dimensions"] == {"FunctionName": "${aws_lambda_function.this.function_name}"}
    assert (alarm["statistic"], alarm["period"], alarm["evaluation_periods"]) == ("Sum", 300, 1)
    assert (alarm["comparison_operator"], alarm["threshold"]) == (
        "GreaterThanOrEqualToThreshold",
        1,
    )
    assert alarm["treat_missing_data"] == "notBreaching"
    assert alarm["alarm_actions"] == "${local.alarm_actions}"
    names = [entry["name"] for entry in _locals()["function_metric_alarms"].values()]
    assert len(set(names)) == len(names)


def _string_constants(paths: list[Path]) -> set[str]:
    return {
        node.value
        for path in paths
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def test_the_alarmed_metric_names_are_the_ones_the_code_publishes() -> None:
    published = _string_constants(_lambda_sources())
    assert _ALARMED_FUNCTION_METRICS | {"SigninMonitor", "FunctionName"} <= published


# --- DynamoDB -----------------------------------------------------------------------------------


def test_table_matches_table_schema() -> None:
    table = _resource("aws_dynamodb_table", "this")
    assert (table["hash_key"], table["range_key"]) == (
        TABLE_SCHEMA["hash_key"],
        TABLE_SCHEMA["range_key"],
    )
    attributes = {attribute["name"]: attribute["type"] for attribute in table["attribute"]}
    assert len(attributes) == len(table["attribute"]), "attribute defined twice"
    assert attributes == TABLE_SCHEMA["attributes"]
    indexes = {
        index["name"]: (index["hash_key"], index["range_key"], index["projection_type"])
        for index in table["global_secondary_index"]
    }
    assert indexes == {
        index["name"]: (
            index["hash_key"],
            index["range_key"],
            "INCLUDE" if index["non_key_attributes"] else "KEYS_ONLY",
        )
        for index in TABLE_SCHEMA["indexes"]
    }
    # Each INCLUDE index names a local list that equals its schema list; KEYS_ONLY names none.
    found = _locals()
    schema_lists = {index["name"]: index["non_key_attributes"] for index in TABLE_SCHEMA["indexes"]}
    for index in table["global_secondary_index"]:
        reference = str(index.get("non_key_attributes", ""))
        if not schema_lists[index["name"]]:
            assert reference == "", index["name"]
            continue
        local_name = reference.removeprefix("${local.").removesuffix("}")
        assert found[local_name] == schema_lists[index["name"]], index["name"]
    assert "local_secondary_index" not in table
    ttl = _one(table, "ttl")
    assert (ttl["attribute_name"], ttl["enabled"]) == (TABLE_SCHEMA["ttl_attribute"], True)


def test_table_is_on_demand_recoverable_encrypted_and_protected() -> None:
    table = _resource("aws_dynamodb_table", "this")
    assert table["billing_mode"] == "PAY_PER_REQUEST"
    assert table["deletion_protection_enabled"] is True
    assert _one(table, "point_in_time_recovery")["enabled"] is True
    sse = _one(table, "server_side_encryption")
    assert (sse["enabled"], sse["kms_key_arn"]) == (True, "${local.kms_key_arn}")


# --- IAM ----------------------------------------------------------------------------------------
#
# The rule for collecting the AWS calls the Lambda makes: parse (ast) every .py file under
# signin_monitor/ plus handler.py, except the files the Lambda never runs: store/sqlite.py (its
# query()/execute() calls are SQLite's, not DynamoDB's), store/dynamodb_admin.py (create_table,
# update_time_to_live, describe_table: run by an operator with admin rights), the cli package and
# the coverage command (coverage.py, cli/coverage.py: run by an operator in the management or
# delegated-admin account). In a class, the methods only the command line calls
# (_CLI_ONLY_METHODS) and whatever only they reach through
# `self.` are left out too: `history` (the only reader of an index) and the `resend` protocol run
# with the operator's credentials, not the function role's. Every call X.<name>(...) whose <name> is
# a boto3 method of the service (client.meta.method_to_api_mapping, snake_case -> API name) counts
# as "<service>:<ApiName>"; so do X.get_paginator("<name>") and, for DynamoDB, batch_writer()
# (BatchWriteItem). A transaction has no IAM action of its own: transact_write_items counts as the
# actions of the operations it can hold ("Put" -> PutItem, "ConditionCheck" -> ConditionCheckItem,
# ...: the keys of dict displays and keyword arguments in the same code), transact_get_items as
# GetItem. A name both services define (put_resource_policy, delete_resource_policy) counts for
# both, so such a call fails the test until someone looks.

_NOT_IN_LAMBDA = {
    Path("signin_monitor/store/sqlite.py"),
    Path("signin_monitor/store/suppressions_sqlite.py"),  # SQLite's execute(), not DynamoDB's
    Path("signin_monitor/store/dynamodb_admin.py"),
    Path("signin_monitor/resend.py"),  # the `resend` command: never imported by the handler
    # signin-monitor coverage: run by an operator in the management or delegated-admin account.
    Path("signin_monitor/coverage.py"),
    # replay's fast reader (msgspec, a dependency of the command line only, not in the zip).
    Path("signin_monitor/cloudtrail_files.py"),
}
# Packages the Lambda never imports: the command line, and the audit report it runs.
_NOT_IN_LAMBDA_PACKAGES = (Path("signin_monitor/cli"), Path("signin_monitor/report"))

# Store methods only the command line calls
# (test_cli_only_methods_are_never_called_by_the_lambda holds it).
# Suppressions are added and removed by `signin-monitor suppress` only; the Lambda lists them.
# record_many is replay's bulk write (BatchGetItem + BatchWriteItem): the Lambda records one
# event per delivery.
_CLI_ONLY_METHODS = frozenset(
    {
        "history",
        "undelivered_alerts",
        "claim_resend",
        "finish_resend",
        "add_suppression",
        "remove_suppression",
        "record_many",
    }
)

_TRANSACTIONS = {
    "transact_write_items": {
        "Put": "PutItem",
        "Update": "UpdateItem",
        "Delete": "DeleteItem",
        "ConditionCheck": "ConditionCheckItem",
    },
    "transact_get_items": {"Get": "GetItem"},
}


def _lambda_sources() -> list[Path]:
    sources = [
        path
        for path in sorted((REPO / "signin_monitor").rglob("*.py"))
        if path.relative_to(REPO) not in _NOT_IN_LAMBDA
        and not any(path.relative_to(REPO).is_relative_to(p) for p in _NOT_IN_LAMBDA_PACKAGES)
    ]
    handler = REPO / "handler.py"
    return [*sources, handler] if handler.exists() else sources


def _self_references(function: ast.AST) -> set[str]:
    """Names used as ``self.<name>`` (calls and properties alike) inside ``function``."""
    return {
        node.attr
        for node in ast.walk(function)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
    }


def _lambda_code(path: Path) -> list[ast.AST]:
    """The parts of a module the Lambda can run: all of it but CLI-only methods and their own."""
    return _lambda_code_of(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))


def _lambda_code_of(tree: ast.Module) -> list[ast.AST]:
    kept: list[ast.AST] = []
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            kept.append(node)
            continue
        methods: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        for item in node.body:
            if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                methods[item.name] = item
            else:
                kept.append(item)  # class attributes, docstring
        # Entry points: public and dunder methods but the CLI-only ones, and (to err on the side of
        # counting) any private method no method of the class refers to.
        referred = {ref for method in methods.values() for ref in _self_references(method)}
        todo = [
            name
            for name in methods
            if name not in _CLI_ONLY_METHODS
            and (not name.startswith("_") or name.startswith("__") or name not in referred)
        ]
        reached: set[str] = set()
        while todo:
            name = todo.pop()
            if name not in reached:
                reached.add(name)
                todo.extend(ref for ref in _self_references(methods[name]) if ref in methods)
        kept.extend(methods[name] for name in sorted(reached))
    return kept


def _nodes(code: list[ast.AST]) -> Iterator[ast.AST]:
    for part in code:
        yield from ast.walk(part)


def _transaction_actions(code: list[ast.AST], operations: dict[str, str], where: Path) -> set[str]:
    keys = {
        node.value
        for display in _nodes(code)
        if isinstance(display, ast.Dict)
        for node in display.keys
        if isinstance(node, ast.Constant)
    } | {node.arg for node in _nodes(code) if isinstance(node, ast.keyword) and node.arg}
    found = {f"dynamodb:{action}" for key, action in operations.items() if key in keys}
    assert found, f"{where.relative_to(REPO)}: a transaction whose operations cannot be told"
    return found


def _called_actions(service: str) -> set[str]:
    client = boto3.client(service, region_name="us-east-1")  # type: ignore[call-overload]
    mapping: dict[str, str] = client.meta.method_to_api_mapping
    actions: set[str] = set()
    for path in _lambda_sources():
        code = _lambda_code(path)
        for node in _nodes(code):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            name = node.func.attr
            if name == "get_paginator" and node.args:
                argument = node.args[0]
                if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                    name = argument.value
            if name == "batch_writer" and service == "dynamodb":
                name = "batch_write_item"
            if service == "dynamodb" and name in _TRANSACTIONS:
                actions |= _transaction_actions(code, _TRANSACTIONS[name], path)
            elif name in mapping:
                actions.add(f"{service}:{mapping[name]}")
    return actions


def _granted_actions(service: str) -> set[str]:
    policy = _data("aws_iam_policy_document", "lambda")
    return {
        action
        for statement in _statements(policy)
        if statement["effect"] == "Allow"
        for action in statement["actions"]
        if action.startswith(f"{service}:")
    }


@pytest.mark.parametrize(
    ("service", "source"),
    [("dynamodb", "signin_monitor/store/dynamodb.py"), ("ssm", "signin_monitor/secrets.py")],
)
def test_lambda_policy_grants_exactly_the_calls_the_code_makes(service: str, source: str) -> None:
    called = _called_actions(service)
    if not called and not (REPO / source).exists():
        pytest.skip(f"{source} does not exist yet: no {service} calls to compare with the policy")
    assert called, f"{source} exists but no {service} call was found: has the call style changed?"
    assert _granted_actions(service) == called


def test_lambda_policy_resources_are_the_table_the_parameter_and_the_key() -> None:
    policy = _data("aws_iam_policy_document", "lambda")
    table = _statement(policy, "ActivityTable")
    assert table["resources"] == ["${aws_dynamodb_table.this.arn}"]
    parameter = _statement(policy, "SlackWebhookParameter")
    assert parameter["actions"] == ["ssm:GetParameter"]
    assert parameter["resources"] == ["${aws_ssm_parameter.slack_webhook_url.arn}"]
    via_ssm = _statement(policy, "KeyViaSsm")
    assert via_ssm["actions"] == ["kms:Decrypt"]
    assert _condition_values(via_ssm, "kms:ViaService") == [
        "ssm.${local.home_region}.${local.dns_suffix}"
    ]
    for statement in _statements(policy):
        if any(action.startswith("kms:") for action in statement["actions"]):
            assert statement["resources"] == ["${local.kms_key_arn}"]
            assert _condition_values(statement, "kms:ViaService")
    wildcard = [s["sid"] for s in _statements(policy) if "*" in s["resources"]]
    assert wildcard == ["XRayTraces"], "only X-Ray needs Resource '*' (no resource-level support)"
    assert set(_statement(policy, "XRayTraces")["actions"]) == {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }


#: The indexes the Lambda's rules query (design 3.2); the audit indexes stay `history`'s alone.
_LAMBDA_INDEXES = {"BY_FAILURE_SOURCE", "BY_SUCCESS", "BY_NETWORK"}
#: The indexes the scheduled digest reads (store/day_reads.py): a day of alerts, an account's day.
_DIGEST_INDEXES = {"BY_ALERT_DAY", "BY_ACCOUNT_DAY"}


def test_function_role_reaches_the_table_and_only_the_indexes_its_rules_query() -> None:
    """The correlation rules query three sparse indexes: exactly those are granted, Query only.

    The Lambda's store code names an index only through the schema constants of those three
    (``history``, the one reader of the audit indexes, runs with the operator's credentials).
    """
    policy = _data("aws_iam_policy_document", "lambda")
    statements = _statements(policy)
    granted = {r for s in statements for r in s["resources"] if "index" in r}
    names = {getattr(schema, constant) for constant in _LAMBDA_INDEXES | _DIGEST_INDEXES}
    assert granted == {f"${{aws_dynamodb_table.this.arn}}/index/{name}" for name in names}
    for statement in statements:
        if any("index" in r for r in statement["resources"]):
            assert statement["actions"] == ["dynamodb:Query"]
            assert all("index" in r for r in statement["resources"])
    code = _lambda_code(REPO / "signin_monitor" / "store" / "dynamodb.py")
    named = {
        node.attr
        for node in _nodes(code)
        if isinstance(node, ast.Attribute) and node.attr.startswith("BY_")
    }
    assert named == _LAMBDA_INDEXES, "the Lambda's store code names another index: grant it"
    digest_code = _lambda_code(REPO / "signin_monitor" / "store" / "day_reads.py")
    digest_named = {
        node.attr
        for node in _nodes(digest_code)
        if isinstance(node, ast.Attribute) and node.attr.startswith("BY_")
    } | {
        node.id
        for node in _nodes(digest_code)
        if isinstance(node, ast.Name) and node.id.startswith("BY_")
    }
    assert digest_named == _DIGEST_INDEXES, "the digest's reads name another index: grant it"
    digest = _statement(policy, "DigestIndexes")
    assert digest["resources"] == [
        f"${{aws_dynamodb_table.this.arn}}/index/{getattr(schema, name)}"
        for name in ("BY_ALERT_DAY", "BY_ACCOUNT_DAY")
    ]


def test_the_index_check_sees_history_when_it_is_not_excluded() -> None:
    """The exclusion is what hides history's IndexName: the check can see one (not vacuous)."""
    tree = ast.parse((REPO / "signin_monitor" / "store" / "dynamodb.py").read_text("utf-8"))
    assert any(isinstance(n, ast.Constant) and n.value == "IndexName" for n in ast.walk(tree))


def test_transactions_count_as_the_actions_of_their_operations() -> None:
    """The collector itself, on a store written the way h1's transactions and resend will be."""
    tree = ast.parse(
        "class Store:\n"
        "    def claim_alert(self):\n"
        "        self._claim()\n"
        "    def _claim(self):\n"
        "        self._client.transact_write_items(\n"
        "            TransactItems=[{'Put': {}}, {'ConditionCheck': {}}]\n"
        "        )\n"
        "    def finish_resend(self):\n"
        "        self._forget()\n"
        "    def _forget(self):\n"
        "        self._client.delete_item()\n"
    )
    code = _lambda_code_of(tree)
    assert _transaction_actions(code, _TRANSACTIONS["transact_write_items"], REPO) == {
        "dynamodb:PutItem",
        "dynamodb:ConditionCheckItem",
    }
    calls = {
        node.func.attr
        for node in _nodes(code)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert "transact_write_items" in calls, "a method reached from a Lambda method counts"
    assert "delete_item" not in calls, "what only a CLI-only method reaches is not the Lambda's"


def test_cli_only_methods_are_never_called_by_the_lambda() -> None:
    """What makes the exclusion honest: outside the store classes no Lambda code calls them."""
    for path in _lambda_sources():
        if path.parent.name == "store":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        called = {
            node.func.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        }
        assert not called & _CLI_ONLY_METHODS, f"{path.relative_to(REPO)} calls a CLI-only method"


def _is_key_policy_root_delegation(statement: Body) -> bool:
    """AWS's default key policy statement: kms:* for the account root (delegation to IAM)."""
    principals = statement.get("principals", [])
    return statement.get("actions") == ["kms:*"] and principals == [
        {"type": "AWS", "identifiers": ["arn:${local.partition}:iam::${local.account_id}:root"]}
    ]


def test_no_policy_allows_wildcard_actions() -> None:
    for name, document in _policy_documents():
        for statement in _statements(document):
            actions = statement.get("actions", [])
            assert "*" not in actions, f"{name}: action '*'"
            if statement.get("effect", "Allow") == "Deny" or _is_key_policy_root_delegation(
                statement
            ):
                continue
            services = [action for action in actions if action.endswith(":*")]
            assert not services, f"{name} {statement.get('sid')}: whole-service actions {services}"
            assert "not_actions" not in statement, f"{name}: Allow with not_actions"


def test_only_the_kms_key_policy_uses_the_root_delegation() -> None:
    users = [
        name
        for name, document in _policy_documents()
        if any(_is_key_policy_root_delegation(s) for s in _statements(document))
    ]
    assert users == ["terraform:kms"]
    assert _resource("aws_kms_key", "this")["enable_key_rotation"] is True


# --- checkov skips ------------------------------------------------------------------------------

_SKIP = re.compile(r"checkov:skip=([A-Z0-9_]+)(?::(.*))?")


def test_every_checkov_skip_has_a_reason() -> None:
    skips = 0
    for path in ALL_TF_FILES:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = _SKIP.search(line)
            if match is None:
                continue
            skips += 1
            where = f"{path.relative_to(REPO)}:{number}"
            assert re.fullmatch(r"CKV2?_AWS_\d+", match.group(1)), f"{where}: bad check id"
            reason = (match.group(2) or "").strip()
            assert len(reason.split()) >= 5, f"{where}: skip without a reason a reviewer can judge"
    assert skips > 0
