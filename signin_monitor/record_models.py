"""The pydantic models of the AWS shapes: a CloudTrail record and the EventBridge event around it.

They validate what the Lambda receives and every record replay's fast reader
(``cloudtrail_files``) is not sure of; ``events`` imports this module on first use, so a replay
that never needs them never imports pydantic. Only the fields normalization reads are declared
(with the AWS spellings as aliases); unknown fields are allowed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import MalformedRecordError
from .events import parse_event_time

__all__ = [
    "CloudTrailRecord",
    "EventBridgeEnvelope",
    "SessionContext",
    "UserIdentity",
    "describe",
    "validated",
]

_Model = TypeVar("_Model", bound=BaseModel)


class SessionContext(BaseModel):
    """``userIdentity.sessionContext``: how the session was started."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    #: ``"true"`` for an ``sts:AssumeRoot`` task session (centralized root access).
    assumed_root: str | None = Field(default=None, alias="assumedRoot")
    attributes: dict[str, Any] | None = None


class UserIdentity(BaseModel):
    """``userIdentity`` of a CloudTrail record; only the fields we read are declared."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    type: str | None = None
    user_name: str | None = Field(default=None, alias="userName")
    arn: str | None = None
    principal_id: str | None = Field(default=None, alias="principalId")
    account_id: str | None = Field(default=None, alias="accountId")
    #: Present only as a non-empty string: the AWS service that made the call for the principal.
    invoked_by: str | None = Field(default=None, alias="invokedBy", min_length=1)
    session_context: SessionContext | None = Field(default=None, alias="sessionContext")


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
    #: Present only as a non-empty string: the call failed with this code.
    error_code: str | None = Field(default=None, alias="errorCode", min_length=1)
    event_type: str | None = Field(default=None, alias="eventType")
    read_only: bool | None = Field(default=None, alias="readOnly")
    request_parameters: dict[str, Any] | None = Field(default=None, alias="requestParameters")

    @field_validator("event_time", mode="before")
    @classmethod
    def _time_is_text(cls, value: object) -> object:
        """CloudTrail writes ISO 8601 text; a bare number would silently mean 1970."""
        if not isinstance(value, str):
            raise ValueError("must be an ISO 8601 time string")
        return parse_event_time(value)


class EventBridgeEnvelope(BaseModel):
    """The EventBridge event that wraps a CloudTrail record in ``detail``."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: str | None = None
    detail_type: str = Field(alias="detail-type")
    source: str | None = None
    account: str | None = None
    region: str | None = None
    detail: dict[str, Any]


def describe(error: ValidationError) -> str:
    """The first few pydantic errors as one line: field path and message, no input values."""
    parts = []
    for item in error.errors()[:3]:
        location = ".".join(str(part) for part in item["loc"]) or "record"
        parts.append(f"{location}: {item['msg']}")
    more = error.error_count() - len(parts)
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


def validated(model: type[_Model], value: Any, *, source: str, position: str) -> _Model:
    """``value`` validated as ``model``; MalformedRecordError (``describe``: no input values,
    named by ``source`` and ``position``) when it is not one."""
    try:
        return model.model_validate(value)
    except ValidationError as error:
        raise MalformedRecordError(describe(error), source=source, position=position) from None
