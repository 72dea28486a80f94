# Organization-wide signin-monitor from one deployment: the monitor in a security account, every
# member account of the chosen OUs forwarding to it from every region (StackSet), and the
# management account forwarding through stacks of the same template.

# The monitor account (security or delegated-admin account): its region is the home region.
provider "aws" {
  region  = var.region
  profile = var.monitor_profile
}

# The management account (or a delegated administrator for StackSets, with call_as below).
provider "aws" {
  alias   = "management"
  region  = var.region
  profile = var.management_profile
}

data "aws_organizations_organization" "this" {
  provider = aws.management
}

data "aws_caller_identity" "monitor" {}

# Every region the management account can use; member accounts of an organization usually share
# them (opt-in regions are opted in per account: see the README).
data "aws_regions" "enabled" {
  provider = aws.management

  filter {
    name   = "opt-in-status"
    values = ["opt-in-not-required", "opted-in"]
  }
}

module "signin_monitor" {
  source = "../.."

  name_prefix     = var.name_prefix
  organization_id = data.aws_organizations_organization.this.id

  # The organization trail records every account's management events.
  create_trail = false

  slack_webhook_url         = var.slack_webhook_url
  slack_webhook_url_version = var.slack_webhook_url_version

  alarm_sns_topic_arn = var.alarm_sns_topic_arn

  # The role modules/organization creates (create_account_names_role), named so that its ARN is
  # known at plan time. The function's ACCOUNT_NAMES_ROLE_ARN is this ARN.
  account_names_role_arn = "arn:aws:iam::${data.aws_organizations_organization.this.master_account_id}:role/${var.name_prefix}-account-names"
}

module "organization" {
  source = "../../modules/organization"

  providers = {
    aws = aws.management
  }

  central_event_bus_arn   = module.signin_monitor.event_bus_arn
  name_prefix             = var.name_prefix
  organizational_unit_ids = var.organizational_unit_ids != null ? var.organizational_unit_ids : [data.aws_organizations_organization.this.roots[0].id]
  regions                 = sort(data.aws_regions.enabled.names)
  call_as                 = var.call_as

  # The monitor module forwards from the monitor account itself.
  excluded_account_ids = [data.aws_caller_identity.monitor.account_id]

  # SELF: this is the management account, which no service-managed StackSet reaches.
  forward_from_this_account = var.call_as == "SELF"

  # Alerts name the account: the function may assume a read-only role here.
  create_account_names_role = true
  account_names_reader_arn  = module.signin_monitor.function_role_arn
}
