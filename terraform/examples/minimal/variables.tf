variable "region" {
  description = "Home region: the central event bus, the Lambda and the table live here."
  type        = string
  default     = "us-east-1"
}

variable "slack_webhook_url" {
  description = "Slack incoming webhook URL (pass it as TF_VAR_slack_webhook_url; never stored in state)."
  type        = string
  sensitive   = true
  ephemeral   = true
}
