"""Routing: which destinations an alert goes to, decided by severity, rule and account (data).

The routing document is JSON, in an SSM SecureString named by ``ROUTING_PARAMETER`` (Lambda)
or a file named by ``ROUTING_FILE`` (command line)::

    {"destinations": {"security": {"webhook_parameter": "/signin-monitor/webhooks/security"},
                      "paging":   {"webhook_parameter": "/signin-monitor/webhooks/paging"},
                      "team-a":   {"webhook_parameter": "/signin-monitor/webhooks/team-a"}},
     "routes": [{"severity": ["critical"], "to": ["security", "paging"]},
                {"severity": ["medium"], "to": ["digest"]},
                {"account": ["444455556666"], "to": ["team-a"]}],
     "default": ["security"],
     "digest": "security"}

Matching: **every** route whose conditions all hold adds its destinations (in document
order, each once); an alert no route matches goes to ``default``. A condition is a list of
accepted values (``severity``: critical, high, medium; ``rule``: rule ids; ``account``:
12-digit account ids); a route without conditions matches every alert. Two names are
reserved: ``digest`` (not posted: the alert is listed in the daily digest only, unless another
matched route posts it too) and ``webhook`` (today's ``SLACK_WEBHOOK_URL`` /
``SLACK_WEBHOOK_PARAMETER``, usable without being declared; ``default`` is ``["webhook"]``
when the document gives none). ``digest`` names the destination the daily digest is posted to.

A destination names its webhook by ``webhook_parameter`` (an SSM SecureString; the URL never
appears in the document). A routing *file* may instead give ``webhook_env`` (an environment
variable holding the URL) or ``webhook_url`` itself; neither is accepted in SSM.

Each destination gets its own claim (``destination_alert``): its scope is the claimed alert's
claim scope followed by ``#to#<destination>``, so a retry re-posts only where the post failed.
Pure: parsing and matching only; app.py builds the notifiers.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from .alerts import Alert, Severity
from .config import (
    ALL_RULE_IDS,
    SLACK_WEBHOOK_PARAMETER,
    SLACK_WEBHOOK_URL,
    parameter_name_ok,
    webhook_url,
)
from .errors import ConfigError, RoutingError, SlackError, SlackRetryableError
from .slack import Notifier

__all__ = [
    "DESTINATION_MARK",
    "DIGEST",
    "WEBHOOK",
    "Destination",
    "Route",
    "RoutedNotifier",
    "Routing",
    "destination_alert",
    "destination_of",
    "destination_scope",
    "parse_routing",
]

#: Not posted: listed in the daily digest.
DIGEST: Final = "digest"
#: Today's single webhook (``SLACK_WEBHOOK_URL`` / ``SLACK_WEBHOOK_PARAMETER``).
WEBHOOK: Final = "webhook"
#: Between a claim's scope and the destination in a destination claim's scope.
DESTINATION_MARK: Final = "#to#"

_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_NAME_ACCEPTED = "a name of 1-64 characters a-z 0-9 _ - starting with a letter or digit"
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_ACCOUNT = re.compile(r"\d{12}")
_TOP_KEYS: Final = ("destinations", "routes", "default", "digest")
_ROUTE_KEYS: Final = ("severity", "rule", "account", "to")
_WEBHOOK_KEYS: Final = ("webhook_parameter", "webhook_env", "webhook_url")
_SEVERITIES: Final = tuple(s.value for s in Severity)


@dataclass(frozen=True, slots=True, kw_only=True)
class Destination:
    """A named Slack webhook: exactly one of the three ways to find its URL is set."""

    name: str
    webhook_parameter: str | None = None
    webhook_env: str | None = None
    webhook_url: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    """One route: conditions (None: any value) and where a matching alert goes.

    ``number`` is the route's 1-based position in the document (errors and logs name it).
    """

    number: int
    to: tuple[str, ...]
    severity: frozenset[str] | None = None
    rule: frozenset[str] | None = None
    account: frozenset[str] | None = None

    def matches(self, alert: Alert) -> bool:
        """True when every condition of the route holds for the alert."""
        return (
            (self.severity is None or alert.severity.value in self.severity)
            and (self.rule is None or alert.rule_id in self.rule)
            and (self.account is None or alert.event.account_id in self.account)
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Routing:
    """A validated routing document (see the module docstring for its meaning)."""

    destinations: tuple[Destination, ...]
    routes: tuple[Route, ...]
    default: tuple[str, ...] = (WEBHOOK,)
    digest_destination: str | None = None

    def destinations_for(self, alert: Alert) -> tuple[str, ...]:
        """Every destination of every matching route, each once, in document order; or
        ``default`` when no route matches. May hold ``DIGEST`` (listed, not posted)."""
        chosen: dict[str, None] = {}
        for route in self.routes:
            if route.matches(alert):
                chosen.update(dict.fromkeys(route.to))
        return tuple(chosen) if chosen else self.default

    @property
    def uses_webhook(self) -> bool:
        """Whether any route, the default or the digest names today's webhook."""
        names = {*self.default, self.digest_destination}
        for route in self.routes:
            names.update(route.to)
        return WEBHOOK in names

    def destination(self, name: str) -> Destination | None:
        """The declared destination of that name (None for ``webhook`` or an unknown name)."""
        for destination in self.destinations:
            if destination.name == name:
                return destination
        return None


def destination_scope(claim_scope: str, destination: str) -> str:
    """The claim scope of one destination of an alert claimed under ``claim_scope``."""
    return f"{claim_scope}{DESTINATION_MARK}{destination}"


def destination_of(scope: str) -> str | None:
    """The destination a claim (or undelivered alert) scope names, or None for an alert's own.

    Unambiguous: rule scopes are one encoded part (``#`` is percent-encoded in parts) or end
    in ``#W<seconds>#<slot>``, and a destination name holds no ``#``.
    """
    head, mark, name = scope.rpartition(DESTINATION_MARK)
    if not mark or not head or not _NAME.fullmatch(name):
        return None
    return name


def destination_alert(alert: Alert, destination: str) -> Alert:
    """The one-off alert whose claim stands for posting ``alert`` (already claimed) to
    ``destination``: same rule and event, scope ``<alert's claim scope>#to#<destination>``."""
    return dataclasses.replace(
        alert,
        scope=destination_scope(alert.claim_key[1], destination),
        window=None,
        later_anchors=(),
    )


def parse_routing(text: str, *, variable: str, local: bool, webhook_configured: bool) -> Routing:
    """Parse and validate a routing document; RoutingError names the route or destination.

    ``variable`` is the setting the document came from (named in every error). ``local``:
    a file, where ``webhook_env`` and ``webhook_url`` are accepted too. ``webhook_configured``:
    whether ``SLACK_WEBHOOK_URL`` or ``SLACK_WEBHOOK_PARAMETER`` is set, which naming the
    ``webhook`` destination requires. No message ever shows a webhook URL.
    """
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise RoutingError(
            variable, f"line {error.lineno} column {error.colno}", "not valid JSON"
        ) from None
    except ValueError:
        raise RoutingError(variable, "", "not valid JSON") from None
    if not isinstance(document, dict):
        raise RoutingError(variable, "", f"a JSON object with the keys {', '.join(_TOP_KEYS)}")
    _only_keys(variable, "", document, _TOP_KEYS)
    destinations = _destinations(variable, document.get("destinations", {}), local=local)
    known = {d.name for d in destinations} | {DIGEST, WEBHOOK}

    def check_names(where: str, names: Any, key: str) -> tuple[str, ...]:
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise RoutingError(variable, where, f'"{key}" must be a non-empty list of names')
        for name in names:
            if name not in known:
                shown = ", ".join(sorted(known - {DIGEST, WEBHOOK})) or "none declared"
                raise RoutingError(
                    variable,
                    where,
                    f'"{key}" names unknown destination {_quoted(name)} (known: {shown}; '
                    f"reserved: {DIGEST}, {WEBHOOK})",
                )
            if name == WEBHOOK and not webhook_configured:
                raise RoutingError(
                    variable,
                    where,
                    f'"{key}" names "{WEBHOOK}" but neither {SLACK_WEBHOOK_URL} nor '
                    f"{SLACK_WEBHOOK_PARAMETER} is set",
                )
        return tuple(dict.fromkeys(names))

    raw_routes = document.get("routes", [])
    if not isinstance(raw_routes, list):
        raise RoutingError(variable, "", '"routes" must be a list of route objects')
    routes = []
    for number, raw in enumerate(raw_routes, start=1):
        where = f"route {number}"
        if not isinstance(raw, dict):
            raise RoutingError(
                variable, where, "must be an object with the keys " + _keys(_ROUTE_KEYS)
            )
        _only_keys(variable, where, raw, _ROUTE_KEYS)
        if "to" not in raw:
            raise RoutingError(variable, where, '"to" is required (a non-empty list of names)')
        routes.append(
            Route(
                number=number,
                to=check_names(where, raw["to"], "to"),
                severity=_condition(variable, where, raw, "severity", _SEVERITIES),
                rule=_condition(variable, where, raw, "rule", ALL_RULE_IDS),
                account=_condition(variable, where, raw, "account", None),
            )
        )
    if "default" in document:
        default = check_names("default", document["default"], "default")
    elif webhook_configured:
        default = (WEBHOOK,)
    else:
        raise RoutingError(
            variable,
            "default",
            "is required: without it the default route is today's webhook, and neither "
            f"{SLACK_WEBHOOK_URL} nor {SLACK_WEBHOOK_PARAMETER} is set",
        )
    digest = document.get("digest")
    if digest is not None:
        real = sorted(known - {DIGEST})
        if not isinstance(digest, str) or digest not in known or digest == DIGEST:
            raise RoutingError(
                variable,
                "digest",
                f"must name the destination the daily digest is posted to (one of: "
                f"{', '.join(real)})",
            )
        check_names("digest", [digest], "digest")
    return Routing(
        destinations=destinations,
        routes=tuple(routes),
        default=default,
        digest_destination=digest,
    )


def _destinations(variable: str, raw: Any, *, local: bool) -> tuple[Destination, ...]:
    if not isinstance(raw, dict):
        raise RoutingError(variable, "", '"destinations" must be an object of name -> destination')
    found = []
    ways = _WEBHOOK_KEYS if local else ("webhook_parameter",)
    for name, spec in raw.items():
        where = f"destination {_quoted(name)}"
        if not _NAME.fullmatch(name):
            raise RoutingError(variable, where, f"the name must be {_NAME_ACCEPTED}")
        if name in (DIGEST, WEBHOOK):
            raise RoutingError(variable, where, f"{DIGEST} and {WEBHOOK} are reserved names")
        if not isinstance(spec, dict):
            raise RoutingError(variable, where, "must be an object with one of " + _keys(ways))
        unknown = [key for key in spec if key not in _WEBHOOK_KEYS]
        if unknown:
            raise RoutingError(
                variable, where, f"unknown key {_quoted(unknown[0])} (accepted: {_keys(ways)})"
            )
        given = [key for key in _WEBHOOK_KEYS if key in spec]
        if not local and given and given != ["webhook_parameter"]:
            raise RoutingError(
                variable,
                where,
                f"in {variable} a destination names its webhook by webhook_parameter only "
                "(an SSM SecureString: a URL never appears in the document)",
            )
        if len(given) != 1:
            raise RoutingError(variable, where, "needs exactly one of " + _keys(ways))
        key = given[0]
        value = spec[key]
        if key == "webhook_url":
            # Validated like SLACK_WEBHOOK_URL, but the message never shows it.
            try:
                url = webhook_url(value if isinstance(value, str) else "", source=variable)
            except ConfigError:
                raise RoutingError(
                    variable, where, "webhook_url must be an https:// webhook URL"
                ) from None
            found.append(Destination(name=name, webhook_url=url))
        elif key == "webhook_env":
            if not isinstance(value, str) or not _ENV_NAME.fullmatch(value):
                raise RoutingError(variable, where, "webhook_env must name an environment variable")
            found.append(Destination(name=name, webhook_env=value))
        else:
            if not isinstance(value, str) or not parameter_name_ok(value):
                raise RoutingError(
                    variable,
                    where,
                    "webhook_parameter must be an SSM parameter name or ARN such as "
                    "/signin-monitor/webhooks/security",
                )
            found.append(Destination(name=name, webhook_parameter=value))
    return tuple(found)


def _condition(
    variable: str, where: str, route: dict[str, Any], key: str, accepted: Sequence[str] | None
) -> frozenset[str] | None:
    if key not in route:
        return None
    values = route[key]
    what = "12-digit account ids" if accepted is None else ", ".join(accepted)
    if (
        not isinstance(values, list)
        or not values
        or not all(isinstance(value, str) for value in values)
    ):
        raise RoutingError(variable, where, f'"{key}" must be a non-empty list of: {what}')
    for value in values:
        ok = _ACCOUNT.fullmatch(value) if accepted is None else value in accepted
        if not ok:
            raise RoutingError(
                variable, where, f'"{key}" value {_quoted(value)} is not one of: {what}'
            )
    return frozenset(values)


def _only_keys(variable: str, where: str, raw: dict[str, Any], accepted: Sequence[str]) -> None:
    for key in raw:
        if key not in accepted:
            raise RoutingError(
                variable, where, f"unknown key {_quoted(key)} (accepted: {_keys(accepted)})"
            )


def _keys(keys: Sequence[str]) -> str:
    return ", ".join(keys)


def _quoted(value: object) -> str:
    """A document value in an error: JSON-quoted and cut short (it is not a secret: URLs are
    only ever in ``webhook_url``, which no message quotes)."""
    text = json.dumps(value, ensure_ascii=True) if isinstance(value, str) else repr(value)
    return text if len(text) <= 70 else text[:67] + "..."


@dataclass(frozen=True, slots=True)
class RoutedNotifier:
    """The notifiers of a routing document's destinations, and the document deciding per alert.

    The pipeline recognises it and posts each alert to its destinations with one claim per
    destination (design §5). ``send`` itself (no claims) is for the commands that post one
    message by hand: it posts to every destination the alert's routes choose (``default``
    without an alert), then raises the first retryable failure, else the first refusal.
    """

    routing: Routing
    notifiers: Mapping[str, Notifier]

    def destinations_for(self, alert: Alert) -> tuple[str, ...]:
        """See ``Routing.destinations_for``."""
        return self.routing.destinations_for(alert)

    def notifier_for(self, name: str) -> Notifier | None:
        """The notifier of one destination, or None if the document has no such destination."""
        return self.notifiers.get(name)

    def send(
        self, payload: dict[str, Any], *, alert: Alert | None = None, deadline: float | None = None
    ) -> None:
        """Post to every routed destination (no claims); raise the worst failure after all."""
        names = self.routing.default if alert is None else self.destinations_for(alert)
        errors: list[SlackError] = []
        for name in names:
            notifier = self.notifiers.get(name)
            if notifier is None:  # digest: listed, not posted
                continue
            try:
                notifier.send(payload, alert=alert, deadline=deadline)
            except SlackError as error:
                errors.append(error)
        retryable = [error for error in errors if isinstance(error, SlackRetryableError)]
        if retryable:
            raise retryable[0]
        if errors:
            raise errors[0]
