"""Parse EventBridge envelopes and CloudTrail records into one typed ``Activity``.

pydantic validates the AWS shapes (with the AWS spellings as aliases); ``Activity`` is the
normalized, immutable form every other module works with: a console sign-in event or an API
call (its ``kind``). ``SignInEvent`` is the same class under its first name. Unknown fields are
kept in ``raw``; a record read from a CloudTrail file is stored as the text the file holds
(``raw_json``), an EventBridge event's ``detail`` as compact JSON. ``normalize_record`` is the
one normalization, for these models and for replay's faster reader (``cloudtrail_files``).

Records are selected first, with the EventBridge patterns of the deployment
(``event_patterns``): one no pattern matches is "not monitored" whatever else is wrong with it,
and only a selected record is validated.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol

if TYPE_CHECKING:
    from .record_models import CloudTrailRecord, EventBridgeEnvelope

from .errors import MalformedRecordError, NotSignInEventError
from .event_patterns import eventbridge_view, matching_pattern

__all__ = [
    "API_CALL",
    "CONSOLE_LOGIN",
    "EARLIEST_EVENT_TIME",
    "HIDDEN_USER",
    "LATEST_EVENT_TIME",
    "MAX_DEPTH",
    "MAX_FIELD_BYTES",
    "MAX_RAW_BYTES",
    "SIGNIN_DETAIL_TYPES",
    "SIGNIN_EVENT_SOURCE",
    "SIGN_IN",
    "TRUNCATED_KEY",
    "Activity",
    "ActivityKind",
    "CloudTrailRecord",
    "EventBridgeEnvelope",
    "IdentityFields",
    "RecordFields",
    "Result",
    "SessionFields",
    "SignInEvent",
    "bound_raw",
    "format_time",
    "normalize_record",
    "parse_event_time",
    "parse_eventbridge",
    "parse_record",
    "parse_time",
    "select",
    "storable_text",
]

SIGNIN_EVENT_SOURCE: Final = "signin.amazonaws.com"
SIGNIN_DETAIL_TYPES: Final = frozenset(
    {"AWS Console Sign In via CloudTrail", "AWS Service Event via CloudTrail"}
)
CONSOLE_LOGIN: Final = "ConsoleLogin"
#: The kinds of activity: console sign-in events, and API calls (design §3.1).
SIGN_IN: Final = "sign-in"
API_CALL: Final = "api-call"
HIDDEN_USER: Final = "HIDDEN_DUE_TO_SECURITY_REASONS"
ROOT_PRINCIPAL: Final = "root"
# Sizes are UTF-8 bytes, what DynamoDB counts (400 KB per item, 2048/1024 bytes per key).
#: Identifiers that go into keys (principal, account id, source IP): a readable prefix and a
#: digest of the whole value past this, so two long values never share a key.
_MAX_IDENTIFIER_BYTES: Final = 256
#: Every other normalized text field (user agent, ARN, error message...): cut, marked with "…".
MAX_FIELD_BYTES: Final = 4096
#: The stored raw record as ``raw_json`` gives it, in UTF-8 bytes: the record's text as its file
#: holds it, or compact JSON (ASCII, ``\uXXXX`` escapes) when there is no such text or it is
#: larger. 300 KB leaves room under DynamoDB's 400 KB item for the keys, the normalized fields
#: (about 10 x 4 KB at most) and attribute names; past it the parts audits need least are cut
#: (see ``bound_raw``).
MAX_RAW_BYTES: Final = 300_000
#: Nesting a record may have. CloudTrail's deepest (requestParameters of some services) stay
#: under 20; deeper is hostile or corrupt, and would break json/pickle recursion further on.
MAX_DEPTH: Final = 64
#: The plausible range of ``eventTime``. CloudTrail began in 2013 and AWS in 2006, so nothing
#: real is older than 2000; a year past 2100 is a broken clock or a forged record. Inside the
#: range every use stays representable: a window (at most 7 days) before it, a retention
#: (at most 36,500 days) after it, and its epoch seconds.
EARLIEST_EVENT_TIME: Final = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_EVENT_TIME: Final = datetime(2100, 1, 1, tzinfo=UTC)
#: Key of the list of cut parts in a stored raw record whose full form did not fit.
TRUNCATED_KEY: Final = "signinMonitorTruncated"
_TIME_TEXT_LENGTH: Final = len("2026-11-02T08:01:12Z")
# What AWS writes: 2026-11-02T08:01:12Z, optional fraction, Z or a +hh:mm offset. ASCII digits
# only (\d would take Arabic-Indic digits), no other ISO 8601 variants, no bare numbers.
_ISO_TIME: Final = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})\Z"
)
#: The whole-second UTC form CloudTrail writes, ``2026-11-02T08:01:12Z``, within the plausible
#: range (years 2000 to 2099: checked below) and hours 00 to 23: what fromisoformat reads of
#: it needs no comparison (two aware datetime comparisons cost more than the match).
_PLAIN_TIME: Final = re.compile(
    r"20[0-9]{2}-[0-9]{2}-[0-9]{2}T(?:[01][0-9]|2[0-3]):[0-9]{2}:[0-9]{2}Z"
)
if (EARLIEST_EVENT_TIME.year, LATEST_EVENT_TIME.year) != (2000, 2100) or any(
    (moment.month, moment.day, moment.hour, moment.minute, moment.second, moment.microsecond)
    != (1, 1, 0, 0, 0, 0)
    for moment in (EARLIEST_EVENT_TIME, LATEST_EVENT_TIME)
):
    raise ValueError("_PLAIN_TIME spells out the range of event times")  # they changed
_CUT_MARK: Final = "\u2026"
_MAX_CUT_PATHS: Final = 20
_MAX_PATH_CHARS: Final = 64
# Kept in a cut raw record before anything else: what identifies the event.
_ESSENTIAL_KEYS: Final = ("eventID", "eventTime", "eventName", "eventSource")
# Kept next: every field we normalize and the ones an audit reads.
_AUDIT_KEYS: Final = frozenset(
    {
        *_ESSENTIAL_KEYS,
        "eventVersion",
        "eventType",
        "awsRegion",
        "sourceIPAddress",
        "userAgent",
        "recipientAccountId",
        "errorCode",
        "errorMessage",
        "userIdentity",
        "responseElements",
        "additionalEventData",
        "serviceEventDetails",
    }
)

Result = Literal["Success", "Failure"]
ActivityKind = Literal["sign-in", "api-call"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Activity:
    """A normalized activity (a sign-in event or an API call): what rules, stores and Slack read.

    ``principal`` is the key failures are counted under: the user name, ``root`` for the root
    user, ``unknown-user:<source ip>`` when AWS hides a mistyped name, or ``<role>/<session>``
    for assumed roles, for both kinds, so a principal's history holds its sign-ins and calls.
    ``event_time`` is UTC, whole seconds, from the record (never the clock). The API-call
    fields (``error_code`` to ``request_user_name``) are defaults for sign-in events.

    ``raw`` is the record as a dict. An activity read from a CloudTrail file by replay's fast
    reader holds only its text (``raw_text``) until ``raw`` is first read: the store writes the
    text and no rule reads ``raw``, so most such records are never decoded into a dict.
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
    #: What was cut to fit a store: raw record paths (as in ``raw[TRUNCATED_KEY]``) and the
    #: names of normalized fields shortened to their byte bound. Empty for nearly every event.
    truncated: tuple[str, ...] = field(default=(), compare=False, repr=False)
    #: What ``raw_json`` returns, when normalization already has it: the record's text in its
    #: file, or the compact JSON written to bound its size. Valid while ``raw`` is
    #: ``raw_text_of``, or while ``raw`` is not read yet (``raw_text_of`` None, see above).
    raw_text: str | None = field(default=None, compare=False, repr=False)
    raw_text_of: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    #: The record's ``eventType`` (``AwsApiCall``, ``AwsServiceEvent``...), None without one. Not
    #: compared: a store's rows do not keep it.
    event_type: str | None = field(default=None, compare=False, repr=False)
    kind: ActivityKind = SIGN_IN
    event_source: str = SIGNIN_EVENT_SOURCE
    #: The call's ``errorCode`` (None: it succeeded).
    error_code: str | None = None
    read_only: bool | None = None
    #: ``userIdentity.invokedBy``: an AWS service acting for the principal.
    invoked_by: str | None = None
    #: True for an ``sts:AssumeRoot`` task session (``sessionContext.assumedRoot`` "true").
    assumed_root: bool = False
    #: ``requestParameters.userName``: the user a call acted on (None: the caller itself).
    request_user_name: str | None = None
    #: ``time_text`` once computed (or given by normalization, which reads it from the record):
    #: keys, sorting and output ask for it several times per event. Not an argument, so a copy
    #: with another ``event_time`` (``dataclasses.replace``) computes its own.
    _time_text: str | None = field(default=None, init=False, compare=False, repr=False)
    #: True while ``raw`` is still to be decoded from ``raw_text`` (set by ``normalize_record``
    #: with ``raw=None``, cleared on decoding): ``raw_json`` asks it for every stored event,
    #: where probing the empty slot costs an AttributeError. Not an argument, so a copy
    #: (``dataclasses.replace``, which reads ``raw`` and so decodes it) never inherits it.
    _raw_unread: bool = field(default=False, init=False, compare=False, repr=False)

    @property
    def is_api_call(self) -> bool:
        """True for an API call (any service), False for a console sign-in event."""
        return self.kind == API_CALL

    @property
    def succeeded(self) -> bool:
        """An API call succeeded when its record has no ``errorCode``."""
        return self.error_code is None

    @property
    def time_text(self) -> str:
        """``event_time`` as the fixed-width ISO 8601 text used in keys and output."""
        text = self._time_text
        if text is None:
            text = format_time(self.event_time)
            object.__setattr__(self, "_time_text", text)
        return text

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

    def holds_raw(self) -> bool:
        """True while the activity holds a raw record, as text or dict; never decodes the text
        (``bool(self.raw)`` would, for an activity read the fast way)."""
        return self.raw_text is not None or bool(self._held_raw())

    def _held_raw(self) -> dict[str, Any] | None:
        """The ``raw`` slot's dict, or None while it is empty (only the text is held yet):
        read with the slot's own descriptor, not ``Activity.raw``, which would decode it."""
        try:
            held: dict[str, Any] = _RAW_SLOT.__get__(self, Activity)
        except AttributeError:
            return None
        return held

    def raw_json(self) -> str:
        """The stored form of the record: its text as its file holds it when normalization had
        it (and it fits ``MAX_RAW_BYTES``), else compact JSON (non-ASCII escaped)."""
        text = self.raw_text
        if text is not None:
            if self._raw_unread:
                return text  # not decoded yet: the text is the record
            held = self._held_raw()
            # Not decoded yet, the text is the record; or written once while normalizing.
            if held is None or self.raw_text_of is held:
                return text
        return json.dumps(self.raw, separators=(",", ":"), default=str)

    def __reduce__(self) -> tuple[Any, tuple[tuple[Any, ...]]]:
        """Pickled as its slots' values, the ``raw`` slot None while empty (not decoded yet).

        Replay's reader process hands the events it keeps to the main process this way, and
        the sort spills them so: the dataclass's own pickling sets each of 27 fields with
        ``object.__setattr__`` and reads ``raw`` with ``getattr``, decoding a text no one asked
        to decode, at ten times the cost.
        """
        return (_rebuilt, (_state_of(self),))


class _LazyRaw:
    """``Activity.raw``: the ``raw`` slot, decoded from ``raw_text`` on first read while empty.

    The slot is empty only for an activity ``normalize_record`` made with ``raw=None``
    (replay's fast reader); json.loads of the text is what reading the file gave the other way.
    A data descriptor in place of the slot's own, rather than a ``__getattr__``: a class with
    ``__getattr__`` has every attribute read go through a slower generic path, which Python's
    adaptive interpreter cannot specialize (about 3.5 times the cost of a slot read), and an
    activity's attributes are read many times each (a row, the rules, the history).
    """

    __slots__ = ("_slot",)

    def __init__(self, slot: Any) -> None:
        self._slot = slot

    def __get__(self, instance: Activity | None, owner: type | None = None) -> Any:
        if instance is None:
            return self
        try:
            return self._slot.__get__(instance, owner)
        except AttributeError:
            pass
        text = instance.raw_text
        if text is None:
            raise AttributeError(
                f"{type(instance).__name__!r} object has no attribute 'raw'",
                name="raw",
                obj=instance,
            )
        raw = json.loads(text)
        self._slot.__set__(instance, raw)
        _set_raw_text_of(instance, raw)
        _set_raw_unread(instance, False)
        return raw

    def __set__(self, instance: Activity, value: dict[str, Any]) -> None:
        self._slot.__set__(instance, value)
        _set_raw_unread(instance, False)  # held now: nothing is left to decode

    def __delete__(self, instance: Activity) -> None:
        self._slot.__delete__(instance)


#: The slots' own descriptors (plain slot reads and stores, no frozen-dataclass check).
_RAW_SLOT: Final = Activity.__dict__["raw"]
_set_raw_text_of: Final = Activity.__dict__["raw_text_of"].__set__
_set_raw_unread: Final = Activity.__dict__["_raw_unread"].__set__
setattr(Activity, "raw", _LazyRaw(_RAW_SLOT))  # noqa: B010 (a class attribute mypy would refuse)


#: The first name of ``Activity``, from when every event was a sign-in; kept for callers.
SignInEvent = Activity


def _mutable_twin(cls: type[Activity]) -> Any:
    """A class with the slots of ``cls``, in the same order, and nothing else.

    The frozen dataclass's ``__init__`` sets each of its 27 fields with ``object.__setattr__``
    (a lookup and a generic call each), and any constructor taking them by keyword spends
    about 2 us matching the keywords: together most of the time normalization took.
    ``normalize_record`` instead fills an instance of this twin with plain slot stores (what
    Python does fastest) and then sets its ``__class__`` to ``cls``, which Python allows
    because the two have the same memory layout; from then on it is frozen as any other.
    (A test holds what it builds equal, field by field, to what ``__init__`` builds.)
    """
    names = tuple(item.name for item in dataclasses.fields(cls))
    if names != cls.__slots__:
        raise TypeError(f"{cls.__name__}: slots other than its fields")  # never: slots=True
    return type(f"_Mutable{cls.__name__}", (), {"__slots__": names})


_MutableActivity: Final = _mutable_twin(Activity)
_new: Final = object.__new__


def _state_of(activity: Activity) -> tuple[Any, ...]:
    """The slots' values of an activity, in slot order, ``raw`` None while empty.

    Written out: a plain slot read each, which Python specializes (an attrgetter of them
    goes the generic way for each, about half of pickling an activity). While ``raw`` is
    still to be decoded its slot is empty (``_raw_unread``): not probed (an AttributeError).
    """
    a = activity
    raw = None if a._raw_unread else a._held_raw()
    return (
        a.event_id,
        a.event_time,
        a.event_name,
        a.account_id,
        a.principal,
        a.identity_type,
        a.user_name,
        a.arn,
        a.result,
        a.mfa_used,
        a.source_ip,
        a.user_agent,
        a.region,
        a.error_message,
        raw,
        a.truncated,
        a.raw_text,
        a.raw_text_of,
        a.event_type,
        a.kind,
        a.event_source,
        a.error_code,
        a.read_only,
        a.invoked_by,
        a.assumed_root,
        a.request_user_name,
        a._time_text,
        a._raw_unread,
    )


def _rebuilt(state: tuple[Any, ...]) -> Activity:
    """The activity ``Activity.__reduce__`` pickled (an empty ``raw`` slot stays empty), its
    slots stored as ``normalize_record`` stores them (see ``_MutableActivity``)."""
    a = _new(_MutableActivity)
    (
        a.event_id,
        a.event_time,
        a.event_name,
        a.account_id,
        a.principal,
        a.identity_type,
        a.user_name,
        a.arn,
        a.result,
        a.mfa_used,
        a.source_ip,
        a.user_agent,
        a.region,
        a.error_message,
        raw,
        a.truncated,
        a.raw_text,
        a.raw_text_of,
        a.event_type,
        a.kind,
        a.event_source,
        a.error_code,
        a.read_only,
        a.invoked_by,
        a.assumed_root,
        a.request_user_name,
        a._time_text,
        a._raw_unread,
    ) = state
    if raw is not None:  # else decoded from raw_text on first read, as before pickling
        a.raw = raw
    a.__class__ = Activity
    made: Activity = a
    return made


#: The slots ``_state_of`` and ``_rebuilt`` spell out, in their order (checked below).
_STATE_SLOTS: Final = (
    *("event_id", "event_time", "event_name", "account_id", "principal", "identity_type"),
    *("user_name", "arn", "result", "mfa_used", "source_ip", "user_agent", "region"),
    *("error_message", "raw", "truncated", "raw_text", "raw_text_of", "event_type", "kind"),
    *("event_source", "error_code", "read_only", "invoked_by", "assumed_root"),
    *("request_user_name", "_time_text", "_raw_unread"),
)
if Activity.__slots__ != _STATE_SLOTS:
    raise TypeError("Activity: _state_of and _rebuilt do not spell out its slots")  # a new field


def format_time(moment: datetime) -> str:
    """Fixed-width UTC ISO 8601 (``2026-11-02T08:01:12Z``): sorts as text in both stores."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def parse_time(text: str) -> datetime:
    """The inverse of ``format_time``, for times read back from a store.

    ``fromisoformat`` reads the fixed-width text about 20 times faster than ``strptime`` (an
    audit read parses one per event); anything else is refused as before.
    """
    if len(text) != _TIME_TEXT_LENGTH or not text.endswith("Z"):
        raise ValueError(f"not a stored time: {text[:40]!r}")
    return datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)


def parse_event_time(text: str) -> datetime:
    """A record's ``eventTime`` as an aware UTC datetime, read strictly (see ``_ISO_TIME``).

    Raises ValueError, worded for the user, for any other form or a time outside
    [``EARLIEST_EVENT_TIME``, ``LATEST_EVENT_TIME``).
    """
    if len(text) == _TIME_TEXT_LENGTH and _PLAIN_TIME.match(text):
        # The form CloudTrail writes, in range, read by fromisoformat (C, a few times
        # faster); what it refuses (Feb 30...) goes the long way for the words.
        try:
            return datetime.fromisoformat(text)  # "Z": tzinfo is UTC (3.11+)
        except ValueError:
            pass
    return _parse_event_time_by_pattern(text)


def _parse_event_time_by_pattern(text: str) -> datetime:
    """``parse_event_time`` for every form (the reference its shortcut is tested against)."""
    match = _ISO_TIME.match(text)
    if match is None:
        raise ValueError("must be an ISO 8601 time like 2026-11-02T08:01:12Z")
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    fraction, zone = match.group(7), match.group(8)
    if not EARLIEST_EVENT_TIME.year - 1 <= year <= LATEST_EVENT_TIME.year:
        raise ValueError(_out_of_range())
    try:
        offset = UTC if zone == "Z" else _offset(zone)
        moment = datetime(year, month, day, hour, minute, second, tzinfo=offset)
    except ValueError:
        raise ValueError("is not a valid date and time") from None
    if fraction:
        moment += timedelta(microseconds=int(fraction[:6].ljust(6, "0")))
    moment = moment.astimezone(UTC)
    if not EARLIEST_EVENT_TIME <= moment < LATEST_EVENT_TIME:
        raise ValueError(_out_of_range())
    return moment


def _offset(zone: str) -> timezone:
    hours, minutes = int(zone[1:3]), int(zone[4:6])
    if minutes >= 60:
        raise ValueError(zone)
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if zone[0] == "-" else delta)


def _out_of_range() -> str:
    return (
        f"must be between {format_time(EARLIEST_EVENT_TIME)} and "
        f"{format_time(LATEST_EVENT_TIME)} (not a plausible CloudTrail time)"
    )


def select(value: Any, *, fast: bool = True) -> str | None:
    """Why a raw input value is not monitored, or None when it is one to validate.

    An EventBridge envelope (it has ``detail-type``) is matched as it is; a CloudTrail record
    as EventBridge would see it (``event_patterns.eventbridge_view``). Only the fields the
    patterns read are looked at, before any other field is checked: a record no pattern
    matches is skipped however it is shaped. A value that is not an object is left to
    validation (malformed: it is no record at all). ``fast=False`` matches without the
    answers ``matching_pattern`` remembers (the reference).
    """
    if not isinstance(value, dict):
        return None
    event = value if "detail-type" in value else eventbridge_view(value)
    if matching_pattern(event, remember=fast) is not None:
        return None
    if "detail-type" in value:
        detail = value.get("detail")
        shown = detail.get("eventSource") if isinstance(detail, dict) else None
        return (
            f"detail-type {_shown(value.get('detail-type'))}, eventSource "
            f"{_shown(shown)}: not monitored (no pattern matches)"
        )
    return (
        f"eventSource {_shown(value.get('eventSource'))}, eventName "
        f"{_shown(value.get('eventName'))}: not monitored (no pattern matches)"
    )


def _shown(value: object) -> str:
    return repr(_clip(value)) if isinstance(value, str) else f"of type {type(value).__name__}"


def bound_raw(
    raw: dict[str, Any], *, limit: int = MAX_RAW_BYTES
) -> tuple[dict[str, Any], list[str]]:
    """The raw record cut to ``limit`` bytes of ``raw_json``, and the paths that were cut.

    Within the limit the record is returned as it is. Past it, in this order until it fits:
    strings longer than ``MAX_FIELD_BYTES`` are cut (marked with ``…``); fields audits do not
    read are dropped, largest first; then the audit fields themselves, largest first. The
    identity of the event (``eventID``, ``eventTime``, ``eventName``, ``eventSource``, all
    bounded by validation) is always kept, and the cut paths are listed under
    ``TRUNCATED_KEY`` in the returned record.
    """
    kept, cut, _text = _bound_raw_text(raw, limit=limit)
    return kept, cut


def _bound_raw_text(
    raw: dict[str, Any], *, limit: int = MAX_RAW_BYTES
) -> tuple[dict[str, Any], list[str], str]:
    """``bound_raw`` and the compact JSON of its result (the text the store writes)."""
    text = _RAW_ENCODER.encode(raw)
    if len(text) <= limit:
        return raw, [], text
    kept, cut = _cut_raw(raw, limit)
    return kept, cut, _RAW_ENCODER.encode(kept)


#: What ``json.dumps(value, separators=(",", ":"), default=str)`` builds on every call, built
#: once (the same text: ``json.dumps`` is this encoder's ``encode``).
_RAW_ENCODER: Final = json.JSONEncoder(separators=(",", ":"), default=str)


def _cut_raw(raw: dict[str, Any], limit: int) -> tuple[dict[str, Any], list[str]]:
    budget = limit - _cut_list_reserve()
    cut: list[str] = []
    kept = {
        key: value if key in _ESSENTIAL_KEYS else _cut_strings(value, key, cut)
        for key, value in raw.items()
        if key != TRUNCATED_KEY
    }
    sizes = {key: _json_size(key) + _json_size(value) + 2 for key, value in kept.items()}
    total = sum(sizes.values())
    optional = [key for key in kept if key not in _AUDIT_KEYS]
    audit = [key for key in kept if key in _AUDIT_KEYS and key not in _ESSENTIAL_KEYS]
    for group in (optional, audit):
        for key in sorted(group, key=lambda k: -sizes[k]):
            if total <= budget:
                break
            del kept[key]
            total -= sizes.pop(key)
            cut.append(key)
    kept[TRUNCATED_KEY] = _cut_list(cut)
    return kept, cut


def _cut_strings(value: Any, path: str, cut: list[str]) -> Any:
    """``value`` with every string longer than ``MAX_FIELD_BYTES`` cut, paths noted in ``cut``."""
    if isinstance(value, str):
        shortened, was_cut = _cut_utf8(value, MAX_FIELD_BYTES)
        if was_cut:
            cut.append(path)
        return shortened
    if isinstance(value, dict):
        return {key: _cut_strings(item, f"{path}.{key}", cut) for key, item in value.items()}
    if isinstance(value, list):
        return [_cut_strings(item, f"{path}[{index}]", cut) for index, item in enumerate(value)]
    return value


def _cut_list(cut: list[str]) -> list[str]:
    shown = [_clip(path, _MAX_PATH_CHARS) for path in dict.fromkeys(cut)]
    if len(shown) > _MAX_CUT_PATHS:
        more = len(shown) - _MAX_CUT_PATHS + 1
        shown = [*shown[: _MAX_CUT_PATHS - 1], f"and {more} more"]
    return shown


def _cut_list_reserve() -> int:
    # Worst case of _cut_list: every path at its length limit, every character escaped
    # as a surrogate pair (12 bytes), plus quotes, commas and the key.
    return _MAX_CUT_PATHS * ((_MAX_PATH_CHARS + 3) * 12 + 3) + 64


def _json_size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), default=str))


def _too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """True when containers nest deeper than ``limit`` (checked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def parse_eventbridge(
    event: Any, *, source: str = "<event>", position: str = "", fast: bool = True
) -> Activity:
    """Validate an EventBridge envelope and normalize the CloudTrail record in ``detail``.

    ``fast=False``: as in ``parse_record``.
    """
    if not isinstance(event, dict):
        raise MalformedRecordError(
            f"expected a JSON object, got {type(event).__name__}", source=source, position=position
        )
    # Only an envelope is matched: a value without ``detail-type`` is no EventBridge event.
    skip = select(event, fast=fast) if "detail-type" in event else None
    if skip is not None:
        raise NotSignInEventError(skip, source=source, position=position)
    from .record_models import EventBridgeEnvelope, validated

    envelope = validated(EventBridgeEnvelope, event, source=source, position=position)
    # The envelope was selected as it is: its detail is validated without a second selection.
    return _validate_record(envelope.detail, source=source, position=position, fast=fast)


def parse_record(
    record: Any,
    *,
    source: str = "<event>",
    position: str = "",
    fast: bool = True,
    text: str | None = None,
) -> Activity:
    """Select one CloudTrail record with the patterns, then validate and normalize it.

    ``text`` is the record's JSON text as its file holds it (``record`` is what it parses to):
    the stored raw record when it fits ``MAX_RAW_BYTES``. ``fast=False`` takes the first,
    slower way of selecting and checking the nesting (the reference; see ``select`` and
    ``_validate_record``): the result, or the error, is the same either way.
    """
    if not isinstance(record, dict):
        raise MalformedRecordError(
            f"expected a JSON object, got {type(record).__name__}",
            source=source,
            position=position,
        )
    skip = select(record, fast=fast)
    if skip is not None:
        raise NotSignInEventError(skip, source=source, position=position)
    return _validate_record(record, source=source, position=position, fast=fast, text=text)


def _validate_record(
    record: dict[str, Any],
    *,
    source: str,
    position: str,
    fast: bool = True,
    text: str | None = None,
) -> Activity:
    """Validate a selected CloudTrail record and normalize it.

    ``fast=False`` checks the nesting with the first, iterative ``_too_deep`` (the reference
    ``_nested_past`` is tested against).
    """
    if _nested_past(record.values(), 1) if fast else _too_deep(record):
        raise MalformedRecordError(
            f"nested deeper than {MAX_DEPTH} levels", source=source, position=position
        )
    from .record_models import CloudTrailRecord, validated

    parsed = validated(CloudTrailRecord, record, source=source, position=position)
    return normalize_record(parsed, event_time=parsed.event_time, raw=record, text=text)


def _nested_past(children: Any, depth: int, limit: int = MAX_DEPTH) -> bool:
    """``_too_deep`` for the container at ``depth`` holding ``children``, by recursion (at most
    ``limit`` frames), looking only at the containers (tested equal to ``_too_deep``)."""
    if depth > limit:
        return True
    for child in children:
        if isinstance(child, _CONTAINERS) and _nested_past(
            child.values() if isinstance(child, dict) else child, depth + 1, limit
        ):
            return True
    return False


_CONTAINERS: Final = (dict, list)


class SessionFields(Protocol):
    """What normalization reads of ``userIdentity.sessionContext`` (``SessionContext``)."""

    @property
    def assumed_root(self) -> str | None: ...
    @property
    def attributes(self) -> dict[str, Any] | None: ...


class IdentityFields(Protocol):
    """What normalization reads of ``userIdentity`` (``UserIdentity``)."""

    @property
    def type(self) -> str | None: ...
    @property
    def user_name(self) -> str | None: ...
    @property
    def arn(self) -> str | None: ...
    @property
    def principal_id(self) -> str | None: ...
    @property
    def account_id(self) -> str | None: ...
    @property
    def invoked_by(self) -> str | None: ...
    @property
    def session_context(self) -> SessionFields | None: ...


class RecordFields(Protocol):
    """What normalization reads of a validated record: ``CloudTrailRecord``, or the typed
    decoding of replay's fast reader (``cloudtrail_files``), which keeps these names."""

    @property
    def event_id(self) -> str: ...
    @property
    def event_name(self) -> str: ...
    @property
    def event_source(self) -> str: ...
    @property
    def aws_region(self) -> str | None: ...
    @property
    def source_ip_address(self) -> str | None: ...
    @property
    def user_agent(self) -> str | None: ...
    @property
    def recipient_account_id(self) -> str | None: ...
    @property
    def user_identity(self) -> IdentityFields: ...
    @property
    def response_elements(self) -> dict[str, Any] | None: ...
    @property
    def additional_event_data(self) -> dict[str, Any] | None: ...
    @property
    def service_event_details(self) -> dict[str, Any] | None: ...
    @property
    def error_message(self) -> str | None: ...
    @property
    def error_code(self) -> str | None: ...
    @property
    def event_type(self) -> str | None: ...
    @property
    def read_only(self) -> bool | None: ...
    @property
    def request_parameters(self) -> dict[str, Any] | None: ...


def normalize_record(
    record: RecordFields,
    *,
    event_time: datetime,
    raw: dict[str, Any] | None,
    text: str | None = None,
    time_text: str | None = None,
    ascii_text: bool = False,
) -> Activity:
    """The ``Activity`` of a validated, selected record (the one normalization there is).

    ``event_time`` is its validated ``eventTime`` (aware); ``time_text`` that text when the
    caller knows it is the plain whole-second form (``format_time`` of it, for free). ``text``
    is the record's JSON text as its file holds it: stored as it is when it fits
    ``MAX_RAW_BYTES`` and any store takes it, else the dict ``raw`` is bounded and encoded.
    ``raw`` None (replay's fast reader) leaves the activity's ``raw`` to be decoded from
    ``text`` on first read; the text must then fit.

    ``ascii_text``: the caller knows ``text`` is ASCII without ``\\u`` escapes, so every string
    of the record is ASCII and no longer than ``text``. When ``text`` is also within
    ``MAX_FIELD_BYTES``, no field can need cleaning or cutting, and one length check of the
    five 256-byte fields stands for the per-field cleaning (the values are the same).
    """
    identity = record.user_identity
    event_source = record.event_source
    is_sign_in = event_source == SIGNIN_EVENT_SOURCE
    if is_sign_in:
        account = identity.account_id or record.recipient_account_id or "unknown"
    else:
        # An API call acts on the account that recorded it (design §3.1).
        account = record.recipient_account_id or identity.account_id or "unknown"
    source_ip = record.source_ip_address or "unknown"
    identity_type = identity.type or "Unknown"
    fits = (
        ascii_text
        and text is not None
        and len(text) <= MAX_FIELD_BYTES
        and len(account) <= _MAX_IDENTIFIER_BYTES
        and len(source_ip) <= _MAX_IDENTIFIER_BYTES
        and len(identity_type) <= _MAX_IDENTIFIER_BYTES
        and len(event_source) <= _MAX_IDENTIFIER_BYTES
    )
    if not fits:
        source_ip = _bounded(source_ip)
    principal = _principal_name(identity, source_ip)
    if len(principal) > _MAX_IDENTIFIER_BYTES:
        fits = False
    # The validator already made it aware, within the plausible range (and nearly always UTC
    # whole seconds: kept as it is then).
    if event_time.tzinfo is not UTC or event_time.microsecond:
        event_time = event_time.astimezone(UTC).replace(microsecond=0)
    stored_raw: dict[str, Any] | None
    raw_cut: list[str]
    if text is not None and (len(text) <= MAX_RAW_BYTES if ascii_text else storable_text(text)):
        stored_raw, raw_cut, raw_text = raw, [], text
    elif raw is None:
        raise ValueError("a record normalized without its dict needs a text that fits")
    else:
        stored_raw, raw_cut, raw_text = _bound_raw_text(raw)
    session = identity.session_context
    error_code = record.error_code
    if is_sign_in:
        # ``_result``, its usual answer first: the response element holds the result.
        elements = record.response_elements
        result = elements.get(record.event_name) if elements else None
        if result != "Success" and result != "Failure":
            result = _result(record)
        extra = record.additional_event_data
        mfa_used = _mfa_used(extra.get("MFAUsed")) if extra else None
    else:
        result = "Failure" if error_code else "Success"
        attributes = session.attributes if session else None
        mfa_used = (
            _MFA_AUTHENTICATED.get(str(attributes.get("mfaAuthenticated"))) if attributes else None
        )
    parameters = record.request_parameters
    target_user = parameters.get("userName") if parameters else None
    if not isinstance(target_user, str):
        target_user = None
    if time_text is None or len(time_text) != _TIME_TEXT_LENGTH:
        # Every eventTime that parses to 20 characters is the plain form: format_time's text.
        time_text = format_time(event_time)
    event_id = record.event_id
    event_name = record.event_name
    region = record.aws_region or "unknown"
    user_name = identity.user_name
    arn = identity.arn
    user_agent = record.user_agent or ""
    error_message = record.error_message
    invoked_by = identity.invoked_by
    truncated: tuple[str, ...] = ()
    if not fits:  # else every value is what the cleaning below would return for it
        cut: list[str] = []
        texts = _Texts(cut)
        event_id = _clean(event_id)
        event_name = _clean(event_name)
        account = _bounded(account)
        principal = _bounded(principal)
        identity_type = texts.field("identity_type", identity_type, limit=256)
        user_name = texts.optional("user_name", user_name)
        arn = texts.optional("arn", arn)
        user_agent = texts.field("user_agent", user_agent)
        region = _clean(region)
        error_message = texts.optional("error_message", error_message)
        event_source = texts.field("event_source", event_source, limit=256)
        error_code = texts.optional("error_code", error_code)
        invoked_by = texts.optional("invoked_by", invoked_by)
        target_user = texts.optional("request_user_name", target_user)
        truncated = tuple(cut)
    if raw_cut:
        truncated = (*(f"raw.{path}" for path in raw_cut), *truncated)
    # Filled as a mutable twin, then made an Activity (see _MutableActivity): 27 keyword
    # arguments would cost more than all the rest of normalization.
    activity = _new(_MutableActivity)
    activity.event_id = event_id
    activity.event_time = event_time
    activity.event_name = event_name
    activity.account_id = account
    activity.principal = principal
    activity.identity_type = identity_type
    activity.user_name = user_name
    activity.arn = arn
    activity.result = result
    activity.mfa_used = mfa_used
    activity.source_ip = source_ip
    activity.user_agent = user_agent
    activity.region = region
    activity.error_message = error_message
    if stored_raw is not None:  # else decoded from raw_text on first read
        activity.raw = stored_raw
        activity._raw_unread = False
    else:
        activity._raw_unread = True
    activity.truncated = truncated
    activity.raw_text = raw_text
    activity.raw_text_of = stored_raw
    activity.event_type = record.event_type
    activity.kind = SIGN_IN if is_sign_in else API_CALL
    activity.event_source = event_source
    activity.error_code = error_code
    activity.read_only = record.read_only
    activity.invoked_by = invoked_by
    activity.assumed_root = session is not None and session.assumed_root == "true"
    activity.request_user_name = target_user
    activity._time_text = time_text
    activity.__class__ = Activity
    made: Activity = activity
    return made


#: ``sessionContext.attributes.mfaAuthenticated`` as a bool (anything else: unknown).
_MFA_AUTHENTICATED: Final = {"true": True, "false": False}


def storable_text(text: str) -> bool:
    """True when a record's text can be stored as it is: within ``MAX_RAW_BYTES`` of UTF-8, and
    valid UTF-8 (a lone surrogate, read from a file as surrogatepass gives it, is not)."""
    if len(text) > MAX_RAW_BYTES:
        return False  # every character is at least one byte
    if text.isascii():
        return True
    try:
        return len(text.encode("utf-8")) <= MAX_RAW_BYTES
    except UnicodeEncodeError:
        return False


@dataclass(slots=True)
class _Texts:
    """Cleans normalized text fields to their byte bound, noting which ones were cut."""

    cut: list[str]

    def field(self, name: str, text: str, *, limit: int = MAX_FIELD_BYTES) -> str:
        if len(text) <= limit and text.isascii():
            return text  # the common case, as the two calls below would return it
        cleaned, was_cut = _cut_utf8(_printable_utf8(text), limit)
        if was_cut:
            self.cut.append(name)
        return cleaned

    def optional(self, name: str, text: str | None) -> str | None:
        return None if text is None else self.field(name, text)


def _principal_name(identity: IdentityFields, source_ip: str) -> str:
    """The key failures are counted under (see ``SignInEvent``) before ``_bounded`` bounds it;
    ``source_ip`` bounded already (or ASCII and short: the same)."""
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
    return name


def _result(record: RecordFields) -> Result | None:
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
    """Valid UTF-8 within ``MAX_FIELD_BYTES`` (fields pydantic already bounds in characters)."""
    if len(text) <= MAX_FIELD_BYTES and text.isascii():
        return text  # ASCII: one byte a character, nothing to replace
    return _cut_utf8(_printable_utf8(text), MAX_FIELD_BYTES)[0]


def _printable_utf8(text: str) -> str:
    """Drop what no store or JSON encoder accepts: lone surrogates become ``?``."""
    if text.isascii():
        return text
    return text.encode("utf-8", "replace").decode("utf-8")


def _cut_utf8(text: str, limit: int) -> tuple[str, bool]:
    """``text`` within ``limit`` UTF-8 bytes, whole characters only, ``…`` marking a cut."""
    if len(text) * 4 <= limit:
        return text, False  # even four-byte characters fit
    head = text[: limit + 1]  # every character is at least one byte
    encoded = head.encode("utf-8", "surrogatepass")
    if len(head) == len(text) and len(encoded) <= limit:
        return text, False
    mark = _CUT_MARK.encode("utf-8")
    return encoded[: limit - len(mark)].decode("utf-8", "ignore") + _CUT_MARK, True


def _bounded(identifier: str) -> str:
    """Long identifiers keep a readable prefix and a digest of the whole value (so they stay
    distinct), within ``_MAX_IDENTIFIER_BYTES`` UTF-8 bytes."""
    if len(identifier) <= _MAX_IDENTIFIER_BYTES and identifier.isascii():
        return identifier  # what the lines below return for it
    text = _printable_utf8(identifier[: _MAX_IDENTIFIER_BYTES + 1])
    encoded = text.encode("utf-8")
    if len(identifier) <= _MAX_IDENTIFIER_BYTES and len(encoded) <= _MAX_IDENTIFIER_BYTES:
        return text
    digest = hashlib.sha256(identifier.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    prefix = encoded[: _MAX_IDENTIFIER_BYTES - len(digest) - 1].decode("utf-8", "ignore")
    return f"{prefix}~{digest}"


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


_MODELS: Final = frozenset(
    {"CloudTrailRecord", "EventBridgeEnvelope", "SessionContext", "UserIdentity"}
)


def __getattr__(name: str) -> Any:
    """The pydantic models, from ``record_models``, imported on first use: pydantic and the
    models' validators cost about 0.1 s to import, which replay's fast reader never needs."""
    if name in _MODELS:
        from . import record_models

        return getattr(record_models, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
