"""Parse EventBridge envelopes and CloudTrail records into one typed ``SignInEvent``.

pydantic validates the AWS shapes (with the AWS spellings as aliases); ``SignInEvent`` is the
normalized, immutable form every other module works with. Unknown fields are kept in ``raw``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import MalformedRecordError, NotSignInEventError

__all__ = [
    "CONSOLE_LOGIN",
    "HIDDEN_USER",
    "SIGNIN_DETAIL_TYPES",
    "SIGNIN_EVENT_SOURCE",
    "CloudTrailRecord",
    "EventBridgeEnvelope",
    "Result",
    "SignInEvent",
    "format_time",
    "parse_eventbridge",
    "parse_record",
    "parse_time",
]

SIGNIN_EVENT_SOURCE: Final = "signin.amazonaws.com"
SIGNIN_DETAIL_TYPES: Final = frozenset(
    {"AWS Console Sign In via CloudTrail", "AWS Service Event via CloudTrail"}
)
CONSOLE_LOGIN: Final = "ConsoleLogin"
HIDDEN_USER: Final = "HIDDEN_DUE_TO_SECURITY_REASONS"
ROOT_PRINCIPAL: Final = "root"
# Principal keys sit in DynamoDB keys (2048 bytes max for a partition key): keep them short.
_MAX_PRINCIPAL: Final = 256
_MAX_FIELD: Final = 4096
_TIME_FORMAT: Final = "%Y-%m-%dT%H:%M:%SZ"

Result = Literal["Success", "Failure"]


class UserIdentity(BaseModel):
    """``userIdentity`` of a CloudTrail record; only the fields we read are declared."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    type: str | None = None
    user_name: str | None = Field(default=None, alias="userName")
    arn: str | None = None
    principal_id: str | None = Field(default=None, alias="principalId")
    account_id: str | None = Field(default=None, alias="accountId")


class CloudTrailRecord(BaseModel):
    """One CloudTrail record (the ``detail`` of an EventBridge event, or a ``Records`` item)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    event_id: str = Field(alias="eventID", min_length=1, max_length=128)
    event_time: datetime = Field(alias="eventTime")
    event_name: str = Field(alias="eventName", min_length=1, max_length=128)
    event_source: str = Field(alias="eventSource")
    aws_region: str | None = Field(default=None, alias="awsRegion", max_length=64)
    source_ip_address: str | None = Field(default=None, alias="sourceIPAddress")
    user_agent: str | None = Field(default=None, alias="userAgent")
    recipient_account_id: str | None = Field(default=None, alias="recipientAccountId")
    user_identity: UserIdentity = Field(default_factory=UserIdentity, alias="userIdentity")
    response_elements: dict[str, Any] | None = Field(default=None, alias="responseElements")
    additional_event_data: dict[str, Any] | None = Field(default=None, alias="additionalEventData")
    service_event_details: dict[str, Any] | None = Field(default=None, alias="serviceEventDetails")
    error_message: str | None = Field(default=None, alias="errorMessage")

    @field_validator("event_time", mode="before")
    @classmethod
    def _time_is_text(cls, value: object) -> object:
        """CloudTrail writes ISO 8601 text; a bare number would silently mean 1970."""
        if not isinstance(value, str):
            raise ValueError("must be an ISO 8601 time string")
        return value


class EventBridgeEnvelope(BaseModel):
    """The EventBridge event that wraps a CloudTrail record in ``detail``."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: str | None = None
    detail_type: str = Field(alias="detail-type")
    source: str | None = None
    account: str | None = None
    region: str | None = None
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class SignInEvent:
    """A normalized sign-in event: what rules, stores and Slack messages read.

    ``principal`` is the key failures are counted under: the user name, ``root`` for the root
    user, ``unknown-user:<source ip>`` when AWS hides a mistyped name, or ``<role>/<session>``
    for assumed roles. ``event_time`` is UTC, whole seconds, from the record (never the clock).
    """

    event_id: str
    event_time: datetime
    event_name: str
    account_id: str
    principal: str
    identity_type: str
    user_name: str | None
    arn: str | None
    result: Result | None
    mfa_used: bool | None
    source_ip: str
    user_agent: str
    region: str
    error_message: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def time_text(self) -> str:
        """``event_time`` as the fixed-width ISO 8601 text used in keys and output."""
        return format_time(self.event_time)

    @property
    def is_console_login(self) -> bool:
        """True for the ``ConsoleLogin`` records the rules alert on."""
        return self.event_name == CONSOLE_LOGIN

    @property
    def is_failed_console_login(self) -> bool:
        """True for a ``ConsoleLogin`` whose ``responseElements.ConsoleLogin`` is ``Failure``."""
        return self.event_name == CONSOLE_LOGIN and self.result == "Failure"

    @property
    def is_root(self) -> bool:
        """True when the root user signed in (or tried to)."""
        return self.identity_type == "Root"

    def raw_json(self) -> str:
        """The original record as compact JSON (non-ASCII escaped, so any store accepts it)."""
        return json.dumps(self.raw, separators=(",", ":"), default=str)


def format_time(moment: datetime) -> str:
    """Fixed-width UTC ISO 8601 (``2026-11-02T08:01:12Z``): sorts as text in both stores."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def parse_time(text: str) -> datetime:
    """The inverse of ``format_time``, for times read back from a store."""
    return datetime.strptime(text, _TIME_FORMAT).replace(tzinfo=UTC)


def parse_eventbridge(event: Any, *, source: str = "<event>", position: str = "") -> SignInEvent:
    """Validate an EventBridge envelope and normalize the CloudTrail record in ``detail``."""
    if not isinstance(event, dict):
        raise MalformedRecordError(
            f"expected a JSON object, got {type(event).__name__}", source=source, position=position
        )
    try:
        envelope = EventBridgeEnvelope.model_validate(event)
    except ValidationError as error:
        raise MalformedRecordError(_describe(error), source=source, position=position) from None
    if envelope.detail_type not in SIGNIN_DETAIL_TYPES:
        raise NotSignInEventError(
            f"detail-type {_clip(envelope.detail_type)!r} is not a sign-in event",
            source=source,
            position=position,
        )
    return parse_record(envelope.detail, source=source, position=position)


def parse_record(record: Any, *, source: str = "<event>", position: str = "") -> SignInEvent:
    """Validate one CloudTrail record from ``signin.amazonaws.com`` and normalize it."""
    if not isinstance(record, dict):
        raise MalformedRecordError(
            f"expected a JSON object, got {type(record).__name__}",
            source=source,
            position=position,
        )
    try:
        parsed = CloudTrailRecord.model_validate(record)
    except ValidationError as error:
        raise MalformedRecordError(_describe(error), source=source, position=position) from None
    if parsed.event_source != SIGNIN_EVENT_SOURCE:
        raise NotSignInEventError(
            f"eventSource {_clip(parsed.event_source)!r} is not {SIGNIN_EVENT_SOURCE}",
            source=source,
            position=position,
        )
    return _normalize(parsed, record)


def _normalize(record: CloudTrailRecord, raw: dict[str, Any]) -> SignInEvent:
    identity = record.user_identity
    account_id = _clean(identity.account_id or record.recipient_account_id or "unknown")
    source_ip = _clean(record.source_ip_address or "unknown")
    event_time = record.event_time
    if event_time.tzinfo is None:
        event_time = event_time.replace(tzinfo=UTC)
    event_time = event_time.astimezone(UTC).replace(microsecond=0)
    extra = record.additional_event_data or {}
    return SignInEvent(
        event_id=_clean(record.event_id),
        event_time=event_time,
        event_name=_clean(record.event_name),
        account_id=account_id,
        principal=_principal(identity, source_ip),
        identity_type=_clean(identity.type or "Unknown"),
        user_name=_clean_optional(identity.user_name),
        arn=_clean_optional(identity.arn),
        result=_result(record),
        mfa_used=_mfa_used(extra.get("MFAUsed")),
        source_ip=source_ip,
        user_agent=_clean(record.user_agent or ""),
        region=_clean(record.aws_region or "unknown"),
        error_message=_clean_optional(record.error_message),
        raw=raw,
    )


def _principal(identity: UserIdentity, source_ip: str) -> str:
    """The key failures are counted under; see ``SignInEvent``."""
    if identity.type == "Root":
        return ROOT_PRINCIPAL
    name = identity.user_name
    if name == HIDDEN_USER:
        # AWS hides names that do not exist; group the guesses by where they come from.
        return f"unknown-user:{source_ip}"
    if not name and identity.arn and ":" in identity.arn:
        resource = identity.arn.split(":", 5)[-1]
        for prefix in ("assumed-role/", "federated-user/", "user/"):
            if resource.startswith(prefix):
                name = resource.removeprefix(prefix)
                break
    if not name:
        name = identity.principal_id or "unknown"
    return _bounded(name)


def _result(record: CloudTrailRecord) -> Result | None:
    """Success or failure, read only from the response element named after the event."""
    for elements in (record.response_elements, record.service_event_details):
        value = (elements or {}).get(record.event_name)
        if value in ("Success", "Failure"):
            return value  # type: ignore[no-any-return]
    return None


def _mfa_used(value: object) -> bool | None:
    """``Yes``/``No`` as a bool; missing or anything else is unknown, never "No"."""
    if value == "Yes":
        return True
    if value == "No":
        return False
    return None


def _clean(text: str) -> str:
    """Drop what no store or JSON encoder accepts (lone surrogates) and cap the length."""
    if len(text) > _MAX_FIELD:
        text = text[:_MAX_FIELD]
    if text.isascii():
        return text
    return text.encode("utf-8", "replace").decode("utf-8")


def _clean_optional(text: str | None) -> str | None:
    return None if text is None else _clean(text)


def _bounded(principal: str) -> str:
    """Long names keep a readable prefix and a digest of the whole name, so they stay distinct."""
    if len(principal) <= _MAX_PRINCIPAL:
        return _clean(principal)
    digest = hashlib.sha256(principal.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{_clean(principal[: _MAX_PRINCIPAL - 18])}~{digest}"


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _describe(error: ValidationError) -> str:
    """The first few pydantic errors as one line: field path and message, no input values."""
    parts = []
    for item in error.errors()[:3]:
        location = ".".join(str(part) for part in item["loc"]) or "record"
        parts.append(f"{location}: {item['msg']}")
    more = error.error_count() - len(parts)
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)
