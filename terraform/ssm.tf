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

# Routing (var.routing): the document in a SecureString (parameter names only: no URL is ever in it),
# and one SecureString per destination that names no parameter of its own, written write-only.

locals {
  routing_enabled = var.routing != null
  # Destinations whose webhook parameter Terraform creates.
  routing_created = local.routing_enabled ? { for name, destination in var.routing.destinations : name => destination if destination.webhook_parameter == null } : {}
  # Parameters the caller created: name (with or without the leading /) or ARN -> ARN.
  routing_given_arns = local.routing_enabled ? [
    for destination in values(var.routing.destinations) : (
      startswith(destination.webhook_parameter, "arn:") ? destination.webhook_parameter : "arn:${local.partition}:ssm:${local.home_region}:${local.account_id}:parameter/${trimprefix(destination.webhook_parameter, "/")}"
    ) if destination.webhook_parameter != null
  ] : []
  routing_document = local.routing_enabled ? {
    destinations = {
      for name, destination in var.routing.destinations : name => {
        webhook_parameter = destination.webhook_parameter != null ? destination.webhook_parameter : aws_ssm_parameter.destination_webhook_url[name].name
      }
    }
    routes  = [for route in var.routing.routes : { for key, value in route : key => value if value != null }]
    default = var.routing.default
    digest  = var.routing.digest
  } : null
}

resource "aws_ssm_parameter" "destination_webhook_url" {
  for_each         = local.routing_created
  name             = "/${var.name_prefix}/webhooks/${each.key}"
  description      = "Slack incoming webhook URL of the signin-monitor routing destination ${each.key}."
  type             = "SecureString"
  key_id           = local.kms_key_arn
  value_wo         = var.routing_webhook_urls[each.key]
  value_wo_version = each.value.webhook_url_version
  tags             = var.tags
}

resource "aws_ssm_parameter" "routing" {
  count       = local.routing_enabled ? 1 : 0
  name        = "/${var.name_prefix}/routing"
  description = "signin-monitor routing document (ROUTING_PARAMETER): destinations, routes, default, digest."
  type        = "SecureString"
  key_id      = local.kms_key_arn
  value       = jsonencode(local.routing_document)
  tags        = var.tags
}
