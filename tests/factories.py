"""Builders of CloudTrail records and EventBridge events for tests (placeholder accounts only)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from signin_monitor.alerts import Alert, Severity
from signin_monitor.events import SignInEvent, parse_record

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
BASE_TIME = datetime(2026, 11, 2, 8, 0, 0, tzinfo=UTC)


def console_login(
    *,
    user: str | None = "alice",
    identity_type: str = "IAMUser",
    result: str = "Success",
    mfa: str | None = "",
    at: datetime | None = None,
    minutes: float = 0,
    account: str = ACCOUNT,
    source_ip: str = "198.51.100.7",
    user_agent: str = "Mozilla/5.0 (X11; Linux x86_64)",
    region: str = "us-east-1",
    event_id: str | None = None,
    event_name: str = "ConsoleLogin",
    arn: str | None = None,
) -> dict[str, Any]:
    """A CloudTrail ConsoleLogin record shaped like the ones AWS writes.

    ``mfa`` defaults to "Yes" for a success and "No" for a failure (a wrong password ends the
    sign-in before the second factor; "Yes" on a failure is ``mfa-challenge-failed``).
    """
    if mfa == "":
        mfa = "No" if result == "Failure" else "Yes"
    moment = (at or BASE_TIME) + timedelta(minutes=minutes)
    identity: dict[str, Any] = {"type": identity_type, "accountId": account}
    if identity_type == "Root":
        identity["arn"] = f"arn:aws:iam::{account}:root"
        identity["principalId"] = account
    elif identity_type == "IAMUser":
        identity["userName"] = user
        if user != "HIDDEN_DUE_TO_SECURITY_REASONS":
            identity["arn"] = f"arn:aws:iam::{account}:user/{user}"
            identity["principalId"] = "AIDAEXAMPLEEXAMPLE01"
    else:
        identity["arn"] = (
            arn or f"arn:aws:sts::{account}:assumed-role/AWSReservedSSO_Admin_0123/{user}"
        )
        identity["principalId"] = f"AROAEXAMPLEEXAMPLE01:{user}"
    if arn is not None:
        identity["arn"] = arn
    extra: dict[str, Any] = {
        "LoginTo": "https://console.aws.amazon.com/console/home",
        "MobileVersion": "No",
    }
    if mfa is not None:
        extra["MFAUsed"] = mfa
    record: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "signin.amazonaws.com",
        "eventName": event_name,
        "awsRegion": region,
        "sourceIPAddress": source_ip,
        "userAgent": user_agent,
        "requestParameters": None,
        "responseElements": {event_name: result},
        "additionalEventData": extra,
        "eventID": event_id or str(uuid.uuid4()),
        "readOnly": False,
        "eventType": "AwsConsoleSignIn",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
    }
    if result == "Failure":
        record["errorMessage"] = (
            "No username found in supplied account"
            if user == "HIDDEN_DUE_TO_SECURITY_REASONS"
            else "Failed authentication"
        )
    return record


def eventbridge(
    record: dict[str, Any], *, detail_type: str = "AWS Console Sign In via CloudTrail"
) -> dict[str, Any]:
    """Wrap a CloudTrail record the way EventBridge delivers it."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": "aws.signin",
        "account": record.get("recipientAccountId", ACCOUNT),
        "time": record.get("eventTime"),
        "region": record.get("awsRegion", "us-east-1"),
        "resources": [],
        "detail": record,
    }


def sign_in(**kwargs: Any) -> SignInEvent:
    """A normalized event from ``console_login``'s arguments."""
    return parse_record(console_login(**kwargs))


def windowed_alert(event: SignInEvent, *, window: timedelta = timedelta(minutes=60)) -> Alert:
    """A repeated-failures alert for the event's principal, covering ``window``."""
    return Alert(
        rule_id="repeated-failed-sign-ins",
        severity=Severity.HIGH,
        title="Repeated failed sign-ins",
        event=event,
        scope=f"{event.account_id}#{event.principal}",
        window=window,
    )


def one_off_alert(event: SignInEvent) -> Alert:
    """A root sign-in alert, unique to the event."""
    return Alert(
        rule_id="root-sign-in",
        severity=Severity.CRITICAL,
        title="Root sign-in",
        event=event,
        scope=event.event_id,
    )


def api_call(
    event_name: str = "ListBuckets",
    *,
    event_source: str = "s3.amazonaws.com",
    identity_type: str = "Root",
    user: str | None = "alice",
    minutes: float = 0,
    at: datetime | None = None,
    account: str = ACCOUNT,
    read_only: bool = True,
    error_code: str | None = None,
    invoked_by: str | None = None,
    assumed_root: bool = False,
    request_parameters: dict[str, Any] | None = None,
    response_elements: dict[str, Any] | None = None,
    region: str = "us-east-1",
    source_ip: str = "198.51.100.7",
    event_id: str | None = None,
) -> dict[str, Any]:
    """A CloudTrail API-call record (``AwsApiCall``) shaped like the ones AWS writes."""
    moment = (at or BASE_TIME) + timedelta(minutes=minutes)
    identity: dict[str, Any] = {"type": identity_type, "accountId": account}
    if identity_type == "Root":
        identity.update(arn=f"arn:aws:iam::{account}:root", principalId=account)
        identity["accessKeyId"] = "ASIAEXAMPLEEXAMPLE01" if assumed_root else "AKIAEXAMPLEROOTKEY01"
    elif identity_type == "IAMUser":
        identity.update(
            userName=user,
            arn=f"arn:aws:iam::{account}:user/{user}",
            principalId="AIDAEXAMPLEEXAMPLE01",
            accessKeyId="AKIAEXAMPLEEXAMPLE01",
        )
    else:
        identity.update(
            arn=f"arn:aws:sts::{account}:assumed-role/Admin/{user}",
            principalId=f"AROAEXAMPLEEXAMPLE01:{user}",
            accessKeyId="ASIAEXAMPLEEXAMPLE01",
        )
    if invoked_by is not None:
        identity["invokedBy"] = invoked_by
    if assumed_root:
        identity["sessionContext"] = {
            "attributes": {"creationDate": "2026-11-02T07:55:00Z", "mfaAuthenticated": "false"},
            "assumedRoot": "true",
        }
    record: dict[str, Any] = {
        "eventVersion": "1.10",
        "userIdentity": identity,
        "eventTime": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": event_source,
        "eventName": event_name,
        "awsRegion": region,
        "sourceIPAddress": source_ip,
        "userAgent": "aws-cli/2.17.0 Python/3.11.8 Linux/6.1 exe/x86_64",
        "requestParameters": request_parameters,
        "responseElements": response_elements,
        "requestID": str(uuid.uuid4()),
        "eventID": event_id or str(uuid.uuid4()),
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
    }
    if error_code is not None:
        record["errorCode"] = error_code
        record["errorMessage"] = f"{error_code}: denied"
    return record


def api_eventbridge(record: dict[str, Any]) -> dict[str, Any]:
    """Wrap an API-call record the way EventBridge delivers it (source from the service)."""
    from signin_monitor.event_patterns import eventbridge_view

    view = eventbridge_view(record)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": view.get("detail-type", "AWS API Call via CloudTrail"),
        "source": view.get("source", "aws.unknown"),
        "account": record.get("recipientAccountId", ACCOUNT),
        "time": record.get("eventTime"),
        "region": record.get("awsRegion", "us-east-1"),
        "resources": [],
        "detail": record,
    }


def activity(record: dict[str, Any]) -> SignInEvent:
    """A normalized activity from any selected record."""
    return parse_record(record)
