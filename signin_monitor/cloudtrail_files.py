"""Replay's fast reader of CloudTrail log files: msgspec decoding, a strict subset of ``sources``.

``read_file(path)`` yields exactly what ``sources.read_events([path])`` yields for one file
(the same activities, raw text included, the same errors in the same order), several times
faster: a log file CloudTrail wrote (``{"Records":[...]}``, gzip or plain) is split into its
records' texts by one msgspec pass, and each record is decoded typed (only the fields
normalization reads) instead of json.loads + pydantic. Normalization is the same function
(``events.normalize_record``); a record's ``raw`` dict is decoded only if something reads it.

Anything the fast way is not sure to read exactly as the first one does goes the first way:

- the whole file, when it is not such a document as msgspec reads it (JSON Lines, other
  shapes, not UTF-8, a gzip error or trailer, more than ``MAX_FAST_BYTES`` inflated, a digit
  run long enough for Python's integer limit, whitespace between records...);
- one record (``json.loads`` of its text, then ``sources.to_event``), when its typed decoding
  fails, or it may nest past ``MAX_DEPTH``, is larger than ``MAX_RAW_BYTES``, holds non-ASCII
  text or ``\\u`` escapes, a key pydantic would read by its Python name (``event_id``), a
  ``detail-type``, or an ``eventTime`` ``parse_event_time`` refuses.

A file's results are gathered before the first is given, so a record the first way would stop
the file on (deep nesting, say) sends the whole file that way: memory follows the file (at
most ``MAX_FAST_BYTES``), not the corpus. The Lambda never imports this module: msgspec is a
dependency of the command line only.
"""

from __future__ import annotations

import json
import re
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Final

import msgspec
from msgspec import UNSET, Meta, Raw, Struct, UnsetType, field

from .errors import MalformedRecordError, NotSignInEventError
from .event_patterns import MAX_KEY_CHARS, keep_answer
from .events import (
    MAX_DEPTH,
    MAX_RAW_BYTES,
    Activity,
    normalize_record,
    parse_event_time,
    select,
)
from .sources import JSON_LINES_SUFFIXES, InputRecord, read_events, to_event

__all__ = ["MAX_FAST_BYTES", "read_file"]

#: Inflated bytes a file may have to be read the fast way (whole, in memory); a larger one is
#: streamed the first way, so memory stays bounded whatever the file.
MAX_FAST_BYTES: Final = 64 << 20
_GZIP_MAGIC: Final = b"\x1f\x8b"
#: The opening sources.py streams as a CloudTrail log file (``Records`` first), whitespace
#: allowed as there; its end is where the first record starts.
_OPENING: Final = re.compile(rb'[ \t\n\r]*\{[ \t\n\r]*"Records"[ \t\n\r]*:[ \t\n\r]*\[[ \t\n\r]*')
_CLOSING: Final = re.compile(rb"[ \t\n\r]*\][ \t\n\r]*\}[ \t\n\r]*")
#: A digit whose sample neighbour is one too (see ``_may_hold_long_number``).
_DIGIT_PAIR: Final = re.compile(rb"[0-9](?=[0-9])")

_Bounded128 = Annotated[str, Meta(min_length=1, max_length=128)]
_NonEmpty = Annotated[str, Meta(min_length=1)]
_Region = Annotated[str, Meta(max_length=64)]


class _Document(Struct):
    """A CloudTrail log file: its records' texts, undecoded."""

    Records: list[Raw]


# The typed records: the fields ``normalize_record`` reads, under the attribute names of the
# pydantic models (``events.CloudTrailRecord``...) and with their bounds. pydantic also reads a
# field by its Python name (populate_by_name): a record with such a key (``"event_id"``) fails
# here, through an ``UnsetType`` field nothing decodes to, and goes the first way.


class _Session(Struct, gc=False):
    attributes: dict[str, Any] | None = None
    assumed_root: str | None = field(default=None, name="assumedRoot")
    by_name_assumed_root: UnsetType = field(default=UNSET, name="assumed_root")


class _Identity(Struct, gc=False):
    type: str | None = None
    principal_id: str | None = field(default=None, name="principalId")
    arn: str | None = None
    account_id: str | None = field(default=None, name="accountId")
    user_name: str | None = field(default=None, name="userName")
    session_context: _Session | None = field(default=None, name="sessionContext")
    #: Absent or a non-empty string (null matches the patterns otherwise than absent: the
    #: first way decides it).
    invoked_by_text: _NonEmpty | UnsetType = field(default=UNSET, name="invokedBy")
    by_name_user_name: UnsetType = field(default=UNSET, name="user_name")
    by_name_principal_id: UnsetType = field(default=UNSET, name="principal_id")
    by_name_account_id: UnsetType = field(default=UNSET, name="account_id")
    by_name_invoked_by: UnsetType = field(default=UNSET, name="invoked_by")
    by_name_session_context: UnsetType = field(default=UNSET, name="session_context")

    @property
    def invoked_by(self) -> str | None:
        """``userIdentity.invokedBy``, None when absent (as ``events.UserIdentity`` has it)."""
        text = self.invoked_by_text
        return None if text is UNSET else text


class _Record(Struct, kw_only=True, gc=False):
    # In the order CloudTrail writes them: msgspec looks for the next key where the last one
    # was found first.
    user_identity: _Identity = field(default_factory=_Identity, name="userIdentity")
    event_time_text: str = field(name="eventTime")
    event_source: str = field(name="eventSource")
    event_name: _Bounded128 = field(name="eventName")
    aws_region: _Region | None = field(default=None, name="awsRegion")
    source_ip_address: str | None = field(default=None, name="sourceIPAddress")
    user_agent: str | None = field(default=None, name="userAgent")
    error_code: _NonEmpty | None = field(default=None, name="errorCode")
    error_message: str | None = field(default=None, name="errorMessage")
    request_parameters: dict[str, Any] | None = field(default=None, name="requestParameters")
    response_elements: dict[str, Any] | None = field(default=None, name="responseElements")
    additional_event_data: dict[str, Any] | None = field(default=None, name="additionalEventData")
    event_id: _Bounded128 = field(name="eventID")
    read_only: bool | None = field(default=None, name="readOnly")
    event_type: str | None = field(default=None, name="eventType")
    recipient_account_id: str | None = field(default=None, name="recipientAccountId")
    service_event_details: dict[str, Any] | None = field(default=None, name="serviceEventDetails")
    #: An EventBridge envelope is read as one (sources.to_event): the first way.
    envelope: UnsetType = field(default=UNSET, name="detail-type")
    by_name_event_id: UnsetType = field(default=UNSET, name="event_id")
    by_name_event_time: UnsetType = field(default=UNSET, name="event_time")
    by_name_event_name: UnsetType = field(default=UNSET, name="event_name")
    by_name_event_source: UnsetType = field(default=UNSET, name="event_source")
    by_name_aws_region: UnsetType = field(default=UNSET, name="aws_region")
    by_name_source_ip_address: UnsetType = field(default=UNSET, name="source_ip_address")
    by_name_user_agent: UnsetType = field(default=UNSET, name="user_agent")
    by_name_recipient_account_id: UnsetType = field(default=UNSET, name="recipient_account_id")
    by_name_user_identity: UnsetType = field(default=UNSET, name="user_identity")
    by_name_response_elements: UnsetType = field(default=UNSET, name="response_elements")
    by_name_additional_event_data: UnsetType = field(default=UNSET, name="additional_event_data")
    by_name_service_event_details: UnsetType = field(default=UNSET, name="service_event_details")
    by_name_error_message: UnsetType = field(default=UNSET, name="error_message")
    by_name_error_code: UnsetType = field(default=UNSET, name="error_code")
    by_name_event_type: UnsetType = field(default=UNSET, name="event_type")
    by_name_read_only: UnsetType = field(default=UNSET, name="read_only")
    by_name_request_parameters: UnsetType = field(default=UNSET, name="request_parameters")


class _TypedDocument(Struct):
    """A CloudTrail log file whose every record decodes typed (nearly every file)."""

    Records: list[_Record]


_DOCUMENT_DECODER: Final = msgspec.json.Decoder(_Document)
_TYPED_DOCUMENT_DECODER: Final = msgspec.json.Decoder(_TypedDocument)
_RECORD_DECODER: Final = msgspec.json.Decoder(_Record)
_DECODE_ERRORS: Final = (msgspec.DecodeError, msgspec.ValidationError)

Outcome = Activity | MalformedRecordError


class _FirstWayError(Exception):
    """This file is read the first way (sources.read_events), whole."""


def read_file(path: Path) -> Iterator[Outcome]:
    """What ``sources.read_events([path])`` yields for one file, the fast way when it can."""
    try:
        outcomes = _read_fast(path)
    except _FirstWayError:
        yield from read_events([path])
        return
    yield from outcomes


def _read_fast(path: Path) -> list[Outcome]:
    if path.name.lower().endswith(JSON_LINES_SUFFIXES):
        raise _FirstWayError
    data = _contents(path)
    opening = _OPENING.match(data)
    ascii_data = data.isascii()
    if opening is None or not (ascii_data or _is_utf8(data)):
        raise _FirstWayError
    if _may_hold_long_number(data):
        raise _FirstWayError
    try:
        records = _DOCUMENT_DECODER.decode(data).Records
    except (*_DECODE_ERRORS, RecursionError, MemoryError):
        raise _FirstWayError from None
    # The records' texts joined by bare commas must end where the array's closing does, with
    # nothing but "]}" after: then Records is the only member, written once, and the records
    # are separated by bare commas (exactly what the first way streams, nothing after them it
    # would report). Whitespace between records, another member or a second Records would
    # leave a record's last character, or a key, in what follows.
    end = opening.end() + sum(len(raw) for raw in records) + max(len(records) - 1, 0)
    if not _CLOSING.fullmatch(data, end):
        raise _FirstWayError
    # Every record typed in one pass (one call instead of one a record); when one does not
    # decode so, each is decoded alone, and that one goes the first way.
    typed: list[_Record] | list[None]
    try:
        typed = _TYPED_DOCUMENT_DECODER.decode(data).Records
    except (*_DECODE_ERRORS, RecursionError, MemoryError):
        typed = [None] * len(records)
    source = str(path)
    # What only a few records hold is looked for in each only when the file holds it at all.
    # (``\\`` found by memchr first: the two-byte search alone walks every byte.)
    plain = ascii_data and (b"\\" not in data or b"\\u" not in data)
    return [
        _record(source, index, raw, fields, plain)
        for index, (raw, fields) in enumerate(zip(records, typed, strict=True))
    ]


def _contents(path: Path) -> bytes:
    """The file's bytes, gunzipped when it starts with the gzip magic (whatever its name)."""
    try:
        if not path.is_file():
            raise _FirstWayError
        with path.open("rb") as stream:
            data = stream.read(MAX_FAST_BYTES + 1)
    except OSError:
        raise _FirstWayError from None
    if len(data) > MAX_FAST_BYTES:
        raise _FirstWayError
    if not data.startswith(_GZIP_MAGIC):
        return data
    inflate = zlib.decompressobj(wbits=31)  # one gzip member, its CRC and length checked
    try:
        inflated = inflate.decompress(data, MAX_FAST_BYTES + 1)
    except zlib.error:
        raise _FirstWayError from None
    if len(inflated) > MAX_FAST_BYTES or not inflate.eof or inflate.unused_data:
        raise _FirstWayError  # larger, truncated, or more members / trailing bytes
    return inflated


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _may_hold_long_number(data: bytes) -> bool:
    """True when ``data`` may hold an integer Python's json refuses (more digits than
    ``sys.get_int_max_str_digits()``), checked on samples.

    A run of more than ``limit`` digits covers two samples ``limit // 2`` apart and every byte
    between them; only such sample pairs are looked at closely.
    """
    limit = sys.get_int_max_str_digits()
    if limit == 0:
        return False  # no limit set: json reads any integer
    stride = limit // 2
    for pair in _DIGIT_PAIR.finditer(data[::stride]):
        start = pair.start() * stride
        if data[start : start + stride + 1].isdigit():
            return True
    return False


def _record(source: str, index: int, raw: Raw, fields: _Record | None, plain: bool) -> Outcome:
    """Record ``index``: decoded typed (``fields``, unless None), selected and normalized, or
    the first way.

    Selection comes first, as the first way has it: a record no pattern matches is skipped
    whatever else it holds, so only a selected one is checked for what validation would see.
    ``plain``: the file holds neither non-ASCII bytes nor ``\\u`` escapes.
    """
    if fields is None:
        try:
            fields = _RECORD_DECODER.decode(raw)
        except (*_DECODE_ERRORS, RecursionError):
            return _first_way(source, index, str(raw, "utf-8"))
    skip = _selection(fields)
    if skip is not None:
        return NotSignInEventError(skip, source=source, position=f"Records[{index}]")
    text = str(raw, "utf-8")
    if (
        len(text) > MAX_RAW_BYTES
        or not (plain or (text.isascii() and "\\u" not in text))
        # Brackets bound the nesting. count walks every character (about 0.5 us a record)
        # where ``in`` finds one by memchr: most records (every console sign-in) hold no
        # array, so their "[" are not counted.
        or (text.count("{") + text.count("[") if "[" in text else text.count("{")) > MAX_DEPTH
    ):
        return _first_way(source, index, text)
    time_text = fields.event_time_text
    try:
        moment = parse_event_time(time_text)
    except ValueError:
        return _first_way(source, index, text)
    return normalize_record(
        fields, event_time=moment, raw=None, text=text, time_text=time_text, ascii_text=True
    )


#: ``_selection``'s answers (bounded as ``event_patterns`` bounds its own).
_remembered: dict[tuple[object, ...], str | None] = {}


def _selection(fields: _Record) -> str | None:
    """``select`` of the record (why it is not monitored, or None), remembered by the values
    of the fields the patterns read, which are all it depends on."""
    identity = fields.user_identity
    key = (
        fields.event_source,
        fields.event_name,
        fields.event_type,
        identity.type,
        identity.invoked_by_text,
    )
    try:
        return _remembered[key]
    except KeyError:
        pass
    answer = select(_pattern_view(fields))
    if sum(len(part) for part in key if isinstance(part, str)) <= MAX_KEY_CHARS:
        keep_answer(_remembered, key, answer)
    return answer


def _pattern_view(fields: _Record) -> dict[str, Any]:
    """The fields the patterns read, as the record holds them (``select`` matches on it).

    Typed decoding made each a string or left it out; a null ``userIdentity.type`` or
    ``eventType`` matches as an absent one does.
    """
    identity = fields.user_identity
    shown: dict[str, Any] = {}
    if identity.type is not None:
        shown["type"] = identity.type
    if identity.invoked_by_text is not UNSET:
        shown["invokedBy"] = identity.invoked_by_text
    view: dict[str, Any] = {
        "eventSource": fields.event_source,
        "eventName": fields.event_name,
        "userIdentity": shown,
    }
    if fields.event_type is not None:
        view["eventType"] = fields.event_type
    return view


def _first_way(source: str, index: int, text: str) -> Outcome:
    """Record ``index`` read as sources.py reads it; a text json.loads refuses (that msgspec
    took) sends the whole file the first way, which says how."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError, MemoryError):
        raise _FirstWayError from None
    try:
        return to_event(InputRecord(source, f"Records[{index}]", value, text))
    except MalformedRecordError as error:  # NotSignInEventError included
        return error
