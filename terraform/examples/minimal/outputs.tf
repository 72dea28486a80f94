output "function_name" {
  description = "Name of the Lambda function."
  value       = module.signin_monitor.function_name
}

output "table_name" {
  description = "Name of the DynamoDB activity table (for signin-monitor history --table)."
  value       = module.signin_monitor.table_name
}

output "dlq_url" {
  description = "URL of the dead-letter queue."
  value       = module.signin_monitor.dlq_url
}
