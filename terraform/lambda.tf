# The one Lambda: handler.handler (handler.py at the repository root), python3.13 on arm64, from the
# project's deterministic zip. boto3 comes from the runtime (not bundled): the zip stays ~3 MB and
# AWS keeps the SDK patched; the code uses only long-stable DynamoDB and SSM calls.

resource "aws_lambda_function" "this" {
  # checkov:skip=CKV_AWS_117:No VPC: the function calls only AWS public endpoints and Slack; a VPC would need a NAT gateway (or several interface endpoints) for no isolation gain.
  # checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile and a signed upload via S3; the zip is built reproducibly in CI and its hash is pinned by source_code_hash.
  function_name                  = local.function_name
  description                    = "Stores AWS console sign-in events and posts Slack alerts (signin-monitor)."
  role                           = aws_iam_role.lambda.arn
  handler                        = "handler.handler"
  runtime                        = "python3.13"
  architectures                  = ["arm64"]
  filename                       = local.lambda_zip_path
  source_code_hash               = filebase64sha256(local.lambda_zip_path)
  timeout                        = var.lambda_timeout
  memory_size                    = var.lambda_memory_size
  reserved_concurrent_executions = var.reserved_concurrency
  kms_key_arn                    = local.kms_key_arn

  # Exactly LAMBDA_VARIABLES of signin_monitor/config.py (tests/terraform checks). The webhook URL
  # itself is never a variable: the function reads it from SSM.
  environment {
    variables = {
      ACTIVITY_TABLE               = aws_dynamodb_table.this.name
      FAILED_SIGNIN_THRESHOLD      = tostring(var.failed_signin_threshold)
      FAILED_SIGNIN_WINDOW_MINUTES = tostring(var.failed_signin_window_minutes)
      RETENTION_DAYS               = tostring(var.retention_days)
      SLACK_WEBHOOK_PARAMETER      = aws_ssm_parameter.slack_webhook_url.name
      LOG_LEVEL                    = var.log_level
      ALERT_RULES                  = join(",", var.alert_rules)
      # The claim lease is the function timeout: a delivery cannot outlive it, and the lease ends
      # before Lambda's first retry (lambda_timeout is at most 55 s), so a retry is never suppressed.
      CLAIM_LEASE_SECONDS          = tostring(var.lambda_timeout)
      ROOT_ACTIVITY_WINDOW_MINUTES = tostring(var.root_activity_window_minutes)
      SPRAY_PRINCIPAL_THRESHOLD    = tostring(var.spray_principal_threshold)
      NEW_NETWORK_LOOKBACK_DAYS    = tostring(var.new_network_lookback_days)
      # Account names beside ids in alerts: from Organizations through the role, else the map.
      ACCOUNT_NAMES_ROLE_ARN = var.account_names_role_arn == null ? "" : var.account_names_role_arn
      ACCOUNT_NAMES_JSON     = length(var.account_names) == 0 ? "" : jsonencode(var.account_names)
      # The routing document's SecureString (var.routing); empty: every alert to the one webhook.
      ROUTING_PARAMETER = local.routing_enabled ? aws_ssm_parameter.routing[0].name : ""
    }
  }

  tracing_config {
    mode = "Active"
  }

  # Asynchronous invocations that still fail after the retries of the event invoke config land here,
  # as the original EventBridge event: the same shape EventBridge itself writes to this queue.
  dead_letter_config {
    target_arn = aws_sqs_queue.dlq.arn
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.lambda.name
  }

  tags = var.tags

  # The role must be able to write logs and reach the DLQ before the first invocation.
  depends_on = [aws_iam_role_policy.lambda]
}

resource "aws_lambda_function_event_invoke_config" "this" {
  function_name                = aws_lambda_function.this.function_name
  maximum_retry_attempts       = var.lambda_maximum_retry_attempts
  maximum_event_age_in_seconds = var.lambda_maximum_event_age_seconds
}

resource "aws_cloudwatch_log_group" "lambda" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms_key_arn
  tags              = var.tags
}

# One dead-letter queue for events EventBridge could not hand to the Lambda and for events the Lambda
# failed on after its retries. Messages are the original events: save them and `signin-monitor replay`.
resource "aws_sqs_queue" "dlq" {
  name                              = "${var.name_prefix}-dlq"
  message_retention_seconds         = 1209600
  kms_master_key_id                 = local.kms_key_arn
  kms_data_key_reuse_period_seconds = 300
  tags                              = var.tags
}

resource "aws_sqs_queue_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id
  policy    = data.aws_iam_policy_document.dlq.json
}

# Only the central bus's Lambda rule may send (the Lambda role sends through its own IAM policy).
data "aws_iam_policy_document" "dlq" {
  statement {
    sid       = "EventBridgeLambdaRuleDeadLetters"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.lambda.arn]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.dlq.arn]

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
