"""Wiring shared by the Lambda handler and the command line: settings -> notifier -> pipeline."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .alerts import Alert
from .config import Settings
from .pipeline import Pipeline
from .rules import rules_from_settings
from .secrets import SsmWebhookUrl, StaticWebhookUrl
from .slack import Notifier, SlackWebhookNotifier
from .store import ActivityStore
from .suppressions import StoredSuppressions, SuppressionStore

if TYPE_CHECKING:
    from .accounts import AccountNames

__all__ = [
    "CollectingNotifier",
    "LogNotifier",
    "build_account_names_from",
    "build_notifier",
    "build_pipeline",
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


def build_notifier(settings: Settings, *, fallback: Notifier) -> Notifier:
    """A webhook notifier when a URL or SSM parameter is configured, else ``fallback``."""
    if settings.slack_webhook_url is not None:
        return SlackWebhookNotifier(url_provider=StaticWebhookUrl(settings.slack_webhook_url))
    if settings.slack_webhook_parameter is not None:
        provider = SsmWebhookUrl(settings.slack_webhook_parameter)
        return SlackWebhookNotifier(url_provider=provider, on_hook_gone=provider.invalidate)
    return fallback


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
