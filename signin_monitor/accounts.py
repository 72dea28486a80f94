"""Account names beside account ids: from AWS Organizations, or a static map, never fatal.

An alert that says "root sign-in in AWS account 444455556666" makes the reader look the id up;
"in prod-payments (444455556666)" does not. In an organization the names live in AWS
Organizations, readable from the management account or a delegated administrator, so the
monitor may assume a role there (``role_arn``). Names are read once per container (one
``ListAccounts`` for the whole organization) and read again only when an unknown id shows up,
at most once per ``refresh_after``: a new account gets its name within minutes, and an alert
storm from an id that is not in the organization costs one call per refresh period, not one per
alert. Every failure (no permission, no organization, throttling, no network) gives ``None`` and
one warning per attempt: an alert without a name is better than no alert.

Account names are text someone chose: whoever prints them escapes them (``slack.escape``).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, Final, Protocol

__all__ = [
    "ROLE_ARN_PATTERN",
    "AccountNames",
    "ChainedAccountNames",
    "OrganizationsAccountNames",
    "StaticAccountNames",
    "build_account_names",
    "label",
    "parse_static_names",
]

logger = logging.getLogger(__name__)

#: What an ``ACCOUNT_NAMES_ROLE_ARN`` setting must look like (config.py validates with it).
ROLE_ARN_PATTERN: Final = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}")
#: Organizations allows 50 characters; longer text from a static map is cut.
NAME_LIMIT: Final = 50
_ACCOUNT_ID: Final = re.compile(r"\d{12}")
DEFAULT_REFRESH: Final = timedelta(minutes=15)
SESSION_NAME: Final = "signin-monitor-account-names"


class AccountNames(Protocol):
    """Where an account's name comes from."""

    def name(self, account_id: str) -> str | None:
        """The account's name, or None when unknown or unavailable (never raises)."""
        ...


def label(account_id: str, name: str | None) -> str:
    """``"prod (111122223333)"``, or the bare id without a name (not escaped: the caller does)."""
    return f"{name} ({account_id})" if name else account_id


def parse_static_names(text: str) -> dict[str, str]:
    """``{"111122223333": "prod", ...}`` from JSON text; ValueError saying what is wrong.

    For config.py (``ACCOUNT_NAMES_JSON``): keys are 12-digit account ids, values non-empty
    strings.
    """
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON ({error.msg})") from None
    if not isinstance(document, dict):
        raise ValueError('a JSON object such as {"111122223333": "prod"}')
    names: dict[str, str] = {}
    for key, value in document.items():
        if not _ACCOUNT_ID.fullmatch(key):
            raise ValueError(f"key {key!r} is not a 12-digit account id")
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"the name of {key} must be a non-empty string")
        names[key] = value.strip()[:NAME_LIMIT]
    return names


class StaticAccountNames:
    """Names from a fixed map (a setting): for accounts outside the organization, or no access."""

    def __init__(self, names: Mapping[str, str]) -> None:
        self._names = dict(names)

    def name(self, account_id: str) -> str | None:
        """The mapped name, or None."""
        return self._names.get(account_id)


class ChainedAccountNames:
    """The first source that knows the account wins (Organizations first, then the static map)."""

    def __init__(self, *sources: AccountNames) -> None:
        self._sources = sources

    def name(self, account_id: str) -> str | None:
        """The first non-None name of the sources."""
        for source in self._sources:
            found = source.name(account_id)
            if found is not None:
                return found
        return None


ClientFactory = Callable[[], Any]


class OrganizationsAccountNames:
    """Names from AWS Organizations ``ListAccounts`` (``DescribeAccount`` where that is denied).

    ``client_factory`` returns an Organizations client; by default one of the Lambda's own
    credentials, or of ``role_arn`` assumed through STS (a fresh session at every refresh, so
    expired role credentials never linger). ``clock`` is monotonic seconds (tests pass a fake).
    """

    def __init__(
        self,
        *,
        role_arn: str | None = None,
        refresh_after: timedelta = DEFAULT_REFRESH,
        region_name: str | None = None,
        client_factory: ClientFactory | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._role_arn = role_arn
        self._refresh_seconds = refresh_after.total_seconds()
        self._region_name = region_name
        self._client_factory = client_factory or self._default_client
        self._clock = clock
        self._names: dict[str, str] = {}
        self._last_attempt: float | None = None

    def name(self, account_id: str) -> str | None:
        """The cached name; on a miss, one refresh if the last one is old enough."""
        if account_id not in self._names and self._may_refresh():
            self._refresh(account_id)
        return self._names.get(account_id)

    def _may_refresh(self) -> bool:
        if self._last_attempt is None:
            return True
        return self._clock() - self._last_attempt >= self._refresh_seconds

    def _refresh(self, wanted: str) -> None:
        # Counted before the call: a failing Organizations is asked once per period, not per alert.
        self._last_attempt = self._clock()
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            client = self._client_factory()
            try:
                self._names.update(_list_accounts(client))
            except ClientError as error:
                if _error_code(error) != "AccessDeniedException" or not _ACCOUNT_ID.fullmatch(
                    wanted
                ):
                    raise
                # A role may be allowed DescribeAccount but not ListAccounts.
                account = client.describe_account(AccountId=wanted)["Account"]
                self._names[account["Id"]] = str(account["Name"])
        except (BotoCoreError, ClientError) as error:
            logger.warning(
                "account names unavailable: alerts show account ids only until the next refresh",
                extra={
                    "reason": str(error),
                    "error_code": _error_code(error),
                    "role_arn": self._role_arn,
                    "retry_after_seconds": int(self._refresh_seconds),
                },
            )

    def _default_client(self) -> Any:
        import boto3

        if self._role_arn is None:
            return boto3.client("organizations", region_name=self._region_name)
        credentials = boto3.client("sts", region_name=self._region_name).assume_role(
            RoleArn=self._role_arn, RoleSessionName=SESSION_NAME
        )["Credentials"]
        session = boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=self._region_name,
        )
        return session.client("organizations")


def _list_accounts(client: Any) -> dict[str, str]:
    names: dict[str, str] = {}
    for page in client.get_paginator("list_accounts").paginate():
        for account in page["Accounts"]:
            names[str(account["Id"])] = str(account["Name"])
    return names


def _error_code(error: Exception) -> str | None:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code is not None else None
    return None


def build_account_names(
    *,
    organizations: bool,
    role_arn: str | None = None,
    static_names: Mapping[str, str] | None = None,
    refresh_after: timedelta = DEFAULT_REFRESH,
) -> AccountNames | None:
    """The sources the settings ask for, Organizations first; None when there are none.

    Build it once per container (module level in the Lambda) so the cache lives as long.
    """
    sources: list[AccountNames] = []
    if organizations or role_arn is not None:
        sources.append(OrganizationsAccountNames(role_arn=role_arn, refresh_after=refresh_after))
    if static_names:
        sources.append(StaticAccountNames(static_names))
    if not sources:
        return None
    return sources[0] if len(sources) == 1 else ChainedAccountNames(*sources)
