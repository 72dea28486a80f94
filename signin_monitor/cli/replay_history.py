"""``MemoryHistory``: the history replay's rules ask about, answered from memory as a store
holding the same rows would answer (``FailureHistory``): the store's ConsoleLogin rows from
before the run within the rules' reach, then each of this run's events as it is judged, in
time order (``replay_engine``)."""

from __future__ import annotations

import dataclasses
from bisect import bisect_left, bisect_right, insort
from datetime import datetime
from typing import Final

from ..events import API_CALL, CONSOLE_LOGIN, SIGN_IN, SIGNIN_EVENT_SOURCE, SignInEvent
from ..networks import network_of
from ..store import schema

__all__ = ["MemoryHistory", "success_network"]


def success_network(event: SignInEvent) -> str | None:
    """The network a store files a successful ConsoleLogin from an IP address under."""
    if event.event_name != CONSOLE_LOGIN or event.result != "Success":
        return None
    return network_of(event.source_ip)


class MemoryHistory:
    """``FailureHistory`` over the rows added to it, answering as a store holding them would.

    Each question mirrors its store query: the same rows (by kind, name, result and network),
    the same bounds, the same order. Rows are kept per principal (and per address), sorted by
    their store key, with each row's time first: a question is two bisections on times (no
    key text built, no row compared in Python) and a slice, a count or one row.

    Times compare as the stores compare their key texts: every row's time is a whole second
    (``format_time`` drops the fraction), so ``after < t`` and ``t <= until`` read the same
    on datetimes as on texts; ``t < before`` is read against ``before`` without its fraction,
    as its text is. Principals are told apart by (account, principal), as their key texts are
    (``schema.key_part`` keeps distinct values distinct).

    ``after``/``before`` is the range the rows were loaded for: a question outside it is a
    bug of the caller, refused rather than answered wrongly. With ``principals``/``sources``
    given, only the rows of those were loaded, and a question about another one is refused too.
    ``projected``: answer the index questions (failures from an address, successes) with the
    fields the DynamoDB indexes project (``schema.FAILURE_SOURCE_ATTRIBUTES``,
    ``SUCCESS_ATTRIBUTES``), as that store does; SQLite's indexes give every audit field.
    """

    def __init__(
        self,
        *,
        after: datetime,
        before: datetime,
        principals: set[tuple[str, str]] | None = None,
        sources: set[tuple[str, str]] | None = None,
        projected: bool = False,
    ) -> None:
        self.after = after
        self._projected = projected
        self.before = before
        self._principals = principals
        self._sources = sources
        self._added = 0
        self._of_principal: dict[tuple[str, str], _Principal] = {}
        self._from_source: dict[tuple[str, str], _Rows] = {}

    def add(self, event: SignInEvent, network: str | None) -> None:
        """Add one stored row (``network``: the one its store filed it under, or None)."""
        if event.event_name != CONSOLE_LOGIN:
            return  # no question is about any other row
        self._added += 1
        order = self._added
        moment = event.event_time
        if moment.microsecond:
            moment = moment.replace(microsecond=0)
        account_id = event.account_id
        result = event.result
        who = (account_id, event.principal)
        principal = self._of_principal.get(who)
        if principal is None:
            principal = self._of_principal[who] = _Principal()
        # The row's kind (``schema.activity_sort_kind``): an API call's keys are no question's.
        if event.kind != API_CALL:
            if result == "Failure":  # FAILURE keys: time, then the id as its key text holds it
                id_key = schema.key_part(event.event_id, schema.MAX_EVENT_ID_BYTES)
                principal.failures.add((moment, id_key, order), event)
            elif result == "Success":  # SIGNIN keys of successes
                sign_ins = principal.sign_ins
                if sign_ins and sign_ins[-1] > moment:
                    insort(sign_ins, moment)
                else:  # replay adds in time order: nearly always at the end
                    sign_ins.append(moment)
        if result == "Failure":
            shown = _project(event, _FAILURE_SOURCE) if self._projected else event
            source = (account_id, event.source_ip)
            rows = self._from_source.get(source)
            if rows is None:
                rows = self._from_source[source] = _Rows()
            rows.add((moment, event.event_id, order), shown)
        if network is not None:
            shown = _project(event, _SUCCESS) if self._projected else event
            principal.successes.add((moment, event.event_id, order), shown)
            times = principal.networks.get(network)
            if times is None:
                principal.networks[network] = [moment]
            elif times[-1] > moment:
                insort(times, moment)
            else:
                times.append(moment)

    def forget_before(self, moment: datetime) -> None:
        """Drop the rows older than ``moment``: no question may reach before it any more.

        Questions bounded below ``moment`` are refused from then on (``after`` moves up).
        """
        cutoff = _whole(moment)
        self.after = max(self.after, moment)
        for who, principal in list(self._of_principal.items()):
            if principal.forget_before(cutoff):
                del self._of_principal[who]
        for source, rows in list(self._from_source.items()):
            rows.forget_before(cutoff)
            if not rows.keys:
                del self._from_source[source]

    def count_failures(
        self, account_id: str, principal: str, *, after: datetime, until: datetime
    ) -> int:
        """As the store's range count on the principal's FAILURE keys."""
        who = (account_id, principal)
        if (
            after < self.after
            or until > self.before
            or (self._principals is not None and who not in self._principals)
        ):
            self._refuse(after, until, principal=who)
        state = self._of_principal.get(who)
        if state is None:
            return 0
        times = state.failures.times
        return bisect_right(times, until) - bisect_right(times, after) if times else 0

    def failures_between(
        self, account_id: str, principal: str, *, after: datetime, before: datetime
    ) -> list[SignInEvent]:
        """As the store's range read on the principal's FAILURE keys, in key order."""
        who = (account_id, principal)
        if (
            after < self.after
            or before > self.before
            or (self._principals is not None and who not in self._principals)
        ):
            self._refuse(after, before, principal=who)
        state = self._of_principal.get(who)
        return [] if state is None else state.failures.between(after, before)

    def has_console_sign_in(
        self, account_id: str, principal: str, *, after: datetime, until: datetime
    ) -> bool:
        """As the store's range read on the principal's SIGNIN keys (successes only)."""
        who = (account_id, principal)
        if (
            after < self.after
            or until > self.before
            or (self._principals is not None and who not in self._principals)
        ):
            self._refuse(after, until, principal=who)
        state = self._of_principal.get(who)
        if state is None or not state.sign_ins:
            return False
        times = state.sign_ins
        return bisect_right(times, until) > bisect_right(times, after)

    def failures_from_source(
        self, account_id: str, source_ip: str, *, after: datetime, before: datetime
    ) -> list[SignInEvent]:
        """As the store's range of failures from the address, in (time, id) order."""
        source = (account_id, source_ip)
        sources = self._sources
        if (
            after < self.after
            or before > self.before
            or (sources is not None and source not in sources)
        ):
            self._refuse(after, before, source=source)
        rows = self._from_source.get(source)
        return [] if rows is None else rows.between(after, before)

    def successes_between(
        self, account_id: str, principal: str, *, after: datetime, before: datetime
    ) -> list[SignInEvent]:
        """As the store's range of the principal's successes from IP addresses."""
        who = (account_id, principal)
        if (
            after < self.after
            or before > self.before
            or (self._principals is not None and who not in self._principals)
        ):
            self._refuse(after, before, principal=who)
        state = self._of_principal.get(who)
        return [] if state is None else state.successes.between(after, before)

    def last_success(
        self, account_id: str, principal: str, *, after: datetime, before: datetime
    ) -> SignInEvent | None:
        """The last of ``successes_between`` (found by one bisection, no list built)."""
        who = (account_id, principal)
        if (
            after < self.after
            or before > self.before
            or (self._principals is not None and who not in self._principals)
        ):
            self._refuse(after, before, principal=who)
        state = self._of_principal.get(who)
        if state is None:
            return None
        successes = state.successes
        times = successes.times
        if before.microsecond:
            before = before.replace(microsecond=0)
        last = bisect_left(times, before) - 1
        if last < 0 or not times[last] > after:
            return None
        return successes.events[last]

    def has_success_from_network(
        self, account_id: str, principal: str, network: str, *, after: datetime, before: datetime
    ) -> bool:
        """As the store's probe of the principal's successes from the network."""
        who = (account_id, principal)
        if (
            after < self.after
            or before > self.before
            or (self._principals is not None and who not in self._principals)
        ):
            self._refuse(after, before, principal=who)
        state = self._of_principal.get(who)
        times = None if state is None else state.networks.get(network)
        if not times:
            return False
        return bisect_left(times, _whole(before)) > bisect_right(times, after)

    def _refuse(
        self,
        after: datetime,
        end: datetime,
        *,
        principal: tuple[str, str] | None = None,
        source: tuple[str, str] | None = None,
    ) -> None:
        """Raise for a question the history cannot answer (each question tests the cheap
        conditions inline, once, and only calls this when one fails)."""
        if after < self.after or end > self.before:
            raise RuntimeError("a rule asked the replay history outside the range it loaded")
        loaded = self._principals
        if principal is not None and loaded is not None and principal not in loaded:
            raise RuntimeError("a rule asked the replay history about a principal not loaded")
        if source is not None and self._sources is not None and source not in self._sources:
            raise RuntimeError("a rule asked the replay history about an address not loaded")


#: A row's sort key: its time (a whole second), then what breaks ties in its store's order
#: (the id), then the order it was added in.
_Key = tuple[datetime, str, int]


class _Rows:
    """One partition of an index: the rows' sort keys, their times and their events, all in
    key order (``times`` is bisected directly: no key function called per probe)."""

    __slots__ = ("events", "keys", "times")

    def __init__(self) -> None:
        self.keys: list[_Key] = []
        self.times: list[datetime] = []
        self.events: list[SignInEvent] = []

    def add(self, key: _Key, event: SignInEvent) -> None:
        """Insert in key order (replay adds in time order: nearly always at the end)."""
        times = self.times
        moment = key[0]
        if not times or times[-1] < moment:  # one comparison of times, not of keys
            times.append(moment)
            self.keys.append(key)
            self.events.append(event)
            return
        keys = self.keys
        at = bisect_right(keys, key)
        keys.insert(at, key)
        times.insert(at, moment)
        self.events.insert(at, event)

    def between(self, after: datetime, before: datetime) -> list[SignInEvent]:
        """The events with ``after < time < before``, in key order."""
        times = self.times
        if not times:
            return []
        if before.microsecond:  # ``_whole``, inline: this runs for most questions
            before = before.replace(microsecond=0)
        start = bisect_right(times, after)
        stop = bisect_left(times, before)
        return self.events[start:stop] if start < stop else []

    def forget_before(self, cutoff: datetime) -> None:
        """Drop the rows with a time before ``cutoff``."""
        count = bisect_left(self.times, cutoff)
        if count:
            del self.keys[:count]
            del self.times[:count]
            del self.events[:count]


class _Principal:
    """What the history holds of one principal (account, principal)."""

    __slots__ = ("failures", "networks", "sign_ins", "successes")

    def __init__(self) -> None:
        #: Failed ConsoleLogins (the store's FAILURE keys).
        self.failures = _Rows()
        #: Times of successful ConsoleLogins under SIGNIN keys.
        self.sign_ins: list[datetime] = []
        #: Successes from an IP address (the store's successes index), and their times by network.
        self.successes = _Rows()
        self.networks: dict[str, list[datetime]] = {}

    def forget_before(self, cutoff: datetime) -> bool:
        """Drop the rows with a time before ``cutoff``; True when nothing is left."""
        self.failures.forget_before(cutoff)
        self.successes.forget_before(cutoff)
        del self.sign_ins[: bisect_left(self.sign_ins, cutoff)]
        for network, times in list(self.networks.items()):
            del times[: bisect_left(times, cutoff)]
            if not times:
                del self.networks[network]
        return not (self.failures.keys or self.successes.keys or self.sign_ins or self.networks)


def _whole(moment: datetime) -> datetime:
    """``moment`` without its fraction of a second, as ``format_time`` writes it."""
    return moment.replace(microsecond=0) if moment.microsecond else moment


_FAILURE_SOURCE: Final = frozenset(schema.FAILURE_SOURCE_ATTRIBUTES)
_SUCCESS: Final = frozenset(schema.SUCCESS_ATTRIBUTES)
#: What an event read from an item without the attribute has (``DynamoDbStore``'s reading).
_ABSENT: Final[dict[str, object]] = {
    "user_name": None,
    "arn": None,
    "result": None,
    "mfa_used": None,
    "user_agent": "",
    "error_message": None,
    "kind": SIGN_IN,
    "event_source": SIGNIN_EVENT_SOURCE,
    "error_code": None,
    "read_only": None,
    "invoked_by": None,
    "assumed_root": False,
    "request_user_name": None,
}


def _project(event: SignInEvent, attributes: frozenset[str]) -> SignInEvent:
    """The event as read through an index that copies only ``attributes``."""
    absent = {name: value for name, value in _ABSENT.items() if name not in attributes}
    return dataclasses.replace(event, raw={}, raw_text=None, raw_text_of=None, **absent)  # type: ignore[arg-type]
