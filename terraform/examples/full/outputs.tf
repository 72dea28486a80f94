output "function_arn" {
  description = "ARN of the Lambda function."
  value       = module.signin_monitor.function_arn
}

output "table_name" {
  description = "Name of the DynamoDB activity table (for signin-monitor history --table)."
  value       = module.signin_monitor.table_name
}

output "event_bus_arn" {
  description = "ARN of the central event bus."
  value       = module.signin_monitor.event_bus_arn
}

output "forwarding_rule_arns" {
  description = "Forwarding rules by region."
  value       = module.signin_monitor.forwarding_rule_arns
}

output "trail_arn" {
  description = "ARN of the trail, or null when an existing trail is reused."
  value       = module.signin_monitor.trail_arn
}

output "dlq_url" {
  description = "URL of the dead-letter queue."
  value       = module.signin_monitor.dlq_url
}

output "slack_webhook_parameter_name" {
  description = "SSM parameter holding the webhook URL."
  value       = module.signin_monitor.slack_webhook_parameter_name
}

output "source_regions" {
  description = "Regions whose sign-ins are forwarded (every enabled region here)."
  value       = module.signin_monitor.source_regions
}
