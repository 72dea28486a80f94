# Every region in local.source_regions: a rule on the default bus forwards the monitored events
# (console sign-ins, root API calls, IAM credential changes, trail changes) to the central bus in
# the home region, with a dead-letter queue in its own region (a rule's DLQ must be in
# the rule's region) and an alarm on that queue (alarms.tf). On the central bus one rule invokes the
# Lambda.

locals {
  # The same files the code loads (signin_monitor/patterns links to this folder, and replay selects
  # records with them): one JSON file per pattern of design §2 and §3.1, in the order of
  # PATTERN_NAMES in signin_monitor/event_patterns.py (a contract test checks).
  pattern_files = [
    "signin_events.json",
    "root_api_calls.json",
    "iam_credential_changes.json",
    "trail_changes.json",
  ]
  # One rule carries them all: an event matching any of them ($or) goes through. Each pattern stays
  # narrow, so ordinary API traffic never reaches the Lambda.
  monitored_event_pattern = jsonencode({
    "$or" = [for name in local.pattern_files : jsondecode(file("${path.module}/patterns/${name}"))]
  })
  # Read-only root calls are monitored too: EventBridge delivers read-only management events only to
  # rules in this state (the rules carrying the root pattern: the forwarding rules and the central one).
  monitored_rule_state = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
}

resource "aws_cloudwatch_event_bus" "this" {
  name = var.name_prefix
  tags = var.tags
}

resource "aws_cloudwatch_event_rule" "forward" {
  for_each = local.source_regions

  region        = each.key
  name          = "${var.name_prefix}-forward"
  description   = "Forward console sign-ins, root API calls, IAM credential and trail changes recorded in ${each.key} to the ${var.name_prefix} bus in ${local.home_region}."
  event_pattern = local.monitored_event_pattern
  state         = local.monitored_rule_state
  tags          = var.tags

  lifecycle {
    precondition {
      condition     = contains(local.enabled_regions, each.key)
      error_message = "regions: ${each.key} is not enabled in this account (opt-in regions must be opted in first), so it cannot hold a forwarding rule."
    }
  }
}

resource "aws_cloudwatch_event_target" "forward" {
  for_each = local.source_regions

  region    = each.key
  rule      = aws_cloudwatch_event_rule.forward[each.key].name
  target_id = "central-bus"
  arn       = aws_cloudwatch_event_bus.this.arn
  role_arn  = aws_iam_role.forwarder.arn

  # EventBridge retries a cross-region delivery for up to 24 hours (its default retry policy); what
  # still fails, or fails for good (a permission, a missing bus), is kept here as the original event.
  dead_letter_config {
    arn = aws_sqs_queue.forward_dlq[each.key].arn
  }

  depends_on = [aws_sqs_queue_policy.forward_dlq]
}

# One dead-letter queue per source region. A KMS key is regional and the module's key lives in the
# home region, so these queues use SQS-managed encryption (SSE-SQS): no key per region to pay for,
# and no key policy for EventBridge to need. Empty queues cost nothing.
resource "aws_sqs_queue" "forward_dlq" {
  for_each = local.source_regions

  region                    = each.key
  name                      = "${var.name_prefix}-forward-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

resource "aws_sqs_queue_policy" "forward_dlq" {
  for_each = local.source_regions

  region    = each.key
  queue_url = aws_sqs_queue.forward_dlq[each.key].id
  policy    = data.aws_iam_policy_document.forward_dlq[each.key].json
}

# Only the forwarding rule of the queue's own region may send.
data "aws_iam_policy_document" "forward_dlq" {
  for_each = local.source_regions

  statement {
    sid       = "EventBridgeForwardingRuleDeadLetters"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.forward_dlq[each.key].arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.forward[each.key].arn]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.forward_dlq[each.key].arn]

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

resource "aws_cloudwatch_event_rule" "lambda" {
  name           = "${var.name_prefix}-to-lambda"
  description    = "Console sign-ins, root API calls, IAM credential and trail changes from every region to the ${local.function_name} Lambda."
  event_bus_name = aws_cloudwatch_event_bus.this.name
  event_pattern  = local.monitored_event_pattern
  state          = local.monitored_rule_state
  tags           = var.tags
}

resource "aws_cloudwatch_event_target" "lambda" {
  rule           = aws_cloudwatch_event_rule.lambda.name
  event_bus_name = aws_cloudwatch_event_bus.this.name
  target_id      = "lambda"
  arn            = aws_lambda_function.this.arn

  # EventBridge retries only when it cannot hand the event to Lambda (throttling, service errors);
  # failures inside the function are retried by Lambda (aws_lambda_function_event_invoke_config).
  retry_policy {
    maximum_event_age_in_seconds = 86400
    maximum_retry_attempts       = 185
  }

  dead_letter_config {
    arn = aws_sqs_queue.dlq.arn
  }

  depends_on = [aws_sqs_queue_policy.dlq]
}

resource "aws_lambda_permission" "events" {
  statement_id  = "AllowCentralBusRule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.lambda.arn
}

# Organization mode (var.organization_id set): member accounts forward to this bus (the StackSet of
# modules/organization). The bus's resource policy lets principals of this organization put events
# and nobody else: the Deny also holds against any grant added later by other means.
resource "aws_cloudwatch_event_bus_policy" "organization" {
  count = var.organization_id == null ? 0 : 1

  event_bus_name = aws_cloudwatch_event_bus.this.name
  policy         = one(data.aws_iam_policy_document.bus_organization[*].json)
}

data "aws_iam_policy_document" "bus_organization" {
  count = var.organization_id == null ? 0 : 1

  statement {
    sid       = "OrganizationMembersPutEvents"
    effect    = "Allow"
    actions   = ["events:PutEvents"]
    resources = [aws_cloudwatch_event_bus.this.arn]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:PrincipalOrgID"
      values   = [var.organization_id]
    }
  }

  statement {
    sid       = "DenyPutEventsFromOutsideTheOrganization"
    effect    = "Deny"
    actions   = ["events:PutEvents"]
    resources = [aws_cloudwatch_event_bus.this.arn]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    condition {
      test     = "StringNotEquals"
      variable = "aws:PrincipalOrgID"
      values   = [var.organization_id]
    }
  }
}
