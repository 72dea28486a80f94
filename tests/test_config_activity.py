"""``ROOT_ACTIVITY_WINDOW_MINUTES`` and the rule ids of design §3.1 in the settings."""

from __future__ import annotations

from datetime import timedelta

import pytest

from signin_monitor.config import ALL_RULE_IDS, Settings
from signin_monitor.errors import ConfigError
from signin_monitor.rules import rules_from_settings

NEW_RULES = (
    "root-activity",
    "root-access-key-created",
    "mfa-device-removed",
    "login-profile-changed",
    "trail-tampering",
    "root-password-recovery",
)


def test_the_root_activity_window_defaults_to_an_hour() -> None:
    settings = Settings.from_env({})
    assert settings.root_activity_window_minutes == 60
    assert settings.root_activity_window == timedelta(hours=1)


def test_the_root_activity_window_is_read_and_reaches_the_rule() -> None:
    settings = Settings.from_env({"ROOT_ACTIVITY_WINDOW_MINUTES": "15"})
    (rule,) = [r for r in rules_from_settings(settings) if r.id == "root-activity"]
    assert rule.window == timedelta(minutes=15)  # type: ignore[attr-defined]


@pytest.mark.parametrize("value", ["0", "10081", "lots", "1.5", "-3"])
def test_a_bad_root_activity_window_names_the_variable(value: str) -> None:
    with pytest.raises(ConfigError, match="ROOT_ACTIVITY_WINDOW_MINUTES"):
        Settings.from_env({"ROOT_ACTIVITY_WINDOW_MINUTES": value})


def test_retention_must_cover_the_root_activity_window() -> None:
    with pytest.raises(ConfigError, match="ROOT_ACTIVITY_WINDOW_MINUTES"):
        Settings.from_env({"RETENTION_DAYS": "1", "ROOT_ACTIVITY_WINDOW_MINUTES": "2880"})


def test_alert_rules_knows_every_rule_id_and_runs_them_all_by_default() -> None:
    assert ALL_RULE_IDS[3:9] == NEW_RULES
    assert [rule.id for rule in rules_from_settings(Settings())] == list(ALL_RULE_IDS)
    chosen = Settings.from_env({"ALERT_RULES": "trail-tampering,root-activity"})
    assert {rule.id for rule in rules_from_settings(chosen)} == {"trail-tampering", "root-activity"}
