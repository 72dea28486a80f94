"""Fold a day's alert claims and events into a ``Digest`` (no I/O beyond the reader's).

Events stream past once and only counters are kept (by principal, by address), plus the few
events alerts are about, so a day of a million events needs no more memory than its distinct
principals and addresses. The definitions are the audit report's (``report/gather.py``):
a sign-in without MFA is an IAM user's successful ``ConsoleLogin`` with ``MFAUsed`` "No";
failures are failed ``ConsoleLogin`` records, by principal and by source address.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Final

from ..alerts import Severity
from .model import TOP_LIMIT, Digest, DigestAlert, SuppressedAlert, SuppressionLookup
from .sources import SUPPRESSED, DayReader, digest_accounts, scope_account

if TYPE_CHECKING:
    from ..accounts import AccountNames
    from ..events import SignInEvent
    from ..store.day_reads import AlertRecord

__all__ = ["build_digest", "gather_digest", "rule_severities"]

logger = logging.getLogger(__name__)

_UNKNOWN_SEVERITY: Final = "unknown"


def rule_severities() -> dict[str, str]:
    """Each rule id's severity, from the rule classes (claims do not store it)."""
    from .. import rules

    found: dict[str, str] = {}
    for name in rules.__all__:
        rule = getattr(rules, name)
        if not dataclasses.is_dataclass(rule):
            continue
        defaults = {f.name: f.default for f in dataclasses.fields(rule)}
        rule_id, severity = defaults.get("id"), defaults.get("severity")
        if isinstance(rule_id, str) and isinstance(severity, Severity):
            found[rule_id] = severity.value
    return found


def gather_digest(
    reader: DayReader,
    day: date,
    *,
    accounts: Sequence[str] = (),
    known_accounts: Iterable[str] = (),
    suppressions: SuppressionLookup | None = None,
    account_names: AccountNames | None = None,
) -> Digest:
    """Read the day (one key range per account) and build its digest.

    ``accounts``: exactly these (``--account``, the schedule's list). Without: every account
    where the store can list them (SQLite), else ``known_accounts`` plus the accounts the day's
    alerts name (``digest_accounts``).
    """
    alerts = reader.alerts(day)
    chosen: tuple[str, ...] | None
    if accounts:
        chosen = tuple(dict.fromkeys(accounts))
    elif reader.lists_every_account:
        chosen = None
    else:
        chosen = digest_accounts(known=known_accounts, alerts=alerts)
    return build_digest(
        day,
        alerts=alerts,
        events=reader.events(day, chosen),
        accounts=chosen,
        only_accounts=bool(accounts),
        suppressions=suppressions,
        account_names=account_names,
    )


def build_digest(
    day: date,
    *,
    alerts: Sequence[AlertRecord],
    events: Iterable[SignInEvent],
    accounts: Sequence[str] | None,
    only_accounts: bool = False,
    suppressions: SuppressionLookup | None = None,
    account_names: AccountNames | None = None,
    severities: Mapping[str, str] | None = None,
) -> Digest:
    """The digest of ``day`` from its alert claims and its events.

    ``accounts``: the accounts the events are of (None: every account, as the events show
    them). ``only_accounts``: leave out the alerts of other accounts (``--account``); else an
    alert whose event was not read is still counted, under the account its scope names or
    none ("account not read"): a digest never hides an alert.
    """
    severity_of = rule_severities() if severities is None else severities
    wanted = {record.event_id for record in alerts}
    anchors: dict[str, SignInEvent] = {}
    seen_accounts: set[str] = set() if accounts is None else set(accounts)
    no_mfa: Counter[tuple[str, str]] = Counter()
    failing: Counter[tuple[str, str]] = Counter()
    failing_ips: Counter[str] = Counter()
    digest = Digest(day=day.isoformat(), accounts=())
    for event in events:
        digest.events += 1
        seen_accounts.add(event.account_id)
        if event.event_id in wanted:
            anchors[event.event_id] = event
        if event.is_api_call:
            digest.api_calls += 1
        elif event.is_console_login:
            digest.sign_ins += 1
            if event.is_failed_console_login:
                digest.failed_sign_ins += 1
                failing[(event.account_id, event.principal)] += 1
                failing_ips[event.source_ip] += 1
            elif (
                event.result == "Success"
                and event.mfa_used is False
                and event.identity_type == "IAMUser"
            ):
                no_mfa[(event.account_id, event.principal)] += 1
    digest.accounts = tuple(sorted(seen_accounts))
    counts: Counter[tuple[str | None, str]] = Counter()
    for record in alerts:
        line = _alert_line(record, anchors.get(record.event_id), severity_of)
        if only_accounts and line.account_id not in seen_accounts:
            continue  # an alert of an account this digest does not cover
        digest.alerts += 1
        counts[(line.account_id, line.rule_id)] += 1
        if record.status == SUPPRESSED:
            digest.suppressed.append(_suppressed(line, record.reason, suppressions))
        if line.severity == Severity.MEDIUM.value:
            digest.medium.append(line)
    digest.alert_counts = [
        (account, rule, count)
        for (account, rule), count in sorted(
            counts.items(), key=lambda item: (-item[1], item[0][0] or "~", item[0][1])
        )
    ]
    digest.without_mfa = _busiest(no_mfa, limit=None)
    digest.failing_principals = _busiest(failing, limit=TOP_LIMIT)
    digest.failing_principals_total = len(failing)
    digest.failing_ips = [
        (ip, count)
        for ip, count in sorted(failing_ips.items(), key=lambda item: (-item[1], item[0]))[
            :TOP_LIMIT
        ]
    ]
    digest.failing_ips_total = len(failing_ips)
    if account_names is not None:
        names = {account: account_names.name(account) for account in digest.accounts}
        digest.account_names = {account: name for account, name in names.items() if name}
    return digest


def _busiest(counter: Counter[tuple[str, str]], *, limit: int | None) -> list[tuple[str, str, int]]:
    """(account, principal, count), busiest first, ties by account then principal."""
    ordered = sorted(counter.items(), key=lambda item: (-item[1], item[0]))
    return [(account, principal, count) for (account, principal), count in ordered[:limit]]


def _alert_line(
    record: AlertRecord, event: SignInEvent | None, severities: Mapping[str, str]
) -> DigestAlert:
    """The alert as listed: its event's account, principal and address when the event was read;
    else the account its scope names (windowed alerts), else none."""
    return DigestAlert(
        rule_id=record.rule_id,
        severity=severities.get(record.rule_id, _UNKNOWN_SEVERITY),
        status=record.status,
        event_id=record.event_id,
        event_time=record.event_time,
        account_id=event.account_id if event is not None else scope_account(record.scope),
        principal=None if event is None else event.principal,
        source_ip=None if event is None else event.source_ip,
    )


def _suppressed(
    line: DigestAlert, suppression_id: str | None, suppressions: SuppressionLookup | None
) -> SuppressedAlert:
    """The suppressed alert with whose suppression and why, when it can be looked up."""
    if suppression_id is None or suppressions is None:
        return SuppressedAlert(alert=line, suppression_id=suppression_id)
    try:
        found = suppressions.get_suppression(suppression_id)
    except Exception as error:  # the digest must go out without the details
        logger.warning(
            "suppression details unavailable: the digest shows its id only",
            extra={"suppression_id": suppression_id, "reason": str(error)},
        )
        found = None
    if found is None:
        return SuppressedAlert(alert=line, suppression_id=suppression_id)
    return SuppressedAlert(
        alert=line, suppression_id=suppression_id, author=found.author, reason=found.reason
    )
