variable "region" {
  description = "Home region: the central event bus, the Lambda and the table live here."
  type        = string
  default     = "eu-central-1"
}

variable "slack_webhook_url" {
  description = "Slack incoming webhook URL (pass it as TF_VAR_slack_webhook_url; never stored in state)."
  type        = string
  sensitive   = true
  ephemeral   = true
}

variable "slack_webhook_url_version" {
  description = "Bump together with a new slack_webhook_url to rotate it."
  type        = number
  default     = 1
}

variable "create_trail" {
  description = "false when the account (or its organization) already has a multi-region trail recording management events."
  type        = bool
  default     = true
}

variable "access_log_bucket" {
  description = "Existing bucket for server access logs of the trail bucket; null turns them off."
  type        = string
  default     = null
}

variable "lambda_zip_path" {
  description = "Lambda package; null uses dist/lambda.zip of the repository (make package)."
  type        = string
  default     = null
}

variable "reserved_concurrency" {
  description = "Reserved concurrency of the Lambda; null leaves it unreserved."
  type        = number
  default     = null
}

variable "alarm_sns_topic_arn" {
  description = "Existing SNS topic in the home region for the alarms (its policy must allow cloudwatch.amazonaws.com to publish); null: no actions."
  type        = string
  default     = null
}

variable "forwarding_alarm_sns_topic_arns" {
  description = "SNS topic per other source region for its forwarding alarm, as { region = topic ARN } (each topic in its own region); {}: those alarms without actions."
  type        = map(string)
  default     = {}
}
