"""Static contract tests of the organization submodule, its example and the project's schema file.

The submodule (terraform/modules/organization) must enrol accounts the way the issue asks: a
service-managed StackSet with automatic deployment over the chosen OUs in every listed region,
call_as for a delegated administrator, the member template from cloudformation/, and the
management account covered by stacks of that same template. The example deploys the monitor in
organization mode plus the submodule through a second provider. .ci/tf-aws-schema.json is the
shared schema plus the types these files add (tf-schema-extract output), checked here so that it
never drifts from the shared one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
import pytest

REPO = Path(__file__).resolve().parents[2]
MODULE = REPO / "terraform"
SUBMODULE = MODULE / "modules" / "organization"
EXAMPLE = MODULE / "examples" / "organization"
TEMPLATE = REPO / "cloudformation" / "member-forwarding.yaml"
PROJECT_SCHEMA = REPO / ".ci" / "tf-aws-schema.json"
SHARED = Path(os.environ.get("SHARED_DIR", REPO.parent / "shared"))
SHARED_SCHEMA = SHARED / "tools" / "tf-aws-schema.json"
SCHEMA_CHECK = SHARED / "tools" / "tf-schema-check"

_OPTIONS = hcl2.SerializationOptions(
    strip_string_quotes=True, explicit_blocks=False, with_comments=False
)
Body = dict[str, Any]


@cache
def _parse(path: Path) -> Body:
    with path.open(encoding="utf-8") as handle:
        document: Body = hcl2.load(handle, serialization_options=_OPTIONS)
    return document


def _blocks(directory: Path, kind: str) -> list[Body]:
    return [
        block for path in sorted(directory.glob("*.tf")) for block in _parse(path).get(kind, [])
    ]


def _typed(directory: Path, kind: str) -> dict[str, dict[str, Body]]:
    found: dict[str, dict[str, Body]] = {}
    for block in _blocks(directory, kind):
        for type_name, named in block.items():
            for name, body in named.items():
                found.setdefault(type_name, {})[name] = body
    return found


def _labelled(directory: Path, kind: str) -> dict[str, Body]:
    return {label: body for block in _blocks(directory, kind) for label, body in block.items()}


def _one(body: Body, block: str) -> Body:
    (nested,) = body[block]
    assert isinstance(nested, dict)
    return nested


def _stack_set() -> Body:
    return _typed(SUBMODULE, "resource")["aws_cloudformation_stack_set"]["this"]


def _instance() -> Body:
    return _typed(SUBMODULE, "resource")["aws_cloudformation_stack_set_instance"]["this"]


# --- layout -------------------------------------------------------------------------------------


@pytest.mark.parametrize("directory", [SUBMODULE, EXAMPLE], ids=lambda p: p.name)
def test_standard_layout(directory: Path) -> None:
    for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"):
        assert (directory / name).is_file(), f"{directory.relative_to(REPO)} lacks {name}"


@pytest.mark.parametrize("directory", [SUBMODULE, EXAMPLE], ids=lambda p: p.name)
def test_versions_match_the_root_module(directory: Path) -> None:
    assert _parse(directory / "versions.tf") == _parse(MODULE / "versions.tf")


def test_submodule_configures_no_provider() -> None:
    assert _labelled(SUBMODULE, "provider") == {}


@pytest.mark.parametrize("directory", [SUBMODULE, EXAMPLE], ids=lambda p: p.name)
def test_every_variable_and_output_is_described_and_typed(directory: Path) -> None:
    for name, body in _labelled(directory, "variable").items():
        assert str(body.get("description", "")).strip(), f"variable {name} has no description"
        assert "type" in body, f"variable {name} has no type"
    for name, body in _labelled(directory, "output").items():
        assert str(body.get("description", "")).strip(), f"output {name} has no description"


def test_submodule_readme_documents_every_input_and_output() -> None:
    readme = (SUBMODULE / "README.md").read_text(encoding="utf-8")
    for section in ("## Usage", "## Inputs", "## Outputs"):
        assert section in readme
    inputs = readme.split("## Inputs", 1)[1].split("## Outputs", 1)[0]
    outputs = readme.split("## Outputs", 1)[1]
    for name in _labelled(SUBMODULE, "variable"):
        assert f"`{name}`" in inputs, f"README Inputs lacks {name}"
    for name in _labelled(SUBMODULE, "output"):
        assert f"`{name}`" in outputs, f"README Outputs lacks {name}"


def test_example_readme_documents_every_input() -> None:
    readme = (EXAMPLE / "README.md").read_text(encoding="utf-8")
    for name in _labelled(EXAMPLE, "variable"):
        assert f"`{name}`" in readme, f"example README lacks {name}"


# --- the StackSet -------------------------------------------------------------------------------


def test_stack_set_is_service_managed_with_automatic_deployment() -> None:
    stack_set = _stack_set()
    assert stack_set["permission_model"] == "SERVICE_MANAGED"
    assert _one(stack_set, "auto_deployment") == {
        "enabled": True,
        "retain_stacks_on_account_removal": False,
    }
    assert stack_set["call_as"] == "${var.call_as}"
    assert stack_set["capabilities"] == "${local.capabilities}"
    locals_ = {k: v for block in _blocks(SUBMODULE, "locals") for k, v in block.items()}
    assert locals_["capabilities"] == ["CAPABILITY_NAMED_IAM"]


def test_stack_set_and_stacks_use_the_member_template_of_the_repository() -> None:
    locals_ = {k: v for block in _blocks(SUBMODULE, "locals") for k, v in block.items()}
    assert "/../../../cloudformation/member-forwarding.yaml" in locals_["template_body"]
    assert (SUBMODULE / "../../../cloudformation/member-forwarding.yaml").resolve() == TEMPLATE
    stack = _typed(SUBMODULE, "resource")["aws_cloudformation_stack"]["this_account"]
    for body in (_stack_set(), stack):
        assert body["template_body"] == "${local.template_body}"
        assert body["parameters"] == "${local.parameters}"
    # The Terraform passes exactly the template's parameters.
    template_parameters = _template_parameters()
    assert set(locals_["parameters"]) == template_parameters
    assert locals_["parameters"]["CentralEventBusArn"] == "${var.central_event_bus_arn}"


def _template_parameters() -> set[str]:
    import yaml  # type: ignore[import-untyped]  # PyYAML comes with moto; no stubs in .[dev]

    document = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))
    return set(document["Parameters"])


def test_instances_cover_the_organizational_units_in_every_region() -> None:
    instance = _instance()
    assert instance["for_each"] == "${var.create_stack_set ? local.regions : toset([])}"
    assert instance["stack_set_instance_region"] == "${each.key}"
    assert instance["call_as"] == "${var.call_as}"
    assert instance["retain_stack"] is False
    targets = _one(instance, "deployment_targets")
    assert targets["organizational_unit_ids"] == "${var.organizational_unit_ids}"
    assert "DIFFERENCE" in targets["account_filter_type"]


def test_management_account_is_covered_by_stacks_of_the_same_template_per_region() -> None:
    stack = _typed(SUBMODULE, "resource")["aws_cloudformation_stack"]["this_account"]
    assert stack["for_each"] == "${var.forward_from_this_account ? local.regions : toset([])}"
    assert stack["region"] == "${each.key}"
    assert stack["capabilities"] == "${local.capabilities}"


def test_call_as_accepts_what_cloudformation_accepts() -> None:
    (validation,) = _labelled(SUBMODULE, "variable")["call_as"]["validation"]
    assert validation["condition"] == '${contains(["SELF", "DELEGATED_ADMIN"], var.call_as)}'


# --- the example --------------------------------------------------------------------------------


def test_example_has_a_monitor_provider_and_a_management_provider() -> None:
    providers = [
        body
        for block in _blocks(EXAMPLE, "provider")
        for name, body in block.items()
        if name == "aws"
    ]
    assert sorted(str(body.get("alias")) for body in providers) == ["None", "management"]


def test_example_wires_the_monitor_in_organization_mode_to_the_submodule() -> None:
    modules = _labelled(EXAMPLE, "module")
    monitor, organization = modules["signin_monitor"], modules["organization"]
    assert monitor["source"] == "../.."
    assert monitor["organization_id"] == "${data.aws_organizations_organization.this.id}"
    assert organization["source"] == "../../modules/organization"
    assert organization["providers"] == {"aws": "${aws.management}"}
    assert organization["central_event_bus_arn"] == "${module.signin_monitor.event_bus_arn}"
    assert organization["excluded_account_ids"] == [
        "${data.aws_caller_identity.monitor.account_id}"
    ]


# --- schema -------------------------------------------------------------------------------------


def _schema(path: Path) -> Body:
    document: Body = json.loads(path.read_text(encoding="utf-8"))
    return document


def test_project_schema_has_the_argument_trees_of_every_type_in_use() -> None:
    schema = _schema(PROJECT_SCHEMA)
    for directory in sorted({path.parent for path in MODULE.rglob("*.tf")}):
        for type_name in _typed(directory, "resource"):
            assert type_name in schema["resources"], f"{type_name} not in {PROJECT_SCHEMA.name}"
        for type_name in _typed(directory, "data"):
            assert type_name in schema["data"], f"data.{type_name} not in {PROJECT_SCHEMA.name}"


@pytest.mark.skipif(not SHARED_SCHEMA.is_file(), reason=f"no shared schema at {SHARED_SCHEMA}")
def test_project_schema_extends_the_shared_one_without_changing_it() -> None:
    shared, project = _schema(SHARED_SCHEMA), _schema(PROJECT_SCHEMA)
    for key in ("source", "provider", "provider_version", "resource_types", "data_types"):
        assert project[key] == shared[key], key
    for kind in ("resources", "data"):
        for type_name, tree in shared[kind].items():
            assert project[kind].get(type_name) == tree, f"{kind} {type_name} differs"


@pytest.mark.skipif(not SCHEMA_CHECK.is_file(), reason=f"no tf-schema-check at {SCHEMA_CHECK}")
def test_tf_schema_check_passes_with_the_project_schema() -> None:
    result = subprocess.run(
        [sys.executable, str(SCHEMA_CHECK), "--schema", str(PROJECT_SCHEMA), "terraform"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "(module + " in result.stdout


# --- account names ------------------------------------------------------------------------------


def test_account_names_role_is_assumable_by_the_monitor_only_and_reads_what_accounts_py_calls() -> (
    None
):
    data = _typed(SUBMODULE, "data")["aws_iam_policy_document"]
    (trust,) = data["account_names_trust"]["statement"]
    assert trust["actions"] == ["sts:AssumeRole"]
    assert trust["principals"] == [
        {"type": "AWS", "identifiers": ["${var.account_names_reader_arn}"]}
    ]
    actions = {action for s in data["account_names"]["statement"] for action in s["actions"]}
    assert actions == {"organizations:ListAccounts", "organizations:DescribeAccount"}
    source = (REPO / "signin_monitor" / "accounts.py").read_text(encoding="utf-8")
    assert 'get_paginator("list_accounts")' in source
    assert "describe_account(" in source
    role = _typed(SUBMODULE, "resource")["aws_iam_role"]["account_names"]
    assert role["count"] == "${var.create_account_names_role ? 1 : 0}"
