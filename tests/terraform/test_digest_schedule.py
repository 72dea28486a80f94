"""Terraform of the daily digest: the Scheduler schedule, its role, its queue, tied to the code.

The schedule's input must be what ``handler.handler`` recognises (``digest.deliver``), its role
may invoke the function (and, as a schedule's dead-letter queue requires, send to that queue)
and nothing else, and the Scheduler retries into a dead-letter queue that has an alarm.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from signin_monitor.digest.deliver import is_digest_event, parse_digest_event
from tests.terraform.test_terraform_contract import (
    _condition_values,
    _data,
    _locals,
    _one,
    _resource,
    _statement,
    _statements,
    _variables,
)


def _schedule() -> dict:  # type: ignore[type-arg]
    return _resource("aws_scheduler_schedule", "digest")


def test_schedule_runs_on_the_cron_variable_exactly_on_time() -> None:
    schedule = _schedule()
    assert schedule["count"] == "${var.digest_enabled ? 1 : 0}"
    assert schedule["schedule_expression"] == "${var.digest_schedule}"
    assert schedule["schedule_expression_timezone"] == "${var.digest_schedule_timezone}"
    assert _one(schedule, "flexible_time_window") == {"mode": "OFF"}
    variables = _variables()
    assert variables["digest_schedule"]["default"] == "cron(0 7 * * ? *)"
    assert variables["digest_enabled"]["default"] is True
    assert variables["digest_schedule_timezone"]["default"] == "UTC"


def test_schedule_input_is_the_digest_event_the_handler_recognises() -> None:
    target = _one(_schedule(), "target")
    assert target["arn"] == "${aws_lambda_function.this.arn}"
    assert target["role_arn"] == "${aws_iam_role.digest_scheduler[0].arn}"
    text = str(target["input"])
    # jsonencode({...}) as hcl2 renders it: the keys and the Scheduler's context attribute
    assert '"signin-monitor" = "digest"' in text or "'signin-monitor': 'digest'" in text
    assert "<aws.scheduler.scheduled-time>" in text
    assert "var.digest_accounts" in text
    # what the Scheduler sends once it has filled in the scheduled time
    sent = json.loads(
        json.dumps(
            {
                "signin-monitor": "digest",
                "scheduled_time": "2026-12-01T07:00:00Z",
                "accounts": ["111122223333"],
            }
        )
    )
    assert is_digest_event(sent)
    request = parse_digest_event(sent, now=datetime(2026, 12, 2, 1, 0, tzinfo=UTC))
    assert request.day == date(2026, 11, 30)
    assert request.accounts == ("111122223333",)


def test_scheduler_retries_into_a_dead_letter_queue_with_an_alarm() -> None:
    target = _one(_schedule(), "target")
    retry = _one(target, "retry_policy")
    assert 0 < retry["maximum_retry_attempts"] <= 185
    assert 60 <= retry["maximum_event_age_in_seconds"] <= 86400
    assert _one(target, "dead_letter_config") == {"arn": "${aws_sqs_queue.digest_dlq[0].arn}"}
    queue = _resource("aws_sqs_queue", "digest_dlq")
    assert queue["sqs_managed_sse_enabled"] is True
    alarm = _resource("aws_cloudwatch_metric_alarm", "digest_dlq_messages")
    assert alarm["dimensions"] == {"QueueName": "${aws_sqs_queue.digest_dlq[0].name}"}
    assert alarm["alarm_actions"] == "${local.alarm_actions}"


def test_schedule_role_may_only_invoke_the_function_and_reach_its_queue() -> None:
    trust = _statement(
        _data("aws_iam_policy_document", "digest_scheduler_assume"), "SchedulerAssume"
    )
    assert trust["actions"] == ["sts:AssumeRole"]
    assert trust["principals"] == [{"type": "Service", "identifiers": ["scheduler.amazonaws.com"]}]
    assert _condition_values(trust, "aws:SourceAccount") == ["${local.account_id}"]
    assert _condition_values(trust, "aws:SourceArn") == ["${local.digest_schedule_arn}"]
    assert "schedule/default/${local.digest_schedule_name}" in _locals()["digest_schedule_arn"]
    policy = _data("aws_iam_policy_document", "digest_scheduler")
    granted = {(s["sid"], tuple(s["actions"]), tuple(s["resources"])) for s in _statements(policy)}
    assert granted == {
        ("InvokeFunction", ("lambda:InvokeFunction",), ("${aws_lambda_function.this.arn}",)),
        ("DeadLetterQueue", ("sqs:SendMessage",), ("${aws_sqs_queue.digest_dlq[0].arn}",)),
    }
    assert all(s["effect"] == "Allow" for s in _statements(policy))
