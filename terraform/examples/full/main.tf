provider "aws" {
  region = var.region
}

module "signin_monitor" {
  source = "../.."

  name_prefix = "signin-monitor-prod"
  # null: every region enabled in the account (the default). An explicit list leaves the other
  # regions blind: an IAM user signing in through their regional endpoint would never alert.
  regions = null

  failed_signin_threshold      = 5
  failed_signin_window_minutes = 30
  root_activity_window_minutes = 60
  retention_days               = 730
  log_level                    = "INFO"
  alert_rules                  = ["root-sign-in", "sign-in-without-mfa", "repeated-failed-sign-ins", "sign-in-after-failures", "password-spray", "mfa-challenge-failed", "new-source-network"]
  spray_principal_threshold    = 5
  new_network_lookback_days    = 90

  slack_webhook_url         = var.slack_webhook_url
  slack_webhook_url_version = var.slack_webhook_url_version

  create_trail                  = var.create_trail
  cloudtrail_log_retention_days = 400
  cloudtrail_access_log_bucket  = var.access_log_bucket

  lambda_zip_path                  = var.lambda_zip_path
  lambda_memory_size               = 256
  lambda_timeout                   = 30
  lambda_maximum_retry_attempts    = 2
  lambda_maximum_event_age_seconds = 3600
  reserved_concurrency             = var.reserved_concurrency

  log_retention_days  = 400
  alarm_sns_topic_arn = var.alarm_sns_topic_arn
  # CloudWatch alarms notify only a topic in their own region: one per other source region.
  forwarding_alarm_sns_topic_arns = var.forwarding_alarm_sns_topic_arns

  tags = {
    project     = "signin-monitor"
    environment = "prod"
  }
}
