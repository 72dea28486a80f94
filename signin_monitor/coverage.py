"""Which accounts and regions of the organization forward to the monitor, and which do not.

The classic miss of org-wide monitoring is the account or region nobody wired up. This module
answers, for every active account x region: is the forwarding path there (the StackSet's stack
instance for that account and region, or for the account running the check its own stack or
forwarding rule), and when did the store last see a monitored event from there. I/O is in the
``read_*`` functions (boto3 clients and the store are passed in); ``assess`` is pure.

A cell is covered when its path is deployed (instance ``CURRENT``; a stack in a ``*_COMPLETE``
state other than a delete or rollback; an enabled rule), or, where the path cannot be read from
here (the management account, which no service-managed StackSet reaches, seen from another
account), when an event from that account and region was stored within the period: events
arriving prove the path works.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from .errors import SigninMonitorError
from .events import format_time
from .store import ActivityStore, HistoryQuery

__all__ = [
    "Account",
    "CoverageError",
    "CoverageReport",
    "ForwardingPath",
    "assess",
    "read_accounts",
    "read_enabled_regions",
    "read_last_events",
    "read_local_paths",
    "read_stack_instances",
]

DEFAULT_STACK_SET: Final = "signin-monitor-forwarding"
_DEPLOYED_STACK: Final = frozenset(
    {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE"}
)


class CoverageError(SigninMonitorError):
    """AWS could not be asked (no permission, no organization, no StackSet): no answer at all."""


@dataclass(frozen=True, slots=True)
class Account:
    """An account of the organization, as Organizations lists it."""

    account_id: str
    name: str
    state: str  # ACTIVE, SUSPENDED, PENDING_CLOSURE, CLOSED
    is_management: bool = False

    @property
    def active(self) -> bool:
        """Only active accounts must be covered (a suspended account records nothing)."""
        return self.state == "ACTIVE"


@dataclass(frozen=True, slots=True)
class ForwardingPath:
    """What stands between one account x region and the central bus."""

    kind: str  # "stack-set", "stack", "rule" or "none"
    status: str  # CURRENT / OUTDATED / INOPERABLE, a stack status, ENABLED, or MISSING
    detail: str | None = None

    @property
    def deployed(self) -> bool:
        """True when this path forwards events (as far as its status tells)."""
        if self.kind == "stack-set":
            return self.status == "CURRENT"
        if self.kind == "stack":
            return self.status in _DEPLOYED_STACK
        if self.kind == "rule":
            return self.status == "ENABLED"
        return False


MISSING: Final = ForwardingPath("none", "MISSING")
NOT_CHECKED: Final = ForwardingPath(
    "none", "NOT_CHECKED", "the management account's own stacks can be read only from there"
)


@dataclass(frozen=True, slots=True)
class Cell:
    """One account x region and its verdict."""

    account: Account
    region: str
    path: ForwardingPath
    last_event: datetime | None

    @property
    def covered(self) -> bool:
        """Deployed, or (where the path cannot be read) events seen."""
        if self.path.deployed:
            return True
        return self.path is NOT_CHECKED and self.last_event is not None

    def as_dict(self) -> dict[str, Any]:
        """The JSON line of ``coverage --json``."""
        return {
            "account_id": self.account.account_id,
            "account_name": self.account.name,
            "account_state": self.account.state,
            "region": self.region,
            "path": self.path.kind,
            "status": self.path.status,
            "detail": self.path.detail,
            "last_event_time": None if self.last_event is None else format_time(self.last_event),
            "covered": self.covered,
        }


@dataclass(frozen=True, slots=True)
class CoverageReport:
    """Every active account x region, in account then region order."""

    cells: tuple[Cell, ...]

    @property
    def complete(self) -> bool:
        """True when no active account or region is left uncovered."""
        return all(cell.covered for cell in self.cells)

    @property
    def gaps(self) -> tuple[Cell, ...]:
        """The uncovered cells."""
        return tuple(cell for cell in self.cells if not cell.covered)


def assess(
    accounts: Iterable[Account],
    regions: Iterable[str],
    *,
    instances: Mapping[tuple[str, str], ForwardingPath],
    local_paths: Mapping[tuple[str, str], ForwardingPath] | None = None,
    last_events: Mapping[tuple[str, str], datetime] | None = None,
    checked_accounts: Iterable[str] = (),
) -> CoverageReport:
    """Cross accounts with regions; each cell takes its stack instance, else its local path.

    ``checked_accounts`` are the accounts whose own stacks and rules were read (the caller's);
    the management account outside them is NOT_CHECKED instead of MISSING.
    """
    local_paths = local_paths or {}
    last_events = last_events or {}
    checked = set(checked_accounts)
    region_list = sorted(set(regions))
    cells: list[Cell] = []
    for account in sorted(accounts, key=lambda a: (not a.is_management, a.name, a.account_id)):
        if not account.active:
            continue
        for region in region_list:
            key = (account.account_id, region)
            path = instances.get(key) or local_paths.get(key)
            if path is None:
                unreadable = account.is_management and account.account_id not in checked
                path = NOT_CHECKED if unreadable else MISSING
            cells.append(Cell(account, region, path, last_events.get(key)))
    return CoverageReport(tuple(cells))


# --- reading AWS and the store ------------------------------------------------------------------


def read_accounts(organizations: Any) -> list[Account]:
    """Every account of the organization (ListAccounts: the management account or a delegate)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        management = organizations.describe_organization()["Organization"]["MasterAccountId"]
        accounts = [
            Account(
                account_id=str(item["Id"]),
                name=str(item.get("Name", "")),
                state=str(item.get("State") or item.get("Status") or "UNKNOWN"),
                is_management=item["Id"] == management,
            )
            for page in organizations.get_paginator("list_accounts").paginate()
            for item in page["Accounts"]
        ]
    except (BotoCoreError, ClientError) as error:
        raise CoverageError(f"cannot list the organization's accounts: {error}") from None
    return accounts


def read_enabled_regions(ec2: Any) -> list[str]:
    """Regions enabled in the calling account (opt-in not required, or opted in)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        regions = ec2.describe_regions(AllRegions=False)["Regions"]
    except (BotoCoreError, ClientError) as error:
        raise CoverageError(f"cannot list the enabled regions: {error}") from None
    return sorted(
        str(region["RegionName"])
        for region in regions
        if region.get("OptInStatus", "opt-in-not-required") in ("opt-in-not-required", "opted-in")
    )


def read_stack_instances(
    cloudformation: Any, stack_set_name: str, *, call_as: str = "SELF"
) -> dict[tuple[str, str], ForwardingPath]:
    """The StackSet's instances by (account, region), with status and reason."""
    from botocore.exceptions import BotoCoreError, ClientError

    found: dict[tuple[str, str], ForwardingPath] = {}
    try:
        pages = cloudformation.get_paginator("list_stack_instances").paginate(
            StackSetName=stack_set_name, CallAs=call_as
        )
        for page in pages:
            for summary in page["Summaries"]:
                detailed = summary.get("StackInstanceStatus", {}).get("DetailedStatus")
                reason = summary.get("StatusReason") or detailed
                found[(str(summary["Account"]), str(summary["Region"]))] = ForwardingPath(
                    "stack-set", str(summary["Status"]), reason
                )
    except (BotoCoreError, ClientError) as error:
        raise CoverageError(
            f"cannot list the instances of StackSet {stack_set_name!r}: {error}"
        ) from None
    return found


def read_local_paths(
    cloudformation_by_region: Mapping[str, Any],
    events_by_region: Mapping[str, Any],
    *,
    account_id: str,
    stack_name: str,
    rule_name: str,
) -> dict[tuple[str, str], ForwardingPath]:
    """The calling account's own paths: a stack of the member template, or the monitor's rule.

    The management account forwards through stacks named like the StackSet
    (modules/organization ``forward_from_this_account``); the monitor account through the
    monitor module's ``<name_prefix>-forward`` rules. Unreadable regions are simply absent.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    found: dict[tuple[str, str], ForwardingPath] = {}
    for region, client in cloudformation_by_region.items():
        try:
            (stack,) = client.describe_stacks(StackName=stack_name)["Stacks"]
        except (BotoCoreError, ClientError, ValueError):
            continue
        found[(account_id, region)] = ForwardingPath("stack", str(stack["StackStatus"]), stack_name)
    for region, client in events_by_region.items():
        if (account_id, region) in found and found[(account_id, region)].deployed:
            continue
        try:
            rule = client.describe_rule(Name=rule_name)
        except (BotoCoreError, ClientError):
            continue
        found[(account_id, region)] = ForwardingPath(
            "rule", str(rule.get("State", "UNKNOWN")), rule_name
        )
    return found


def read_last_events(
    store: ActivityStore,
    account_ids: Iterable[str],
    *,
    since: datetime,
    now_epoch: int | None = None,
) -> dict[tuple[str, str], datetime]:
    """The newest stored event per (account, region) since ``since`` (one history per account)."""
    newest: dict[tuple[str, str], datetime] = {}
    for account_id in account_ids:
        query = HistoryQuery(account_id=account_id, since=since, now_epoch=now_epoch)
        for event in store.history(query):
            key = (event.account_id, event.region)
            if key not in newest or event.event_time > newest[key]:
                newest[key] = event.event_time
    return newest
