"""Settings from environment variables, validated once at start-up.

Every environment variable name the project reads appears in this module and nowhere else.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from urllib.parse import urlsplit

from .errors import ConfigError

__all__ = [
    "ALL_RULE_IDS",
    "CLAIM_LEASE_SECONDS",
    "LAMBDA_VARIABLES",
    "LOCAL_ONLY_VARIABLES",
    "Settings",
    "parameter_name_ok",
    "webhook_url",
]

ACTIVITY_TABLE = "ACTIVITY_TABLE"
FAILED_SIGNIN_THRESHOLD = "FAILED_SIGNIN_THRESHOLD"
FAILED_SIGNIN_WINDOW_MINUTES = "FAILED_SIGNIN_WINDOW_MINUTES"
RETENTION_DAYS = "RETENTION_DAYS"
SLACK_WEBHOOK_PARAMETER = "SLACK_WEBHOOK_PARAMETER"
SLACK_WEBHOOK_URL = "SLACK_WEBHOOK_URL"
LOG_LEVEL = "LOG_LEVEL"
ALERT_RULES = "ALERT_RULES"
CLAIM_LEASE_SECONDS = "CLAIM_LEASE_SECONDS"
ACCOUNT_NAMES_ROLE_ARN = "ACCOUNT_NAMES_ROLE_ARN"
ACCOUNT_NAMES_JSON = "ACCOUNT_NAMES_JSON"
ACCOUNT_NAMES_ORGANIZATIONS = "ACCOUNT_NAMES_ORGANIZATIONS"
ROOT_ACTIVITY_WINDOW_MINUTES = "ROOT_ACTIVITY_WINDOW_MINUTES"
SPRAY_PRINCIPAL_THRESHOLD = "SPRAY_PRINCIPAL_THRESHOLD"
NEW_NETWORK_LOOKBACK_DAYS = "NEW_NETWORK_LOOKBACK_DAYS"
ROUTING_PARAMETER = "ROUTING_PARAMETER"
ROUTING_FILE = "ROUTING_FILE"

#: Variables the deployed Lambda reads; Terraform sets exactly these (a contract test checks).
LAMBDA_VARIABLES: tuple[str, ...] = (
    ACTIVITY_TABLE,
    FAILED_SIGNIN_THRESHOLD,
    FAILED_SIGNIN_WINDOW_MINUTES,
    RETENTION_DAYS,
    SLACK_WEBHOOK_PARAMETER,
    LOG_LEVEL,
    ALERT_RULES,
    CLAIM_LEASE_SECONDS,
    ACCOUNT_NAMES_ROLE_ARN,
    ACCOUNT_NAMES_JSON,
    ROOT_ACTIVITY_WINDOW_MINUTES,
    SPRAY_PRINCIPAL_THRESHOLD,
    NEW_NETWORK_LOOKBACK_DAYS,
    ROUTING_PARAMETER,
)
#: Variables meant for local use only (the webhook URL must never be a plain Lambda variable;
#: the monitor's own role cannot list the organization's accounts, a role it assumes can).
LOCAL_ONLY_VARIABLES: tuple[str, ...] = (
    SLACK_WEBHOOK_URL,
    ACCOUNT_NAMES_ORGANIZATIONS,
    ROUTING_FILE,
)

ALL_RULE_IDS: tuple[str, ...] = (
    "root-sign-in",
    "sign-in-without-mfa",
    "repeated-failed-sign-ins",
    "root-activity",
    "root-access-key-created",
    "mfa-device-removed",
    "login-profile-changed",
    "trail-tampering",
    "root-password-recovery",
    "sign-in-after-failures",
    "password-spray",
    "mfa-challenge-failed",
    "new-source-network",
)

THRESHOLD_RANGE = (1, 1000)
WINDOW_MINUTES_RANGE = (1, 10080)
RETENTION_DAYS_RANGE = (0, 36500)
CLAIM_LEASE_SECONDS_RANGE = (5, 900)
SPRAY_PRINCIPAL_THRESHOLD_RANGE = (1, 1000)
NEW_NETWORK_LOOKBACK_DAYS_RANGE = (0, 3650)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
_PARAMETER_NAME = re.compile(
    r"^(/?[A-Za-z0-9_.\-/]{1,2048}|arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d{12}:parameter/.+)$"
)


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything signin-monitor can be told, parsed once.

    Environment variables:
        ACTIVITY_TABLE: DynamoDB table name (required in Lambda; locally ``--table``).
        FAILED_SIGNIN_THRESHOLD: alert when failures in the window exceed this (1-1000, default 3).
        FAILED_SIGNIN_WINDOW_MINUTES: window for failures and alert de-duplication (1-10080, 60).
        RETENTION_DAYS: days to keep a sign-in after its event time; 0 = forever (0-36500, 365).
        SLACK_WEBHOOK_PARAMETER: name or ARN of an SSM SecureString holding the webhook URL.
        SLACK_WEBHOOK_URL: the webhook URL itself, for local use; with neither, alerts are printed.
        LOG_LEVEL: DEBUG, INFO, WARNING or ERROR (default INFO).
        ALERT_RULES: comma-separated rule ids to run (default: all).
        CLAIM_LEASE_SECONDS: how long a pending alert claim belongs to the delivery that took it
            (5-900, default 30). Terraform sets it to the function timeout: a delivery still
            running keeps its claim, and a crashed one's claim is free again before Lambda
            retries the event. Each Slack send stops in time to release the claim within it.
        ACCOUNT_NAMES_ROLE_ARN: a role to assume to read account names from AWS Organizations
            (an Organization deployment: modules/organization creates it); names then appear
            beside account ids in alerts and history.
        ACCOUNT_NAMES_JSON: a JSON object of 12-digit account id -> name, used when
            Organizations does not answer (or instead of it).
        ACCOUNT_NAMES_ORGANIZATIONS: true to read names from Organizations with the caller's own
            credentials (the command line in the management account); default false.
        ROOT_ACTIVITY_WINDOW_MINUTES: one ``root-activity`` alert per account per this many
            minutes, and how long after a successful root console sign-in root's calls raise
            none (1-10080, default 60).
        SPRAY_PRINCIPAL_THRESHOLD: ``password-spray`` fires when the failures from one address
            in one account within the window belong to more principals than this (1-1000, 5).
        NEW_NETWORK_LOOKBACK_DAYS: how far back ``new-source-network`` looks for a principal's
            known networks (0-3650 days, default 90; 0 turns the rule off). Sign-ins older than
            RETENTION_DAYS are gone, so a longer lookback sees no further back than that.
        ROUTING_PARAMETER: name or ARN of an SSM SecureString holding the routing document
            (JSON: destinations, routes by severity, rule and account, the default route, the
            digest's destination; see ``signin_monitor.routing``). Each destination's webhook
            URL is in its own SecureString, named in the document. Unset: every alert goes to
            SLACK_WEBHOOK_PARAMETER / SLACK_WEBHOOK_URL as before.
        ROUTING_FILE: the routing document as a local file (command line), where a destination
            may also give ``webhook_env`` (an environment variable holding the URL) or
            ``webhook_url``. Only one of ROUTING_PARAMETER and ROUTING_FILE.
    """

    activity_table: str | None = None
    failed_signin_threshold: int = 3
    failed_signin_window_minutes: int = 60
    retention_days: int = 365
    slack_webhook_parameter: str | None = None
    slack_webhook_url: str | None = field(default=None, repr=False)
    log_level: str = "INFO"
    alert_rules: tuple[str, ...] = ALL_RULE_IDS
    claim_lease_seconds: int = 30
    account_names_role_arn: str | None = None
    account_names: tuple[tuple[str, str], ...] = ()
    account_names_organizations: bool = False
    root_activity_window_minutes: int = 60
    spray_principal_threshold: int = 5
    new_network_lookback_days: int = 90
    routing_parameter: str | None = None
    routing_file: str | None = None

    @property
    def webhook_configured(self) -> bool:
        """Whether today's single webhook (URL or SSM parameter) is set."""
        return self.slack_webhook_url is not None or self.slack_webhook_parameter is not None

    @property
    def new_network_lookback(self) -> timedelta | None:
        """The lookback of ``new-source-network``, or None when the rule is off (0 days)."""
        days = self.new_network_lookback_days
        return timedelta(days=days) if days else None

    @property
    def failed_signin_window(self) -> timedelta:
        """The window as a timedelta."""
        return timedelta(minutes=self.failed_signin_window_minutes)

    @property
    def root_activity_window(self) -> timedelta:
        """The ``root-activity`` window as a timedelta."""
        return timedelta(minutes=self.root_activity_window_minutes)

    @property
    def retention(self) -> timedelta | None:
        """How long to keep events after their event time, or None to keep them forever."""
        return timedelta(days=self.retention_days) if self.retention_days else None

    @property
    def log_level_number(self) -> int:
        """The logging module's number for ``log_level``."""
        return int(logging.getLevelName(self.log_level))

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read and validate every setting; raise ConfigError naming the first bad variable."""
        url = _optional(environ, SLACK_WEBHOOK_URL)
        parameter = _optional(environ, SLACK_WEBHOOK_PARAMETER)
        if url is not None and parameter is not None:
            raise ConfigError(
                SLACK_WEBHOOK_URL,
                "(hidden)",
                f"only one of {SLACK_WEBHOOK_URL} and {SLACK_WEBHOOK_PARAMETER}",
            )
        table = _optional(environ, ACTIVITY_TABLE)
        if table is not None and not _TABLE_NAME.match(table):
            raise ConfigError(
                ACTIVITY_TABLE, table, "a DynamoDB table name: 3-255 of A-Z a-z 0-9 _ . -"
            )
        if parameter is not None and not _PARAMETER_NAME.match(parameter):
            raise ConfigError(
                SLACK_WEBHOOK_PARAMETER,
                parameter,
                "an SSM parameter name such as /signin-monitor/slack",
            )
        routing_parameter, routing_file = _routing(environ)
        settings = cls(
            activity_table=table,
            failed_signin_threshold=_integer(environ, FAILED_SIGNIN_THRESHOLD, 3, THRESHOLD_RANGE),
            failed_signin_window_minutes=_integer(
                environ, FAILED_SIGNIN_WINDOW_MINUTES, 60, WINDOW_MINUTES_RANGE
            ),
            retention_days=_integer(environ, RETENTION_DAYS, 365, RETENTION_DAYS_RANGE),
            slack_webhook_parameter=parameter,
            slack_webhook_url=None if url is None else webhook_url(url, source=SLACK_WEBHOOK_URL),
            log_level=_log_level(environ),
            alert_rules=_alert_rules(environ),
            claim_lease_seconds=_integer(
                environ, CLAIM_LEASE_SECONDS, 30, CLAIM_LEASE_SECONDS_RANGE
            ),
            account_names_role_arn=_role_arn(environ),
            account_names=_account_names(environ),
            account_names_organizations=_boolean(environ, ACCOUNT_NAMES_ORGANIZATIONS),
            root_activity_window_minutes=_integer(
                environ, ROOT_ACTIVITY_WINDOW_MINUTES, 60, WINDOW_MINUTES_RANGE
            ),
            spray_principal_threshold=_integer(
                environ, SPRAY_PRINCIPAL_THRESHOLD, 5, SPRAY_PRINCIPAL_THRESHOLD_RANGE
            ),
            new_network_lookback_days=_integer(
                environ, NEW_NETWORK_LOOKBACK_DAYS, 90, NEW_NETWORK_LOOKBACK_DAYS_RANGE
            ),
            routing_parameter=routing_parameter,
            routing_file=routing_file,
        )
        return settings.validated()

    def with_overrides(
        self, *, threshold: int | None = None, window_minutes: int | None = None
    ) -> Settings:
        """A copy with command-line overrides applied (validated like the environment)."""
        updated = replace(
            self,
            failed_signin_threshold=self.failed_signin_threshold
            if threshold is None
            else threshold,
            failed_signin_window_minutes=(
                self.failed_signin_window_minutes if window_minutes is None else window_minutes
            ),
        )
        return updated.validated()

    def validated(self) -> Settings:
        """Check the bounds that do not depend on parsing (overrides come through here too)."""
        _check_range(FAILED_SIGNIN_THRESHOLD, self.failed_signin_threshold, THRESHOLD_RANGE)
        _check_range(
            FAILED_SIGNIN_WINDOW_MINUTES, self.failed_signin_window_minutes, WINDOW_MINUTES_RANGE
        )
        _check_range(RETENTION_DAYS, self.retention_days, RETENTION_DAYS_RANGE)
        _check_range(CLAIM_LEASE_SECONDS, self.claim_lease_seconds, CLAIM_LEASE_SECONDS_RANGE)
        _check_range(
            ROOT_ACTIVITY_WINDOW_MINUTES, self.root_activity_window_minutes, WINDOW_MINUTES_RANGE
        )
        if self.retention is not None and self.retention < max(
            self.failed_signin_window, self.root_activity_window
        ):
            raise ConfigError(
                RETENTION_DAYS,
                str(self.retention_days),
                f"0 (forever) or enough days to cover {FAILED_SIGNIN_WINDOW_MINUTES} "
                f"({self.failed_signin_window_minutes} minutes) and "
                f"{ROOT_ACTIVITY_WINDOW_MINUTES} ({self.root_activity_window_minutes} minutes)",
            )
        _check_range(
            SPRAY_PRINCIPAL_THRESHOLD,
            self.spray_principal_threshold,
            SPRAY_PRINCIPAL_THRESHOLD_RANGE,
        )
        _check_range(
            NEW_NETWORK_LOOKBACK_DAYS,
            self.new_network_lookback_days,
            NEW_NETWORK_LOOKBACK_DAYS_RANGE,
        )
        return self


def parameter_name_ok(name: str) -> bool:
    """Whether ``name`` is an SSM parameter name or ARN (as SLACK_WEBHOOK_PARAMETER accepts)."""
    return bool(_PARAMETER_NAME.match(name))


def _routing(environ: Mapping[str, str]) -> tuple[str | None, str | None]:
    """ROUTING_PARAMETER and ROUTING_FILE: at most one, each checked for its shape only (the
    document itself is read and validated when the app is built)."""
    parameter = _optional(environ, ROUTING_PARAMETER)
    path = _optional(environ, ROUTING_FILE)
    if parameter is not None and path is not None:
        raise ConfigError(ROUTING_FILE, path, f"only one of {ROUTING_PARAMETER} and {ROUTING_FILE}")
    if parameter is not None and not parameter_name_ok(parameter):
        raise ConfigError(
            ROUTING_PARAMETER,
            parameter,
            "an SSM parameter name such as /signin-monitor/routing",
        )
    return parameter, path


def _optional(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name)
    if value is None or not value.strip():
        return None
    return value.strip()


def _integer(environ: Mapping[str, str], name: str, default: int, bounds: tuple[int, int]) -> int:
    raw = _optional(environ, name)
    if raw is None:
        return default
    try:
        value = int(raw, 10)
    except ValueError:
        raise ConfigError(name, raw, f"a whole number from {bounds[0]} to {bounds[1]}") from None
    _check_range(name, value, bounds)
    return value


def _check_range(name: str, value: int, bounds: tuple[int, int]) -> None:
    low, high = bounds
    if not low <= value <= high:
        raise ConfigError(name, str(value), f"a whole number from {low} to {high}")


def webhook_url(value: str, *, source: str) -> str:
    """The webhook URL stripped of surrounding blanks, or ConfigError naming ``source``.

    Used for ``SLACK_WEBHOOK_URL`` and for the value read from the SSM parameter alike. Refuses
    what httpx could not post to (a bad port, an unclosed IPv6 bracket, blanks or control
    characters inside), so no malformed secret ever reaches an HTTP library's error message.
    The value is never echoed: a webhook URL is a secret even when it is malformed.
    """
    url = value.strip()
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a port that is not a number
    except ValueError:
        raise ConfigError(source, "(hidden)", _WEBHOOK_ACCEPTED) from None
    valid = (
        parts.scheme == "https"
        and bool(parts.hostname)
        and (port is None or 0 < port < 65536)
        and not _UNSAFE_URL_CHARACTER.search(url)
    )
    if not valid:
        raise ConfigError(source, "(hidden)", _WEBHOOK_ACCEPTED)
    return url


_WEBHOOK_ACCEPTED = "an https:// webhook URL"
# Blanks, controls and anything outside printable ASCII have no place in a webhook URL.
_UNSAFE_URL_CHARACTER = re.compile(r"[^\x21-\x7e]|[\\{}|^`\"<>]")


def _log_level(environ: Mapping[str, str]) -> str:
    raw = _optional(environ, LOG_LEVEL)
    if raw is None:
        return "INFO"
    level = raw.upper()
    if level not in LOG_LEVELS:
        raise ConfigError(LOG_LEVEL, raw, "one of " + ", ".join(LOG_LEVELS))
    return level


def _alert_rules(environ: Mapping[str, str]) -> tuple[str, ...]:
    raw = _optional(environ, ALERT_RULES)
    if raw is None or raw.lower() == "all":
        return ALL_RULE_IDS
    chosen = tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
    unknown = [rule for rule in chosen if rule not in ALL_RULE_IDS]
    if unknown or not chosen:
        raise ConfigError(
            ALERT_RULES, raw, "'all' or a comma-separated list of " + ", ".join(ALL_RULE_IDS)
        )
    return chosen


def _role_arn(environ: Mapping[str, str]) -> str | None:
    from .accounts import ROLE_ARN_PATTERN

    raw = _optional(environ, ACCOUNT_NAMES_ROLE_ARN)
    if raw is not None and not ROLE_ARN_PATTERN.fullmatch(raw):
        raise ConfigError(
            ACCOUNT_NAMES_ROLE_ARN, raw, "an IAM role ARN such as arn:aws:iam::111122223333:role/x"
        )
    return raw


def _account_names(environ: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    from .accounts import parse_static_names

    raw = _optional(environ, ACCOUNT_NAMES_JSON)
    if raw is None:
        return ()
    try:
        names = parse_static_names(raw)
    except ValueError as error:
        raise ConfigError(
            ACCOUNT_NAMES_JSON, raw[:80], f"a JSON object of 12-digit account id -> name ({error})"
        ) from None
    return tuple(sorted(names.items()))


def _boolean(environ: Mapping[str, str], name: str) -> bool:
    raw = _optional(environ, name)
    if raw is None:
        return False
    if raw.lower() in ("true", "1", "yes"):
        return True
    if raw.lower() in ("false", "0", "no"):
        return False
    raise ConfigError(name, raw, "true or false")
