"""The flow every event takes, in Lambda and on the command line: store, rules, claim, notify.

No I/O of its own: the store and the notifier are passed in, so tests use SQLite and a fake.
A claimed alert is marked sent only after the notifier returned (for the command line without
a webhook, after its line is printed and flushed); whatever else ends the send (a transient
Slack failure, a deadline, a closed stdout, an interrupt) releases the claim for the next run.

With a routing document (the notifier is a ``RoutedNotifier``) the alert's own claim still
decides whether the alert exists; then, with more than one destination, each destination is
claimed on its own (``routing.destination_alert``), so a retry re-posts only where the post
failed. The own claim is marked sent once every destination is settled, released (pending)
when any must be retried, failed when any refused for good (that destination's claim keeps
the message as undelivered, for ``resend``). One destination: the own claim alone, as
without routing. Routed to ``digest`` only: marked ``digest-only``, not posted.
"""

from __future__ import annotations

import logging
import operator
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final, Protocol, runtime_checkable

from .alerts import Alert
from .errors import SlackPermanentError, SlackRetryableError
from .events import SignInEvent
from .logs import event_keys
from .routing import DIGEST, WEBHOOK, RoutedNotifier, destination_alert
from .rules import Rule
from .slack import Notifier, render
from .store import ActivityStore, ClaimOutcome, ClaimStatus

if TYPE_CHECKING:
    from .accounts import AccountNames
    from .suppressions import SuppressionSource

__all__ = [
    "RELEASE_MARGIN_SECONDS",
    "BatchClaimStore",
    "Delivery",
    "DeliveryStatus",
    "EventOutcome",
    "Pipeline",
]

#: What a log line of one destination's post adds to the same line without routing.
_TO_DESTINATION: Final = " to this destination"

logger = logging.getLogger(__name__)

#: A send stops this long before its deadline or its claim's lease ends: time left to release
#: the claim (mark it pending) and raise, so a retry posts it, rather than be killed mid-send.
RELEASE_MARGIN_SECONDS: Final = 2.0


@runtime_checkable
class BatchClaimStore(Protocol):
    """A store that claims several alerts in one transaction (``SqliteStore``)."""

    def claim_many(self, alerts: Sequence[Alert]) -> list[tuple[Alert, ClaimOutcome]]:
        """Claim a prefix of ``alerts`` (never empty), each with the alert claimed, as one
        alert at a time would (claimed, posted and marked) give."""
        ...


class DeliveryStatus(StrEnum):
    """How posting one alert ended."""

    SENT = "sent"
    FAILED = "failed"
    RETRY_LATER = "retry-later"
    #: Not posted: another live delivery holds this alert's claim (``ClaimOutcome.BUSY``).
    BUSY = "busy"
    #: Claimed, not posted: a suppression covers it (``Delivery.suppressed_by`` names it).
    SUPPRESSED = "suppressed"
    #: Not posted: the routing document sends it to the daily digest only.
    DIGEST_ONLY = "digest-only"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One alert this event raised and claimed, its payload and how its delivery ended.

    With a routing document, ``destinations`` holds each destination's outcome (in routing
    order; ``digest`` as ``DIGEST_ONLY``) and ``status`` is the worst of them; without one,
    it is empty.
    """

    alert: Alert
    payload: dict[str, Any]
    status: DeliveryStatus
    destinations: tuple[tuple[str, DeliveryStatus], ...] = ()
    #: The id of the suppression that kept it from being posted (``SUPPRESSED`` only).
    suppressed_by: str | None = None


@dataclass(slots=True)
class EventOutcome:
    """What processing one event did."""

    event: SignInEvent
    stored: bool
    deliveries: list[Delivery] = field(default_factory=list)

    def __reduce__(self) -> tuple[type[EventOutcome], tuple[Any, ...]]:
        """Pickled as its fields' values, in order (replay's reader process hands outcomes
        over): the dataclass's own way looks its fields up again for each one."""
        return (EventOutcome, _outcome_values(self))

    @property
    def retryable_error(self) -> SlackRetryableError | None:
        """Set when an alert could not be posted yet; the event should be processed again."""
        for delivery in self.deliveries:
            if delivery.status is DeliveryStatus.RETRY_LATER:
                return SlackRetryableError("an alert could not be posted yet; retry the event")
        return None


#: ``EventOutcome``'s values in field order (a field added later is pickled too).
_outcome_values: Final = operator.attrgetter(*EventOutcome.__dataclass_fields__)


class Pipeline:
    """Processes sign-in events through the store, the rules and the notifier.

    **Parameters:**
    * **store** - where events and alert claims live.
    * **notifier** - where claimed alerts are posted.
    * **rules** - the detections to run, in order.
    * **retention** - how long after its event time an event is kept (None: forever).
    * **lease_seconds** - the store's claim lease: each send ends ``RELEASE_MARGIN_SECONDS``
      before it runs out, so no other delivery takes the claim while this one still posts
      (None: no lease, the notifier's own budget applies).
    * **monotonic** - the clock deadlines are read on (the notifier's).
    * **suppressions** - asked after each claim whether a suppression covers the alert (then it
      is marked ``suppressed``, not posted); None: nothing is ever suppressed.
    """

    def __init__(
        self,
        *,
        store: ActivityStore,
        notifier: Notifier,
        rules: Sequence[Rule],
        retention: timedelta | None,
        lease_seconds: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        account_names: AccountNames | None = None,
        suppressions: SuppressionSource | None = None,
    ) -> None:
        self.store = store
        self.suppressions = suppressions
        self.account_names = account_names
        self.notifier = notifier
        self.rules = tuple(rules)
        self.retention = retention
        self.lease_seconds = lease_seconds
        self.monotonic = monotonic

    def process(self, event: SignInEvent, *, deadline: float | None = None) -> EventOutcome:
        """Store the event, run every rule, and post each alert this delivery owns.

        ``deadline`` (``monotonic`` seconds) is when every send must have ended (Lambda: the
        invocation's end less a margin). Never raises for Slack failures: a transient one is
        reported as ``RETRY_LATER`` (the claim is released, so redelivering the event posts
        it), a permanent one as ``FAILED``. Store errors, and anything else that stops a send
        (after releasing its claim), propagate.
        """
        with event_keys(
            event_id=event.event_id,
            event_name=event.event_name,
            principal=event.principal,
            account_id=event.account_id,
        ):
            stored = self.store.record(event, expires_at=self._expires_at(event))
            outcome = EventOutcome(event=event, stored=stored)
            for rule in self.rules:
                alert = rule.evaluate(event, self.store)
                if alert is not None:
                    delivery = self._deliver(alert, deadline)
                    if delivery is not None:
                        outcome.deliveries.append(delivery)
            logger.info(
                "event processed",
                extra={
                    "stored": stored,
                    "duplicate": not stored,
                    "alerts": [d.alert.rule_id for d in outcome.deliveries],
                },
            )
            return outcome

    def deliver(self, alert: Alert, *, deadline: float | None = None) -> Delivery | None:
        """Claim and post one alert a rule raised (replay's engine runs the rules itself)."""
        return self._deliver(alert, deadline)

    @property
    def claims_in_batches(self) -> bool:
        """Whether ``claim_many`` claims several alerts in one store transaction: the store can
        (``BatchClaimStore``) and no lease bounds the sends (a claim taken early in a batch is
        posted later; with a lease, another delivery could take it over in between)."""
        return self.lease_seconds is None and isinstance(self.store, BatchClaimStore)

    def claim_many(self, alerts: Sequence[Alert]) -> list[tuple[Alert, ClaimOutcome]]:
        """Claim the first of ``alerts`` (with ``claims_in_batches``, as many as one store
        transaction may take, in order), as ``deliver`` claims: each with the alert claimed.

        Post and mark each with ``deliver_claimed``, in order, before claiming the rest: the
        outcomes are then those of ``deliver`` one alert at a time. A crash between the
        batch's claim and an alert's mark leaves that alert's claim pending, retried by the
        next run, as after a crash in ``deliver``; a caller that stops early releases the
        claims it did not post (``release``).
        """
        store = self.store
        if self.claims_in_batches and isinstance(store, BatchClaimStore):
            return store.claim_many(alerts)
        return [self._claim(alerts[0])]

    def release(self, alert: Alert, claim: ClaimOutcome) -> None:
        """Free a claim ``claim_many`` took for an alert that will not be posted now."""
        if claim.should_send:
            self.store.mark_alert(alert, ClaimStatus.PENDING)

    def deliver_claimed(
        self, alert: Alert, claim: ClaimOutcome, *, deadline: float | None = None
    ) -> Delivery | None:
        """Post and mark one alert ``claim_many`` claimed (``deliver`` after its claim)."""
        with event_keys(rule=alert.rule_id, claim=claim.value):
            return self._post_claimed(alert, claim, deadline)

    def _deliver(self, alert: Alert, deadline: float | None) -> Delivery | None:
        alert, claim = self._claim(alert)
        return self.deliver_claimed(alert, claim, deadline=deadline)

    def _post_claimed(
        self, alert: Alert, claim: ClaimOutcome, deadline: float | None
    ) -> Delivery | None:
        if claim is ClaimOutcome.BUSY:
            logger.info("alert not posted here: another delivery holds its claim")
            return Delivery(alert, self._render(alert), DeliveryStatus.BUSY)
        if not claim.should_send:
            logger.info("alert suppressed: already sent or covered by an earlier alert")
            return None
        logger.info("alert claimed")
        payload = self._render(alert)
        suppressed_by = self._suppressed_by(alert)
        if suppressed_by is not None:
            # Claimed (its window stays covered), recorded as suppressed, never posted.
            self.store.mark_alert(alert, ClaimStatus.SUPPRESSED, reason=suppressed_by)
            logger.info("alert suppressed: not posted", extra={"suppression": suppressed_by})
            return Delivery(alert, payload, DeliveryStatus.SUPPRESSED, suppressed_by=suppressed_by)
        if isinstance(self.notifier, RoutedNotifier):
            return self._fan_out(alert, payload, self.notifier, deadline)
        status, _reason = self._send(alert, payload, self.notifier, self._send_deadline(deadline))
        return Delivery(alert, payload, status)

    def _suppressed_by(self, alert: Alert) -> str | None:
        """The id of the suppression covering the claimed alert; a failed read frees the claim."""
        if self.suppressions is None:
            return None
        try:
            suppression = self.suppressions.covering(alert)
        except BaseException:
            logger.warning("suppressions not read: the alert's claim is released for a retry")
            self.store.mark_alert(alert, ClaimStatus.PENDING)
            raise
        return None if suppression is None else suppression.id

    def _fan_out(
        self,
        alert: Alert,
        payload: dict[str, Any],
        router: RoutedNotifier,
        deadline: float | None,
    ) -> Delivery:
        """Post the claimed alert to each destination its routes choose (design §5 per
        destination); one send deadline, and the own claim's lease, cover them all."""
        names = router.destinations_for(alert)
        posted = [name for name in names if name != DIGEST]
        digest = ((DIGEST, DeliveryStatus.DIGEST_ONLY),) if DIGEST in names else ()
        if not posted:
            self.store.mark_alert(alert, ClaimStatus.DIGEST_ONLY)
            logger.info("alert not posted: routed to the daily digest only")
            return Delivery(alert, payload, DeliveryStatus.DIGEST_ONLY, digest)
        send_deadline = self._send_deadline(deadline)
        if len(posted) == 1:
            status = self._post_only(alert, payload, router, posted[0], send_deadline)
            return Delivery(alert, payload, status, ((posted[0], status), *digest))
        results: list[tuple[str, DeliveryStatus]] = []
        try:
            for name in posted:
                results.append((name, self._post_to(alert, payload, router, name, send_deadline)))
        except BaseException:
            logger.warning("alert not delivered everywhere: its claim is released for a retry")
            self.store.mark_alert(alert, ClaimStatus.PENDING)
            raise
        statuses = {status for _name, status in results}
        if statuses & {DeliveryStatus.RETRY_LATER, DeliveryStatus.BUSY}:
            overall = DeliveryStatus.RETRY_LATER
            self.store.mark_alert(alert, ClaimStatus.PENDING)
            logger.warning("alert not delivered everywhere yet: will be retried with the event")
        elif DeliveryStatus.FAILED in statuses:
            overall = DeliveryStatus.FAILED
            self.store.mark_alert(alert, ClaimStatus.FAILED)
        else:
            overall = DeliveryStatus.SENT
            self.store.mark_alert(alert, ClaimStatus.SENT)
            logger.info("alert sent to every destination")
        return Delivery(alert, payload, overall, (*results, *digest))

    def _post_to(
        self,
        alert: Alert,
        payload: dict[str, Any],
        router: RoutedNotifier,
        name: str,
        deadline: float | None,
    ) -> DeliveryStatus:
        """Claim one destination of a claimed alert and post it there, unless done before."""
        target = destination_alert(alert, name)
        with event_keys(destination=name):
            claim = self.store.claim_alert(target)
            if claim is ClaimOutcome.BUSY:
                logger.info("not posted to this destination: another delivery holds its claim")
                return DeliveryStatus.BUSY
            if not claim.should_send:
                # Settled by an earlier delivery of the event (the one whose retry this is).
                logger.info("already posted to this destination (or refused for good)")
                return DeliveryStatus.SENT
            notifier = self._destination(router, name)
            return self._send(target, payload, notifier, deadline, where=_TO_DESTINATION)[0]

    def _post_only(
        self,
        alert: Alert,
        payload: dict[str, Any],
        router: RoutedNotifier,
        name: str,
        deadline: float | None,
    ) -> DeliveryStatus:
        """One destination: the alert's own claim is its claim, as without routing. A refusal
        is kept as undelivered under the destination's claim, so ``resend`` posts it there."""
        with event_keys(destination=name):
            notifier = self._destination(router, name)
            if name == WEBHOOK:  # today's webhook: its refusals are kept as they are today
                return self._send(alert, payload, notifier, deadline, where=_TO_DESTINATION)[0]
            status, reason = self._send(
                alert, payload, notifier, deadline, keep_failed=False, where=_TO_DESTINATION
            )
            if status is DeliveryStatus.FAILED:
                target = destination_alert(alert, name)
                self.store.claim_alert(target)
                self.store.mark_alert(target, ClaimStatus.FAILED, payload=payload, reason=reason)
            return status

    def _send(
        self,
        claimed: Alert,
        payload: dict[str, Any],
        notifier: Notifier,
        deadline: float | None,
        *,
        keep_failed: bool = True,
        where: str = "",
    ) -> tuple[DeliveryStatus, str | None]:
        """Post the message and mark ``claimed`` (its claim) as the post ended; a refusal's
        reason is returned too. ``keep_failed``: keep a refused message as undelivered under
        ``claimed``. ``where``: what the log lines add (" to this destination")."""
        try:
            notifier.send(payload, alert=claimed, deadline=deadline)
        except SlackPermanentError as error:
            logger.error(
                f"alert not delivered{where}: Slack refused it",
                extra={"reason": str(error), "status_code": error.status_code},
            )
            self.store.mark_alert(
                claimed,
                ClaimStatus.FAILED,
                payload=payload if keep_failed else None,
                reason=str(error),
            )
            return DeliveryStatus.FAILED, str(error)
        except SlackRetryableError as error:
            logger.warning(
                f"alert not delivered{where} yet: will be retried with the event",
                extra={"reason": str(error), "status_code": error.status_code},
            )
            self.store.mark_alert(claimed, ClaimStatus.PENDING)
            return DeliveryStatus.RETRY_LATER, None
        except BaseException:
            # Not delivered (stdout closed, bad configuration, interrupted): free the claim
            # for the next run, then let the cause through.
            logger.warning("alert not delivered: its claim is released for a retry")
            self.store.mark_alert(claimed, ClaimStatus.PENDING)
            raise
        self.store.mark_alert(claimed, ClaimStatus.SENT)
        logger.info(f"alert sent{where}")
        return DeliveryStatus.SENT, None

    @staticmethod
    def _destination(router: RoutedNotifier, name: str) -> Notifier:
        notifier = router.notifier_for(name)
        if notifier is None:  # parse_routing and build_notifier rule this out
            raise ValueError(f"no notifier for destination {name!r}")
        return notifier

    def _send_deadline(self, deadline: float | None) -> float | None:
        """The earlier of the caller's deadline and the end of the claim's lease, less a margin."""
        if self.lease_seconds is None:
            return deadline
        lease_end = self.monotonic() + self.lease_seconds - RELEASE_MARGIN_SECONDS
        return lease_end if deadline is None else min(deadline, lease_end)

    def _render(self, alert: Alert) -> dict[str, Any]:
        """The alert's message, with the account's name when one is known (never fatal)."""
        names = self.account_names
        name = None if names is None else names.name(alert.event.account_id)
        return render(alert, account_name=name)

    def _claim(self, alert: Alert) -> tuple[Alert, ClaimOutcome]:
        """Claim the alert; a windowed one for the first of its anchors no other alert covers.

        The alert returned is the one claimed: render and mark that one (its event may be a
        stored event other than the one being processed, design §3.2 "Arrival order").
        """
        if alert.window is None:
            return alert, self.store.claim_alert(alert)
        return self.store.claim_window(alert)

    def _expires_at(self, event: SignInEvent) -> int | None:
        if self.retention is None:
            return None
        return int((event.event_time + self.retention).timestamp())
