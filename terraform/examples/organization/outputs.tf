output "event_bus_arn" {
  description = "ARN of the central bus every member account forwards to."
  value       = module.signin_monitor.event_bus_arn
}

output "table_name" {
  description = "Name of the DynamoDB activity table (signin-monitor history/coverage --table)."
  value       = module.signin_monitor.table_name
}

output "stack_set_name" {
  description = "Name of the StackSet (signin-monitor coverage --stack-set)."
  value       = module.organization.stack_set_name
}

output "stack_set_instance_regions" {
  description = "Regions every member account forwards from."
  value       = module.organization.stack_set_instance_regions
}

output "account_names_role_arn" {
  description = "Role the monitor's function assumes to read account names (ACCOUNT_NAMES_ROLE_ARN)."
  value       = module.organization.account_names_role_arn
}
