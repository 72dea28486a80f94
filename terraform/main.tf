# signin-monitor: CloudTrail console sign-ins -> EventBridge -> one Lambda -> DynamoDB + Slack.
#
# The caller configures the AWS provider; its region is the home region, where the central event bus,
# the Lambda, the table, the trail bucket and the KMS key live. Topic files: cloudtrail.tf, events.tf,
# dynamodb.tf, lambda.tf, iam.tf, kms.tf, ssm.tf, alarms.tf.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

# Every region the account can use: enabled by default, or opted in. Read even when var.regions is
# given, to refuse a region that cannot hold a rule and to warn about the ones left out.
data "aws_regions" "enabled" {
  filter {
    name   = "opt-in-status"
    values = ["opt-in-not-required", "opted-in"]
  }
}

locals {
  account_id  = data.aws_caller_identity.current.account_id
  partition   = data.aws_partition.current.partition
  home_region = data.aws_region.current.region
  dns_suffix  = data.aws_partition.current.dns_suffix

  # CloudTrail events land on the default bus of the region where they are recorded, so the home
  # region needs a forwarding rule too. An IAM user may sign in through any regional endpoint,
  # which records the event in that region: by default every enabled region forwards.
  enabled_regions = toset(data.aws_regions.enabled.names)
  source_regions  = toset(concat(var.regions == null ? tolist(local.enabled_regions) : var.regions, [local.home_region]))
  blind_regions   = setsubtract(local.enabled_regions, local.source_regions)

  function_name  = var.name_prefix
  table_name     = "${var.name_prefix}-activity"
  trail_name     = var.name_prefix
  log_group_name = "/aws/lambda/${local.function_name}"

  # Computed as strings (not resource attributes) so that the bucket policy and the key policy do not
  # depend on the trail or the log group that depend on them.
  trail_arn     = "arn:${local.partition}:cloudtrail:${local.home_region}:${local.account_id}:trail/${local.trail_name}"
  log_group_arn = "arn:${local.partition}:logs:${local.home_region}:${local.account_id}:log-group:${local.log_group_name}"

  kms_key_arn     = var.create_kms_key ? one(aws_kms_key.this[*].arn) : var.kms_key_arn
  lambda_zip_path = var.lambda_zip_path != null ? var.lambda_zip_path : "${path.module}/../dist/lambda.zip"
  alarm_actions   = var.alarm_sns_topic_arn != null ? [var.alarm_sns_topic_arn] : []

  # A CloudWatch alarm notifies only an SNS topic in its own region.
  forwarding_alarm_actions = {
    for region in local.source_regions : region => (
      region == local.home_region ? local.alarm_actions : compact([lookup(var.forwarding_alarm_sns_topic_arns, region, "")])
    )
  }
}

# A region left out of var.regions is a blind spot: sign-ins recorded there never alert.
check "every_enabled_region_forwards" {
  assert {
    condition     = length(local.blind_regions) == 0
    error_message = "signin-monitor: sign-ins recorded in ${join(", ", sort(local.blind_regions))} are not forwarded (not in var.regions), so they never alert. Use regions = null to forward from every enabled region."
  }
}
