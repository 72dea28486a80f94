# Alarms on every way an event or an alert can be lost or late: the function failing, a dead-letter
# queue filling up (the central one, and one per source region), and what the function itself counts
# as not delivered, dropped or a final store error (its embedded-metric-format log lines).
# alarm_actions stays empty when var.alarm_sns_topic_arn is null.

locals {
  # Metrics the Lambda publishes in CloudWatch embedded metric format (one dimension set:
  # FunctionName). Each alarm fires on the first count in five minutes.
  function_metric_namespace = "SigninMonitor"
  function_metric_alarms = {
    AlertsNotDelivered = {
      name        = "alerts-not-delivered"
      description = "An alert was not delivered: Slack refused it for good (revoked hook, archived channel) or its last attempt failed. Fix the hook, then run signin-monitor resend --table <table>."
    }
    EventsDropped = {
      name        = "events-dropped"
      description = "A sign-in record was dropped as malformed or unstorable (it is not retried). The function's log says which record and why."
    }
    StoreErrors = {
      name        = "store-errors"
      description = "The activity table refused a write or read for good (a final, non-retryable error). The function's log names the operation and the error."
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "lambda_errors" {
  alarm_name          = "${var.name_prefix}-lambda-errors"
  alarm_description   = "The ${local.function_name} Lambda failed on at least one invocation (it will retry; see its logs)."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags

  dimensions = {
    FunctionName = aws_lambda_function.this.function_name
  }
}

resource "aws_cloudwatch_metric_alarm" "dlq_messages" {
  alarm_name          = "${var.name_prefix}-dlq-messages"
  alarm_description   = "Sign-in events are waiting in ${aws_sqs_queue.dlq.name}: they were never processed. Fix the cause, then replay them."
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
    QueueName = aws_sqs_queue.dlq.name
  }
}

# One per source region: sign-in events the forwarding rule could not put on the central bus (after
# EventBridge's 24 hours of retries, or at once for a permanent error). An alarm lives in its
# metric's region and can notify only an SNS topic there (var.forwarding_alarm_sns_topic_arns).
resource "aws_cloudwatch_metric_alarm" "forward_dlq_messages" {
  for_each = local.source_regions

  region              = each.key
  alarm_name          = "${var.name_prefix}-forward-dlq-messages"
  alarm_description   = "Sign-in events recorded in ${each.key} could not be forwarded to the ${var.name_prefix} bus in ${local.home_region}: they wait in ${aws_sqs_queue.forward_dlq[each.key].name} (${each.key}). Fix the cause (the queue's messages carry the error), then save the messages and replay them."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.forwarding_alarm_actions[each.key]
  ok_actions          = local.forwarding_alarm_actions[each.key]
  tags                = var.tags

  dimensions = {
    QueueName = aws_sqs_queue.forward_dlq[each.key].name
  }
}

# The function's own counts of what went wrong in a successful invocation (nothing to retry).
resource "aws_cloudwatch_metric_alarm" "function_metric" {
  for_each = local.function_metric_alarms

  alarm_name          = "${var.name_prefix}-${each.value.name}"
  alarm_description   = each.value.description
  namespace           = local.function_metric_namespace
  metric_name         = each.key
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags

  dimensions = {
    FunctionName = aws_lambda_function.this.function_name
  }
}
