variable "central_event_bus_arn" {
  description = "ARN of the central signin-monitor event bus (the monitor module's event_bus_arn output, deployed with organization_id). Every member stack forwards to it."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:events:[a-z0-9-]+:[0-9]{12}:event-bus/[A-Za-z0-9._-]{1,256}$", var.central_event_bus_arn))
    error_message = "central_event_bus_arn: the ARN of an EventBridge event bus."
  }
}

variable "organizational_unit_ids" {
  description = "Organizational units (ou-... or the root r-...) whose accounts, present and future, forward to the central bus. The root covers every account of the organization."
  type        = list(string)

  validation {
    condition     = length(var.organizational_unit_ids) > 0 && alltrue([for id in var.organizational_unit_ids : can(regex("^(ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32})$", id))])
    error_message = "organizational_unit_ids: a non-empty list of OU ids (ou-xxxx-xxxxxxxx) or the root id (r-xxxx)."
  }
}

variable "regions" {
  description = "Regions in which every member account forwards: list every region enabled in the organization's accounts (a region left out is a blind spot). A stack instance in a region an account has not opted in to fails (see failure_tolerance_percentage)."
  type        = list(string)

  validation {
    condition     = length(var.regions) > 0 && alltrue([for region in var.regions : can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+$", region))])
    error_message = "regions: a non-empty list of AWS region names such as us-east-1."
  }
}

variable "excluded_account_ids" {
  description = "Accounts of those OUs that get no stack instance (account_filter_type DIFFERENCE), typically the monitor account, which the monitor module already forwards from."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.excluded_account_ids : can(regex("^[0-9]{12}$", id))])
    error_message = "excluded_account_ids: 12-digit AWS account ids."
  }
}

variable "call_as" {
  description = "SELF when this runs in the management account, DELEGATED_ADMIN when it runs in a delegated administrator account for CloudFormation StackSets."
  type        = string
  default     = "SELF"

  validation {
    condition     = contains(["SELF", "DELEGATED_ADMIN"], var.call_as)
    error_message = "call_as: SELF or DELEGATED_ADMIN."
  }
}

variable "create_stack_set" {
  description = "Create the StackSet and its instances. false when this module instance only covers the management account (forward_from_this_account) next to a StackSet managed from a delegated administrator."
  type        = bool
  default     = true
}

variable "forward_from_this_account" {
  description = "Deploy the member template as a stack per region in the account this module runs in. A service-managed StackSet never reaches the management account: keep true there. Set false in a delegated administrator account that the StackSet reaches (it would otherwise get the same named resources twice)."
  type        = bool
  default     = true
}

variable "stack_set_name" {
  description = "Name of the StackSet (and of the stacks of forward_from_this_account); signin-monitor coverage --stack-set reads it."
  type        = string
  default     = "signin-monitor-forwarding"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9-]{0,127}$", var.stack_set_name))
    error_message = "stack_set_name: up to 128 letters, digits and hyphens, starting with a letter."
  }
}

variable "name_prefix" {
  description = "Prefix of the member resources' names (NamePrefix of the template); use the monitor module's name_prefix. 3-30 characters of a-z, 0-9 and -."
  type        = string
  default     = "signin-monitor"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,28}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix: 3-30 characters of a-z, 0-9 and -, starting with a letter and not ending with -."
  }
}

variable "template_path" {
  description = "Path of the member template. null means cloudformation/member-forwarding.yaml of this repository."
  type        = string
  default     = null
}

variable "max_concurrent_percentage" {
  description = "Percentage of accounts per region a StackSet operation deploys to at once (1-100)."
  type        = number
  default     = 100

  validation {
    condition     = floor(var.max_concurrent_percentage) == var.max_concurrent_percentage && var.max_concurrent_percentage >= 1 && var.max_concurrent_percentage <= 100
    error_message = "max_concurrent_percentage: a whole number from 1 to 100."
  }
}

variable "failure_tolerance_percentage" {
  description = "Percentage of accounts per region whose deployment may fail before a StackSet operation stops in that region (0-100). signin-monitor coverage lists the failed ones."
  type        = number
  default     = 10

  validation {
    condition     = floor(var.failure_tolerance_percentage) == var.failure_tolerance_percentage && var.failure_tolerance_percentage >= 0 && var.failure_tolerance_percentage <= 100
    error_message = "failure_tolerance_percentage: a whole number from 0 to 100."
  }
}

variable "stack_notification_sns_topic_arns" {
  description = "SNS topic per region, as { region = topic ARN }, that the stacks of forward_from_this_account send their events to (a stack notifies only a topic in its own region). A region without an entry sends none. StackSet instances report through signin-monitor coverage."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for region, arn in var.stack_notification_sns_topic_arns : can(regex("^arn:aws[a-z-]*:sns:${region}:[0-9]{12}:.+$", arn))])
    error_message = "stack_notification_sns_topic_arns: each value must be the ARN of an SNS topic in the region of its key."
  }
}

variable "create_account_names_role" {
  description = "Create the role <name_prefix>-account-names in this account (management, or delegated administrator for Organizations), which account_names_reader_arn may assume to read account names for alerts (organizations:ListAccounts, DescribeAccount). A separate switch because the reader's ARN is often unknown until the first apply."
  type        = bool
  default     = false
}

variable "account_names_reader_arn" {
  description = "ARN of the monitor's function role (the monitor module's function_role_arn output), the only principal that may assume the account-names role. Required with create_account_names_role."
  type        = string
  default     = null

  validation {
    condition     = var.account_names_reader_arn == null ? !var.create_account_names_role : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.account_names_reader_arn))
    error_message = "account_names_reader_arn: an IAM role ARN, required when create_account_names_role is true."
  }
}

variable "tags" {
  description = "Tags added to the StackSet and the stacks (and so to the resources they create)."
  type        = map(string)
  default     = {}
}
