"""Webhook URLs (and the routing document): from SSM Parameter Store (SecureString) in AWS, or
given directly.

Read once and cached for the life of the container; ``invalidate`` forgets it so that a rotated
URL is picked up after Slack says the old hook is gone. The parameter's value is stripped and
validated exactly like ``SLACK_WEBHOOK_URL``: a bad one is a ``ConfigError`` naming the
parameter, never showing the value.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from .config import ROUTING_PARAMETER, webhook_url
from .errors import ConfigError, SlackRetryableError

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

__all__ = ["SsmWebhookUrl", "StaticWebhookUrl", "read_routing_parameter"]


class StaticWebhookUrl:
    """A webhook URL known up front (``SLACK_WEBHOOK_URL``)."""

    def __init__(self, url: str) -> None:
        self._url = url

    def __call__(self) -> str:
        """The URL."""
        return self._url

    def invalidate(self) -> None:
        """Nothing to re-read."""

    def __repr__(self) -> str:
        return "StaticWebhookUrl(<hidden>)"


class SsmWebhookUrl:
    """Reads the SecureString parameter with decryption on first use, then serves it from memory."""

    def __init__(self, parameter: str, *, client: SSMClient | None = None) -> None:
        self.parameter = parameter
        self._client = client
        self._url: str | None = None
        self._lock = threading.Lock()

    def __call__(self) -> str:
        """The URL, fetched once; ConfigError if the parameter does not hold a valid one."""
        with self._lock:
            if self._url is None:
                self._url = self._fetch()
            return self._url

    def invalidate(self) -> None:
        """Forget the cached URL (rotation): the next call reads the parameter again."""
        with self._lock:
            self._url = None

    def _fetch(self) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        client = self._client or _ssm_client()
        try:
            response = client.get_parameter(Name=self.parameter, WithDecryption=True)
        except (ClientError, BotoCoreError) as error:
            code = _error_code(error)
            raise SlackRetryableError(
                f"cannot read SSM parameter {self.parameter} ({code})"
            ) from None
        value: Any = response.get("Parameter", {}).get("Value")
        return webhook_url(
            value if isinstance(value, str) else "", source=f"SSM parameter {self.parameter}"
        )

    def __repr__(self) -> str:
        return f"SsmWebhookUrl({self.parameter!r})"


def read_routing_parameter(parameter: str, *, client: SSMClient | None = None) -> str:
    """The routing document held by the SecureString ``parameter`` (read with decryption).

    Read once at start-up: a parameter that cannot be read fails the cold start with a
    ConfigError naming ``ROUTING_PARAMETER`` and the AWS error code (the document holds no
    secret, but it is not shown either).
    """
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        response = (client or _ssm_client()).get_parameter(Name=parameter, WithDecryption=True)
    except (ClientError, BotoCoreError) as error:
        raise ConfigError(
            ROUTING_PARAMETER,
            parameter,
            f"a readable SSM SecureString holding the routing document ({_error_code(error)})",
        ) from None
    value: Any = response.get("Parameter", {}).get("Value")
    return value if isinstance(value, str) else ""


def _ssm_client() -> SSMClient:
    import boto3

    return boto3.client("ssm")


def _error_code(error: Exception) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", type(error).__name__))
    return type(error).__name__
