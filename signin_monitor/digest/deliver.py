"""The scheduled digest: recognise the Scheduler's event, and post a day's digest exactly once.

EventBridge Scheduler invokes the function with the schedule's ``input`` as the event:
``{"signin-monitor": "digest"}``, optionally ``"day": "yyyy-mm-dd"`` (a given day),
``"scheduled_time"`` (Terraform passes ``<aws.scheduler.scheduled-time>``, which the Scheduler
fills in: the digest is of the UTC day before it, so a retry the next day still posts the same
day) and ``"accounts": [...]`` (the accounts to read on DynamoDB). Without a day or a scheduled
time, the day before now (UTC).

Exactly once across Scheduler retries, Lambda's asynchronous retries and duplicate invocations:
the digest is claimed like a one-off alert (rule ``digest``, scope the day: claim key
``digest#<day>``) before it is posted, and marked sent after. A transient Slack failure releases
the claim and raises (Lambda retries the invocation); Slack refusing it for good marks it failed
and keeps the message for ``signin-monitor resend``. The claim item carries the day in
``by-alert-day`` like any claim; every reader of alerts leaves rule ``digest`` out
(``store/day_reads.py``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from ..alerts import Alert, Severity
from ..errors import MalformedRecordError, SlackPermanentError, SlackRetryableError
from ..events import SignInEvent
from ..routing import WEBHOOK, destination_alert
from ..slack import Notifier
from ..store import ActivityStore, ClaimOutcome, ClaimStatus
from ..store.day_reads import DIGEST_RULE_ID

if TYPE_CHECKING:
    from ..accounts import AccountNames
    from .model import Digest, SuppressionLookup
    from .sources import DayReader

__all__ = [
    "DIGEST_EVENT_KEY",
    "DIGEST_EVENT_VALUE",
    "DigestRequest",
    "DigestStatus",
    "digest_claim",
    "is_digest_event",
    "parse_digest_event",
    "post_digest",
    "run_digest_event",
    "scheduled_digest",
]

logger = logging.getLogger(__name__)

#: The schedule's input names the job with this key and value.
DIGEST_EVENT_KEY: Final = "signin-monitor"
DIGEST_EVENT_VALUE: Final = "digest"
_ACCOUNT: Final = re.compile(r"\d{12}")
_MAX_ACCOUNTS: Final = 1000


class DigestStatus(StrEnum):
    """How one scheduled digest ended."""

    SENT = "sent"
    #: Already posted (or refused for good) by an earlier invocation: nothing posted now.
    ALREADY_POSTED = "already-posted"
    #: Another live invocation holds the claim and is posting it right now.
    BUSY = "busy"
    FAILED = "failed"
    RETRY_LATER = "retry-later"


@dataclass(frozen=True, slots=True, kw_only=True)
class DigestRequest:
    """Which day to digest, and the accounts to read (empty: the ones the function knows)."""

    day: date
    accounts: tuple[str, ...] = ()


def is_digest_event(event: object) -> bool:
    """True for the Scheduler's digest invocation (never for an EventBridge event)."""
    return isinstance(event, Mapping) and event.get(DIGEST_EVENT_KEY) == DIGEST_EVENT_VALUE


def parse_digest_event(event: Mapping[str, Any], *, now: datetime) -> DigestRequest:
    """The request a digest event makes; ``MalformedRecordError`` naming the bad field."""
    day_text = event.get("day")
    scheduled = event.get("scheduled_time")
    if day_text is not None:
        if not isinstance(day_text, str):
            raise MalformedRecordError("digest: 'day' must be a yyyy-mm-dd string")
        try:
            day = date.fromisoformat(day_text)
        except ValueError:
            raise MalformedRecordError(
                f"digest: 'day' {day_text[:40]!r} is not yyyy-mm-dd"
            ) from None
    elif scheduled is not None:
        if not isinstance(scheduled, str):
            raise MalformedRecordError("digest: 'scheduled_time' must be an ISO 8601 string")
        try:
            moment = datetime.fromisoformat(scheduled.replace("Z", "+00:00"))
        except ValueError:
            raise MalformedRecordError(
                f"digest: 'scheduled_time' {scheduled[:40]!r} is not an ISO 8601 time"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        day = moment.astimezone(UTC).date() - timedelta(days=1)
    else:
        day = now.astimezone(UTC).date() - timedelta(days=1)
    accounts = event.get("accounts", [])
    if not isinstance(accounts, list) or len(accounts) > _MAX_ACCOUNTS:
        raise MalformedRecordError("digest: 'accounts' must be a list of 12-digit account ids")
    for account in accounts:
        if not isinstance(account, str) or not _ACCOUNT.fullmatch(account):
            raise MalformedRecordError("digest: 'accounts' must be a list of 12-digit account ids")
    return DigestRequest(day=day, accounts=tuple(dict.fromkeys(accounts)))


def digest_claim(day: date) -> Alert:
    """The one-off claim of ``day``'s digest: rule ``digest``, scope the day.

    Its "event" is the day's first second, so the claim lists under the day it summarises.
    """
    moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
    event = SignInEvent(
        event_id=f"digest-{day.isoformat()}",
        event_time=moment,
        event_name="DailyDigest",
        account_id="",
        principal="digest",
        identity_type="SigninMonitor",
        user_name=None,
        arn=None,
        result=None,
        mfa_used=None,
        source_ip="",
        user_agent="",
        region="",
    )
    return Alert(
        rule_id=DIGEST_RULE_ID,
        severity=Severity.MEDIUM,
        title=f"Sign-in digest for {day.isoformat()}",
        event=event,
        scope=day.isoformat(),
    )


def post_digest(
    store: ActivityStore,
    notifier: Notifier,
    payload: dict[str, Any],
    day: date,
    *,
    deadline: float | None = None,
    destination: str | None = None,
) -> DigestStatus:
    """Claim the day's digest and post ``payload`` once; mark how it ended.

    ``destination`` names the routing destination ``notifier`` posts to (None: today's
    webhook): a refused digest is then kept under that destination's claim, as a refused
    alert is, so ``signin-monitor resend`` posts it there and not to the default webhook.
    Raises nothing for Slack failures (see ``DigestStatus``); a store error, or anything else
    that stops the send (after releasing the claim), propagates.
    """
    claim = digest_claim(day)
    outcome = store.claim_alert(claim)
    if outcome is ClaimOutcome.BUSY:
        logger.info("digest not posted here: another invocation is posting it")
        return DigestStatus.BUSY
    if not outcome.should_send:
        logger.info("digest already posted", extra={"day": day.isoformat()})
        return DigestStatus.ALREADY_POSTED
    try:
        notifier.send(payload, alert=None, deadline=deadline)
    except SlackPermanentError as error:
        logger.error(
            "digest not delivered: Slack refused it (kept for signin-monitor resend)",
            extra={"reason": str(error), "status_code": error.status_code},
        )
        if destination is None or destination == WEBHOOK:
            store.mark_alert(claim, ClaimStatus.FAILED, payload=payload, reason=str(error))
        else:
            store.mark_alert(claim, ClaimStatus.FAILED, reason=str(error))
            target = destination_alert(claim, destination)
            store.claim_alert(target)
            store.mark_alert(target, ClaimStatus.FAILED, payload=payload, reason=str(error))
        return DigestStatus.FAILED
    except SlackRetryableError as error:
        logger.warning(
            "digest not delivered yet: the invocation will be retried",
            extra={"reason": str(error), "status_code": error.status_code},
        )
        store.mark_alert(claim, ClaimStatus.PENDING)
        return DigestStatus.RETRY_LATER
    except BaseException:
        logger.warning("digest not delivered: its claim is released for a retry")
        store.mark_alert(claim, ClaimStatus.PENDING)
        raise
    store.mark_alert(claim, ClaimStatus.SENT)
    logger.info("digest sent", extra={"day": day.isoformat()})
    return DigestStatus.SENT


def scheduled_digest(
    request: DigestRequest,
    *,
    store: ActivityStore,
    reader: DayReader,
    notifier: Notifier,
    known_accounts: Sequence[str] = (),
    suppressions: SuppressionLookup | None = None,
    account_names: AccountNames | None = None,
    deadline: float | None = None,
    destination: str | None = None,
) -> tuple[DigestStatus, Digest]:
    """Gather the requested day (one key range per account), render it, post it once.

    ``notifier`` is where the digest goes (today the alerts' webhook; a routing destination
    named for digests once there is one).
    """
    from .gather import gather_digest
    from .render import render_blocks

    digest = gather_digest(
        reader,
        request.day,
        accounts=request.accounts,
        known_accounts=known_accounts,
        suppressions=suppressions,
        account_names=account_names,
    )
    status = post_digest(
        store,
        notifier,
        render_blocks(digest),
        request.day,
        deadline=deadline,
        destination=destination,
    )
    return status, digest


def run_digest_event(
    event: Mapping[str, Any],
    *,
    store: ActivityStore,
    notifier: Notifier,
    known_accounts: Sequence[str] = (),
    account_names: AccountNames | None = None,
    now: datetime | None = None,
    deadline: float | None = None,
    destination: str | None = None,
) -> tuple[DigestStatus, dict[str, Any]]:
    """The Lambda's digest invocation: parse the event, read the day from the DynamoDB store,
    post it once. Returns how it ended and the invocation's summary.

    ``MalformedRecordError`` for an event no retry can fix; store errors propagate.
    """
    from ..store.dynamodb import DynamoDbStore
    from .lookup import suppression_lookup
    from .sources import DynamoDbDayReader

    request = parse_digest_event(event, now=now or datetime.now(UTC))
    if not isinstance(store, DynamoDbStore):
        raise TypeError("the scheduled digest reads the DynamoDB activity table")
    status, digest = scheduled_digest(
        request,
        store=store,
        reader=DynamoDbDayReader.of_store(store),
        notifier=notifier,
        known_accounts=known_accounts,
        suppressions=suppression_lookup(store),
        account_names=account_names,
        destination=destination,
        deadline=deadline,
    )
    summary = {
        "status": f"digest {status.value}",
        "day": request.day.isoformat(),
        "accounts": list(digest.accounts),
        "alerts": digest.alerts,
    }
    return status, summary
