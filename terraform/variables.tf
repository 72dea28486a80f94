variable "name_prefix" {
  description = "Prefix of every resource name (function, table, bus, bucket, queue, roles, parameter). Lower-case letters, digits and hyphens, 3-30 characters."
  type        = string
  default     = "signin-monitor"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,28}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix: 3-30 characters of a-z, 0-9 and -, starting with a letter and not ending with -."
  }
}

variable "regions" {
  description = "Regions whose default event bus forwards sign-in events to the central bus. null (the default) means every region enabled in the account (opt-in status opt-in-not-required or opted-in), read at plan time. IAM-user sign-ins through a regional sign-in endpoint are recorded in that endpoint's region, which whoever signs in chooses: a region left out is a blind spot. The home region (the provider's) is always added; every entry must be enabled in the account."
  type        = list(string)
  default     = null

  validation {
    condition     = try(alltrue([for region in var.regions : can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+$", region))]), var.regions == null)
    error_message = "regions: null (every enabled region) or a list of AWS region names such as us-east-1."
  }
}

variable "organization_id" {
  description = "ID of the AWS Organization (o-xxxxxxxxxx) whose accounts forward to the central bus (organization mode, with modules/organization). The bus policy then admits events:PutEvents from principals of this organization only (aws:PrincipalOrgID) and denies it to everyone else. null (the default): no bus policy, only this account writes to the bus."
  type        = string
  default     = null

  validation {
    condition     = var.organization_id == null || can(regex("^o-[a-z0-9]{10,32}$", var.organization_id))
    error_message = "organization_id: null or an AWS Organizations ID such as o-a1b2c3d4e5."
  }
}

variable "account_names" {
  description = "Names shown beside account ids in alerts and history when AWS Organizations does not answer (or without an organization): a map of 12-digit account id to name. Names are text someone chose: alerts escape them."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for id, name in var.account_names : can(regex("^[0-9]{12}$", id)) && length(name) > 0 && length(name) <= 50])
    error_message = "account_names: keys must be 12-digit account ids and names 1-50 characters."
  }
}

variable "account_names_role_arn" {
  description = "Organization mode: ARN of the role (modules/organization output account_names_role_arn) the function assumes to read account names from AWS Organizations for its alerts. The function role gets sts:AssumeRole on this role only. Must be known at plan time (build it from the account id and the role name, as examples/organization does). null: no permission."
  type        = string
  default     = null

  validation {
    condition     = var.account_names_role_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.account_names_role_arn))
    error_message = "account_names_role_arn: null or an IAM role ARN."
  }
}

variable "forwarding_alarm_sns_topic_arns" {
  description = "SNS topic per source region for that region's forwarding alarm, as { region = topic ARN }. A CloudWatch alarm can notify only a topic in its own region; the home region's alarm uses alarm_sns_topic_arn. A source region without an entry gets an alarm without actions (visible in that region's CloudWatch console only)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for region, arn in var.forwarding_alarm_sns_topic_arns : can(regex("^arn:aws[a-z-]*:sns:${region}:[0-9]{12}:.+$", arn))])
    error_message = "forwarding_alarm_sns_topic_arns: each value must be the ARN of an SNS topic in the region of its key."
  }
}

variable "failed_signin_threshold" {
  description = "FAILED_SIGNIN_THRESHOLD: alert when a principal's failed sign-ins in the window are more than this. Whole number, 1-1000."
  type        = number
  default     = 3

  validation {
    condition     = floor(var.failed_signin_threshold) == var.failed_signin_threshold && var.failed_signin_threshold >= 1 && var.failed_signin_threshold <= 1000
    error_message = "failed_signin_threshold: a whole number from 1 to 1000."
  }
}

variable "failed_signin_window_minutes" {
  description = "FAILED_SIGNIN_WINDOW_MINUTES: the window for counting failures and for alert de-duplication, in minutes. Whole number, 1-10080."
  type        = number
  default     = 60

  validation {
    condition     = floor(var.failed_signin_window_minutes) == var.failed_signin_window_minutes && var.failed_signin_window_minutes >= 1 && var.failed_signin_window_minutes <= 10080
    error_message = "failed_signin_window_minutes: a whole number from 1 to 10080."
  }
}

variable "root_activity_window_minutes" {
  description = "ROOT_ACTIVITY_WINDOW_MINUTES: one root-activity alert per account per this many minutes, and how long after a successful root console sign-in root's API calls raise none. Whole number, 1-10080."
  type        = number
  default     = 60

  validation {
    condition     = floor(var.root_activity_window_minutes) == var.root_activity_window_minutes && var.root_activity_window_minutes >= 1 && var.root_activity_window_minutes <= 10080
    error_message = "root_activity_window_minutes: a whole number from 1 to 10080."
  }
}

variable "retention_days" {
  description = "RETENTION_DAYS: days to keep each stored sign-in after its event time (DynamoDB TTL); 0 keeps them forever. Whole number, 0-36500, and at least the failure window."
  type        = number
  default     = 365

  validation {
    condition     = floor(var.retention_days) == var.retention_days && var.retention_days >= 0 && var.retention_days <= 36500
    error_message = "retention_days: a whole number from 0 to 36500 (0 keeps events forever)."
  }

  validation {
    condition     = var.retention_days == 0 || var.retention_days * 1440 >= max(var.failed_signin_window_minutes, var.root_activity_window_minutes)
    error_message = "retention_days: 0 (forever) or enough days to cover failed_signin_window_minutes and root_activity_window_minutes."
  }
}

variable "log_level" {
  description = "LOG_LEVEL of the Lambda: DEBUG, INFO, WARNING or ERROR. DEBUG logs raw events."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level: one of DEBUG, INFO, WARNING, ERROR."
  }
}

variable "alert_rules" {
  description = "ALERT_RULES: the rule ids to run. Valid values: root-sign-in, sign-in-without-mfa, repeated-failed-sign-ins, root-activity, root-access-key-created, mfa-device-removed, login-profile-changed, trail-tampering, root-password-recovery, sign-in-after-failures, password-spray, mfa-challenge-failed, new-source-network. Every monitored event is stored whichever rules run."
  type        = list(string)
  default     = ["root-sign-in", "sign-in-without-mfa", "repeated-failed-sign-ins", "root-activity", "root-access-key-created", "mfa-device-removed", "login-profile-changed", "trail-tampering", "root-password-recovery", "sign-in-after-failures", "password-spray", "mfa-challenge-failed", "new-source-network"]

  validation {
    condition     = length(var.alert_rules) > 0 && alltrue([for rule in var.alert_rules : contains(["root-sign-in", "sign-in-without-mfa", "repeated-failed-sign-ins", "root-activity", "root-access-key-created", "mfa-device-removed", "login-profile-changed", "trail-tampering", "root-password-recovery", "sign-in-after-failures", "password-spray", "mfa-challenge-failed", "new-source-network"], rule)])
    error_message = "alert_rules: a non-empty list of root-sign-in, sign-in-without-mfa, repeated-failed-sign-ins, root-activity, root-access-key-created, mfa-device-removed, login-profile-changed, trail-tampering, root-password-recovery, sign-in-after-failures, password-spray, mfa-challenge-failed, new-source-network."
  }
}

variable "slack_webhook_url" {
  description = "Slack incoming webhook URL. Written to an SSM SecureString as a write-only value: it never lands in plan or state. Change it together with slack_webhook_url_version."
  type        = string
  sensitive   = true
  ephemeral   = true

  validation {
    condition     = can(regex("^https://[^/\\s]+/\\S*$", var.slack_webhook_url))
    error_message = "slack_webhook_url: an https:// webhook URL."
  }
}

variable "slack_webhook_url_version" {
  description = "Version of slack_webhook_url. Terraform cannot see a write-only value, so bump this number to write a new URL (rotation)."
  type        = number
  default     = 1

  validation {
    condition     = floor(var.slack_webhook_url_version) == var.slack_webhook_url_version && var.slack_webhook_url_version >= 1
    error_message = "slack_webhook_url_version: a whole number of at least 1."
  }
}

variable "routing" {
  description = "ROUTING_PARAMETER: route alerts to several Slack destinations by severity, rule and account (null: every alert goes to slack_webhook_url, as before). destinations: name -> { webhook_parameter = name or ARN of a SecureString you created (encrypted with this module's KMS key), or omit it and Terraform creates /<name_prefix>/webhooks/<name> from routing_webhook_urls[name] (webhook_url_version: bump to write a new URL) }. routes: every route whose conditions (severity: critical, high, medium; rule: rule ids; account: 12-digit ids) all hold adds its destinations (to); 'digest' means listed in the daily digest only, 'webhook' is slack_webhook_url. default: where an alert no route matches goes. digest: the destination the daily digest is posted to. Terraform writes the document (parameter names only, never a URL) to the SecureString /<name_prefix>/routing."
  type = object({
    destinations = optional(map(object({
      webhook_parameter   = optional(string)
      webhook_url_version = optional(number, 1)
    })), {})
    routes = optional(list(object({
      severity = optional(list(string))
      rule     = optional(list(string))
      account  = optional(list(string))
      to       = list(string)
    })), [])
    default = optional(list(string), ["webhook"])
    digest  = optional(string)
  })
  default = null

  validation {
    condition     = var.routing == null ? true : alltrue([for name in keys(var.routing.destinations) : can(regex("^[a-z0-9][a-z0-9_-]{0,63}$", name)) && !contains(["digest", "webhook"], name)])
    error_message = "routing: destination names are 1-64 of a-z 0-9 _ - starting with a letter or digit; digest and webhook are reserved."
  }

  validation {
    condition     = var.routing == null ? true : alltrue(flatten([for route in var.routing.routes : [for name in route.to : contains(concat(keys(var.routing.destinations), ["digest", "webhook"]), name)]])) && alltrue([for name in var.routing.default : contains(concat(keys(var.routing.destinations), ["digest", "webhook"]), name)]) && length(var.routing.default) > 0
    error_message = "routing: every route's to and the default name declared destinations, digest or webhook (default not empty)."
  }

  validation {
    condition     = var.routing == null ? true : alltrue([for route in var.routing.routes : length(route.to) > 0 && alltrue([for severity in coalesce(route.severity, ["critical"]) : contains(["critical", "high", "medium"], severity)]) && alltrue([for account in coalesce(route.account, ["000000000000"]) : can(regex("^[0-9]{12}$", account))])])
    error_message = "routing: each route has a non-empty to; severity values are critical, high or medium; account values are 12-digit account ids."
  }

  validation {
    condition     = var.routing == null ? true : alltrue([for route in var.routing.routes : alltrue([for rule in coalesce(route.rule, ["root-sign-in"]) : contains(["root-sign-in", "sign-in-without-mfa", "repeated-failed-sign-ins", "root-activity", "root-access-key-created", "mfa-device-removed", "login-profile-changed", "trail-tampering", "root-password-recovery", "sign-in-after-failures", "password-spray", "mfa-challenge-failed", "new-source-network"], rule)])])
    error_message = "routing: rule values are rule ids (root-sign-in, sign-in-without-mfa, repeated-failed-sign-ins, root-activity, root-access-key-created, mfa-device-removed, login-profile-changed, trail-tampering, root-password-recovery, sign-in-after-failures, password-spray, mfa-challenge-failed, new-source-network)."
  }

  validation {
    condition     = var.routing == null ? true : (var.routing.digest == null ? true : contains(concat(keys(var.routing.destinations), ["webhook"]), var.routing.digest))
    error_message = "routing: digest names a declared destination or webhook."
  }
}

variable "routing_webhook_urls" {
  description = "Webhook URL of each routing destination whose parameter Terraform creates (those without webhook_parameter), by destination name. Write-only, like slack_webhook_url: never in plan or state. Bump the destination's webhook_url_version to write a new URL."
  type        = map(string)
  default     = {}
  sensitive   = true
  ephemeral   = true
}

variable "create_trail" {
  description = "Create a multi-region CloudTrail trail and its S3 bucket. Set false when the account already has a trail recording management events in every region (an organization trail counts): EventBridge receives the sign-in events from any trail."
  type        = bool
  default     = true
}

variable "cloudtrail_log_retention_days" {
  description = "Days to keep CloudTrail log files in the trail bucket (S3 lifecycle expiration); 0 keeps them forever. Only with create_trail."
  type        = number
  default     = 365

  validation {
    condition     = floor(var.cloudtrail_log_retention_days) == var.cloudtrail_log_retention_days && var.cloudtrail_log_retention_days >= 0
    error_message = "cloudtrail_log_retention_days: a whole number of at least 0 (0 keeps log files forever)."
  }
}

variable "cloudtrail_access_log_bucket" {
  description = "Name of an existing S3 bucket that receives server access logs of the trail bucket (CIS 3.6). null turns access logging off."
  type        = string
  default     = null
}

variable "lambda_zip_path" {
  description = "Path of the Lambda deployment package built by the project's deterministic build. null means dist/lambda.zip at the repository root."
  type        = string
  default     = null
}

variable "lambda_memory_size" {
  description = "Memory of the Lambda in MB (128-10240). CPU grows with memory; 256 keeps cold starts short."
  type        = number
  default     = 256

  validation {
    condition     = floor(var.lambda_memory_size) == var.lambda_memory_size && var.lambda_memory_size >= 128 && var.lambda_memory_size <= 10240
    error_message = "lambda_memory_size: a whole number from 128 to 10240."
  }
}

variable "lambda_timeout" {
  description = "Lambda timeout in seconds, 10-55; also CLAIM_LEASE_SECONDS, the alert claim lease. The lease must stay below Lambda's first asynchronous retry delay (about a minute), so that the retry after a crash is never suppressed by the crashed invocation's claim, and at least the longest a delivery can run, which the function timeout bounds: so the lease is the timeout."
  type        = number
  default     = 30

  validation {
    condition     = floor(var.lambda_timeout) == var.lambda_timeout && var.lambda_timeout >= 10 && var.lambda_timeout <= 55
    error_message = "lambda_timeout: a whole number from 10 to 55 (it is also the claim lease, which must stay below Lambda's first retry delay of about a minute)."
  }
}

variable "lambda_maximum_retry_attempts" {
  description = "Times Lambda retries a failed asynchronous invocation (0-2) before the event goes to the dead-letter queue."
  type        = number
  default     = 2

  validation {
    condition     = contains([0, 1, 2], var.lambda_maximum_retry_attempts)
    error_message = "lambda_maximum_retry_attempts: 0, 1 or 2."
  }
}

variable "lambda_maximum_event_age_seconds" {
  description = "Oldest an event may get in Lambda's asynchronous queue before it goes to the dead-letter queue, in seconds (60-21600)."
  type        = number
  default     = 21600

  validation {
    condition     = floor(var.lambda_maximum_event_age_seconds) == var.lambda_maximum_event_age_seconds && var.lambda_maximum_event_age_seconds >= 60 && var.lambda_maximum_event_age_seconds <= 21600
    error_message = "lambda_maximum_event_age_seconds: a whole number from 60 to 21600."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions of the Lambda. null leaves it unreserved: new accounts (concurrency quota 10) cannot reserve any."
  type        = number
  default     = null

  validation {
    condition     = var.reserved_concurrency == null || try(floor(var.reserved_concurrency) == var.reserved_concurrency && var.reserved_concurrency >= 0, false)
    error_message = "reserved_concurrency: null or a whole number of at least 0 (0 stops the function)."
  }
}

variable "log_retention_days" {
  description = "Retention of the Lambda's CloudWatch log group in days; one of the values CloudWatch Logs accepts (0 = never expire)."
  type        = number
  default     = 365

  validation {
    condition     = contains([0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days: one of 0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "alarm_sns_topic_arn" {
  description = "ARN of an SNS topic in the home region notified when an alarm of the home region changes state (Lambda errors, messages in a dead-letter queue, alerts not delivered, events dropped, store errors). null: alarms without actions. Alarms of the other source regions use forwarding_alarm_sns_topic_arns."
  type        = string
  default     = null
}

variable "create_kms_key" {
  description = "Create a customer managed KMS key (with rotation) for the trail, bucket, table, queue, parameter, log group and Lambda environment. Set false and pass kms_key_arn to use an existing key."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "ARN of an existing KMS key, used when create_kms_key is false. Its key policy must allow what kms.tf allows (see README)."
  type        = string
  default     = null

  validation {
    condition     = var.create_kms_key ? var.kms_key_arn == null : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn: a KMS key ARN when create_kms_key is false, and null when it is true."
  }
}

variable "tags" {
  description = "Tags added to every resource that takes tags."
  type        = map(string)
  default     = {}
}

variable "spray_principal_threshold" {
  description = "SPRAY_PRINCIPAL_THRESHOLD: password-spray fires when the failed sign-ins from one address in one account within the failure window belong to more distinct principals than this (hidden user names count as one). Whole number, 1-1000."
  type        = number
  default     = 5

  validation {
    condition     = floor(var.spray_principal_threshold) == var.spray_principal_threshold && var.spray_principal_threshold >= 1 && var.spray_principal_threshold <= 1000
    error_message = "spray_principal_threshold: a whole number from 1 to 1000."
  }
}

variable "new_network_lookback_days" {
  description = "NEW_NETWORK_LOOKBACK_DAYS: how many days back new-source-network looks for the networks (IPv4 /24, IPv6 /48) a principal signed in from; 0 turns the rule off. Whole number, 0-3650."
  type        = number
  default     = 90

  validation {
    condition     = floor(var.new_network_lookback_days) == var.new_network_lookback_days && var.new_network_lookback_days >= 0 && var.new_network_lookback_days <= 3650
    error_message = "new_network_lookback_days: a whole number from 0 to 3650 (0 turns new-source-network off)."
  }
}

variable "suppressions" {
  description = "Suppressions kept in code review (signin-monitor suppress adds others at run time): each silences the alerts of one rule (or all) whose event time is in [from, until) and whose event matches every scope given (principal, source_ip as a CIDR, account_id; at least one). id: sup- and lowercase letters, digits or dashes, unique; from/until: UTC as 2026-12-01T08:00:00Z, until after from and at most 90 days later unless no_expiry_limit; reason and by: who wants it and why. Written as items of the activity table (pk SUPPRESSIONS)."
  type = list(object({
    id              = string
    rule            = string
    principal       = optional(string)
    source_ip       = optional(string)
    account_id      = optional(string)
    from            = string
    until           = string
    reason          = string
    by              = string
    no_expiry_limit = optional(bool, false)
  }))
  default = []

  validation {
    condition     = length(distinct([for s in var.suppressions : s.id])) == length(var.suppressions) && alltrue([for s in var.suppressions : can(regex("^sup-[a-z0-9][a-z0-9-]{0,62}$", s.id))])
    error_message = "suppressions: every id is sup- followed by lowercase letters, digits or dashes (at most 66 characters), and unique."
  }

  validation {
    condition     = alltrue([for s in var.suppressions : contains(["all", "root-sign-in", "sign-in-without-mfa", "repeated-failed-sign-ins", "root-activity", "root-access-key-created", "mfa-device-removed", "login-profile-changed", "trail-tampering", "root-password-recovery", "sign-in-after-failures", "password-spray", "mfa-challenge-failed", "new-source-network"], s.rule)])
    error_message = "suppressions: rule is all or a rule id (see alert_rules)."
  }

  validation {
    condition     = alltrue([for s in var.suppressions : (s.principal != null || s.source_ip != null || s.account_id != null) && (s.account_id == null || can(regex("^[0-9]{12}$", s.account_id))) && (s.source_ip == null || can(cidrhost(s.source_ip, 0))) && (s.principal == null || try(length(s.principal) > 0, false))])
    error_message = "suppressions: each needs at least one scope: principal, source_ip (a CIDR such as 203.0.113.0/24 or 203.0.113.5/32) or account_id (12 digits)."
  }

  validation {
    condition     = alltrue([for s in var.suppressions : can(regex("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$", s.from)) && can(regex("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$", s.until)) && try(timecmp(s.until, s.from) > 0, false) && (s.no_expiry_limit || try(timecmp(s.until, timeadd(s.from, "2160h")) <= 0, false))])
    error_message = "suppressions: from and until are UTC times like 2026-12-01T08:00:00Z, until after from and at most 90 days (2160h) later unless no_expiry_limit = true."
  }

  validation {
    condition     = alltrue([for s in var.suppressions : length(trimspace(s.reason)) > 0 && length(trimspace(s.by)) > 0 && length(s.reason) <= 1024 && length(s.by) <= 1024])
    error_message = "suppressions: reason and by are 1 to 1024 characters, not blank."
  }
}

variable "digest_enabled" {
  description = "Post a daily digest (alerts by account and rule, suppressed and medium alerts, sign-ins without MFA, top failing principals and addresses of the previous UTC day) to the routing document's digest destination (else the alert webhook), from an EventBridge Scheduler schedule. One message a day; false: no schedule, no role, no queue."
  type        = bool
  default     = true
}

variable "digest_schedule" {
  description = "When the digest is posted: an EventBridge Scheduler expression, cron(minutes hours day-of-month month day-of-week year) or rate(...), read in digest_schedule_timezone. The digest is always of the UTC day before the scheduled time."
  type        = string
  default     = "cron(0 7 * * ? *)"

  validation {
    condition     = can(regex("^(cron|rate)\\(.+\\)$", var.digest_schedule))
    error_message = "digest_schedule: an EventBridge Scheduler expression such as cron(0 7 * * ? *) or rate(1 day)."
  }
}

variable "digest_schedule_timezone" {
  description = "IANA time zone digest_schedule is read in (for example Europe/Berlin: 07:00 local time all year)."
  type        = string
  default     = "UTC"
}

variable "digest_accounts" {
  description = "The 12-digit accounts the digest reads (one DynamoDB query per account and day). Empty (the default): the function's own account, the keys of account_names, and every account the day's windowed alerts name; list the member accounts in organization mode, since listing the accounts that had events would be a table scan."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.digest_accounts : can(regex("^[0-9]{12}$", id))])
    error_message = "digest_accounts: a list of 12-digit account ids."
  }
}
