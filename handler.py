"""AWS Lambda entry point: ``handler.handler``.

Settings, store and notifier are built once per cold start (a configuration error fails the
cold start with one message naming the variable); each invocation runs one EventBridge event
through the shared pipeline. A record that cannot be parsed or stored is logged, counted and
dropped (a retry cannot fix it); a transient failure (DynamoDB throttling, Slack 5xx/429/timeout)
raises so Lambda retries the event, and the alert claims make the retry post each message once;
a store error no retry can fix is logged, counted and raised, so the dead-letter queue keeps the
event for a redrive. Each Slack send ends before the invocation does (its remaining time less a
margin), leaving time to release the claim. Every invocation prints one EMF metrics line.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from signin_monitor import metrics
from signin_monitor.app import LogNotifier, build_notifier, build_pipeline, digest_target
from signin_monitor.config import Settings
from signin_monitor.digest.deliver import is_digest_event
from signin_monitor.errors import (
    ConfigError,
    MalformedRecordError,
    NotSignInEventError,
    SlackRetryableError,
    StoreError,
    StoreRetryableError,
)
from signin_monitor.events import parse_eventbridge
from signin_monitor.logs import configure_logging, event_keys, quiet_http_logs
from signin_monitor.pipeline import RELEASE_MARGIN_SECONDS, DeliveryStatus, Pipeline

# The validators parse_eventbridge would build on the first event, built during init instead
# (events imports them on first use, for replay's sake).
from signin_monitor.record_models import CloudTrailRecord  # noqa: F401

logger = logging.getLogger("signin_monitor.handler")
quiet_http_logs()

_COUNTED: dict[DeliveryStatus, str] = {
    DeliveryStatus.SENT: metrics.ALERTS_DELIVERED,
    DeliveryStatus.FAILED: metrics.ALERTS_NOT_DELIVERED,
    DeliveryStatus.RETRY_LATER: metrics.ALERTS_RETRYING,
}


def _build() -> Pipeline:
    settings = Settings.from_env(os.environ)
    configure_logging(settings.log_level)
    if settings.activity_table is None:
        raise ConfigError("ACTIVITY_TABLE", None, "the name of the DynamoDB activity table")
    from signin_monitor.store.dynamodb import DynamoDbStore

    lease = settings.claim_lease_seconds
    store = DynamoDbStore(settings.activity_table, lease_seconds=lease)
    notifier = build_notifier(settings, fallback=LogNotifier())
    return build_pipeline(settings, store=store, notifier=notifier, lease_seconds=lease)


_pipeline: Pipeline | None = None
_cold_start = True


def get_pipeline() -> Pipeline:
    """The container's pipeline, built on first use (tests reset it with ``reset``)."""
    global _pipeline
    if _pipeline is None:
        _pipeline = _build()
    return _pipeline


def reset() -> None:
    """Forget the built pipeline so the next invocation reads the environment again."""
    global _pipeline, _cold_start
    _pipeline = None
    _cold_start = True


if "AWS_LAMBDA_FUNCTION_NAME" in os.environ:
    # Inside Lambda, build during the init phase: a configuration error then fails the cold
    # start once, with the variable named, instead of failing every invocation.
    try:
        get_pipeline()
    except ConfigError as config_error:
        configure_logging()
        logger.critical("configuration error", extra={"reason": str(config_error)})
        raise


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Process one EventBridge event; returns a small summary (visible in test invocations)."""
    counts = metrics.Metrics(function_name=_function_name(context))
    try:
        return _handle(event, context, counts)
    finally:
        counts.emit()


def _handle(event: dict[str, Any], context: Any, counts: metrics.Metrics) -> dict[str, Any]:
    global _cold_start
    pipeline = get_pipeline()
    if pipeline.suppressions is not None:
        pipeline.suppressions.refresh()  # read again (lazily) in each invocation: removals apply
    request_id = getattr(context, "aws_request_id", None)
    with event_keys(
        cold_start=_cold_start, function_request_id=request_id, eventbridge_id=_field(event, "id")
    ):
        _cold_start = False
        logger.debug("received event", extra={"event": event})
        if is_digest_event(event):
            return _handle_digest(event, context, pipeline, counts)
        try:
            sign_in = parse_eventbridge(event)
        except NotSignInEventError as error:
            logger.warning("ignored: not monitored", extra={"reason": str(error)})
            return {"status": "ignored", "reason": str(error)}
        except MalformedRecordError as error:
            logger.error(
                "dropped: malformed event",
                extra={"reason": str(error), "event_id": _detail_field(event, "eventID")},
            )
            counts.add(metrics.EVENTS_DROPPED)
            return {"status": "malformed", "reason": str(error)}
        try:
            outcome = pipeline.process(sign_in, deadline=_deadline(context, pipeline))
        except MalformedRecordError as error:
            # The store cannot hold it (UnstorableRecordError): no retry can fix that.
            logger.error(
                "dropped: event cannot be stored",
                extra={"reason": str(error), "event_id": sign_in.event_id},
            )
            counts.add(metrics.EVENTS_DROPPED)
            return {"status": "malformed", "reason": str(error)}
        except StoreRetryableError:
            raise
        except StoreError as error:
            logger.error(
                "store error no retry fixes: the event goes to the dead-letter queue",
                extra={"reason": str(error), "event_id": sign_in.event_id},
            )
            counts.add(metrics.STORE_ERRORS)
            raise
        except ConfigError as error:
            logger.critical("configuration error", extra={"reason": str(error)})
            raise
        for delivery in outcome.deliveries:
            if delivery.status in _COUNTED:
                counts.add(_COUNTED[delivery.status])
        retry = outcome.retryable_error
        if retry is not None:
            raise retry
        return {
            "status": "stored" if outcome.stored else "duplicate",
            "event_id": sign_in.event_id,
            "alerts": [d.alert.rule_id for d in outcome.deliveries],
        }


def _handle_digest(
    event: dict[str, Any], context: Any, pipeline: Pipeline, counts: metrics.Metrics
) -> dict[str, Any]:
    """Post the requested day's digest once (the Scheduler's invocation: digest/deliver.py).

    A transient Slack failure raises so Lambda retries the invocation (the claim makes the retry
    post it once); a refused digest is counted like a refused alert (its alarm fires); store
    errors are treated as for events.
    """
    from signin_monitor.digest.deliver import DigestStatus, run_digest_event

    # The accounts read without a Scan: the schedule's list, else the function's own account and
    # the account-name map's, plus the accounts the day's windowed alerts name.
    settings = Settings.from_env(os.environ)
    known = [*_own_account(context), *(account for account, _name in settings.account_names)]
    notifier, destination = digest_target(pipeline.notifier)
    try:
        status, summary = run_digest_event(
            event,
            store=pipeline.store,
            notifier=notifier,
            destination=destination,
            known_accounts=known,
            account_names=pipeline.account_names,
            deadline=_deadline(context, pipeline),
        )
    except MalformedRecordError as error:
        logger.error("dropped: malformed digest event", extra={"reason": str(error)})
        counts.add(metrics.EVENTS_DROPPED)
        return {"status": "malformed", "reason": str(error)}
    except StoreRetryableError:
        raise
    except StoreError as error:
        logger.error("digest not posted: store error", extra={"reason": str(error)})
        counts.add(metrics.STORE_ERRORS)
        raise
    if status is DigestStatus.FAILED:
        counts.add(metrics.ALERTS_NOT_DELIVERED)
    elif status is DigestStatus.RETRY_LATER:
        counts.add(metrics.ALERTS_RETRYING)
        raise SlackRetryableError("the digest could not be posted yet; retry the invocation")
    return summary


def _own_account(context: Any) -> list[str]:
    """The function's own account, from its ARN (``arn:aws:lambda:<region>:<account>:...``)."""
    arn = getattr(context, "invoked_function_arn", None)
    if not isinstance(arn, str):
        return []
    parts = arn.split(":")
    return [parts[4]] if len(parts) > 4 and parts[4].isdigit() else []


def _deadline(context: Any, pipeline: Pipeline) -> float | None:
    """When sends must have ended: the invocation's remaining time less the release margin."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining):
        return None
    milliseconds = float(remaining())
    return pipeline.monotonic() + milliseconds / 1000 - RELEASE_MARGIN_SECONDS


def _function_name(context: Any) -> str:
    name = getattr(context, "function_name", None)
    if isinstance(name, str) and name:
        return name
    return os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "signin-monitor")


def _field(event: Any, name: str) -> Any:
    return event.get(name) if isinstance(event, dict) else None


def _detail_field(event: Any, name: str) -> Any:
    detail = _field(event, "detail")
    value = detail.get(name) if isinstance(detail, dict) else None
    return value if isinstance(value, str) and len(value) <= 128 else None
