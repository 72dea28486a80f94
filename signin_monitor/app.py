"""Wiring shared by the Lambda handler and the command line: settings -> notifier -> pipeline.

With a routing document (``ROUTING_PARAMETER`` / ``ROUTING_FILE``) the notifier is a
``RoutedNotifier``: one webhook notifier per destination, built once (per cold start); the
pipeline posts each alert to the destinations its routes choose, one claim per destination.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .alerts import Alert
from .config import ROUTING_FILE, ROUTING_PARAMETER, Settings, webhook_url
from .errors import RoutingError
from .pipeline import Pipeline
from .routing import WEBHOOK, Destination, RoutedNotifier, Routing, parse_routing
from .rules import rules_from_settings
from .secrets import SsmWebhookUrl, StaticWebhookUrl, read_routing_parameter
from .slack import Notifier, SlackWebhookNotifier
from .store import ActivityStore
from .suppressions import StoredSuppressions, SuppressionStore

if TYPE_CHECKING:
    from .accounts import AccountNames

__all__ = [
    "CollectingNotifier",
    "LogNotifier",
    "build_account_names_from",
    "build_destination_notifier",
    "build_notifier",
    "build_pipeline",
    "digest_target",
    "load_routing",
]

logger = logging.getLogger(__name__)


@dataclass
class CollectingNotifier:
    """Keeps payloads in memory instead of posting (no webhook configured; tests)."""

    sent: list[dict[str, Any]] = field(default_factory=list)

    def send(
        self, payload: dict[str, Any], *, alert: Alert | None = None, deadline: float | None = None
    ) -> None:
        """Remember the payload."""
        self.sent.append(payload)


class LogNotifier:
    """With no webhook configured in Lambda, the alert is still visible in the log."""

    def send(
        self, payload: dict[str, Any], *, alert: Alert | None = None, deadline: float | None = None
    ) -> None:
        """Log the payload as one JSON line."""
        logger.warning(
            "no Slack webhook configured; alert logged only", extra={"slack": json.dumps(payload)}
        )


def build_notifier(
    settings: Settings, *, fallback: Notifier, environ: Mapping[str, str] | None = None
) -> Notifier:
    """Where alerts go: with a routing document, a ``RoutedNotifier`` over its destinations;
    else a webhook notifier when a URL or SSM parameter is configured, else ``fallback``.

    The routing document is read and validated here (once: call it once per cold start);
    ``environ`` is where a routing file's ``webhook_env`` names are looked up (default: the
    process environment).
    """
    routing = load_routing(settings)
    if routing is None:
        return _webhook_notifier(settings) or fallback
    return routed_notifier(settings, routing, environ=environ)


def routed_notifier(
    settings: Settings, routing: Routing, *, environ: Mapping[str, str] | None = None
) -> RoutedNotifier:
    """One notifier per destination of ``routing`` (and today's webhook under ``webhook``
    when it is configured, so ``resend`` can post alerts refused before routing existed)."""
    notifiers: dict[str, Notifier] = {}
    webhook = _webhook_notifier(settings)
    if webhook is not None:
        notifiers[WEBHOOK] = webhook
    for destination in routing.destinations:
        notifiers[destination.name] = _destination_notifier(
            settings, destination, os.environ if environ is None else environ
        )
    return RoutedNotifier(routing=routing, notifiers=notifiers)


def load_routing(settings: Settings) -> Routing | None:
    """The validated routing document the settings name (SSM or file), or None without one."""
    if settings.routing_parameter is not None:
        text = read_routing_parameter(settings.routing_parameter)
        variable = ROUTING_PARAMETER
        local = False
    elif settings.routing_file is not None:
        try:
            with open(settings.routing_file, encoding="utf-8") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or type(error).__name__
            raise RoutingError(
                ROUTING_FILE, "", f"cannot read {settings.routing_file!r} ({reason})"
            ) from None
        variable = ROUTING_FILE
        local = True
    else:
        return None
    return parse_routing(
        text, variable=variable, local=local, webhook_configured=settings.webhook_configured
    )


def build_destination_notifier(
    settings: Settings, name: str, *, environ: Mapping[str, str] | None = None
) -> Notifier:
    """The notifier of one destination of the routing document (``webhook``: today's webhook).

    RoutingError when there is no such destination (or no routing document and ``name`` is
    not ``webhook``). Reads the document: for a command or a scheduled invocation that posts
    to one destination (the daily digest), not per alert.
    """
    routing = load_routing(settings)
    if routing is None:
        webhook = _webhook_notifier(settings) if name == WEBHOOK else None
        if webhook is None:
            raise RoutingError(
                ROUTING_PARAMETER, f"destination {name!r}", "no routing document is configured"
            )
        return webhook
    notifier = routed_notifier(settings, routing, environ=environ).notifier_for(name)
    if notifier is None:
        variable = ROUTING_FILE if settings.routing_file else ROUTING_PARAMETER
        known = ", ".join(d.name for d in routing.destinations) or "none declared"
        raise RoutingError(variable, f"destination {name!r}", f"not in the document ({known})")
    return notifier


def digest_target(alerts: Notifier) -> tuple[Notifier, str | None]:
    """Where the daily digest is posted, from the notifier alerts go to (built once per cold
    start, so nothing is read again): with a routing document, its ``digest`` destination
    (and that destination's name), else today's webhook; without one, where alerts go."""
    if not isinstance(alerts, RoutedNotifier):
        return alerts, None
    name = alerts.routing.digest_destination
    notifier = None if name is None else alerts.notifier_for(name)
    if name is not None and notifier is not None:
        return notifier, name
    return alerts.notifier_for(WEBHOOK) or LogNotifier(), None


def _webhook_notifier(settings: Settings) -> Notifier | None:
    """Today's single webhook (``SLACK_WEBHOOK_URL`` or ``SLACK_WEBHOOK_PARAMETER``), if set."""
    if settings.slack_webhook_url is not None:
        return SlackWebhookNotifier(url_provider=StaticWebhookUrl(settings.slack_webhook_url))
    if settings.slack_webhook_parameter is not None:
        provider = SsmWebhookUrl(settings.slack_webhook_parameter)
        return SlackWebhookNotifier(url_provider=provider, on_hook_gone=provider.invalidate)
    return None


def _destination_notifier(
    settings: Settings, destination: Destination, environ: Mapping[str, str]
) -> Notifier:
    """A webhook notifier for one destination; its SSM URL is read on first use (and again
    once after a 404/410, as for today's webhook), a file's URL now."""
    if destination.webhook_parameter is not None:
        provider = SsmWebhookUrl(destination.webhook_parameter)
        return SlackWebhookNotifier(url_provider=provider, on_hook_gone=provider.invalidate)
    where = f"destination {destination.name!r}"
    if destination.webhook_env is not None:
        value = environ.get(destination.webhook_env, "")
        if not value.strip():
            raise RoutingError(
                ROUTING_FILE, where, f"environment variable {destination.webhook_env} is not set"
            )
        url = webhook_url(
            value, source=f"{ROUTING_FILE}: {where}: environment variable {destination.webhook_env}"
        )
        return SlackWebhookNotifier(url_provider=StaticWebhookUrl(url))
    if destination.webhook_url is None:  # parse_routing guarantees one of the three
        raise RoutingError(ROUTING_FILE, where, "no webhook given")
    return SlackWebhookNotifier(url_provider=StaticWebhookUrl(destination.webhook_url))


def build_pipeline(
    settings: Settings,
    *,
    store: ActivityStore,
    notifier: Notifier,
    lease_seconds: float | None = None,
) -> Pipeline:
    """The pipeline with the rules and retention the settings ask for.

    ``lease_seconds`` is the store's claim lease (sends end before it does), or None when no
    other delivery can run meanwhile (a locked SQLite replay).
    """
    return Pipeline(
        store=store,
        notifier=notifier,
        rules=rules_from_settings(settings),
        retention=settings.retention,
        lease_seconds=lease_seconds,
        account_names=build_account_names_from(settings),
        suppressions=_suppressions_of(store),
    )


def _suppressions_of(store: ActivityStore) -> StoredSuppressions | None:
    """The store's suppressions, read lazily once (until refreshed); None for a store that keeps
    none (the benchmarks' in-memory store)."""
    return StoredSuppressions(store) if isinstance(store, SuppressionStore) else None


def build_account_names_from(settings: Settings) -> AccountNames | None:
    """The account-name sources the settings name (None: ids only). Build once per container."""
    if not (
        settings.account_names_role_arn
        or settings.account_names
        or settings.account_names_organizations
    ):
        return None  # the common case imports nothing more
    from .accounts import build_account_names

    return build_account_names(
        organizations=settings.account_names_organizations,
        role_arn=settings.account_names_role_arn,
        static_names=dict(settings.account_names),
    )
