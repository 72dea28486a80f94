# Suppressions seeded from code review (var.suppressions): items of the activity table in the
# partition the Lambda lists (pk SUPPRESSIONS, sk = the id), the shape `suppression_item` in
# signin_monitor/store/suppressions_dynamodb.py writes. `created` is the start of the period
# (Terraform has no stable "now"); no TTL attribute: the item lives as long as its entry in the
# variable, and an expired one stops applying at `until` anyway. Removing an entry deletes the
# item; `signin-monitor suppress remove` on a seeded id is undone by the next apply.

resource "aws_dynamodb_table_item" "suppression" {
  for_each = { for s in var.suppressions : s.id => s }

  table_name = aws_dynamodb_table.this.name
  hash_key   = aws_dynamodb_table.this.hash_key
  range_key  = aws_dynamodb_table.this.range_key

  item = jsonencode(merge(
    {
      pk         = { S = "SUPPRESSIONS" }
      sk         = { S = each.key }
      rule_id    = { S = each.value.rule }
      reason     = { S = each.value.reason }
      author     = { S = each.value.by }
      created    = { S = each.value.from }
      valid_from = { S = each.value.from }
      until      = { S = each.value.until }
    },
    {
      for name, value in {
        principal   = each.value.principal
        source_cidr = each.value.source_ip
        account_id  = each.value.account_id
      } : name => { S = value } if value != null
    },
  ))
}
