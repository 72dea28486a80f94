# Every region in local.source_regions: a rule on the default bus forwards sign-in events to the
# central bus in the home region. On the central bus one rule invokes the Lambda.

locals {
  # The same file the tests load: one pattern for the forwarding rules and the Lambda rule.
  signin_event_pattern = file("${path.module}/patterns/signin_events.json")
}

resource "aws_cloudwatch_event_bus" "this" {
  name = var.name_prefix
  tags = var.tags
}

resource "aws_cloudwatch_event_rule" "forward" {
  for_each = local.source_regions

  region        = each.key
  name          = "${var.name_prefix}-forward"
  description   = "Forward console sign-in events recorded in ${each.key} to the ${var.name_prefix} bus in ${local.home_region}."
  event_pattern = local.signin_event_pattern
  tags          = var.tags
}

resource "aws_cloudwatch_event_target" "forward" {
  for_each = local.source_regions

  region    = each.key
  rule      = aws_cloudwatch_event_rule.forward[each.key].name
  target_id = "central-bus"
  arn       = aws_cloudwatch_event_bus.this.arn
  role_arn  = aws_iam_role.forwarder.arn
}

resource "aws_cloudwatch_event_rule" "lambda" {
  name           = "${var.name_prefix}-to-lambda"
  description    = "Console sign-in events from every region to the ${local.function_name} Lambda."
  event_bus_name = aws_cloudwatch_event_bus.this.name
  event_pattern  = local.signin_event_pattern
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
