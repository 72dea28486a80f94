# The single activity table. Keys, attributes, indexes and TTL follow TABLE_SCHEMA in
# signin_monitor/store/schema.py exactly (tests/terraform compares them).

locals {
  # What the indexes copy besides keys: every audit field but not the raw record (most of an
  # item's bytes), so an index write costs 1 write unit instead of 2 (INDEX_ATTRIBUTES in schema.py).
  index_attributes = [
    "event_id",
    "event_time",
    "event_name",
    "account_id",
    "principal",
    "identity_type",
    "user_name",
    "arn",
    "result",
    "mfa_used",
    "source_ip",
    "user_agent",
    "region",
    "error_message",
    "expires_at",
    "kind",
    "event_source",
    "error_code",
    "read_only",
    "invoked_by",
    "assumed_root",
    "request_user_name",
  ]
  # What by-alert-day copies (ALERT_INDEX_ATTRIBUTES in alert_index.py; pk names rule and scope).
  alert_index_attributes = ["rule_id", "event_id", "event_time", "status"]

  # The sparse indexes of the correlation rules copy only what those rules read
  # (FAILURE_SOURCE_ATTRIBUTES and SUCCESS_ATTRIBUTES in schema.py; by-network copies keys only).
  failure_source_attributes = [
    "event_id",
    "event_time",
    "event_name",
    "account_id",
    "principal",
    "identity_type",
    "user_name",
    "result",
    "mfa_used",
    "source_ip",
    "region",
  ]
  success_attributes = [
    "event_id",
    "event_time",
    "event_name",
    "account_id",
    "principal",
    "identity_type",
    "user_name",
    "arn",
    "result",
    "mfa_used",
    "source_ip",
    "user_agent",
    "region",
  ]
}

resource "aws_dynamodb_table" "this" {
  name                        = local.table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  range_key                   = "sk"
  deletion_protection_enabled = true

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  attribute {
    name = "account_day"
    type = "S"
  }

  attribute {
    name = "source_ip_key"
    type = "S"
  }

  attribute {
    name = "principal_key"
    type = "S"
  }

  attribute {
    name = "time_sk"
    type = "S"
  }

  attribute {
    name = "alert_day"
    type = "S"
  }

  attribute {
    name = "failure_source_key"
    type = "S"
  }

  attribute {
    name = "success_key"
    type = "S"
  }

  attribute {
    name = "network_key"
    type = "S"
  }

  global_secondary_index {
    name               = "by-account-day"
    hash_key           = "account_day"
    range_key          = "time_sk"
    projection_type    = "INCLUDE"
    non_key_attributes = local.index_attributes
  }

  global_secondary_index {
    name               = "by-source-ip"
    hash_key           = "source_ip_key"
    range_key          = "time_sk"
    projection_type    = "INCLUDE"
    non_key_attributes = local.index_attributes
  }

  global_secondary_index {
    name               = "by-principal"
    hash_key           = "principal_key"
    range_key          = "time_sk"
    projection_type    = "INCLUDE"
    non_key_attributes = local.index_attributes
  }

  # Sparse: only alert claims carry alert_day (ALERTS#<yyyy-mm-dd>), so `signin-monitor report`
  # lists a day's alerts with one Query instead of a Scan (alert_index.py).
  global_secondary_index {
    name               = "by-alert-day"
    hash_key           = "alert_day"
    range_key          = "time_sk"
    projection_type    = "INCLUDE"
    non_key_attributes = local.alert_index_attributes
  }

  # Sparse: only failed ConsoleLogins carry failure_source_key (password-spray).
  global_secondary_index {
    name               = "by-failure-source"
    hash_key           = "failure_source_key"
    range_key          = "time_sk"
    projection_type    = "INCLUDE"
    non_key_attributes = local.failure_source_attributes
  }

  # Sparse: only successful ConsoleLogins from an IP address carry success_key and network_key
  # (new-source-network; sign-in-after-failures for a failure delivered after the success).
  global_secondary_index {
    name               = "by-success"
    hash_key           = "success_key"
    range_key          = "time_sk"
    projection_type    = "INCLUDE"
    non_key_attributes = local.success_attributes
  }

  global_secondary_index {
    name            = "by-network"
    hash_key        = "network_key"
    range_key       = "time_sk"
    projection_type = "KEYS_ONLY"
  }

  # TTL deletes late (up to days): the code never relies on it for the failure window.
  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = local.kms_key_arn
  }

  tags = var.tags
}
