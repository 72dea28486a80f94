# signin-monitor: CloudTrail console sign-ins -> EventBridge -> one Lambda -> DynamoDB + Slack.
#
# The caller configures the AWS provider; its region is the home region, where the central event bus,
# the Lambda, the table, the trail bucket and the KMS key live. Topic files: cloudtrail.tf, events.tf,
# dynamodb.tf, lambda.tf, iam.tf, kms.tf, ssm.tf, alarms.tf.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id  = data.aws_caller_identity.current.account_id
  partition   = data.aws_partition.current.partition
  home_region = data.aws_region.current.region
  dns_suffix  = data.aws_partition.current.dns_suffix

  # CloudTrail events land on the default bus of the region where they are recorded, so the home
  # region needs a forwarding rule too.
  source_regions = toset(concat(var.regions, [local.home_region]))

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
}
