output "stack_set_name" {
  description = "Name of the StackSet (signin-monitor coverage --stack-set); null when create_stack_set is false."
  value       = one(aws_cloudformation_stack_set.this[*].name)
}

output "stack_set_arn" {
  description = "ARN of the StackSet; null when create_stack_set is false."
  value       = one(aws_cloudformation_stack_set.this[*].arn)
}

output "stack_set_instance_regions" {
  description = "Regions with a StackSet instance over the organizational units."
  value       = sort(keys(aws_cloudformation_stack_set_instance.this))
}

output "this_account_stack_ids" {
  description = "Stacks of forward_from_this_account, by region."
  value       = { for region, stack in aws_cloudformation_stack.this_account : region => stack.id }
}

output "account_names_role_arn" {
  description = "Role the monitor assumes to read account names (ACCOUNT_NAMES_ROLE_ARN); null without create_account_names_role."
  value       = one(aws_iam_role.account_names[*].arn)
}
