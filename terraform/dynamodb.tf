# The single activity table. Keys, attributes, indexes and TTL follow TABLE_SCHEMA in
# signin_monitor/store/schema.py exactly (tests/terraform compares them).

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

  global_secondary_index {
    name            = "by-account-day"
    hash_key        = "account_day"
    range_key       = "time_sk"
    projection_type = "ALL"
  }

  global_secondary_index {
    name            = "by-source-ip"
    hash_key        = "source_ip_key"
    range_key       = "time_sk"
    projection_type = "ALL"
  }

  global_secondary_index {
    name            = "by-principal"
    hash_key        = "principal_key"
    range_key       = "time_sk"
    projection_type = "ALL"
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
