output "table_name" {
  description = "Name of the DynamoDB activity table (ACTIVITY_TABLE; signin-monitor history --table)."
  value       = aws_dynamodb_table.this.name
}

output "table_arn" {
  description = "ARN of the DynamoDB activity table."
  value       = aws_dynamodb_table.this.arn
}

output "function_name" {
  description = "Name of the Lambda function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the Lambda function."
  value       = aws_lambda_function.this.arn
}

output "function_role_arn" {
  description = "ARN of the Lambda's execution role."
  value       = aws_iam_role.lambda.arn
}

output "log_group_name" {
  description = "CloudWatch log group of the Lambda."
  value       = aws_cloudwatch_log_group.lambda.name
}

output "event_bus_name" {
  description = "Name of the central event bus in the home region."
  value       = aws_cloudwatch_event_bus.this.name
}

output "event_bus_arn" {
  description = "ARN of the central event bus in the home region."
  value       = aws_cloudwatch_event_bus.this.arn
}

output "lambda_rule_arn" {
  description = "ARN of the central bus rule that invokes the Lambda."
  value       = aws_cloudwatch_event_rule.lambda.arn
}

output "forwarding_rule_arns" {
  description = "ARNs of the forwarding rules on the default bus, by region."
  value       = { for region, rule in aws_cloudwatch_event_rule.forward : region => rule.arn }
}

output "source_regions" {
  description = "Regions whose sign-in events are forwarded (var.regions, or every enabled region, plus the home region). Sign-ins recorded anywhere else never alert."
  value       = sort(local.source_regions)
}

output "forwarding_dlq_urls" {
  description = "URLs of the forwarding rules' dead-letter queues, by region (events that could not reach the central bus)."
  value       = { for region, queue in aws_sqs_queue.forward_dlq : region => queue.url }
}

output "trail_arn" {
  description = "ARN of the trail created by the module; null when create_trail is false."
  value       = one(aws_cloudtrail.this[*].arn)
}

output "trail_bucket_name" {
  description = "S3 bucket holding the trail's log files; null when create_trail is false."
  value       = one(aws_s3_bucket.trail[*].id)
}

output "dlq_url" {
  description = "URL of the dead-letter queue (events that could not be processed)."
  value       = aws_sqs_queue.dlq.url
}

output "dlq_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}

output "slack_webhook_parameter_name" {
  description = "Name of the SSM SecureString holding the Slack webhook URL (SLACK_WEBHOOK_PARAMETER)."
  value       = aws_ssm_parameter.slack_webhook_url.name
}

output "slack_webhook_parameter_arn" {
  description = "ARN of the SSM SecureString holding the Slack webhook URL."
  value       = aws_ssm_parameter.slack_webhook_url.arn
}

output "kms_key_arn" {
  description = "ARN of the KMS key in use (created by the module unless kms_key_arn was given)."
  value       = local.kms_key_arn
}

output "event_bus_policy" {
  description = "The central bus's resource policy (JSON) in organization mode; null without organization_id."
  value       = one(aws_cloudwatch_event_bus_policy.organization[*].policy)
}

output "digest_schedule_arn" {
  description = "ARN of the EventBridge Scheduler schedule that posts the daily digest (null when digest_enabled is false)."
  value       = one(aws_scheduler_schedule.digest[*].arn)
}

output "digest_dlq_url" {
  description = "URL of the queue holding digest invocations the Scheduler could not make (null when digest_enabled is false)."
  value       = one(aws_sqs_queue.digest_dlq[*].url)
}
