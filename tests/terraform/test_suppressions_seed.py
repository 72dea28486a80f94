"""Terraform seeds suppressions (``var.suppressions``) as items the Lambda reads back.

No terraform binary: the HCL is parsed with python-hcl2, the item's attribute mapping is read
from its ``jsonencode(...)`` expression, and an item built the way that mapping says is read by
the same ``suppression_from_item`` the Lambda uses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import hcl2

from signin_monitor.config import ALL_RULE_IDS
from signin_monitor.store.suppressions_dynamodb import (
    SUPPRESSIONS_PK,
    suppression_from_item,
    suppression_item,
)
from signin_monitor.suppressions import ALL_RULES, MAX_PERIOD, new_suppression

MODULE = Path(__file__).resolve().parents[2] / "terraform"
_OPTIONS = hcl2.SerializationOptions(
    strip_string_quotes=True, explicit_blocks=False, with_comments=False
)
#: ``name = { S = each.value.<field> }`` (or ``each.key``) pairs of the item expression.
_MAPPING = re.compile(r"(\w+) = \{S = (each\.key|each\.value\.\w+|\"[A-Z]+\")\}")
_OPTIONAL = re.compile(r"(\w+) = each\.value\.(\w+)")


@cache
def _parse(name: str) -> dict[str, Any]:
    with (MODULE / name).open(encoding="utf-8") as handle:
        parsed: dict[str, Any] = hcl2.load(handle, serialization_options=_OPTIONS)
    return parsed


def _variable() -> dict[str, Any]:
    [body] = [b["suppressions"] for b in _parse("variables.tf")["variable"] if "suppressions" in b]
    found: dict[str, Any] = body
    return found


def _item_resource() -> dict[str, Any]:
    [block] = _parse("suppressions.tf")["resource"]
    found: dict[str, Any] = block["aws_dynamodb_table_item"]["suppression"]
    return found


def _conditions() -> str:
    return " ".join(str(v["condition"]) for v in _variable()["validation"])


def _render(entry: Mapping[str, str | None]) -> dict[str, Any]:
    """The item Terraform writes for one entry of ``var.suppressions``, from the HCL mapping."""
    expression = _item_resource()["item"]
    fixed, optional = expression.split("{for name, value in", 1)
    item: dict[str, Any] = {}
    for name, source in _MAPPING.findall(fixed):
        if source == "each.key":
            item[name] = {"S": entry["id"]}
        elif source.startswith('"'):
            item[name] = {"S": source.strip('"')}
        else:
            item[name] = {"S": entry[source.removeprefix("each.value.")]}
    for name, field in _OPTIONAL.findall(optional):
        if entry.get(field) is not None:
            item[name] = {"S": entry[field]}
    return item


def test_items_go_to_the_suppressions_partition_of_the_activity_table() -> None:
    resource = _item_resource()
    assert resource["for_each"] == "${{for s in var.suppressions : s.id => s}}"
    assert resource["table_name"] == "${aws_dynamodb_table.this.name}"
    assert resource["hash_key"] == "${aws_dynamodb_table.this.hash_key}"
    assert resource["range_key"] == "${aws_dynamodb_table.this.range_key}"
    assert f'pk = {{S = "{SUPPRESSIONS_PK}"}}' in resource["item"]


def test_a_seeded_item_is_read_back_as_the_suppression_it_describes() -> None:
    # GIVEN an entry of var.suppressions with every scope
    entry = {
        "id": "sup-breakglass-drill",
        "rule": "root-sign-in",
        "principal": "root",
        "source_ip": "203.0.113.0/24",
        "account_id": "111122223333",
        "from": "2026-12-01T08:00:00Z",
        "until": "2026-12-01T10:00:00Z",
        "reason": "quarterly break-glass drill",
        "by": "security-team",
    }
    # WHEN Terraform's item for it is read the way the Lambda reads the partition
    seeded = suppression_from_item(_render(entry))
    # THEN it is that suppression, with the same attributes the command line writes
    assert (seeded.id, seeded.rule, seeded.reason, seeded.author) == (
        "sup-breakglass-drill",
        "root-sign-in",
        "quarterly break-glass drill",
        "security-team",
    )
    assert (seeded.principal, seeded.source_cidr, seeded.account_id) == (
        "root",
        "203.0.113.0/24",
        "111122223333",
    )
    assert seeded.until - seeded.valid_from == timedelta(hours=2)
    assert set(_render(entry)) == set(suppression_item(seeded))


def test_scopes_left_out_are_not_written() -> None:
    entry = {"id": "sup-a", "rule": "all", "principal": None, "source_ip": None}
    entry |= {"account_id": "111122223333", "from": "2026-12-01T08:00:00Z"}
    entry |= {"until": "2026-12-02T08:00:00Z", "reason": "r", "by": "b"}
    item = _render(entry)
    assert "principal" not in item
    assert "source_cidr" not in item
    assert suppression_from_item(item).account_id == "111122223333"


def test_every_created_attribute_the_reader_needs_is_mapped() -> None:
    # The command line's item (everything set) has exactly the attributes Terraform can write.
    made = new_suppression(
        rule="all",
        principal="root",
        source_cidr="198.51.100.0/24",
        account_id="111122223333",
        reason="r",
        author="a",
        until=datetime.now(UTC) + timedelta(days=1),
    )
    fixed, optional = _item_resource()["item"].split("{for name, value in", 1)
    names = {name for name, _ in _MAPPING.findall(fixed)}
    names |= {name for name, _ in _OPTIONAL.findall(optional)}
    assert set(suppression_item(made)) == names


def test_validation_accepts_the_rules_of_config_and_all() -> None:
    rules = re.search(r"contains\(\[(.*?)\], s\.rule\)", _conditions())
    assert rules is not None
    assert [r.strip().strip('"') for r in rules.group(1).split(",")] == [ALL_RULES, *ALL_RULE_IDS]


def test_validation_bounds_the_period_as_the_command_line_does() -> None:
    conditions = _conditions()
    hours = int(MAX_PERIOD.total_seconds() // 3600)
    assert f'timeadd(s.from, "{hours}h")' in conditions
    assert "s.no_expiry_limit ||" in conditions
    assert "timecmp(s.until, s.from) > 0" in conditions
    assert "^sup-[a-z0-9][a-z0-9-]{0,62}$" in conditions
    assert "^[0-9]{12}$" in conditions
    assert "cidrhost(s.source_ip, 0)" in conditions
    for validation in _variable()["validation"]:
        assert "suppressions" in validation["error_message"]


def test_the_default_seeds_nothing() -> None:
    assert _variable()["default"] == []
