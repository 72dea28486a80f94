# Least privilege for the Lambda and for the forwarding rules.

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    sid     = "LambdaAssume"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "lambda" {
  name               = "${var.name_prefix}-lambda"
  description        = "Execution role of the ${local.function_name} Lambda."
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "lambda" {
  name   = "${var.name_prefix}-lambda"
  role   = aws_iam_role.lambda.id
  policy = data.aws_iam_policy_document.lambda.json
}

data "aws_iam_policy_document" "lambda" {
  # Exactly the DynamoDB calls the Lambda's code makes (tests/terraform collects them from
  # signin_monitor/ and compares; a windowed alert's claim is a TransactWriteItems of a Put and two
  # ConditionChecks, which IAM checks item by item): no Scan, no DeleteItem, no table administration. The table only,
  # no index/*: the audit indexes are read by `signin-monitor history` alone, with the operator's
  # own credentials.
  statement {
    sid       = "ActivityTable"
    effect    = "Allow"
    actions   = ["dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.this.arn]
  }

  # The daily digest (signin_monitor/digest): a day's alert claims (by-alert-day) and each account's
  # events of the day (by-account-day), one Query each; BatchGetItem above reads the suppression id
  # of a suppressed alert's claim, which by-alert-day does not project.
  statement {
    sid     = "DigestIndexes"
    effect  = "Allow"
    actions = ["dynamodb:Query"]
    resources = [
      "${aws_dynamodb_table.this.arn}/index/by-alert-day",
      "${aws_dynamodb_table.this.arn}/index/by-account-day",
    ]
  }

  # The correlation rules' three sparse indexes (design 3.2), named one by one: Query only.
  statement {
    sid     = "CorrelationIndexes"
    effect  = "Allow"
    actions = ["dynamodb:Query"]
    resources = [
      "${aws_dynamodb_table.this.arn}/index/by-failure-source",
      "${aws_dynamodb_table.this.arn}/index/by-success",
      "${aws_dynamodb_table.this.arn}/index/by-network",
    ]
  }

  statement {
    sid       = "SlackWebhookParameter"
    effect    = "Allow"
    actions   = ["ssm:GetParameter"]
    resources = [aws_ssm_parameter.slack_webhook_url.arn]
  }

  # With var.routing: the routing document and exactly the destinations' webhook parameters.
  dynamic "statement" {
    for_each = local.routing_enabled ? [1] : []
    content {
      sid       = "RoutingParameters"
      effect    = "Allow"
      actions   = ["ssm:GetParameter"]
      resources = concat(aws_ssm_parameter.routing[*].arn, [for parameter in aws_ssm_parameter.destination_webhook_url : parameter.arn], local.routing_given_arns)
    }
  }

  # GetParameter(WithDecryption) on the SecureString.
  statement {
    sid       = "KeyViaSsm"
    effect    = "Allow"
    actions   = ["kms:Decrypt"]
    resources = [local.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["ssm.${local.home_region}.${local.dns_suffix}"]
    }
  }

  # DynamoDB (table encrypted with the key) and SQS (the DLQ) use the key on the role's behalf. The
  # services hold grants for their background work; the caller still needs these through the service.
  statement {
    sid       = "KeyViaDynamoDbAndSqs"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [local.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["dynamodb.${local.home_region}.${local.dns_suffix}", "sqs.${local.home_region}.${local.dns_suffix}"]
    }
  }

  # The log group is created by Terraform, so no logs:CreateLogGroup.
  statement {
    sid       = "LogEvents"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.lambda.arn}:*"]
  }

  statement {
    sid       = "DeadLetterQueue"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
  }

  # X-Ray's PutTraceSegments and PutTelemetryRecords support no resource-level permissions: AWS
  # requires Resource "*" (the AWSXRayDaemonWriteAccess managed policy does the same).
  statement {
    sid       = "XRayTraces"
    effect    = "Allow"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}

# The forwarding rules in every region put events on the central bus with this role.
data "aws_iam_policy_document" "forwarder_assume" {
  statement {
    sid     = "EventBridgeForwardingRules"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    # The forwarding rules of this account, whatever their region, by name: one pattern instead of
    # one ARN per region keeps the trust policy far below IAM's 2,048-character limit however many
    # regions the account enables.
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:events:*:${local.account_id}:rule/${var.name_prefix}-forward"]
    }
  }
}

resource "aws_iam_role" "forwarder" {
  name               = "${var.name_prefix}-forwarder"
  description        = "Lets the ${var.name_prefix} forwarding rules put sign-in events on the central bus."
  assume_role_policy = data.aws_iam_policy_document.forwarder_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "forwarder" {
  name   = "${var.name_prefix}-put-central-bus"
  role   = aws_iam_role.forwarder.id
  policy = data.aws_iam_policy_document.forwarder.json
}

data "aws_iam_policy_document" "forwarder" {
  statement {
    sid       = "PutEventsOnCentralBus"
    effect    = "Allow"
    actions   = ["events:PutEvents"]
    resources = [aws_cloudwatch_event_bus.this.arn]
  }
}

# Account names in alerts (organization mode): the function may assume the read-only role that
# modules/organization creates in the management or delegated-admin account, and nothing else.
resource "aws_iam_role_policy" "account_names" {
  count = var.account_names_role_arn == null ? 0 : 1

  name   = "${var.name_prefix}-assume-account-names"
  role   = aws_iam_role.lambda.id
  policy = one(data.aws_iam_policy_document.account_names[*].json)
}

data "aws_iam_policy_document" "account_names" {
  count = var.account_names_role_arn == null ? 0 : 1

  statement {
    sid       = "AssumeAccountNamesRole"
    effect    = "Allow"
    actions   = ["sts:AssumeRole"]
    resources = [var.account_names_role_arn]
  }
}
