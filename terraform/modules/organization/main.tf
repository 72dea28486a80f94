# signin-monitor organization enrolment: run in the management account, or in a delegated
# administrator for CloudFormation StackSets (call_as = "DELEGATED_ADMIN").
#
# A service-managed StackSet deploys cloudformation/member-forwarding.yaml to every account of the
# chosen organizational units in every region of var.regions: forwarding rules on the default bus
# (one per pattern file), a role that may put events on the central bus only, a dead-letter queue.
# Automatic deployment enrols accounts that join those OUs within minutes and removes the stacks
# of accounts that leave. A service-managed StackSet never deploys to the management account, so
# forward_from_this_account deploys the same template there as one stack per region.

data "aws_partition" "current" {}

locals {
  template_body = file(var.template_path != null ? var.template_path : "${path.module}/../../../cloudformation/member-forwarding.yaml")

  parameters = {
    CentralEventBusArn = var.central_event_bus_arn
    NamePrefix         = var.name_prefix
  }

  # Each stack creates a role named after its region (IAM is global).
  capabilities = ["CAPABILITY_NAMED_IAM"]

  regions = toset(var.regions)
}

resource "aws_cloudformation_stack_set" "this" {
  count = var.create_stack_set ? 1 : 0

  name             = var.stack_set_name
  description      = "signin-monitor: forward monitored sign-in events of every member account and region to ${var.central_event_bus_arn}."
  permission_model = "SERVICE_MANAGED"
  call_as          = var.call_as
  template_body    = local.template_body
  parameters       = local.parameters
  capabilities     = local.capabilities
  tags             = var.tags

  auto_deployment {
    enabled                          = true
    retain_stacks_on_account_removal = false
  }

  managed_execution {
    active = true
  }

  operation_preferences {
    region_concurrency_type      = "PARALLEL"
    max_concurrent_percentage    = var.max_concurrent_percentage
    failure_tolerance_percentage = var.failure_tolerance_percentage
  }

  lifecycle {
    # AWS sets administration_role_arn itself for SERVICE_MANAGED StackSets.
    ignore_changes = [administration_role_arn]
  }
}

# One instance resource per region: deployment_targets reaches every account of the OUs (and,
# with automatic deployment, every account that joins them later).
resource "aws_cloudformation_stack_set_instance" "this" {
  for_each = var.create_stack_set ? local.regions : toset([])

  stack_set_name            = aws_cloudformation_stack_set.this[0].name
  stack_set_instance_region = each.key
  call_as                   = var.call_as
  retain_stack              = false

  deployment_targets {
    organizational_unit_ids = var.organizational_unit_ids
    accounts                = length(var.excluded_account_ids) > 0 ? var.excluded_account_ids : null
    account_filter_type     = length(var.excluded_account_ids) > 0 ? "DIFFERENCE" : null
  }

  operation_preferences {
    region_concurrency_type      = "PARALLEL"
    max_concurrent_percentage    = var.max_concurrent_percentage
    failure_tolerance_percentage = var.failure_tolerance_percentage
  }
}

# The account this module runs in (the management account, which the StackSet does not reach):
# the same template, one stack per region.
resource "aws_cloudformation_stack" "this_account" {
  for_each = var.forward_from_this_account ? local.regions : toset([])

  region            = each.key
  name              = var.stack_set_name
  template_body     = local.template_body
  parameters        = local.parameters
  capabilities      = local.capabilities
  on_failure        = "DELETE"
  notification_arns = compact([lookup(var.stack_notification_sns_topic_arns, each.key, "")])
  tags              = var.tags
}

# Account names in alerts: a role in this account (management or delegated administrator for
# Organizations) that the monitor's function may assume to read the accounts' names
# (ACCOUNT_NAMES_ROLE_ARN). Read-only, two actions.
resource "aws_iam_role" "account_names" {
  count = var.create_account_names_role ? 1 : 0

  name               = "${var.name_prefix}-account-names"
  description        = "signin-monitor reads account names (ListAccounts, DescribeAccount) for its alerts."
  assume_role_policy = one(data.aws_iam_policy_document.account_names_trust[*].json)
  tags               = var.tags
}

data "aws_iam_policy_document" "account_names_trust" {
  count = var.create_account_names_role ? 1 : 0

  statement {
    sid     = "MonitorFunctionAssumes"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "AWS"
      identifiers = [var.account_names_reader_arn]
    }
  }
}

resource "aws_iam_role_policy" "account_names" {
  count = var.create_account_names_role ? 1 : 0

  name   = "read-account-names"
  role   = aws_iam_role.account_names[0].id
  policy = one(data.aws_iam_policy_document.account_names[*].json)
}

data "aws_iam_policy_document" "account_names" {
  count = var.create_account_names_role ? 1 : 0

  # ListAccounts takes no resource; DescribeAccount is limited to the organization's accounts.
  statement {
    sid       = "ListAccountNames"
    effect    = "Allow"
    actions   = ["organizations:ListAccounts"]
    resources = ["*"]
  }

  statement {
    sid       = "DescribeAccountOfTheOrganization"
    effect    = "Allow"
    actions   = ["organizations:DescribeAccount"]
    resources = ["arn:${data.aws_partition.current.partition}:organizations::*:account/o-*/*"]
  }
}
