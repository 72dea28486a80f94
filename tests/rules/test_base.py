"""The helpers every rule shares (``rules.base``)."""

from __future__ import annotations

from signin_monitor.rules.base import first_with_later
from tests.factories import sign_in, windowed_alert


def test_first_with_later_keeps_a_lone_alert_as_it_is_and_chains_the_others() -> None:
    # GIVEN the alerts of the anchors a failure completes, earliest first
    alerts = [windowed_alert(sign_in(result="Failure", minutes=m)) for m in (0, 5, 9)]
    # WHEN the rule makes its one alert of them
    # THEN none gives none; one is that alert itself (no copy); more are the first with the
    # others, in order, as its fallbacks
    assert first_with_later([]) is None
    assert first_with_later(alerts[:1]) is alerts[0]
    chained = first_with_later(alerts)
    assert chained is not None
    assert chained.event == alerts[0].event
    assert chained.later_anchors == tuple(alerts[1:])
    assert [c.event for c in chained.candidates] == [a.event for a in alerts]
