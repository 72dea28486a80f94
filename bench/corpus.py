"""A realistic, reproducible CloudTrail corpus for the replay figure, cached on disk.

Why generate rather than ship: 200,000 records are ~200 MB of JSON; a seeded generator makes the
same corpus on every machine, and the cache (``build/bench-corpus/<name>/``, keyed by the
parameters in ``manifest.json``) means it is built once, outside any timed region.

Shape, following what CloudTrail writes:

* ``.json.gz`` files of 1,000-5,000 records, ``{"Records": [...]}``, one stream per account and
  region, named and foldered like ``AWSLogs/<account>/CloudTrail/<region>/<yyyy>/<mm>/<dd>/
  <account>_CloudTrail_<region>_<yyyymmdd>T<hhmm>Z_<id>.json.gz``; files of different streams
  overlap in time, so a replay must sort.
* ~90 % sign-in records: IAM users with MFA (most), without MFA (a few %), IAM Identity Center
  steps and federated role sign-ins, ``CheckMfa``/``SwitchRole``/``ExitRole``/``GetSigninToken``,
  some root sign-ins; ~5 % failed ``ConsoleLogin`` in bursts (mistyped passwords, name guessing
  with ``HIDDEN_DUE_TO_SECURITY_REASONS``, root password guessing).
* ~10 % other services' records (S3, EC2, STS, KMS) that the replay must skip.
* A few records for every other rule, so a replay with every rule on has work for each:
  root API calls (some after a root console sign-in, some failed or made by a service for root),
  IAM credential changes (root's own access key, MFA removal, console passwords), trail changes,
  root password recovery, failed MFA challenges, password sprays from one address, and sign-ins
  from a network the user never used (users sign in from their home /24 otherwise).

The same record builders serve the per-event and round-trip figures (distinct ids and times).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import shutil
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from .measure import PROJECT_ROOT

__all__ = [
    "ACCOUNTS",
    "CorpusSpec",
    "console_login",
    "ensure_corpus",
    "eventbridge",
    "other_service_record",
]

#: Bump when the generator's output changes, so cached corpora are rebuilt.
GENERATOR_VERSION: Final = 4
CACHE_DIR: Final = PROJECT_ROOT / "build" / "bench-corpus"

ACCOUNTS: Final = ("111122223333", "444455556666", "777788889999", "210987654321", "123456789012")
REGIONS: Final = ("us-east-1", "us-east-2", "eu-north-1", "ap-southeast-2", "eu-west-1")
# us-east-1 carries root and global sign-ins: more of the traffic.
_REGION_WEIGHTS: Final = (5, 2, 2, 1, 1)
_START: Final = datetime(2026, 10, 1, tzinfo=UTC)
_BROWSERS: Final = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
)
_LOGIN_TO: Final = "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true"


def _time_text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def console_login(
    *,
    event_id: str,
    at: datetime,
    account: str = ACCOUNTS[0],
    user: str = "alice",
    identity_type: str = "IAMUser",
    result: str = "Success",
    mfa: str | None = "Yes",
    source_ip: str = "198.51.100.7",
    region: str = "us-east-1",
    user_agent: str = _BROWSERS[0],
    event_name: str = "ConsoleLogin",
) -> dict[str, Any]:
    """A ``signin.amazonaws.com`` record shaped like the ones CloudTrail writes."""
    identity: dict[str, Any] = {"type": identity_type, "accountId": account}
    if identity_type == "Root":
        identity.update(arn=f"arn:aws:iam::{account}:root", principalId=account)
    elif identity_type == "IAMUser":
        identity["userName"] = user
        if user != "HIDDEN_DUE_TO_SECURITY_REASONS":
            identity.update(arn=f"arn:aws:iam::{account}:user/{user}", principalId="AIDAEXAMPLE01")
    else:
        role = "AWSReservedSSO_PowerUser_0123456789abcdef"
        identity.update(
            arn=f"arn:aws:sts::{account}:assumed-role/{role}/{user}",
            principalId=f"AROAEXAMPLEEXAMPLE01:{user}",
            sessionContext={
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": "AROAEXAMPLEEXAMPLE01",
                    "arn": f"arn:aws:iam::{account}:role/aws-reserved/sso.amazonaws.com/{role}",
                    "accountId": account,
                    "userName": role,
                },
                "attributes": {"creationDate": _time_text(at), "mfaAuthenticated": "false"},
            },
        )
    extra: dict[str, Any] = {"LoginTo": _LOGIN_TO, "MobileVersion": "No"}
    if mfa is not None:
        extra["MFAUsed"] = mfa
    record: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": _time_text(at),
        "eventSource": "signin.amazonaws.com",
        "eventName": event_name,
        "awsRegion": region,
        "sourceIPAddress": source_ip,
        "userAgent": user_agent,
        "requestParameters": None,
        "responseElements": {event_name: result},
        "additionalEventData": extra,
        "eventID": event_id,
        "readOnly": False,
        "eventType": "AwsConsoleSignIn",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
        "tlsDetails": {
            "tlsVersion": "TLSv1.3",
            "cipherSuite": "TLS_AES_128_GCM_SHA256",
            "clientProvidedHostHeader": f"{region}.signin.aws.amazon.com",
        },
    }
    if result == "Failure":
        record["errorMessage"] = (
            "No username found in supplied account"
            if user == "HIDDEN_DUE_TO_SECURITY_REASONS"
            else "Failed authentication"
        )
    return record


def identity_center_step(
    *, event_id: str, at: datetime, account: str, user: str, step: str, region: str, ip: str
) -> dict[str, Any]:
    """An IAM Identity Center sign-in step (``AWS Service Event via CloudTrail``)."""
    return {
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "Unknown",
            "principalId": account,
            "arn": "",
            "accountId": account,
            "accessKeyId": "",
            "userName": user,
        },
        "eventTime": _time_text(at),
        "eventSource": "signin.amazonaws.com",
        "eventName": step,
        "awsRegion": region,
        "sourceIPAddress": ip,
        "userAgent": _BROWSERS[1],
        "requestParameters": None,
        "responseElements": None,
        "additionalEventData": {"CredentialType": "PASSWORD"},
        "serviceEventDetails": {step: "Success"},
        "eventID": event_id,
        "readOnly": False,
        "eventType": "AwsServiceEvent",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
    }


def other_service_record(
    *, event_id: str, at: datetime, account: str, region: str, rng: random.Random
) -> dict[str, Any]:
    """A record from another service (S3, EC2, STS, KMS): valid CloudTrail, not a sign-in."""
    source, name, params = rng.choice(
        (
            ("s3.amazonaws.com", "GetBucketAcl", {"bucketName": "audit-logs", "acl": ""}),
            ("ec2.amazonaws.com", "DescribeInstances", {"maxResults": 1000, "filterSet": {}}),
            ("sts.amazonaws.com", "AssumeRole", {"roleSessionName": "ci", "durationSeconds": 900}),
            ("kms.amazonaws.com", "Decrypt", {"encryptionAlgorithm": "SYMMETRIC_DEFAULT"}),
        )
    )
    return {
        "eventVersion": "1.10",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLEEXAMPLE02:ci",
            "arn": f"arn:aws:sts::{account}:assumed-role/ci-deploy/ci",
            "accountId": account,
            "accessKeyId": "ASIAEXAMPLEEXAMPLE01",
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": "AROAEXAMPLEEXAMPLE02",
                    "arn": f"arn:aws:iam::{account}:role/ci-deploy",
                    "accountId": account,
                    "userName": "ci-deploy",
                },
                "attributes": {"creationDate": _time_text(at), "mfaAuthenticated": "false"},
            },
        },
        "eventTime": _time_text(at),
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": "203.0.113.10",
        "userAgent": "aws-sdk-go-v2/1.32.6 os/linux lang/go#1.23.3 api/ec2#1.196.0",
        "requestParameters": params,
        "responseElements": None,
        "requestID": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "eventID": event_id,
        "readOnly": True,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
        "tlsDetails": {
            "tlsVersion": "TLSv1.3",
            "cipherSuite": "TLS_AES_128_GCM_SHA256",
            "clientProvidedHostHeader": source.replace("amazonaws", f"{region}.amazonaws"),
        },
    }


def api_call_record(
    *,
    event_id: str,
    at: datetime,
    account: str,
    region: str,
    event_source: str,
    event_name: str,
    identity_type: str = "Root",
    user: str = "root",
    read_only: bool = False,
    error_code: str | None = None,
    invoked_by: str | None = None,
    request_parameters: dict[str, Any] | None = None,
    source_ip: str = "198.51.100.7",
) -> dict[str, Any]:
    """An ``AwsApiCall`` record (root's or an IAM user's), as CloudTrail writes one."""
    identity: dict[str, Any] = {"type": identity_type, "accountId": account}
    if identity_type == "Root":
        identity.update(
            arn=f"arn:aws:iam::{account}:root",
            principalId=account,
            accessKeyId="ASIAEXAMPLEROOTKEY01",
        )
    else:
        identity.update(
            userName=user,
            arn=f"arn:aws:iam::{account}:user/{user}",
            principalId="AIDAEXAMPLE01",
            accessKeyId="ASIAEXAMPLEEXAMPLE03",
        )
    if invoked_by is not None:
        identity["invokedBy"] = invoked_by
    record: dict[str, Any] = {
        "eventVersion": "1.10",
        "userIdentity": identity,
        "eventTime": _time_text(at),
        "eventSource": event_source,
        "eventName": event_name,
        "awsRegion": region,
        "sourceIPAddress": source_ip if invoked_by is None else invoked_by,
        "userAgent": "aws-internal/3 aws-sdk-java/1.12.772" if invoked_by else _BROWSERS[0],
        "requestParameters": request_parameters,
        "responseElements": None,
        "requestID": event_id[::-1],
        "eventID": event_id,
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
    }
    if error_code is not None:
        record["errorCode"] = error_code
        record["errorMessage"] = f"{error_code}: refused"
    return record


def eventbridge(record: dict[str, Any], *, event_id: str) -> dict[str, Any]:
    """Wrap a CloudTrail record the way EventBridge delivers it to the Lambda."""
    console = record.get("eventType") == "AwsConsoleSignIn"
    return {
        "version": "0",
        "id": event_id,
        "detail-type": (
            "AWS Console Sign In via CloudTrail" if console else "AWS Service Event via CloudTrail"
        ),
        "source": "aws.signin",
        "account": record["recipientAccountId"],
        "time": record["eventTime"],
        "region": record["awsRegion"],
        "resources": [],
        "detail": record,
    }


@dataclass(frozen=True, slots=True)
class CorpusSpec:
    """Everything the generated corpus depends on (its cache key)."""

    records: int
    seed: int = 20261102
    version: int = GENERATOR_VERSION

    @property
    def name(self) -> str:
        """Folder name under the cache: readable, and unique per parameters."""
        digest = hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()
        return f"n{self.records}-{digest[:10]}"


@dataclass(frozen=True, slots=True)
class _Planned:
    """A record planned but not built yet (keeps 200k records cheap until written)."""

    at: datetime
    account: str
    region: str
    kind: str
    user: str
    ip: str
    result: str = "Success"
    mfa: str | None = "Yes"
    #: API calls: (event source, event name, read only, error code, invoked by, target user).
    call: tuple[str, str, bool, str | None, str | None, str | None] | None = None


class _Planner:
    """Draws sessions until ``records`` records are planned; see the module docstring."""

    def __init__(self, spec: CorpusSpec) -> None:
        self.rng = random.Random(spec.seed)
        self.target = spec.records
        self.span = timedelta(days=max(1, spec.records // 20_000))
        self.planned: list[_Planned] = []
        self.users = {account: [f"user{index:03d}" for index in range(60)] for account in ACCOUNTS}

    def _moment(self) -> datetime:
        return _START + timedelta(seconds=self.rng.uniform(0, self.span.total_seconds()))

    def _region(self) -> str:
        return self.rng.choices(REGIONS, weights=_REGION_WEIGHTS)[0]

    def _ip(self) -> str:
        return f"198.51.100.{self.rng.randrange(1, 255)}"

    def _login_ip(self) -> str:
        """Mostly the users' home /24; now and then a network of its own (new-source-network)."""
        if self.rng.random() < 0.02:
            return f"100.{self.rng.randrange(64, 128)}.{self.rng.randrange(256)}.{self._octet()}"
        return self._ip()

    def _octet(self) -> int:
        return self.rng.randrange(1, 255)

    def _add(self, *items: _Planned) -> None:
        self.planned.extend(items)

    def plan(self) -> list[_Planned]:
        rng = self.rng
        sessions = (
            (self._iam_login, 62),
            (self._sso_login, 14),
            (self._other_service, 17),
            (self._failure_burst, 1.8),
            (self._no_mfa_login, 1.5),
            (self._root_login, 0.2),
            (self._root_api_session, 0.15),
            (self._iam_change, 0.25),
            (self._trail_change, 0.04),
            (self._root_recovery, 0.03),
            (self._mfa_challenge_failure, 0.2),
            (self._password_spray, 0.05),
        )
        makers = [maker for maker, _ in sessions]
        weights = [weight for _, weight in sessions]
        while len(self.planned) < self.target:
            rng.choices(makers, weights=weights)[0]()
        del self.planned[self.target :]
        return self.planned

    def _iam_login(self) -> None:
        account = self.rng.choice(ACCOUNTS)
        user, ip, region, at = (
            self.rng.choice(self.users[account]),
            self._login_ip(),
            self._region(),
            self._moment(),
        )
        if self.rng.random() < 0.3:
            self._add(_Planned(at, account, region, "CheckMfa", user, ip))
        self._add(_Planned(at + timedelta(seconds=2), account, region, "ConsoleLogin", user, ip))
        if self.rng.random() < 0.15:
            later = at + timedelta(minutes=self.rng.randrange(1, 30))
            self._add(_Planned(later, account, region, "SwitchRole", user, ip))
            self._add(
                _Planned(later + timedelta(minutes=20), account, region, "ExitRole", user, ip)
            )

    def _no_mfa_login(self) -> None:
        account = self.rng.choice(ACCOUNTS)
        user = self.rng.choice(self.users[account])
        self._add(
            _Planned(
                self._moment(), account, self._region(), "ConsoleLogin", user, self._ip(), mfa="No"
            )
        )

    def _sso_login(self) -> None:
        account = self.rng.choice(ACCOUNTS)
        user = f"{self.rng.choice(self.users[account])}@example.com"
        ip, region, at = self._ip(), self._region(), self._moment()
        for offset, step in enumerate(("CredentialVerification", "UserAuthentication")):
            self._add(_Planned(at + timedelta(seconds=offset), account, region, step, user, ip))
        self._add(
            _Planned(at + timedelta(seconds=5), account, region, "Federated", user, ip, mfa="No")
        )
        if self.rng.random() < 0.2:
            self._add(
                _Planned(at + timedelta(seconds=6), account, region, "GetSigninToken", user, ip)
            )

    def _root_login(self) -> None:
        account = self.rng.choice(ACCOUNTS)
        self._add(_Planned(self._moment(), account, "us-east-1", "RootLogin", "root", self._ip()))

    def _failure_burst(self) -> None:
        """A run of failures from one principal a few seconds to minutes apart."""
        rng = self.rng
        account = rng.choice(ACCOUNTS)
        kind, user, region = rng.choices(
            (
                ("ConsoleLogin", rng.choice(self.users[account]), self._region()),
                ("ConsoleLogin", "HIDDEN_DUE_TO_SECURITY_REASONS", self._region()),
                ("RootLogin", "root", "us-east-1"),
            ),
            weights=(6, 3, 1),
        )[0]
        ip = f"203.0.113.{rng.randrange(1, 255)}"
        at = self._moment()
        size = rng.choice((1, 1, 2, 2, 3, 4, 5, 6, 8, 10, 12))
        for _ in range(size):
            at += timedelta(seconds=rng.randrange(3, 90))
            self._add(_Planned(at, account, region, kind, user, ip, result="Failure", mfa="No"))
        if user != "HIDDEN_DUE_TO_SECURITY_REASONS" and rng.random() < 0.5:
            at += timedelta(seconds=rng.randrange(10, 120))
            self._add(_Planned(at, account, region, kind, user, self._ip()))

    def _root_api_session(self) -> None:
        """A few root calls in a few minutes; half after a root console sign-in (no alert)."""
        rng = self.rng
        account, region, at = rng.choice(ACCOUNTS), self._region(), self._moment()
        ip = self._ip()
        if rng.random() < 0.5:
            self._add(_Planned(at, account, "us-east-1", "RootLogin", "root", ip))
        for _ in range(rng.randrange(1, 6)):
            at += timedelta(seconds=rng.randrange(5, 240))
            source, name, read_only = rng.choice(
                (
                    ("s3.amazonaws.com", "ListBuckets", True),
                    ("iam.amazonaws.com", "GetAccountSummary", True),
                    ("ec2.amazonaws.com", "DescribeInstances", True),
                    ("account.amazonaws.com", "PutAlternateContact", False),
                )
            )
            error = "AccessDenied" if rng.random() < 0.1 else None
            invoked = "support.amazonaws.com" if rng.random() < 0.1 else None
            call = (source, name, read_only, error, invoked, None)
            self._add(_Planned(at, account, region, "Api", "root", ip, call=call))

    def _iam_change(self) -> None:
        """A credential change: root's own access key, an MFA device removed, a password set."""
        rng = self.rng
        account = rng.choice(ACCOUNTS)
        target = rng.choice(self.users[account])
        name, by_root = rng.choice(
            (
                ("CreateAccessKey", True),
                ("CreateAccessKey", False),
                ("DeactivateMFADevice", False),
                ("DeleteVirtualMFADevice", False),
                ("CreateLoginProfile", False),
                ("UpdateLoginProfile", True),
            )
        )
        # Root creating its own key names no user; everyone else acts on a user.
        own_key = by_root and name == "CreateAccessKey" and rng.random() < 0.7
        error = "LimitExceeded" if rng.random() < 0.1 else None
        call = ("iam.amazonaws.com", name, False, error, None, None if own_key else target)
        user = "root" if by_root else rng.choice(self.users[account])
        kind = "Api" if by_root else "UserApi"
        self._add(_Planned(self._moment(), account, "us-east-1", kind, user, self._ip(), call=call))

    def _trail_change(self) -> None:
        account = self.rng.choice(ACCOUNTS)
        name = self.rng.choice(("StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors"))
        error = "TrailNotFoundException" if self.rng.random() < 0.2 else None
        call = ("cloudtrail.amazonaws.com", name, False, error, None, None)
        user = self.rng.choice(self.users[account])
        self._add(
            _Planned(
                self._moment(), account, self._region(), "UserApi", user, self._ip(), call=call
            )
        )

    def _root_recovery(self) -> None:
        account = self.rng.choice(ACCOUNTS)
        self._add(
            _Planned(self._moment(), account, "us-east-1", "RootRecovery", "root", self._ip())
        )

    def _mfa_challenge_failure(self) -> None:
        """The password was right, the second factor was not (MFAUsed Yes on a failure)."""
        rng = self.rng
        account = rng.choice(ACCOUNTS)
        kind, user = (
            ("RootLogin", "root")
            if rng.random() < 0.2
            else (
                "ConsoleLogin",
                rng.choice(self.users[account]),
            )
        )
        region = "us-east-1" if kind == "RootLogin" else self._region()
        self._add(
            _Planned(
                self._moment(), account, region, kind, user, self._ip(), result="Failure", mfa="Yes"
            )
        )

    def _password_spray(self) -> None:
        """One address, one try for each of several users (hidden names among them)."""
        rng = self.rng
        account, region, at = rng.choice(ACCOUNTS), self._region(), self._moment()
        ip = f"192.0.2.{self._octet()}"
        for user in rng.sample(self.users[account], rng.randrange(4, 10)):
            at += timedelta(seconds=rng.randrange(2, 60))
            if rng.random() < 0.2:
                user = "HIDDEN_DUE_TO_SECURITY_REASONS"
            self._add(
                _Planned(at, account, region, "ConsoleLogin", user, ip, result="Failure", mfa="No")
            )

    def _other_service(self) -> None:
        account = self.rng.choice(ACCOUNTS)
        self._add(_Planned(self._moment(), account, self._region(), "Other", "ci", "203.0.113.10"))


def _build(planned: _Planned, rng: random.Random) -> dict[str, Any]:
    event_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    common: dict[str, Any] = {"event_id": event_id, "at": planned.at, "account": planned.account}
    if planned.kind == "Other":
        return other_service_record(**common, region=planned.region, rng=rng)
    if planned.call is not None:
        source, name, read_only, error, invoked, target = planned.call
        return api_call_record(
            **common,
            region=planned.region,
            event_source=source,
            event_name=name,
            identity_type="Root" if planned.kind == "Api" else "IAMUser",
            user=planned.user,
            read_only=read_only,
            error_code=error,
            invoked_by=invoked,
            request_parameters=None if target is None else {"userName": target},
            source_ip=planned.ip,
        )
    if planned.kind == "RootRecovery":
        record = console_login(
            **common,
            identity_type="Root",
            source_ip=planned.ip,
            region=planned.region,
            user_agent=rng.choice(_BROWSERS),
            event_name="PasswordRecoveryRequested",
            mfa=None,
        )
        record["additionalEventData"] = None
        return record
    if planned.kind in ("CredentialVerification", "UserAuthentication"):
        return identity_center_step(
            **common, user=planned.user, step=planned.kind, region=planned.region, ip=planned.ip
        )
    identity_type = {"RootLogin": "Root", "Federated": "AssumedRole"}.get(planned.kind, "IAMUser")
    event_name = planned.kind if planned.kind in ("CheckMfa", "SwitchRole", "ExitRole") else None
    if planned.kind == "GetSigninToken":
        event_name = "GetSigninToken"
    return console_login(
        **common,
        user=planned.user,
        identity_type=identity_type,
        result=planned.result,
        mfa=planned.mfa if event_name is None else None,
        source_ip=planned.ip,
        region=planned.region,
        user_agent=rng.choice(_BROWSERS),
        event_name=event_name or "ConsoleLogin",
    )


def _chunks(size: int, rng: random.Random) -> Iterator[tuple[int, int]]:
    """(start, end) slices of 1,000-5,000 records; a short tail joins the previous file."""
    start = 0
    while start < size:
        end = start + rng.randrange(1_000, 5_001)
        if size - end < 1_000:
            end = size
        yield start, end
        start = end


def _write(folder: Path, spec: CorpusSpec) -> dict[str, Any]:
    planned = _Planner(spec).plan()
    rng = random.Random(spec.seed + 1)
    streams: dict[tuple[str, str], list[_Planned]] = defaultdict(list)
    for item in planned:
        streams[(item.account, item.region)].append(item)
    files = 0
    kinds: dict[str, int] = defaultdict(int)
    for (account, region), items in sorted(streams.items()):
        items.sort(key=lambda item: item.at)
        for start, end in _chunks(len(items), rng):
            chunk = items[start:end]
            first = chunk[0].at
            day = first.strftime("%Y/%m/%d")
            stamp = first.strftime("%Y%m%dT%H%M") + "Z"
            name = f"{account}_CloudTrail_{region}_{stamp}_{rng.getrandbits(64):016X}.json.gz"
            path = folder / "AWSLogs" / account / "CloudTrail" / region / day / name
            path.parent.mkdir(parents=True, exist_ok=True)
            records = [_build(item, rng) for item in chunk]
            for item in chunk:
                kinds[item.kind if item.result == "Success" else f"{item.kind}/Failure"] += 1
            text = json.dumps({"Records": records}, separators=(",", ":"))
            path.write_bytes(gzip.compress(text.encode(), compresslevel=6, mtime=0))
            files += 1
    return {"files": files, "records": len(planned), "kinds": dict(sorted(kinds.items()))}


def ensure_corpus(spec: CorpusSpec, *, cache: Path = CACHE_DIR) -> tuple[Path, dict[str, Any]]:
    """The corpus folder for ``spec`` and its manifest, generating it only when missing."""
    folder = cache / spec.name
    manifest_path = folder / "manifest.json"
    if manifest_path.is_file():
        manifest: dict[str, Any] = json.loads(manifest_path.read_text())
        if manifest.get("spec") == asdict(spec):
            return folder, manifest
    staging = cache / f".{spec.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    stats = _write(staging, spec)
    manifest = {"spec": asdict(spec), **stats}
    # Written last, and outside the scanned AWSLogs tree: a half-built corpus has no manifest.
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2))
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    return folder, manifest
