# The Slack webhook URL: a SecureString written as a write-only value (Terraform >= 1.11), so the URL
# is in neither the plan nor the state. Bump var.slack_webhook_url_version to write a new URL.

resource "aws_ssm_parameter" "slack_webhook_url" {
  name             = "/${var.name_prefix}/slack-webhook-url"
  description      = "Slack incoming webhook URL for signin-monitor alerts."
  type             = "SecureString"
  key_id           = local.kms_key_arn
  value_wo         = var.slack_webhook_url
  value_wo_version = var.slack_webhook_url_version
  tags             = var.tags
}
