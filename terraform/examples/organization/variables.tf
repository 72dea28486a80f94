variable "region" {
  description = "Home region: the central event bus, the Lambda and the table live here."
  type        = string
  default     = "us-east-1"
}

variable "monitor_profile" {
  description = "AWS CLI profile of the monitor (security) account; null uses the default credential chain."
  type        = string
  default     = null
}

variable "management_profile" {
  description = "AWS CLI profile of the management account, or of the delegated administrator for StackSets when call_as is DELEGATED_ADMIN."
  type        = string
  default     = null
}

variable "call_as" {
  description = "SELF when management_profile is the management account, DELEGATED_ADMIN when it is a delegated administrator for CloudFormation StackSets."
  type        = string
  default     = "SELF"
}

variable "organizational_unit_ids" {
  description = "OUs whose accounts forward; null means the organization's root (every account)."
  type        = list(string)
  default     = null
}

variable "name_prefix" {
  description = "Prefix of every resource name, in the monitor account and in the member accounts."
  type        = string
  default     = "signin-monitor"
}

variable "alarm_sns_topic_arn" {
  description = "SNS topic in the home region for the monitor's alarms; null: alarms without actions."
  type        = string
  default     = null
}

variable "slack_webhook_url" {
  description = "Slack incoming webhook URL (pass it as TF_VAR_slack_webhook_url; never stored in state)."
  type        = string
  sensitive   = true
  ephemeral   = true
}

variable "slack_webhook_url_version" {
  description = "Bump to write a new slack_webhook_url."
  type        = number
  default     = 1
}
