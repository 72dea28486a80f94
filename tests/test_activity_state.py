"""An activity's pickled state and its lazily decoded ``raw``: every slot where it belongs."""

from __future__ import annotations

import json
import pickle
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest

from signin_monitor import events
from signin_monitor.events import Activity


def _distinct() -> Activity:
    """An activity whose every slot holds a value of its own (a swapped pair would show)."""
    made = Activity(
        event_id="id",
        event_time=datetime(2026, 11, 2, 8, 1, 12, tzinfo=UTC),
        event_name="name",
        account_id="account",
        principal="principal",
        identity_type="type",
        user_name="user",
        arn="arn",
        result="Failure",
        mfa_used=True,
        source_ip="ip",
        user_agent="agent",
        region="region",
        error_message="message",
        raw={"raw": 1},
        truncated=("cut",),
        raw_text='{"raw":1}',
        raw_text_of={"other": 2},
        event_type="event type",
        kind="api-call",
        event_source="source",
        error_code="code",
        read_only=False,
        invoked_by="service",
        assumed_root=True,
        request_user_name="target",
    )
    object.__setattr__(made, "_time_text", "time text")
    return made


def _slots(activity: Activity) -> dict[str, Any]:
    return {
        name: activity._held_raw() if name == "raw" else getattr(activity, name)
        for name in Activity.__slots__
    }


def test_every_slot_comes_back_from_a_pickle_in_its_place() -> None:
    event = _distinct()
    again = pickle.loads(pickle.dumps(event))  # noqa: S301 (our own bytes)
    assert type(again) is Activity
    assert _slots(again) == _slots(event)
    # The state is the slots' values in slot order (what _rebuilt reads back).
    assert dict(zip(Activity.__slots__, events._state_of(event), strict=True)) == _slots(event)


def test_an_undecoded_raw_stays_undecoded_through_a_pickle_and_decodes_after() -> None:
    text = json.dumps({"eventName": "ConsoleLogin"})
    event = events.normalize_record(
        _Record(), event_time=datetime(2026, 11, 2, tzinfo=UTC), raw=None, text=text
    )
    assert event._held_raw() is None
    again = pickle.loads(pickle.dumps(event))  # noqa: S301 (our own bytes)
    assert again._held_raw() is None
    assert again.raw == {"eventName": "ConsoleLogin"}
    assert again.raw_text_of is again.raw
    assert again.raw_json() == text


def test_setting_raw_leaves_nothing_to_decode() -> None:
    # The reader lets go of a kept sign-in's record by setting raw through the class's own
    # setter: from then on the record is the one set (and a pickle keeps it).
    text = json.dumps({"eventName": "ConsoleLogin"})
    event = events.normalize_record(
        _Record(), event_time=datetime(2026, 11, 2, tzinfo=UTC), raw=None, text=text
    )
    Activity.__dict__["raw"].__set__(event, {})
    assert event._held_raw() == {}
    again = pickle.loads(pickle.dumps(event))  # noqa: S301 (our own bytes)
    assert again._held_raw() == {}
    assert again.raw == {}


class _Identity:
    type = "IAMUser"
    user_name = "alice"
    arn = None
    principal_id = None
    account_id = "111122223333"
    invoked_by = None
    session_context = None


class _Record:
    """The fields normalization reads (``events.RecordFields``) of a plain console sign-in."""

    event_id = "id-1"
    event_name = "ConsoleLogin"
    event_source = events.SIGNIN_EVENT_SOURCE
    aws_region = "eu-west-1"
    source_ip_address = "198.51.100.1"
    user_agent = "agent"
    recipient_account_id = None
    user_identity = _Identity()
    response_elements: ClassVar[dict[str, Any]] = {"ConsoleLogin": "Success"}
    additional_event_data = None
    service_event_details = None
    error_message = None
    error_code = None
    event_type = "AwsConsoleSignIn"
    read_only = False
    request_parameters = None


def test_pickling_an_undecoded_activity_never_probes_its_raw_slot(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Replay's reader pickles every event it keeps; probing the empty raw slot of one read
    # the fast way cost an AttributeError each.
    event = events.normalize_record(
        _Record(), event_time=datetime(2026, 11, 2, tzinfo=UTC), raw=None, text="{}"
    )

    def probed(self: Activity) -> None:
        raise AssertionError("the raw slot was probed")

    with monkeypatch.context() as patched:
        patched.setattr(Activity, "_held_raw", probed)
        data = pickle.dumps(event)
    assert pickle.loads(data).raw == {}  # noqa: S301 (our own bytes)
