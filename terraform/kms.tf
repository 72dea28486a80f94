# One customer managed key for everything at rest, unless the caller brings one (create_kms_key = false
# and kms_key_arn). `count` tests a bool rather than `kms_key_arn == null`: checkov cannot evaluate a
# null comparison and would silently skip the key's checks.
#
# Services that use the key on the caller's behalf through grants (DynamoDB, SSM, SQS, Lambda
# environment) are covered by the account-root statement: it delegates to IAM, and iam.tf grants the
# Lambda role KMS actions only through those services (kms:ViaService). Services that write with
# their own service principal (CloudTrail, CloudWatch Logs, EventBridge to the DLQ) get their own
# statements, each pinned to the one resource that may use the key.

resource "aws_kms_key" "this" {
  count = var.create_kms_key ? 1 : 0

  description             = "signin-monitor (${var.name_prefix}): trail, bucket, table, queue, parameter, logs"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms[0].json
  tags                    = var.tags
}

resource "aws_kms_alias" "this" {
  count = var.create_kms_key ? 1 : 0

  name          = "alias/${var.name_prefix}"
  target_key_id = aws_kms_key.this[0].key_id
}

data "aws_iam_policy_document" "kms" {
  count = var.create_kms_key ? 1 : 0

  # checkov:skip=CKV_AWS_109:Key policy: Resource "*" means this key only; the statement is AWS's default account-root delegation to IAM.
  # checkov:skip=CKV_AWS_111:Key policy: Resource "*" means this key only; the statement is AWS's default account-root delegation to IAM.
  # checkov:skip=CKV_AWS_356:Key policy: Resource "*" means this key only (a key policy cannot name other resources).

  # AWS's default key policy statement: without it the key can become unmanageable. It grants nothing
  # by itself; IAM policies in this account decide who may use the key.
  statement {
    sid       = "EnableIamPolicies"
    effect    = "Allow"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudTrailEncryptLogs"
    effect    = "Allow"
    actions   = ["kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }

    condition {
      test     = "StringLike"
      variable = "kms:EncryptionContext:aws:cloudtrail:arn"
      values   = ["arn:${local.partition}:cloudtrail:*:${local.account_id}:trail/*"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceArn"
      values   = [local.trail_arn]
    }
  }

  statement {
    sid       = "CloudTrailDescribeKey"
    effect    = "Allow"
    actions   = ["kms:DescribeKey"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceArn"
      values   = [local.trail_arn]
    }
  }

  statement {
    sid       = "CloudWatchLogsLambdaLogGroup"
    effect    = "Allow"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.home_region}.${local.dns_suffix}"]
    }

    condition {
      test     = "ArnEquals"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = [local.log_group_arn]
    }
  }

  # EventBridge writes events it could not deliver to the Lambda into the KMS-encrypted DLQ.
  statement {
    sid       = "EventBridgeDeadLetterQueue"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["*"]

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
}
