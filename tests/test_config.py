"""Settings: defaults, validation, and errors that name the variable."""

from __future__ import annotations

import pytest

from signin_monitor.config import ALL_RULE_IDS, LAMBDA_VARIABLES, Settings
from signin_monitor.errors import ConfigError


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.failed_signin_threshold == 3
    assert settings.failed_signin_window_minutes == 60
    assert settings.retention_days == 365
    assert settings.alert_rules == ALL_RULE_IDS
    assert settings.slack_webhook_url is None


def test_values_are_read() -> None:
    settings = Settings.from_env(
        {
            "ACTIVITY_TABLE": "signin-activity",
            "FAILED_SIGNIN_THRESHOLD": "5",
            "FAILED_SIGNIN_WINDOW_MINUTES": "15",
            "RETENTION_DAYS": "0",
            "SLACK_WEBHOOK_PARAMETER": "/signin-monitor/slack-webhook",
            "LOG_LEVEL": "debug",
            "ALERT_RULES": "root-sign-in, repeated-failed-sign-ins",
        }
    )
    assert settings.activity_table == "signin-activity"
    assert settings.failed_signin_threshold == 5
    assert settings.retention is None
    assert settings.log_level == "DEBUG"
    assert settings.alert_rules == ("root-sign-in", "repeated-failed-sign-ins")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("FAILED_SIGNIN_THRESHOLD", "abc"),
        ("FAILED_SIGNIN_THRESHOLD", "0"),
        ("FAILED_SIGNIN_THRESHOLD", "3.5"),
        ("FAILED_SIGNIN_WINDOW_MINUTES", "-1"),
        ("FAILED_SIGNIN_WINDOW_MINUTES", "100000"),
        ("RETENTION_DAYS", "ten"),
        ("LOG_LEVEL", "LOUD"),
        ("ALERT_RULES", "root-sign-in,nonsense"),
        ("ACTIVITY_TABLE", "a b"),
        ("SLACK_WEBHOOK_PARAMETER", "not a name!"),
        ("CLAIM_LEASE_SECONDS", "4"),
        ("CLAIM_LEASE_SECONDS", "901"),
        ("CLAIM_LEASE_SECONDS", "30s"),
        ("ACCOUNT_NAMES_ROLE_ARN", "arn:aws:iam::1234:role/x"),
        ("ACCOUNT_NAMES_JSON", '{"1111": "short id"}'),
        ("ACCOUNT_NAMES_JSON", '["not", "an", "object"]'),
        ("ACCOUNT_NAMES_JSON", '{"111122223333": ""}'),
        ("ACCOUNT_NAMES_ORGANIZATIONS", "maybe"),
    ],
)
def test_bad_values_name_the_variable_value_and_what_is_accepted(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({variable: value})
    message = str(caught.value)
    assert caught.value.variable == variable
    assert message.startswith(f"{variable}=")
    assert value in message
    assert "expected" in message


def test_retention_shorter_than_the_window_is_refused() -> None:
    with pytest.raises(ConfigError, match="RETENTION_DAYS"):
        Settings.from_env({"RETENTION_DAYS": "1", "FAILED_SIGNIN_WINDOW_MINUTES": "2880"})


def test_webhook_url_is_never_echoed() -> None:
    secret = "http://hooks.example.invalid/services/SECRET-PART"
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"SLACK_WEBHOOK_URL": secret})
    assert "SECRET-PART" not in str(caught.value)
    assert "SLACK_WEBHOOK_URL" in str(caught.value)
    settings = Settings.from_env({"SLACK_WEBHOOK_URL": secret.replace("http:", "https:")})
    assert "SECRET-PART" not in repr(settings)


def test_url_and_parameter_together_are_refused() -> None:
    with pytest.raises(ConfigError, match="only one of"):
        Settings.from_env(
            {
                "SLACK_WEBHOOK_URL": "https://hooks.example.invalid/services/x",
                "SLACK_WEBHOOK_PARAMETER": "/p",
            }
        )


def test_overrides_are_validated_like_the_environment() -> None:
    with pytest.raises(ConfigError, match="FAILED_SIGNIN_THRESHOLD"):
        Settings().with_overrides(threshold=0)
    assert Settings().with_overrides(window_minutes=5).failed_signin_window_minutes == 5


def test_the_claim_lease_defaults_to_30_s_is_read_and_is_a_lambda_variable() -> None:
    # GIVEN no setting THEN 30 s; GIVEN the bounds THEN they are accepted
    assert Settings.from_env({}).claim_lease_seconds == 30
    assert Settings.from_env({"CLAIM_LEASE_SECONDS": "5"}).claim_lease_seconds == 5
    assert Settings.from_env({"CLAIM_LEASE_SECONDS": "900"}).claim_lease_seconds == 900
    # AND Terraform must set it (it equals the function timeout)
    assert "CLAIM_LEASE_SECONDS" in LAMBDA_VARIABLES


@pytest.mark.parametrize(
    "url",
    [
        "https://h:abc/x-SECRET",
        "https://[x/y-SECRET",
        "https://hooks.example.invalid/a\tb-SECRET",
        "https://hooks.example.invalid/a b-SECRET",
        "https://hooks.example.invalid/a\u200b-SECRET",
        "https://hooks.example.invalid:99999/x-SECRET",
        "https:///x-SECRET",
    ],
)
def test_a_malformed_webhook_url_is_a_configuration_error_that_hides_it(url: str) -> None:
    # GIVEN a webhook URL httpx could not post to WHEN settings are read
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"SLACK_WEBHOOK_URL": url})
    # THEN the error names the variable, never the value
    assert caught.value.variable == "SLACK_WEBHOOK_URL"
    assert "SECRET" not in str(caught.value)


def test_blanks_around_the_webhook_url_are_stripped() -> None:
    url = "https://hooks.example.invalid/services/T/B/x"
    assert Settings.from_env({"SLACK_WEBHOOK_URL": f" {url}\n\t"}).slack_webhook_url == url


def test_account_name_settings_are_read() -> None:
    settings = Settings.from_env(
        {
            "ACCOUNT_NAMES_ROLE_ARN": "arn:aws:iam::111122223333:role/signin-monitor-names",
            "ACCOUNT_NAMES_JSON": '{"444455556666": "prod-payments"}',
            "ACCOUNT_NAMES_ORGANIZATIONS": "true",
        }
    )
    assert settings.account_names_role_arn == "arn:aws:iam::111122223333:role/signin-monitor-names"
    assert settings.account_names == (("444455556666", "prod-payments"),)
    assert settings.account_names_organizations is True


def test_the_correlation_settings_default_are_read_and_are_lambda_variables() -> None:
    # GIVEN no setting THEN spray needs more than 5 principals, the lookback is 90 days
    defaults = Settings.from_env({})
    assert defaults.spray_principal_threshold == 5
    assert defaults.new_network_lookback_days == 90
    # AND both are read, 0 days turning new-source-network off
    read = Settings.from_env({"SPRAY_PRINCIPAL_THRESHOLD": "8", "NEW_NETWORK_LOOKBACK_DAYS": "0"})
    assert read.spray_principal_threshold == 8
    assert read.new_network_lookback is None
    assert {"SPRAY_PRINCIPAL_THRESHOLD", "NEW_NETWORK_LOOKBACK_DAYS"} <= set(LAMBDA_VARIABLES)
    # AND the four rules are known ids, all on by default
    new = ("sign-in-after-failures", "password-spray", "mfa-challenge-failed", "new-source-network")
    assert set(new) <= set(defaults.alert_rules)
    assert Settings.from_env({"ALERT_RULES": "password-spray"}).alert_rules == ("password-spray",)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SPRAY_PRINCIPAL_THRESHOLD", "0"),
        ("SPRAY_PRINCIPAL_THRESHOLD", "1001"),
        ("SPRAY_PRINCIPAL_THRESHOLD", "five"),
        ("NEW_NETWORK_LOOKBACK_DAYS", "-1"),
        ("NEW_NETWORK_LOOKBACK_DAYS", "3651"),
        ("NEW_NETWORK_LOOKBACK_DAYS", "90d"),
    ],
)
def test_bad_correlation_settings_name_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({variable: value})
    assert raised.value.variable == variable
