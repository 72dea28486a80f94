"""Hypothesis profiles for the fuzz suite.

``fuzz-ci`` (the default here) keeps the whole suite to well under a minute on 2 cores;
``pytest tests/fuzz --hypothesis-profile fuzz-long`` runs a longer local search.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture]

settings.register_profile(
    "fuzz-ci", max_examples=25, deadline=None, suppress_health_check=_SLOW_OK, print_blob=True
)
settings.register_profile(
    "fuzz-long", max_examples=1500, deadline=None, suppress_health_check=_SLOW_OK, print_blob=True
)
# A profile named on the command line wins; otherwise these tests run the short one, also where
# hypothesis chose its own "ci" profile because the CI variable is set (as it is in our CI).
if getattr(settings, "_current_profile", "default") in ("default", "ci"):
    settings.load_profile("fuzz-ci")
