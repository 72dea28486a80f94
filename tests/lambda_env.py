"""The Lambda's environment for tests on moto: every setting cleared, fake credentials set."""

from __future__ import annotations

import pytest

from signin_monitor.config import LAMBDA_VARIABLES, LOCAL_ONLY_VARIABLES


def lambda_environment(monkeypatch: pytest.MonkeyPatch, **variables: str) -> None:
    """Clear every signin-monitor setting and the AWS profile/endpoint (so nothing from the
    developer's shell leaks in, and nothing can reach AWS), set moto's fake credentials and
    region, then ``variables`` (e.g. ``ACTIVITY_TABLE="t"``)."""
    for name in (*LAMBDA_VARIABLES, *LOCAL_ONLY_VARIABLES, "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        **variables,
    }.items():
        monkeypatch.setenv(name, value)
