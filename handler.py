"""AWS Lambda entry point: ``handler.handler``.

Settings, store and notifier are built once per cold start (a configuration error fails the
cold start with one message naming the variable); each invocation runs one EventBridge event
through the shared pipeline. A record that cannot be parsed is logged and dropped (a retry cannot
fix it); a transient failure (DynamoDB throttling, Slack 5xx/429/timeout) raises so Lambda
retries the event, and the alert claims make the retry post each message once.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from signin_monitor.app import LogNotifier, build_notifier, build_pipeline
from signin_monitor.config import Settings
from signin_monitor.errors import ConfigError, MalformedRecordError, NotSignInEventError
from signin_monitor.events import parse_eventbridge
from signin_monitor.logs import configure_logging, event_keys
from signin_monitor.pipeline import Pipeline

logger = logging.getLogger("signin_monitor.handler")


def _build() -> Pipeline:
    settings = Settings.from_env(os.environ)
    configure_logging(settings.log_level)
    if settings.activity_table is None:
        raise ConfigError("ACTIVITY_TABLE", None, "the name of the DynamoDB activity table")
    from signin_monitor.store.dynamodb import DynamoDbStore

    store = DynamoDbStore(settings.activity_table)
    notifier = build_notifier(settings, fallback=LogNotifier())
    return build_pipeline(settings, store=store, notifier=notifier)


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
    global _cold_start
    pipeline = get_pipeline()
    request_id = getattr(context, "aws_request_id", None)
    with event_keys(
        cold_start=_cold_start, function_request_id=request_id, eventbridge_id=_field(event, "id")
    ):
        _cold_start = False
        logger.debug("received event", extra={"event": event})
        try:
            sign_in = parse_eventbridge(event)
        except NotSignInEventError as error:
            logger.warning("ignored: not a sign-in event", extra={"reason": str(error)})
            return {"status": "ignored", "reason": str(error)}
        except MalformedRecordError as error:
            logger.error(
                "dropped: malformed event",
                extra={"reason": str(error), "event_id": _detail_field(event, "eventID")},
            )
            return {"status": "malformed", "reason": str(error)}
        outcome = pipeline.process(sign_in)
        retry = outcome.retryable_error
        if retry is not None:
            raise retry
        return {
            "status": "stored" if outcome.stored else "duplicate",
            "event_id": sign_in.event_id,
            "alerts": [d.alert.rule_id for d in outcome.deliveries],
        }


def _field(event: Any, name: str) -> Any:
    return event.get(name) if isinstance(event, dict) else None


def _detail_field(event: Any, name: str) -> Any:
    detail = _field(event, "detail")
    value = detail.get(name) if isinstance(detail, dict) else None
    return value if isinstance(value, str) and len(value) <= 128 else None
