# The daily digest (signin_monitor/digest): EventBridge Scheduler invokes the function once a day with
# {"signin-monitor": "digest", "scheduled_time": ..., "accounts": [...]}; the function posts the
# summary of the UTC day before the scheduled time, once (it claims digest#<day> like an alert, so a
# Scheduler retry or a duplicate invocation never posts twice). The Scheduler fills in
# <aws.scheduler.scheduled-time>, which stays the same on its retries: a retry after midnight still
# posts the same day.

locals {
  digest_schedule_name = "${var.name_prefix}-digest"
  digest_schedule_arn  = "arn:${local.partition}:scheduler:${local.home_region}:${local.account_id}:schedule/default/${local.digest_schedule_name}"
}

resource "aws_scheduler_schedule" "digest" {
  # checkov:skip=CKV_AWS_297:The schedule's input is a job name, a placeholder for the scheduled time and account ids (no secret); an AWS owned key encrypts it, and a customer managed key would need the Scheduler and the schedule's role in the key policy for no gain.
  count = var.digest_enabled ? 1 : 0

  name                         = local.digest_schedule_name
  description                  = "Posts the signin-monitor digest of the previous UTC day."
  schedule_expression          = var.digest_schedule
  schedule_expression_timezone = var.digest_schedule_timezone
  state                        = "ENABLED"

  # Exactly at the scheduled time: the digest says when it is due, not "within a window".
  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_lambda_function.this.arn
    role_arn = aws_iam_role.digest_scheduler[0].arn
    input = jsonencode({
      "signin-monitor" = "digest"
      scheduled_time   = "<aws.scheduler.scheduled-time>"
      accounts         = var.digest_accounts
    })

    # The Scheduler retries an invocation it could not make (throttling, a missing permission);
    # what the function itself fails on is retried by Lambda (event invoke config) and lands in the
    # function's dead-letter queue.
    retry_policy {
      maximum_event_age_in_seconds = 21600
      maximum_retry_attempts       = 10
    }

    dead_letter_config {
      arn = aws_sqs_queue.digest_dlq[0].arn
    }
  }
}

# Digest invocations the Scheduler could not make, with the error it received. SSE-SQS: the
# Scheduler sends with the schedule's role, which then needs no KMS permission.
resource "aws_sqs_queue" "digest_dlq" {
  count = var.digest_enabled ? 1 : 0

  name                      = "${var.name_prefix}-digest-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

resource "aws_sqs_queue_policy" "digest_dlq" {
  count = var.digest_enabled ? 1 : 0

  queue_url = aws_sqs_queue.digest_dlq[0].id
  policy    = one(data.aws_iam_policy_document.digest_dlq[*].json)
}

data "aws_iam_policy_document" "digest_dlq" {
  count = var.digest_enabled ? 1 : 0

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.digest_dlq[0].arn]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

# The schedule's own role: the Scheduler (this schedule only) may invoke the function and, as AWS
# requires of a schedule's dead-letter queue, send to that queue; nothing else.
data "aws_iam_policy_document" "digest_scheduler_assume" {
  count = var.digest_enabled ? 1 : 0

  statement {
    sid     = "SchedulerAssume"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [local.digest_schedule_arn]
    }
  }
}

resource "aws_iam_role" "digest_scheduler" {
  count = var.digest_enabled ? 1 : 0

  name               = "${var.name_prefix}-digest-scheduler"
  description        = "Lets the ${local.digest_schedule_name} schedule invoke the ${local.function_name} Lambda."
  assume_role_policy = one(data.aws_iam_policy_document.digest_scheduler_assume[*].json)
  tags               = var.tags
}

resource "aws_iam_role_policy" "digest_scheduler" {
  count = var.digest_enabled ? 1 : 0

  name   = "${var.name_prefix}-invoke-for-digest"
  role   = aws_iam_role.digest_scheduler[0].id
  policy = one(data.aws_iam_policy_document.digest_scheduler[*].json)
}

data "aws_iam_policy_document" "digest_scheduler" {
  count = var.digest_enabled ? 1 : 0

  statement {
    sid       = "InvokeFunction"
    effect    = "Allow"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.this.arn]
  }

  statement {
    sid       = "DeadLetterQueue"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.digest_dlq[0].arn]
  }
}

resource "aws_cloudwatch_metric_alarm" "digest_dlq_messages" {
  count = var.digest_enabled ? 1 : 0

  alarm_name          = "${var.name_prefix}-digest-dlq-messages"
  alarm_description   = "The daily digest could not be invoked: the Scheduler's error waits in ${aws_sqs_queue.digest_dlq[0].name}. Fix the cause, then run signin-monitor digest --table <table> --day <day>."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags

  dimensions = {
    QueueName = aws_sqs_queue.digest_dlq[0].name
  }
}
